"""What the two Zalo channels share (the Zalo Bot, ``bot.channels.zalo``, and the Official
Account, ``bot.channels.zalo_oa``), which must not import each other: choices shown as text,
the choices last shown in a chat (stored), updates seen once (stored), and retried replies.

**Zalo has no buttons** (neither the Bot API nor the OA's plain consultation messages). An
Outbound's buttons become a numbered list under its text ("1. Gửi báo cáo"), and typing the
number presses the button, as in the terminal channel. When the question also takes free
input (a number, a comment: ``Outbound.free_text``), digits are the answer, so the choices
are named instead — "(hoặc gõ: Không áp dụng)" — and typing a choice's words presses it.

**Which button a digit presses survives a restart.** The buttons last shown in a chat are
stored in ``chat_offers`` (per channel); a typed digit is looked up there, in whatever
process receives it, and becomes the button's data, which the core checks as it checks a
Telegram press (the conversation's token and the question's sequence number).

**An update is handled once.** Neither Zalo API has an offset: the Bot Platform's clients
report redeliveries (openclaw/openclaw ``extensions/zalo/src/monitor.webhook.ts`` dedupes
``event_name + message_id`` for 5 minutes) and the OA retries a webhook POST that was not
answered in time (hainh.me, "zalo-api-php-webhook-callback-official-account": for 12 hours).
``Sightings`` records ``event_name:message_id`` in ``seen_updates`` before the update is
handled, so a redelivered typed number never answers the next question, whichever process
receives it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.typed import Buttons, flat, leading_numbers, typed_label, unnumbered
from bot.usecases import published
from bot.usecases.router import Core
from db import repo
from db.models import ChatOffer, SeenUpdate
from reports.text import split_message
from surveys import i18n
from surveys.i18n import N_
from surveys.messages import Button, Outbound

log = logging.getLogger(__name__)

TEXT_LIMIT = 2000  # both APIs: sendMessage 1–2000 characters; the OA's texts likewise

# --------------------------------------------------------------------------- sentences
# What only the Zalo channels say (the rest is in surveys/texts.py).

ZALO_PICK_HINT = N_("(Gõ số thứ tự để chọn.)")

ZALO_TYPE_NUMBER = N_("(Gõ một số từ 1 đến {n}.)")

ZALO_OR_TYPE = N_("(hoặc gõ: {choices})")

ZALO_TYPE_ONE_OF = N_("(Gõ một trong: {choices})")

ZALO_NO_FILES = "(Ảnh biểu đồ, áp phích và tệp Excel hiện chỉ gửi được qua Telegram.)"

# With an https [web] public_url the file is published for an hour (bot.usecases.published):
ZALO_FILE_LINK = "Tải tệp {name} (hết hạn lúc {until}): {url}"
ZALO_PHOTO_LINK = "Xem ảnh (hết hạn lúc {until}): {url}"  # when Zalo refused the photo


# --------------------------------------------------------------------------- pure rendering


def _label(n: int, label: str) -> str:
    """``"✅ Gửi báo cáo"`` as choice 1 shows as ``"Gửi báo cáo"``; ``"1. Đất đai"`` as
    choice 1 keeps no double numbering."""
    return unnumbered(n, typed_label(label))


def by_words(buttons: Sequence[Button], free_text: bool) -> bool:
    """Whether choices are typed by their words rather than by number: when the question
    takes free input (digits are its answer), or when a label is itself a number other than
    its position (indicator codes "2", "7" to pick from), which a list would contradict."""
    return free_text or any(
        typed_label(b.label).isdigit() and typed_label(b.label) != str(n)
        for n, b in enumerate(buttons, start=1)
    )


def choice_lines(buttons: Sequence[Button], free_text: bool, language: str = "vi") -> list[str]:
    """How a message's buttons read on Zalo (hints in the message's language)."""
    if not buttons:
        return []

    def hint(sentence: str, **values: object) -> str:
        return i18n.translate(language, sentence).format(**values)

    names = " · ".join(typed_label(b.label) for b in buttons)
    if free_text:
        return [hint(ZALO_OR_TYPE, choices=names)]
    if by_words(buttons, free_text):
        return [hint(ZALO_TYPE_ONE_OF, choices=names)]
    numbered = leading_numbers(buttons)
    if numbered == len(buttons):
        return [hint(ZALO_TYPE_NUMBER, n=len(buttons))]  # a 1–5 rating, labelled in the text
    if numbered:  # a rating, then words to type (a survey's other languages)
        rest = " · ".join(typed_label(b.label) for b in buttons[numbered:])
        return [hint(ZALO_TYPE_NUMBER, n=numbered), hint(ZALO_OR_TYPE, choices=rest)]
    return [f"{n}. {_label(n, b.label)}" for n, b in enumerate(buttons, start=1)] + [
        hint(ZALO_PICK_HINT)
    ]


def render(
    text: str,
    buttons: Buttons,
    free_text: bool = False,
    files: bool = False,
    language: str = "vi",
) -> list[str]:
    """The Zalo messages for one Outbound: its text, the choices under it, split into
    messages of at most 2000 characters (between lines where it can)."""
    lines = text.split("\n") if text else []
    if files:
        lines.append(ZALO_NO_FILES)
    choices = choice_lines(flat(buttons), free_text, language)
    if choices:
        lines += ["", *choices] if lines else choices
    return split_message(lines, TEXT_LIMIT) if lines else []


@dataclass(frozen=True)
class FileLink:
    """Where an Outbound's file was published (``bot.usecases.published``)."""

    url: str
    name: str
    until: str  # "HH:MM dd/mm/yyyy", local time
    is_photo: bool

    def line(self) -> str:
        if self.is_photo:
            return ZALO_PHOTO_LINK.format(until=self.until, url=self.url)
        return ZALO_FILE_LINK.format(name=self.name, until=self.until, url=self.url)


