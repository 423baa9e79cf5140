"""A console channel: the same core as Telegram, talked to from a terminal (``cchc-bot chat``).

The console is a channel beside Telegram: every typed line becomes an ``Inbound`` for
``bot.usecases.router.Core`` and the replies come back as ``Outbound`` messages, exactly as for the
Telegram adapter; the outbox dispatcher delivers queued messages (reminders) through
``ConsoleSession.send``, but only those for the person being played.

Buttons are shown as numbered choices; typing the number presses the button. When the
question also takes free input (a number, a comment), digits are the answer, so the choices
are named instead — "(hoặc gõ: …)" — and typing a choice's words presses it.

Input is read by a daemon thread with ``os.read``: a read still waiting when the session
ends (Ctrl-C, SIGTERM) never keeps the process alive. The session ends on ``/thoat``, at the
end of input (Ctrl-D) and on Ctrl-C; a command being handled is finished first.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import io
import os
import signal
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from sqlalchemy import select

from bot.channels.typed import leading_numbers, pressed, typed_label, unnumbered
from bot.usecases.context import Context
from bot.usecases.router import Core
from db import repo
from db.models import Member
from scheduler.outbox import Sender
from surveys import i18n
from surveys.catalogue import Catalogue
from surveys.conversation import fold
from surveys.i18n import N_
from surveys.messages import Button, Inbound, Outbound

# --------------------------------------------------------------------------- sentences
# What only this module says (the rest is in surveys/texts.py).

CONSOLE_HELP = (
    "Trò chuyện với bot ngay trong terminal, như trong Telegram. Nút bấm hiện thành số "
    "[1], [2]…: gõ số để bấm.\n"
    "Đổi vai: /as admin · /as unit MÃ · /as citizen. Thoát: /thoat hoặc Ctrl-D."
)

CONSOLE_ROLE_USAGE = "Vai không hợp lệ. Dùng: admin, citizen hoặc unit MÃ (xem mã: cchc-bot units)."

CONSOLE_UNKNOWN_UNIT = "Không có đơn vị báo cáo mã “{code}” (xem mã: cchc-bot units)."

CONSOLE_ADMIN = "Cán bộ {office}"  # the collecting office's name, from the data files

CONSOLE_CITIZEN = "Người dân"

CONSOLE_HEAD = "Thủ trưởng"

CONSOLE_YOU_ARE = "— Bạn là: {who}."

CONSOLE_NOW = "— Bây giờ bạn là: {who}. Gõ /help để xem việc có thể làm."

CONSOLE_OR_TYPE = N_("(hoặc gõ: {choices})")

CONSOLE_PHOTO = "[ảnh đã lưu: {path}]"

CONSOLE_FILE = "[tệp đã lưu: {path}]"

CONSOLE_FOR_OTHER = "(tin này gửi tới {who})"

CONSOLE_BYE = "Tạm biệt!"


CHANNEL = "console"
ADMIN_ID = "admin"
CITIZEN_ID = "citizen"
UNIT_PREFIX = "unit-"
EXIT_COMMANDS = frozenset({"/thoat", "/exit", "/quit"})
HELP_COMMANDS = frozenset({"/help", "/trogiup"})
LINE_CAP = 100_000  # characters kept of one typed line (the core refuses more than 2,000)
QUIESCE_SECONDS = 35.0  # a tick waiting for the SQLite write lock gives up after 30 s
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class Host(Protocol):
    """What the console needs of the running application (``bot.app.runtime.Runtime``),
    which hands itself in: the channel does not import the layer above it."""

    @property
    def ctx(self) -> Context: ...

    @property
    def core(self) -> Core: ...

    def wake_outbox(self) -> None: ...

    def start_background(
        self, senders: dict[str, Sender], only_chats: Callable[[], Sequence[str]] | None = None
    ) -> None: ...

    async def quiesce(self, seconds: float) -> None: ...


# --------------------------------------------------------------------------- who is typing


@dataclass(frozen=True)
class Identity:
    user_id: str  # also the chat id: the console has only private chats
    name: str  # what the core records ("người gửi")
    prompt: str  # short, for the prompt


def identity_for(role: str, catalogue: Catalogue) -> Identity:
    """``admin``, ``citizen`` or ``unit CODE``; ValueError with a Vietnamese message."""
    words = role.split()
    key = words[0].lower() if words else ""
    if key == "admin" and len(words) == 1:
        admin = CONSOLE_ADMIN.format(office=catalogue.org.words.office)
        return Identity(ADMIN_ID, admin, admin)
    if key == "citizen" and len(words) == 1:
        return Identity(CITIZEN_ID, CONSOLE_CITIZEN, CONSOLE_CITIZEN)
    if key == "unit" and len(words) == 2:
        unit = catalogue.org.unit(words[1])
        if unit is None or not unit.reports:
            raise ValueError(CONSOLE_UNKNOWN_UNIT.format(code=words[1]))
        name = f"{CONSOLE_HEAD} {unit.name} ({unit.code})"
        return Identity(UNIT_PREFIX + unit.code, name, f"{CONSOLE_HEAD} {unit.code}")
    raise ValueError(CONSOLE_ROLE_USAGE)


def identity_of_chat(chat_id: str, catalogue: Catalogue) -> Identity | None:
    """Who a console chat id stands for (None: not a console person)."""
    role = {ADMIN_ID: "admin", CITIZEN_ID: "citizen"}.get(chat_id)
    if role is None and chat_id.startswith(UNIT_PREFIX):
        role = "unit " + chat_id.removeprefix(UNIT_PREFIX)
    if role is None:
        return None
    try:
        return identity_for(role, catalogue)
    except ValueError:
        return None


# --------------------------------------------------------------------------- pure display


def printable(text: str) -> str:
    """Text safe to print: control characters (a citizen's comment could carry terminal
    escape sequences) become "�", bidirectional overrides are dropped."""
    return "".join(
        "�" if unicodedata.category(c) == "Cc" and c not in "\n\t" else c
        for c in text
        if c not in BIDI_CONTROLS
    )


def choice_lines(buttons: Sequence[Button], free_text: bool, language: str = "vi") -> list[str]:
    """How a message's buttons show in the terminal."""
    if not buttons:
        return []
    if free_text:
        names = " · ".join(typed_label(b.label) for b in buttons)
        return ["   " + i18n.translate(language, CONSOLE_OR_TYPE).format(choices=names)]
    numbered = leading_numbers(buttons)
    if numbered:  # a rating; then, on a survey's first question, its other languages
        lines = ["   " + "  ".join(f"[{n}]" for n in range(1, numbered + 1))]
        rest = " · ".join(typed_label(b.label) for b in buttons[numbered:])
        if rest:
            lines.append("   " + i18n.translate(language, CONSOLE_OR_TYPE).format(choices=rest))
        return lines
    return [f"   [{n}] {unnumbered(n, b.label)}" for n, b in enumerate(buttons, start=1)]


