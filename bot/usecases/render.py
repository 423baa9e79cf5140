"""Turning the pure machines' replies into Outbound messages with tokened button data."""

from __future__ import annotations

from collections.abc import Iterable

from bot.usecases.people import Person
from surveys import i18n
from surveys.conversation import Reply
from surveys.messages import Button, Outbound

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


def outbound(
    chat_id: str, replies: Iterable[Reply], token: str = "", language: str = "vi"
) -> list[Outbound]:
    out: list[Outbound] = []
    for reply in replies:
        rows = tuple(
            tuple(Button(label, button_data(token, choice)) for label, choice in row)
            for row in reply.choices
        )
        out.append(
            Outbound(chat_id, reply.text, rows, free_text=reply.free_text, language=language)
        )
    return out


def say(chat_id: str, *texts: str, language: str = "vi") -> list[Outbound]:
    return [Outbound(chat_id, text, language=language) for text in texts]


def say_in(chat_id: str, language: str, message: str, **values: object) -> list[Outbound]:
    """An ``N_`` sentence in ``language``, translated then filled in."""
    text = i18n.translate(language, message)
    return say(chat_id, text.format(**values) if values else text, language=language)


def tell(person: Person, message: str, **values: object) -> list[Outbound]:
    """An ``N_`` sentence for a citizen in their language (officials: Vietnamese)."""
    return say_in(person.chat_id, person.language, message, **values)
