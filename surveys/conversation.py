"""Shared shapes of the pure conversation state machines: (state, input) -> (state, replies)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

State = dict[str, Any]


@dataclass(frozen=True)
class Text:
    """Something typed."""

    text: str


@dataclass(frozen=True)
class Pressed:
    """A button pressed (already checked to belong to this conversation)."""

    choice: str


Input = Text | Pressed


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[tuple[tuple[str, str], ...], ...] = ()  # rows of (label, choice)
    # True when the question also takes free typed input (a number, a comment), so a typed
    # digit must not be read as "the n-th button" by a platform without buttons
    free_text: bool = False


@dataclass
class Step:
    """What one input did: the next state (None = finished) and what to say."""

    state: State | None
    replies: list[Reply] = field(default_factory=list)


def fold(text: str) -> str:
    """Lower-case without Vietnamese diacritics, so "Gửi", "gui" and "GỬI" compare equal."""
    decomposed = unicodedata.normalize("NFD", text.strip().lower().replace("đ", "d"))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