# --------------------------------------------------------------------------- terminal


class Terminal:
    """Writes the conversation. Knows when a prompt is waiting, so that a message arriving
    meanwhile (a reminder) starts on a fresh line and the prompt is shown again after it."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.prompt_text = ""
        self.waiting = False

    def line(self, text: str = "") -> None:
        if self.waiting:
            self.out.write("\n")
            self.waiting = False
        self.out.write(printable(text) + "\n")
        self.out.flush()

    def prompt(self, text: str) -> None:
        self.prompt_text = text
        self.out.write(text)
        self.out.flush()
        self.waiting = True

    def answered(self) -> None:
        self.waiting = False


class LineReader:
    """Typed lines, read from a file descriptor by a daemon thread with ``os.read``.

    Neither ``input()`` in ``asyncio.to_thread`` (its thread keeps the process alive until
    Enter is pressed) nor a reader on ``sys.stdin`` (its lock, held by a waiting daemon
    thread, can abort the interpreter at exit) would let Ctrl-C end the session at once.
    """

    def __init__(self, fd: int = 0, encoding: str = "utf-8") -> None:
        self.fd = fd
        self.encoding = encoding
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        threading.Thread(target=self._read, name="console-input", daemon=True).start()

    async def next_line(self) -> str | None:
        """The next line without its newline; None at the end of input or once closed."""
        line = None if self.closed else await self.queue.get()
        return None if self.closed else line

    def close(self) -> None:
        """End the session at the next read, whatever was typed ahead (Ctrl-C, SIGTERM)."""
        self.closed = True
        self.queue.put_nowait(None)  # wakes a read in progress

    def _emit(self, item: str | None) -> bool:
        assert self.loop is not None
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: the session is over
            return False
        return True

    def _read(self) -> None:
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="replace")
        pending = ""
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: the terminal went away
                data = b""
            pending += decoder.decode(data, final=not data)
            *lines, pending = pending.split("\n")
            for line in lines:
                if not self._emit(line.removesuffix("\r")[:LINE_CAP]):
                    return
            pending = pending[:LINE_CAP]
            if not data:
                if pending:
                    self._emit(pending)
                self._emit(None)
                return


# --------------------------------------------------------------------------- the session


class ConsoleSession:
    """One person at the terminal, who can become someone else with ``/as``."""

    def __init__(
        self,
        runtime: Host,
        identity: Identity,
        terminal: Terminal,
        files: Path | None = None,
    ) -> None:
        self.runtime = runtime
        self.identity = identity
        self.term = terminal
        self._files = files
        self._saved = 0
        self.buttons: list[Button] = []
        self.free_text = False
        runtime.ctx.admins[CHANNEL] = frozenset({ADMIN_ID})

    @property
    def catalogue(self) -> Catalogue:
        return self.runtime.ctx.catalogue

    async def register(self) -> None:
        """Playing a unit head registers the console person for that unit (a local try-out
        needs no invitation)."""
        if not self.identity.user_id.startswith(UNIT_PREFIX):
            return
        code = self.identity.user_id.removeprefix(UNIT_PREFIX)
        async with self.runtime.ctx.sessions.begin() as session:
            member = await session.scalar(
                select(Member).where(
                    Member.channel == CHANNEL, Member.user_id == self.identity.user_id
                )
            )
            if member is None:
                me, now = self.identity, self.runtime.ctx.now()
                repo.add_member(session, code, CHANNEL, me.user_id, me.name, now)

    # -------------------------------------------------------------- output

    def _save(self, name: str, content: bytes) -> Path:
        if self._files is None:
            self._files = Path(tempfile.mkdtemp(prefix="cchc-chat-"))
        self._files.mkdir(parents=True, exist_ok=True)
        self._saved += 1
        path = self._files / f"{self._saved:02d}-{Path(name).name}"
        path.write_bytes(content)
        return path

    def show(self, out: Outbound) -> None:
        """Print one message; its buttons become the choices a number presses."""
        self.term.line("")
        if out.text:
            self.term.line(f"🤖 {out.text}")
        if out.photo is not None:
            path = self._save("bieu-do.png", out.photo)
            self.term.line("   " + CONSOLE_PHOTO.format(path=path))
        if out.document is not None:
            path = self._save(*out.document)
            self.term.line("   " + CONSOLE_FILE.format(path=path))
        flat = [b for row in out.buttons for b in row]
        for line in choice_lines(flat, out.free_text, out.language):
            self.term.line(line)
        if flat or out.text:
            self.buttons, self.free_text = flat, out.free_text

    async def send(self, chat_id: str, text: str, buttons: tuple[tuple[Button, ...], ...]) -> None:
        """The outbox's sender for the console channel (only the person played is served)."""
        waiting = self.term.waiting
        if chat_id != self.identity.user_id:  # switched while it was on its way
            other = identity_of_chat(chat_id, self.catalogue)
            self.term.line(CONSOLE_FOR_OTHER.format(who=other.name if other else chat_id))
        self.show(Outbound(chat_id, text, buttons))
        if waiting:
            self.term.prompt(self.term.prompt_text)

    # -------------------------------------------------------------- input

    def inbound(self, line: str) -> Inbound:
        me = self.identity.user_id
        button = pressed(line, self.buttons, self.free_text)
        if button is not None:
            return Inbound(CHANNEL, me, me, self.identity.name, button=button.data)
        return Inbound(CHANNEL, me, me, self.identity.name, text=line)

    async def switch(self, role: str) -> None:
        try:
            self.identity = identity_for(role, self.catalogue)
        except ValueError as exc:
            self.term.line(str(exc))
            return
        await self.register()
        self.buttons, self.free_text = [], False
        self.term.line(CONSOLE_NOW.format(who=self.identity.name))
        self.runtime.wake_outbox()  # what is waiting for the new person arrives now

    async def handle_line(self, line: str) -> bool:
        """Process one typed line; False when the person wants to leave."""
        typed = line.strip()
        command = fold(typed.split(maxsplit=1)[0]) if typed else ""  # "/Thoát" is "/thoat"
        if command in EXIT_COMMANDS:
            return False
        if command == "/as":
            await self.switch(typed[3:])
            return True
        if not typed:
            return True
        for out in await self.runtime.core.handle(self.inbound(line)):
            self.show(out)
        if command in HELP_COMMANDS:
            self.term.line("")
            self.term.line(CONSOLE_HELP)
        return True

    async def run(self, reader: LineReader) -> None:
        """Talk until /thoat, the end of input or Ctrl-C; then let background work finish."""
        await self.register()
        self.runtime.start_background({CHANNEL: self}, only_chats=lambda: [self.identity.user_id])
        self.term.line(CONSOLE_HELP)
        self.term.line(CONSOLE_YOU_ARE.format(who=self.identity.name))
        try:
            while True:
                self.term.prompt(f"\n[{self.identity.prompt}] > ")
                line = await reader.next_line()
                self.term.answered()
                if line is None or not await self.handle_line(line):
                    break
        finally:
            self.term.line(CONSOLE_BYE)
            await self.runtime.quiesce(QUIESCE_SECONDS)


def _stdout() -> TextIO:
    """Standard output that never fails on a character the terminal cannot show."""
    out = sys.stdout
    if isinstance(out, io.TextIOWrapper):
        with contextlib.suppress(ValueError):
            out.reconfigure(errors="replace")
    return out


async def run_console(runtime: Host, identity: Identity, files: Path | None = None) -> None:
    """``cchc-bot chat``: the terminal session on stdin/stdout; pictures and spreadsheets the
    bot sends are saved in ``files`` (a new temporary folder when None)."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):  # no usable stdin object: read fd 0
        fd = 0
    reader = LineReader(fd, getattr(sys.stdin, "encoding", None) or "utf-8")
    reader.start()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, reader.close)
            handled.append(sig)
    try:
        await ConsoleSession(runtime, identity, Terminal(_stdout()), files).run(reader)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
