"""The desk: unit heads fill the round in a browser, Phòng Nội vụ follows the district.

The bot is the key. ``/web`` (``/maytinh``) in a private chat gives a login link
(``{[web] base_url}/dang-nhap/TOKEN``): random, single use, valid ten minutes, and only the
SHA-256 of its token is stored (``desk_logins``). Opening it starts a session whose cookie
value is random too and stored only as its SHA-256 (``desk_sessions``), so any process can
serve it; it ends at "Đăng xuất" or after eight hours without a request. No passwords.

A session stands for the chat account that asked for the link: every request identifies
that account again (``people.identify``), so an admin removed from ``[access] admins`` or a
member removed from the unit loses the pages at the next request, and the person's report
draft is the chat conversation itself (``unit_reports``, kind ``report``, under
``Person.conversation_key``): the form reads and writes ``state["m"]["answers"]`` the way
the report machine does, so a report begun on the phone continues on the PC, and back.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases import status, unit_reports
from bot.usecases.context import Context, new_token
from bot.usecases.people import Person, identify
from bot.usecases.render import say
from db import repo
from db.models import DeskLogin, DeskSession, Round
from reports.figures import StatusFigures
from scheduler.rounds import unit_is_asked
from surveys import report_machine
from surveys import texts as T
from surveys.catalogue import Unit
from surveys.conversation import State
from surveys.messages import Inbound, Outbound
from surveys.numbers import format_number, format_percent
from surveys.report_machine import Answer, Item, Sheet

LOGIN_PATH = "/dang-nhap/"
LOGIN_TTL = timedelta(minutes=10)
IDLE = timedelta(hours=8)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most once a minute
TOKEN_BYTES = 32
MAX_TOKEN = 100
MAX_EDITED = 200  # items one autosave may name (a round asks about 30)


def digest(value: str) -> str:
    """What is stored of a login token or a session cookie: its SHA-256 (both are 256-bit
    random values, so no key or slow hash is needed against guessing)."""
    return hashlib.sha256(value.encode(errors="replace")).hexdigest()


# --------------------------------------------------------------------------- login


async def web_command(
    ctx: Context, session: AsyncSession, person: Person, args: str
) -> list[Outbound]:
    """``/web``: a one-time login link for the person's chat account."""
    if not ctx.config.web.enabled:
        return say(person.chat_id, T.DESK_OFF)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = ctx.now()
    session.add(
        DeskLogin(
            token_hash=digest(token),
            channel=person.channel,
            user_id=person.user_id,
            chat_id=person.chat_id,
            display_name=person.name[:200],
            created_at=now,
            expires_at=now + LOGIN_TTL,
            used_at=None,
        )
    )
    url = f"{ctx.config.web.base_url()}{LOGIN_PATH}{token}"
    until = ctx.local(now + LOGIN_TTL).strftime("%H:%M %d/%m/%Y")
    return say(person.chat_id, T.desk_link(url, until))


@dataclass(frozen=True)
class Refused:
    status: int  # 403 forged, 410 used or expired
    message: str


async def _person(ctx: Context, session: AsyncSession, row: DeskLogin | DeskSession) -> Person:
    inbound = Inbound(row.channel, row.chat_id, row.user_id, row.display_name)
    return await identify(ctx, session, inbound)


def is_staff(person: Person) -> bool:
    return person.is_admin or (person.member is not None and person.unit is not None)


async def open_link(ctx: Context, session: AsyncSession, token: str) -> str | Refused:
    """Use a login link: the new session's cookie value, or why not.

    The link is marked used in one conditional UPDATE, so two requests racing with the
    same link cannot both open a session."""
    if not token or len(token) > MAX_TOKEN or not token.isascii():
        return Refused(403, T.DESK_LINK_BAD)
    now = ctx.now()
    hashed = digest(token)
    used = await session.execute(
        update(DeskLogin)
        .where(
            DeskLogin.token_hash == hashed,
            DeskLogin.used_at.is_(None),
            DeskLogin.expires_at > now,
        )
        .values(used_at=now)
        .returning(DeskLogin.token_hash)
    )
    first = used.first()
    if first is None:
        known = await session.get(DeskLogin, hashed)
        if known is not None:
            return Refused(410, T.DESK_LINK_USED)
        return Refused(403, T.DESK_LINK_BAD)
    row = await session.get(DeskLogin, hashed)
    assert row is not None
    if not is_staff(await _person(ctx, session, row)):
        return Refused(403, T.DESK_FORBIDDEN)
    cookie = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        DeskSession(
            session_hash=digest(cookie),
            channel=row.channel,
            user_id=row.user_id,
            chat_id=row.chat_id,
            display_name=row.display_name,
            created_at=now,
            last_seen_at=now,
            ended_at=None,
        )
    )
    return cookie


