"""The router: one Inbound in, the Outbound replies out, whatever the platform.

Each inbound is handled in one database transaction: the conversation state and any
accepted answer are committed together before a reply is returned to the adapter. On SQLite
the inbounds arriving together share that transaction (``db.session.Transactions``).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases import desk, linking, status, surveying, unit_reports, zns
from bot.usecases.context import Context
from bot.usecases.official_figures import official_command
from bot.usecases.people import Person, Role, identify
from bot.usecases.qr import qr_command
from bot.usecases.qualitative import qualitative_command
from bot.usecases.registration import INVITE_PREFIX, accept_invitation, register_group
from bot.usecases.render import parse_button, say, tell
from bot.usecases.rounds import round_command
from db import repo
from db.session import Transactions
from scheduler.reminders import (
    DESK_BUTTON_DATA,
    REPORT_BUTTON_DATA,
    enqueue_round_reminders,
    manual_step,
)
from surveys import i18n
from surveys import texts as T
from surveys.catalogue import OrgWords
from surveys.conversation import Input, Pressed, Text
from surveys.messages import Inbound, Outbound

log = logging.getLogger(__name__)

MAX_TEXT = 2000
Held = dict[str, Any] | None  # a survey's state held by the page (the web)
# Deep-link payloads typed as a message, on platforms without deep links (Zalo).
_TYPED_INVITE = re.compile(r"i-[A-Za-z0-9_-]{20,64}")
_TYPED_RECORD = re.compile(r"r-[A-Za-z0-9_-]{12,64}")


def without_nul(inbound: Inbound) -> Inbound:
    """The inbound without NUL characters: no platform sends them on purpose, and a
    PostgreSQL text column refuses them (a comment or a skip reason holding one would fail
    every time it is typed again)."""
    text, button, name = inbound.text, inbound.button, inbound.display_name
    if not any(value and "\x00" in value for value in (text, button, name)):
        return inbound
    return dataclasses.replace(
        inbound,
        text=text.replace("\x00", "") if text is not None else None,
        button=button.replace("\x00", "") if button is not None else None,
        display_name=name.replace("\x00", ""),
    )


def _error_text(language_code: str | None) -> str:
    """The apology when handling failed, before anyone was identified: in Vietnamese, and
    also in the person's app language when the citizens' catalogue has it."""
    language = i18n.supported(language_code)
    if language is None or language == i18n.SOURCE:
        return T.ERROR
    return f"{T.ERROR}\n\n{i18n.translate(language, T.ERROR)}"


class Core:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # one transaction per inbound; on SQLite, those arriving together share one
        self.transactions = Transactions(ctx.sessions)
        # Channels without deep links (Zalo): there, a private message that is exactly a
        # payload ("s-mc-huyen", "i-…", "r-…") counts as ``/start <payload>``.
        self.typed_payloads: set[str] = set()

    async def handle(self, inbound: Inbound, held: Held = None) -> list[Outbound]:
        """Answer one inbound; never raises (a failure is logged and told in Vietnamese).

        ``held``: the survey state the page that sent it holds (``handle_held``)."""
        inbound = without_nul(inbound)
        try:
            work = partial(self._route, inbound=inbound, held=held)
            replies, info = await self.transactions.run(work)
            if info.get(repo.QUEUED):
                self.ctx.notify_outbox()  # else its claim would only compete for the lock
            return replies
        except Exception:
            kind = (
                "button" if inbound.button is not None else "command" if inbound.command else "text"
            )
            log.exception(
                "failed to handle a %s on %s; the person was told to try again",
                kind,
                inbound.channel,
                extra={"event": "update_failed", "channel": inbound.channel, "input": kind},
            )
            return say(inbound.chat_id, _error_text(inbound.language_code))

    async def handle_held(self, inbound: Inbound, held: dict[str, Any]) -> list[Outbound]:
        """An answer from a page that holds its survey's state (the web, sealed in the form):
        the next question straight from the pure step when it needs nothing stored
        (``surveying.advance_held``), else ``handle`` with that state, in a transaction."""
        given = self._held_input(inbound, held)
        if given is not None:
            try:
                advanced = surveying.advance_held(self.ctx, inbound.chat_id, held, given)
            except Exception:  # the transaction's path below tells it properly
                advanced = None
            if advanced is not None:
                return advanced
        return await self.handle(inbound, held)

    @staticmethod
    def _held_input(inbound: Inbound, held: dict[str, Any]) -> Input | None:
        """What ``inbound`` answers in the held survey, when no check needs the database."""
        if inbound.button is not None:
            parsed = parse_button(inbound.button)
            if parsed is None or parsed[0] != held.get("token"):
                return None
            return Pressed(parsed[1])
        text = without_nul(inbound).text
        if text is None or not text.strip() or len(text) > MAX_TEXT or text.startswith("/"):
            return None
        return Text(text)

    async def _route(
        self, session: AsyncSession, inbound: Inbound, held: Held = None
    ) -> list[Outbound]:
        person = await identify(self.ctx, session, inbound)
        if inbound.text is not None and len(inbound.text) > MAX_TEXT:
            return tell(person, T.TOO_LONG, limit=MAX_TEXT)
        if inbound.button is not None:
            return await self._button(session, person, inbound.button, held)
        command = inbound.command
        if command is not None:
            name, args = command
            return await self._command(session, person, name, args)
        if inbound.text is None or not inbound.text.strip():
            return tell(person, T.NOT_UNDERSTOOD) if inbound.chat_type == "private" else []
        if inbound.chat_type != "private":
            return []  # ordinary talk in a group is not for the bot
        if inbound.channel in self.typed_payloads:
            payload = self._typed_payload(inbound.text)
            if payload is not None:
                return await self._start(session, person, payload, True)
        return await self._continue(session, person, Text(inbound.text), held)

    def _typed_payload(self, text: str) -> str | None:
        """The deep-link payload a typed message is, if it is exactly one (``s-`` codes and
        a language prefix in any case, and only of a known point, so that nothing else is
        taken for one)."""
        language, word = surveying.split_language(text.strip())
        if _TYPED_INVITE.fullmatch(word) and language is None:
            return word
        if _TYPED_RECORD.fullmatch(word):
            return surveying.with_language(word, language)
        prefix = surveying.POINT_PREFIX
        code = word[len(prefix) :].lower()
        if word[: len(prefix)].lower() == prefix and self.ctx.catalogue.point(code) is not None:
            return surveying.with_language(prefix + code, language)
        return None

    async def _continue(
        self, session: AsyncSession, person: Person, given: Input, held: Held = None
    ) -> list[Outbound]:
        conv = await repo.conversation(session, *person.conversation_key)
        if conv is None:
            if isinstance(given, Pressed):
                return tell(person, T.BUTTON_EXPIRED)
            if person.member is None and linking.is_code(given.text):
                # The code of /lienket sent alone from the account being linked.
                text = await linking.use_code(self.ctx, session, person, given.text)
                return say(person.chat_id, text)
            return tell(person, T.NOT_UNDERSTOOD)
        if conv.kind == unit_reports.KIND:
            return await unit_reports.proceed(self.ctx, session, person, conv, given)
        if held is None:
            return await surveying.proceed(self.ctx, session, person, conv.state, given)
        if held.get("token") != conv.state.get("token"):  # a page of an earlier survey
            return tell(person, T.BUTTON_EXPIRED)
        return await surveying.proceed(self.ctx, session, person, held, given)

    async def _button(
        self, session: AsyncSession, person: Person, data: str, held: Held = None
    ) -> list[Outbound]:
        if data == REPORT_BUTTON_DATA:
            return await self._command(session, person, "report", "")
        if data == DESK_BUTTON_DATA:  # "Mở trên máy tính": /web's link, its checks included
            return await self._command(session, person, "web", "")
        parsed = parse_button(data)
        if parsed is None:
            return tell(person, T.BUTTON_EXPIRED)
        token, choice = parsed
        conv = await repo.conversation(session, *person.conversation_key)
        if conv is None or conv.state.get("token") != token:
            return tell(person, T.BUTTON_EXPIRED)
        return await self._continue(session, person, Pressed(choice), held)

    async def _command(
        self, session: AsyncSession, person: Person, name: str, args: str
    ) -> list[Outbound]:
        """Run a chat command from the table below, once its place and role are checked."""
        command = BY_NAME.get(name)
        if command is None:
            return tell(person, T.UNKNOWN_COMMAND)
        if command.private_only and not is_private(person):
            return tell(person, T.GROUP_PRIVATE_ONLY)
        if not command.role.allows(person):
            return command.refuse(person, self.ctx.catalogue.org.words)
        return await command.handler(self, session, person, args)

    async def _help_command(
        self, session: AsyncSession, person: Person, args: str
    ) -> list[Outbound]:
        return say(person.chat_id, self._help(person), language=person.language)

    async def _units(self, session: AsyncSession, person: Person, args: str) -> list[Outbound]:
        lines = [f"{u.code} — {u.name}" for u in self.ctx.catalogue.org.reporting_units()]
        return say(person.chat_id, "\n".join(lines))

    async def _link(self, session: AsyncSession, person: Person, args: str) -> list[Outbound]:
        return say(person.chat_id, await linking.link_command(self.ctx, session, person, args))

    async def _cancel(self, session: AsyncSession, person: Person, args: str) -> list[Outbound]:
        conv = await repo.conversation(session, *person.conversation_key)
        if conv is None:
            return tell(person, T.NOTHING_TO_CANCEL)
        await repo.save_conversation(
            session, *person.conversation_key, conv.kind, None, self.ctx.now()
        )
        return tell(person, T.CANCELLED)

    async def _start_command(
        self, session: AsyncSession, person: Person, args: str
    ) -> list[Outbound]:
        return await self._start(session, person, args, is_private(person))

    async def _start(
        self, session: AsyncSession, person: Person, payload: str, private: bool
    ) -> list[Outbound]:
        if not private:
            return say(person.chat_id, await register_group(self.ctx, session, person))
        if payload.startswith(INVITE_PREFIX):
            token = payload[len(INVITE_PREFIX) :]
            return say(person.chat_id, await accept_invitation(self.ctx, session, person, token))
        if surveying.is_survey_payload(payload):
            return await surveying.begin(self.ctx, session, person, payload)
        if payload:
            return tell(person, T.SURVEY_UNKNOWN)
        if person.is_admin or person.member is not None:
            return say(person.chat_id, self._help(person), language=person.language)
        return tell(person, T.WELCOME_CITIZEN, **self.ctx.catalogue.org.words.values())

    def _help(self, person: Person) -> str:
        parts = []
        if person.member is not None and person.unit is not None:
            parts.append(T.HELP_MEMBER.format(unit=person.unit.name) + "\n" + T.HELP_LINK)
        if person.is_admin:
            parts.append(T.HELP_ADMIN.format(**self.ctx.catalogue.org.words.values()))
        if not parts:
            parts.append(person.tr(T.HELP_CITIZEN))
        return "\n\n".join(parts)

    async def _report(self, session: AsyncSession, person: Person, args: str) -> list[Outbound]:
        await status.current_round(self.ctx, session)
        if person.member is not None and person.unit is not None:
            return await unit_reports.begin(
                self.ctx, session, person, person.unit, args, by_admin=False
            )
        code, _, rest = args.partition(" ")
        if not code:
            resumed = await unit_reports.resume_admin(self.ctx, session, person)
            return resumed if resumed is not None else say(person.chat_id, T.ADMIN_UNIT_NEEDED)
        unit = self.ctx.catalogue.org.unit(code)
        if unit is None or not unit.reports:
            return say(person.chat_id, T.UNKNOWN_UNIT.format(code=code))
        return await unit_reports.begin(
            self.ctx, session, person, unit, rest.strip(), by_admin=True
        )

    async def _remind(self, session: AsyncSession, person: Person, args: str) -> list[Outbound]:
        round_ = await status.current_round(self.ctx, session)
        today = self.ctx.today()
        queued, units = await enqueue_round_reminders(
            session,
            self.ctx.catalogue,
            round_,
            manual_step(today),
            today,
            self.ctx.now(),
            desk=self.ctx.config.web.enabled,
        )
        return say(person.chat_id, T.remind_queued(queued, units))


def is_private(person: Person) -> bool:
    """A private chat with the bot (the console is one)."""
    return person.chat_id == person.user_id or person.channel == "console"


Handler = Callable[[Core, AsyncSession, Person, str], Awaitable[list[Outbound]]]


def _admin_only(person: Person, words: OrgWords) -> list[Outbound]:
    return tell(person, T.ADMIN_ONLY, **words.values())


@dataclass(frozen=True)
class Command:
    """One chat command: its name and aliases (typed with "/"), what runs it, who may use
    it and what someone else is told, and whether it works only in a private chat."""

    name: str
    aliases: tuple[str, ...]
    handler: Handler
    role: Role = Role.ANYONE
    refuse: Callable[[Person, OrgWords], list[Outbound]] = _admin_only
    private_only: bool = False


def _use_case(
    run: Callable[[Context, AsyncSession, Person, str], Awaitable[list[Outbound]]],
) -> Handler:
    """A use case's command function as a handler of the table."""

    def handler(
        core: Core, session: AsyncSession, person: Person, args: str
    ) -> Awaitable[list[Outbound]]:
        return run(core.ctx, session, person, args)

    return handler