def render_outbound(out: Outbound, link: FileLink | None = None) -> list[str]:
    """The text messages of one Outbound. Its file, when it has one: the link to it
    (published), else a note that Zalo cannot take it (no https ``public_url``). A
    published photo goes as a photo instead (``photo_messages``)."""
    files = out.photo is not None or out.document is not None
    text = out.text
    if files and link is not None:
        text = f"{text}\n{link.line()}" if text else link.line()
    return render(text, out.buttons, out.free_text, files and link is None, out.language)


def photo_messages(out: Outbound) -> tuple[list[str], str]:
    """A published photo's messages: the texts sent before it and its caption (the last
    message; the chart's caption is one line)."""
    chunks = render(out.text, out.buttons, out.free_text, False, out.language)
    if not chunks:
        return [], ""
    return chunks[:-1], chunks[-1]


async def publish_for(core: Core, out: Outbound, channel: str) -> FileLink | None:
    """Publish the Outbound's file when the web has an https ``public_url``; None when it
    has no file, when files are not published, or when storing it failed (logged: the
    caption then goes with the old note, nothing else is lost)."""
    found = published.attachment_of(out)
    if found is None or not published.can_publish(core.ctx.config.web):
        return None
    try:
        done, _ = await core.transactions.run(
            partial(published.publish, core.ctx, name=found.name, content=found.content)
        )
    except Exception:
        log.warning(
            "%s: a file could not be published; its caption goes with a note",
            channel,
            exc_info=True,
            extra={"event": "publish_failed", "channel": channel},
        )
        return None
    return FileLink(done.url, done.name, done.until, found.is_photo)


def offer_after(replies: Sequence[Outbound]) -> tuple[list[Button], bool] | None:
    """The buttons a typed digit presses after these replies (the last message that says
    something decides); None when the replies change nothing."""
    offer: tuple[list[Button], bool] | None = None
    for out in replies:
        choices = flat(out.buttons)
        if choices or out.text:
            offer = (choices, by_words(choices, out.free_text))
    return offer


# --------------------------------------------------------------------------- stored offers


async def save_offer(
    session: AsyncSession,
    channel: str,
    chat_id: str,
    buttons: Sequence[Button],
    free_text: bool,
    now: datetime,
) -> None:
    """Remember the buttons shown last in this chat (none: forget)."""
    if not buttons:
        await session.execute(
            delete(ChatOffer).where(ChatOffer.channel == channel, ChatOffer.chat_id == chat_id)
        )
        return
    stored = [[b.label, b.data] for b in buttons]
    row = await session.get(ChatOffer, (channel, chat_id))
    if row is None:
        session.add(
            ChatOffer(
                channel=channel,
                chat_id=chat_id,
                buttons=stored,
                free_text=free_text,
                updated_at=now,
            )
        )
    else:
        row.buttons, row.free_text, row.updated_at = stored, free_text, now


async def load_offer(
    session: AsyncSession, channel: str, chat_id: str
) -> tuple[list[Button], bool]:
    row = await session.get(ChatOffer, (channel, chat_id))
    if row is None:
        return [], False
    buttons = [Button(str(label), str(data)) for label, data in row.buttons]
    return buttons, bool(row.free_text)