async def person_of(ctx: Context, session: AsyncSession, cookie: str) -> Person | None:
    """Who the session cookie stands for, or None (no such session, ended, idle for eight
    hours, or the account is no longer an admin or a unit's member)."""
    if not cookie or len(cookie) > MAX_TOKEN or not cookie.isascii():
        return None
    row = await session.get(DeskSession, digest(cookie))
    now = ctx.now()
    if row is None or row.ended_at is not None or now - row.last_seen_at > IDLE:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    person = await _person(ctx, session, row)
    return person if is_staff(person) else None


async def logout(ctx: Context, session: AsyncSession, cookie: str) -> None:
    if cookie and len(cookie) <= MAX_TOKEN and cookie.isascii():
        await session.execute(
            update(DeskSession)
            .where(DeskSession.session_hash == digest(cookie), DeskSession.ended_at.is_(None))
            .values(ended_at=ctx.now())
        )


# --------------------------------------------------------------------------- the unit's form


def may_report_for(person: Person, unit: Unit) -> bool:
    """A member reports for their own unit only; an admin for any reporting unit."""
    if person.member is not None and person.unit is not None and person.unit.code == unit.code:
        return True
    return person.is_admin and unit.reports


def by_admin(person: Person, unit: Unit) -> bool:
    """Entered by an admin on the unit's behalf (as chat's ``/baocao MÃ``)."""
    return not (person.unit is not None and person.unit.code == unit.code)


async def rounds_for(session: AsyncSession, unit: Unit) -> list[Round]:
    """The open rounds the unit is asked in, oldest deadline first."""
    asked = [r for r in await repo.open_rounds(session) if unit_is_asked(r, unit)]
    return sorted(asked, key=lambda r: (r.deadline, r.id))


def typed(item: Item, answer: Answer | None) -> dict[str, str]:
    """An answer as the form's fields show it."""
    shown = {"den": "", "num": "", "value": "", "reason": "", "skip": ""}
    if answer is None:
        return shown
    if "skip" in answer:
        shown.update(skip="1", reason=str(answer["skip"]))
    elif item.kind == "ratio":
        shown.update(num=format_number(answer["num"]), den=format_number(answer["den"]))
    else:
        shown["value"] = format_number(answer["value"])
    return shown


def previous_text(item: Item) -> str:
    if item.previous is None:
        return "—"
    return format_number(item.previous) if item.kind == "count" else format_percent(item.previous)


@dataclass
class FormField:
    item: Item
    group: int
    shown: dict[str, str]
    error: str | None = None
    ask_confirm: bool = False  # the figure moved more than 50 %: "có chắc chắn không?"
    confirmed: bool = False

    @property
    def previous(self) -> str:
        return previous_text(self.item)


@dataclass
class Draft:
    round_: Round
    unit: Unit
    sheet: Sheet
    answers: dict[str, Answer]
    conversation: State | None  # the chat conversation's state, when it is this report
    submitted: bool
    fields: list[FormField] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return [i.code for i in self.sheet.items if i.code not in self.answers]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.fields if f.error)


def _group_of(ctx: Context, code: str) -> int:
    indicator = ctx.catalogue.indicators.get(code)
    return indicator.target_no if indicator is not None else 0


def _own(state: State | None, round_: Round, unit: Unit) -> State | None:
    if state is None or state.get("round_id") != round_.id or state.get("unit") != unit.code:
        return None
    return state


