"""What the core says and offers, independent of any platform.

An adapter turns an ``Outbound`` into a Telegram message with inline buttons, a Zalo
message with a numbered list, or lines on a terminal. ``Inbound`` is the other direction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ChatType = Literal["private", "group"]


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # at most 64 bytes (Telegram's callback_data limit)


@dataclass(frozen=True)
class Outbound:
    chat_id: str
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    photo: bytes | None = None
    document: tuple[str, bytes] | None = None  # (file name, content)
    free_text: bool = False  # see surveys.conversation.Reply.free_text
    language: str = "vi"  # of the text; adapters add their own hints in it
    # a survey's conversation state, for a channel that keeps it in the page (the web)
    held: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Inbound:
    """One thing a person did: a message, a command, a deep link or a button press."""

    channel: str
    chat_id: str
    user_id: str
    display_name: str = ""
    chat_type: ChatType = "private"
    text: str | None = None
    button: str | None = None
    language_code: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def command(self) -> tuple[str, str] | None:
        """``("report", "2=1/2")`` for ``/report@bot 2=1/2``; None when not a command."""
        if self.text is None or not self.text.startswith("/"):
            return None
        head, _, rest = self.text.strip().partition(" ")
        name = head[1:].split("@", 1)[0].lower()
        return name, rest.strip()
