"""The fonts of posters and charts: DejaVu Sans for Vietnamese and English, Khmer OS for Khmer.

DejaVu Sans ships with matplotlib and has every Vietnamese glyph but no Khmer; Khmer OS
(Debian's fonts-khmeros, installed by the README's set-up and by CI) has the Khmer script.
Both Pillow and matplotlib shape text with libraqm here, which Khmer needs (subscript
consonants and vowels placed around their base), so a Khmer line is drawn with the Khmer
font as a whole, not glyph by glyph.
"""

from __future__ import annotations

import logging
from functools import cache

from matplotlib import font_manager

LATIN_FAMILY = "DejaVu Sans"
KHMER_FAMILY = "Khmer OS"
KHMER_PACKAGE = "fonts-khmeros"
# Khmer, Khmer symbols, and the zero-width (non-)joiners and space used inside Khmer words
_KHMER_RANGES = ((0x1780, 0x17FF), (0x19E0, 0x19FF), (0x200B, 0x200D))


class FontMissing(RuntimeError):
    """A font the text needs is not installed; the message says which package to install."""


def is_khmer(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _KHMER_RANGES)


def has_khmer(text: str) -> bool:
    return any(is_khmer(c) for c in text)


def _find(family: str, bold: bool = False) -> str | None:
    prop = font_manager.FontProperties(family=family, weight="bold" if bold else "normal")
    try:
        return str(font_manager.findfont(prop, fallback_to_default=False))
    except ValueError:
        return None


@cache
def latin_font_path(bold: bool = False) -> str:
    path = _find(LATIN_FAMILY, bold)
    if path is None:  # matplotlib always ships it
        raise FontMissing(f"Không tìm thấy phông chữ {LATIN_FAMILY}")
    return path


@cache
def khmer_font_path() -> str:
    """Khmer OS, looked up again among the system's fonts if matplotlib's font cache was
    built before the font was installed."""
    path = _find(KHMER_FAMILY)
    if path is None:
        for found in font_manager.findSystemFonts():
            if "khmeros" in found.lower().replace(" ", ""):
                font_manager.fontManager.addfont(found)
        path = _find(KHMER_FAMILY)
    if path is None:
        raise FontMissing(
            f"Thiếu phông chữ tiếng Khmer: cài gói {KHMER_PACKAGE} "
            f"(sudo apt-get install {KHMER_PACKAGE})"
        )
    return path


def chart_families(texts: list[str], base: str = LATIN_FAMILY) -> list[str]:
    """The font family list for a chart: the base font, then Khmer OS (matplotlib falls
    back glyph by glyph) when any of ``texts`` is Khmer."""
    if any(has_khmer(t) for t in texts):
        khmer_font_path()  # registers it, or says which package is missing
        # Khmer OS has no bold face: matplotlib says so on every bold title, and uses the
        # regular one, which is what we want.
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        return [base, KHMER_FAMILY]
    return [base]