async def draft(
    ctx: Context, session: AsyncSession, person: Person, round_: Round, unit: Unit
) -> Draft:
    """The unit's report as it stands for this person: the values sent, then the chat
    conversation's accepted answers (``state["m"]["answers"]``), and a total typed there
    whose numerator is still to come."""
    sheet = await unit_reports.build_sheet(ctx, session, round_, unit)
    conv = await repo.conversation(session, *person.conversation_key)
    state = _own(conv.state if conv is not None and conv.kind == unit_reports.KIND else None,
                 round_, unit)
    answers: dict[str, Answer] = dict(sheet.stored)
    machine: State = (state or {}).get("m") or {}
    for code, answer in dict(machine.get("answers") or {}).items():
        item = sheet.item(code)
        if item is not None and report_machine.problem(item, answer) is None:
            answers[item.code] = dict(answer)
    found = Draft(round_, unit, sheet, answers, state, bool(sheet.stored))
    for item in sheet.items:
        shown = typed(item, answers.get(item.code))
        if (
            item.code not in answers
            and machine.get("code") == item.code
            and machine.get("part") == "num"
            and isinstance(machine.get("den"), int | float)
        ):
            shown["den"] = format_number(machine["den"])  # typed on the phone, numerator next
        found.fields.append(FormField(item, _group_of(ctx, item.code), shown))
    return found


def read_form(
    found: Draft, form: dict[str, str], only: Collection[str] | None = None
) -> dict[str, Answer]:
    """Check every field posted (the chat's rules, ``report_machine.form_answer``) and
    return the answers the draft should hold: the valid ones typed, the draft's own where
    a field is refused (its error and what was typed are kept on the field).

    ``only``: the items the page's autosave says were edited; every other item keeps the
    draft's answer untouched, so a page left open on the PC never undoes what was answered
    since in the chat (its fields are not even read)."""
    kept: dict[str, Answer] = {}
    for entry in found.fields:
        item = entry.item
        code = item.code
        if only is not None and code not in only:
            if code in found.answers:
                kept[code] = found.answers[code]
            continue
        entry.shown = {
            "den": form.get(f"{code}-den", "").strip()[:40],
            "num": form.get(f"{code}-num", "").strip()[:40],
            "value": form.get(f"{code}-value", "").strip()[:40],
            "reason": form.get(f"{code}-reason", "").strip()[: report_machine.SKIP_REASON_MAX + 1],
            "skip": "1" if form.get(f"{code}-skip") else "",
        }
        entry.confirmed = bool(form.get(f"{code}-sure"))
        answer, trouble = report_machine.form_answer(
            item,
            den=entry.shown["den"],
            num=entry.shown["num"],
            value=entry.shown["value"],
            skip=bool(entry.shown["skip"]),
            reason=entry.shown["reason"],
        )
        before = found.answers.get(code)
        if trouble is not None:
            entry.error = trouble
            if before is not None:
                kept[code] = before
            continue
        if answer is None:
            if code in found.sheet.stored:  # a value sent stays until replaced
                kept[code] = found.sheet.stored[code]
            continue
        if report_machine.big_change(item, answer) and answer != before and not entry.confirmed:
            entry.ask_confirm = True
            entry.error = T.DESK_CONFIRM.format(old=previous_text(item))
            if before is not None:
                kept[code] = before
            continue
        kept[code] = answer
    return kept


async def save(
    ctx: Context, session: AsyncSession, person: Person, found: Draft, answers: dict[str, Answer]
) -> State:
    """Write the answers into the chat conversation the machine's way: accepted answers,
    the state at the next unanswered item (or the summary), the sequence bumped so that the
    chat's older buttons are stale. Starts the conversation when there is none for this
    round and unit, as ``/baocao`` would."""
    step = report_machine.start(found.sheet, accepted=answers)
    if found.conversation is not None:
        state = copy.deepcopy(found.conversation)
        state["seq"] = int(state.get("seq", 0)) + 1
    else:
        state = {
            "token": new_token(),
            "round_id": found.round_.id,
            "unit": found.unit.code,
            "by_admin": by_admin(person, found.unit),
            "base": dict(found.sheet.stored),
            "seq": 0,
        }
    state["m"] = step.state
    await repo.save_conversation(
        session, *person.conversation_key, unit_reports.KIND, state, ctx.now()
    )
    found.conversation = state
    found.answers = dict(step.state["answers"]) if step.state is not None else dict(answers)
    return state


