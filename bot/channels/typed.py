"""Buttons on platforms that have none: the console and Zalo show choices as text, and the
person types a number or the words of a button.

One place for what both do alike: how a label reads when typed, which numbered buttons open
a row (a 1–5 rating), and which button a typed line presses. How the choices are then laid
out is each channel's own (the terminal draws ``[1] [2]``, Zalo writes a hint sentence).
"""

from __future__ import annotations

from collections.abc import Sequence

from surveys.conversation import fold
from surveys.messages import Button

Buttons = tuple[tuple[Button, ...], ...]


def flat(buttons: Buttons) -> list[Button]:
    """The buttons of every row, in reading order."""
    return [b for row in buttons for b in row]


def typed_label(label: str) -> str:
    """A button label as one would type it: ``"✅ Gửi báo cáo"`` → ``"Gửi báo cáo"``."""
    start = next((i for i, c in enumerate(label) if c.isalnum()), len(label))
    return label[start:].strip() or label


def unnumbered(n: int, label: str) -> str:
    """``"1. Đất đai"`` as choice 1 shows as ``"Đất đai"`` (no double numbering)."""
    prefix = f"{n}."
    return label[len(prefix) :].strip() if label.startswith(prefix) else label


def leading_numbers(buttons: Sequence[Button]) -> int:
    """How many buttons at the start are labelled 1, 2, 3, … (a rating row); the buttons
    after them (a survey's other languages) are typed by their words."""
    numbered = 0
    while numbered < len(buttons) and buttons[numbered].label == str(numbered + 1):
        numbered += 1
    return numbered


def pressed(typed: str, buttons: Sequence[Button], free_text: bool) -> Button | None:
    """The button a typed line presses, if any: its number (unless the question takes free
    input), or its words (without diacritics and symbols, any case)."""
    text = typed.strip()
    if not buttons or not text:
        return None
    if text.isascii() and text.isdigit():
        if free_text:
            return None
        n = int(text)
        return buttons[n - 1] if 1 <= n <= len(buttons) else None
    words = fold(text)
    for button in buttons:
        if words in (fold(button.label), fold(typed_label(button.label))):
            return button
    return None