class Offers:
    """Reads and writes one channel's offers in their own short transactions; a failure is
    logged and costs only the digit shortcut (the words and the core's typed answers still
    work). A chat is stored under ``pseudonym(chat_id)``, a keyed hash, never its platform
    id: most chats offered numbered choices are citizens' surveys."""

    def __init__(
        self,
        channel: str,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        pseudonym: Callable[[str], str],
    ) -> None:
        self.channel = channel
        self.sessions = sessions
        self.clock = clock
        self.pseudonym = pseudonym

    async def save(self, chat_id: str, buttons: Sequence[Button], free_text: bool) -> None:
        key = self.pseudonym(chat_id)
        try:
            async with self.sessions.begin() as session:
                await save_offer(session, self.channel, key, buttons, free_text, self.clock())
        except Exception:
            log.warning("%s: could not store the choices shown", self.channel, exc_info=True)

    async def load(self, chat_id: str) -> tuple[list[Button], bool]:
        try:
            async with self.sessions.begin() as session:
                return await load_offer(session, self.channel, self.pseudonym(chat_id))
        except Exception:
            log.warning("%s: could not read the choices shown", self.channel, exc_info=True)
            return [], False


# --------------------------------------------------------------------------- seen updates

SEEN_WINDOW = timedelta(hours=24)  # longer than openclaw's 5 minutes: the OA retries for 12 h
SWEEP_EVERY = timedelta(minutes=10)


class Sightings:
    """Which updates of one channel were already taken (``seen_updates``).

    ``first(key)`` records the key and says whether this is its first sighting; it is
    recorded *before* the update is handled, like an update taken from a poll or a webhook
    answered before its work: a crash in between loses that one update rather than handling
    it twice (Zalo's APIs have no offset to give it back). If the database cannot be
    reached the update is handled (a duplicate then beats a lost message)."""

    def __init__(
        self,
        channel: str,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        window: timedelta = SEEN_WINDOW,
    ) -> None:
        self.channel = channel
        self.sessions = sessions
        self.clock = clock
        self.window = window
        self._next_sweep: datetime | None = None
        self.dropped = 0  # duplicates dropped, since construction

    async def first(self, key: str) -> bool:
        now = self.clock()
        try:
            async with self.sessions.begin() as session:
                inserted = await repo.insert_ignore(
                    session,
                    SeenUpdate,
                    [{"channel": self.channel, "update_key": key[:160], "seen_at": now}],
                    ["channel", "update_key"],
                )
                if self._next_sweep is None or now >= self._next_sweep:
                    self._next_sweep = now + SWEEP_EVERY
                    await session.execute(
                        delete(SeenUpdate).where(
                            SeenUpdate.channel == self.channel,
                            SeenUpdate.seen_at < now - self.window,
                        )
                    )
        except Exception:
            log.warning("%s: could not record an update as seen", self.channel, exc_info=True)
            return True
        if not inserted:
            self.dropped += 1
            log.info(
                "%s: an update seen before was dropped",
                self.channel,
                extra={"event": "update_duplicate", "channel": self.channel},
            )
        return bool(inserted)


# --------------------------------------------------------------------------- retried replies

REPLY_ATTEMPTS = 3  # as Telegram's direct replies (bot.channels.telegram._retrying)
REPLY_PAUSE = 0.5  # seconds before the second try, twice that before the third


async def retrying(
    call: Callable[[], Awaitable[object]],
    retryable: Callable[[Exception], bool],
    pause: float = REPLY_PAUSE,
) -> None:
    """One API call of a direct reply, tried again (at most ``REPLY_ATTEMPTS`` times in all,
    a short pause growing between tries) when ``retryable`` says a second try may pass: a
    429, a 5xx, a refused or reset connection. A timeout is not retried: the message has
    most likely arrived, only late. Replies are sent at least once, like the outbox's."""
    for attempt in range(1, REPLY_ATTEMPTS + 1):
        try:
            await call()
            return
        except Exception as exc:
            if attempt == REPLY_ATTEMPTS or not retryable(exc):
                raise
        await asyncio.sleep(pause * attempt)


class StartupLog:
    """A channel that keeps trying to start logs its failure once per streak (and the
    recovery once), never on every retry."""

    def __init__(self, logger: logging.Logger, name: str) -> None:
        self.logger = logger
        self.name = name
        self.failures = 0

    def failed(self, detail: str, retry_in: float) -> None:
        self.failures += 1
        if self.failures == 1:
            self.logger.error(
                "%s could not start (%s); Telegram and the web go on, retrying in the "
                "background (next in %.0f s)",
                self.name,
                detail,
                retry_in,
                extra={"event": "channel_start_failed", "channel": self.name},
            )
        else:
            self.logger.debug("%s still cannot start (%s)", self.name, detail)

    def started(self) -> None:
        if self.failures:
            self.logger.warning(
                "%s started after %d failed attempts",
                self.name,
                self.failures,
                extra={"event": "channel_started", "channel": self.name},
            )
        self.failures = 0