@dataclass(frozen=True)
class Autosaved:
    """What an autosave did: the refused fields (code: message, shown beside the field),
    those waiting for "Tôi chắc chắn", and whether the draft changed."""

    errors: dict[str, str]
    confirm: list[str]
    changed: bool


async def autosave(
    ctx: Context,
    session: AsyncSession,
    person: Person,
    round_: Round,
    unit: Unit,
    form: dict[str, str],
    edited: Collection[str],
) -> Autosaved:
    """Keep the items the page says were edited, as "Lưu nháp" would keep them (the same
    reading, rules and draft), leaving every other item as the draft has it."""
    found = await draft(ctx, session, person, round_, unit)
    answers = read_form(found, form, only=set(edited))
    changed = answers != found.answers
    if changed:
        await save(ctx, session, person, found, answers)
    return Autosaved(
        {f.item.code: f.error for f in found.fields if f.error},
        [f.item.code for f in found.fields if f.ask_confirm],
        changed,
    )


@dataclass(frozen=True)
class SummaryLine:
    item: Item
    shown: str
    verdict: bool | None
    big_change: bool


def summary_lines(found: Draft) -> list[SummaryLine]:
    sheet = found.sheet
    out = []
    for item in sheet.items:
        answer = found.answers.get(item.code)
        if answer is None:
            out.append(SummaryLine(item, T.REPORT_NOT_ENTERED, None, False))
            continue
        out.append(
            SummaryLine(
                item,
                report_machine.describe(item, answer),
                report_machine.verdict(sheet, item, answer),
                report_machine.big_change(item, answer),
            )
        )
    return out


async def submit(ctx: Context, session: AsyncSession, person: Person, found: Draft) -> str:
    """"Gửi báo cáo": store through the chat's own path (``unit_reports.store``: the
    submission, its values and a ``value_revisions`` row for every change), then end the
    conversation, as chat's "Gửi" does."""
    state = found.conversation
    if state is None:
        state = await save(ctx, session, person, found, found.answers)
    answers = {i.code: dict(found.answers[i.code]) for i in found.sheet.items}
    text = await unit_reports.store(
        ctx, session, person, found.round_, found.unit, found.sheet, answers, state
    )
    await repo.save_conversation(
        session, *person.conversation_key, unit_reports.KIND, None, ctx.now()
    )
    return text


# --------------------------------------------------------------------------- the dashboard


@dataclass(frozen=True)
class Choice:
    """One entry of the dashboard's chooser: a report key and its title."""

    key: str
    title: str


async def choices(ctx: Context, session: AsyncSession) -> list[Choice]:
    """What the dashboard offers, newest first: for each year with rounds, the yearly and
    the six-month report (once one of their quarters has opened), then its rounds."""
    rows = await session.scalars(select(Round).order_by(Round.window_start.desc(), Round.id.desc()))
    found: list[Choice] = []
    years_done: set[int] = set()
    for round_ in rows.all():
        year = round_.deadline.year
        if year not in years_done:
            years_done.add(year)
            for key in (str(year), f"{year}-H1"):
                window = await status.report_scope(ctx, session, key)
                if window is not None:
                    found.append(Choice(status.scope_key(window), status.scope_title(window)))
        found.append(Choice(round_.key, round_.title))
    return found


async def scope_of(ctx: Context, session: AsyncSession, key: str) -> status.Scope | None:
    """The round or window a dashboard page shows (``?dot=2026-Q3``, ``2026-H1``, ``2026``;
    the followed round without one): ``/trangthai KỲ``'s own parser."""
    if len(key) > 40:
        return None
    return await status.report_scope(ctx, session, key)


async def figures(ctx: Context, session: AsyncSession, scope: status.Scope) -> StatusFigures:
    """The figures of a round or window: the very function /trangthai calls."""
    return await status.scope_figures(ctx, session, scope)

