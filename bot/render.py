"""Turning the pure machines' replies into Outbound messages with tokened button data."""

from __future__ import annotations

from collections.abc import Iterable

from bot.messages import Button, Outbound
from surveys.conversation import Reply

CONVERSATION_PREFIX = "c"


def button_data(token: str, choice: str) -> str:
    """``c:<token>:<choice>``: the token ties a button to one conversation, so a button of
    another person, another round or a finished conversation is refused."""
    return f"{CONVERSATION_PREFIX}:{token}:{choice}"


def parse_button(data: str) -> tuple[str, str] | None:
    prefix, _, rest = data.partition(":")
    token, _, choice = rest.partition(":")
    if prefix != CONVERSATION_PREFIX or not token or not choice:
        return None
    return token, choice


def outbound(chat_id: str, replies: Iterable[Reply], token: str = "") -> list[Outbound]:
    out: list[Outbound] = []
    for reply in replies:
        rows = tuple(
            tuple(Button(label, button_data(token, choice)) for label, choice in row)
            for row in reply.choices
        )
        out.append(Outbound(chat_id, reply.text, rows, free_text=reply.free_text))
    return out


def say(chat_id: str, *texts: str) -> list[Outbound]:
    return [Outbound(chat_id, text) for text in texts]
