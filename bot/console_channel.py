"""A console channel: the same core as Telegram and Zalo, talked to from a terminal.

Buttons are shown as numbered choices; typing the number presses the button (except when
the question also takes free input such as a number, where digits are the answer and the
choices are named instead). Reminders queued for the person being played are printed as
they arrive, through the same outbox as the platforms.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from bot.messages import Button, Inbound, Outbound
from bot.runtime import Runtime, start_background
from db.models import Member

CHANNEL = "console"
ADMIN_ID = "admin"
CITIZEN_ID = "citizen"

HELP = (
    "Bạn đang dùng bot trong terminal. Gõ tin nhắn như trong Telegram; chọn nút bằng số.\n"
    "  /as admin · /as unit MÃ · /as citizen — đổi vai · /thoat — thoát"
)


@dataclass
class Identity:
    user_id: str
    name: str

    @property
    def label(self) -> str:
        return self.name


def identity_for(role: str, runtime: Runtime) -> Identity:
    """``admin``, ``citizen`` or ``unit CODE``; ValueError with a Vietnamese message."""
    words = role.split()
    if not words:
        raise ValueError("Vai không hợp lệ. Dùng: admin, citizen hoặc unit MÃ")
    if words[0] == "admin":
        return Identity(ADMIN_ID, "Cán bộ Phòng Nội vụ")
    if words[0] == "citizen":
        return Identity(CITIZEN_ID, "Người dân")
    if words[0] == "unit" and len(words) == 2:
        unit = runtime.ctx.catalogue.org.unit(words[1])
        if unit is None or not unit.reports:
            raise ValueError(f"Không có đơn vị báo cáo mã “{words[1]}” (xem cchc-bot units)")
        return Identity(f"unit-{unit.code}", f"Thủ trưởng {unit.name}")
    raise ValueError("Vai không hợp lệ. Dùng: admin, citizen hoặc unit MÃ")


class ConsoleSession:
    def __init__(
        self,
        runtime: Runtime,
        identity: Identity,
        write: Callable[[str], None] = print,
        read: Callable[[str], str] = input,
    ) -> None:
        self.runtime = runtime
        self.identity = identity
        self.write = write
        self.read = read
        self.buttons: list[Button] = []
        self.free_text = False
        runtime.ctx.admins[CHANNEL] = frozenset({ADMIN_ID})

    async def ensure_member(self) -> None:
        """Playing a unit head registers the console user for that unit (local try-out)."""
        if not self.identity.user_id.startswith("unit-"):
            return
        code = self.identity.user_id.removeprefix("unit-")
        async with self.runtime.ctx.sessions.begin() as session:
            member = await session.scalar(
                select(Member).where(
                    Member.channel == CHANNEL, Member.user_id == self.identity.user_id
                )
            )
            if member is None:
                session.add(
                    Member(
                        unit_code=code,
                        channel=CHANNEL,
                        user_id=self.identity.user_id,
                        chat_id=self.identity.user_id,
                        display_name=self.identity.name,
                        registered_at=self.runtime.ctx.now(),
                    )
                )

    # -------------------------------------------------------------- output

    def show(self, out: Outbound) -> None:
        self.write("")
        self.write(f"🤖 {out.text}")
        if out.photo is not None:
            self.write(f"   [ảnh PNG, {len(out.photo)} byte]")
        if out.document is not None:
            self.write(f"   [tệp {out.document[0]}, {len(out.document[1])} byte]")
        flat = [b for row in out.buttons for b in row]
        if flat:
            if out.free_text:
                self.write("   (hoặc gõ: " + " · ".join(b.label for b in flat) + ")")
            else:
                for n, button in enumerate(flat, start=1):
                    self.write(f"   [{n}] {button.label}")
            self.buttons, self.free_text = flat, out.free_text
        elif out.text:
            self.buttons, self.free_text = [], False

    async def send(self, chat_id: str, text: str, buttons: tuple[tuple[Button, ...], ...]) -> None:
        """The outbox's sender for the console: print what reaches the person played."""
        if chat_id == self.identity.user_id:
            self.show(Outbound(chat_id, text, buttons))

    # -------------------------------------------------------------- input

    def inbound(self, line: str) -> Inbound:
        common = {
            "channel": CHANNEL,
            "chat_id": self.identity.user_id,
            "user_id": self.identity.user_id,
            "display_name": self.identity.name,
        }
        typed = line.strip()
        if self.buttons and not self.free_text and typed.isdigit():
            n = int(typed)
            if 1 <= n <= len(self.buttons):
                return Inbound(button=self.buttons[n - 1].data, **common)  # type: ignore[arg-type]
        if self.buttons and self.free_text:
            for button in self.buttons:
                if typed.lower() == button.label.lower():
                    return Inbound(button=button.data, **common)  # type: ignore[arg-type]
        return Inbound(text=line, **common)  # type: ignore[arg-type]

    async def handle_line(self, line: str) -> bool:
        """Process one typed line; False when the person wants to leave."""
        typed = line.strip()
        if typed in ("/thoat", "/exit", "/quit"):
            return False
        if typed.startswith("/as"):
            try:
                self.identity = identity_for(typed[3:].strip(), self.runtime)
            except ValueError as exc:
                self.write(str(exc))
                return True
            await self.ensure_member()
            self.buttons, self.free_text = [], False
            self.write(f"— Bây giờ bạn là: {self.identity.label}")
            if self.runtime.dispatcher is not None:
                self.runtime.dispatcher.wake()
            return True
        if not typed:
            return True
        for out in await self.runtime.core.handle(self.inbound(line)):
            self.show(out)
        return True

    async def loop(self) -> None:
        await self.ensure_member()
        start_background(self.runtime, {CHANNEL: self}, only_chats=lambda: [self.identity.user_id])
        self.write(HELP)
        self.write(f"— Bạn là: {self.identity.label}")
        while True:
            try:
                line = await asyncio.to_thread(self.read, f"\n[{self.identity.label}] > ")
            except EOFError:
                break
            if not await self.handle_line(line):
                break
        self.write("Tạm biệt!")
        sys.stdout.flush()