COMMANDS: tuple[Command, ...] = (
    Command("start", (), Core._start_command),
    Command("help", ("trogiup",), Core._help_command),
    Command(
        "report",
        ("baocao",),
        Core._report,
        Role.STAFF,
        refuse=lambda person, words: tell(person, T.MEMBER_ONLY, **words.values()),
        private_only=True,
    ),
    Command("cancel", ("huy",), Core._cancel),
    Command("status", ("trangthai",), _use_case(status.status), Role.STATUS),
    Command("export", ("xuat",), _use_case(status.export), Role.STATUS),
    Command("summaryreport", ("baocaotonghop",), _use_case(status.report), Role.ADMIN),
    Command("remind", ("nhacnho",), Core._remind, Role.ADMIN),
    Command("units", ("donvi",), Core._units, Role.ADMIN),
    Command("round", ("dotxuat",), _use_case(round_command), Role.ADMIN),
    Command(
        "qr",
        (),
        _use_case(qr_command),
        Role.STAFF,
        refuse=lambda person, words: say(person.chat_id, T.QR_STAFF_ONLY.format(**words.values())),
    ),
    Command("official", ("khaosat_chinhthuc",), _use_case(official_command), Role.ADMIN),
    Command("link", ("lienket",), Core._link, private_only=True),
    Command(
        "web",
        ("maytinh",),
        _use_case(desk.web_command),
        Role.STAFF,
        refuse=lambda person, words: tell(person, T.MEMBER_ONLY, **words.values()),
        private_only=True,  # a login link is never shown in a group
    ),
    Command(
        "phone",
        ("sodienthoai",),
        _use_case(zns.phone_command),
        Role.MEMBER,
        refuse=lambda person, words: tell(person, T.MEMBER_ONLY, **words.values()),
        private_only=True,  # a number is never shown in a group, even masked
    ),
    Command(
        "qualitative",
        ("dinhtinh",),
        _use_case(qualitative_command),
        Role.STAFF,
        refuse=lambda person, words: tell(person, T.MEMBER_ONLY, **words.values()),
    ),
)
BY_NAME: dict[str, Command] = {
    alias: command for command in COMMANDS for alias in (command.name, *command.aliases)
}
