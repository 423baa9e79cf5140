"""What citizens read, in their language: Vietnamese (the source), Khmer and English.

Officials (unit heads, Phòng Nội vụ) are always answered in Vietnamese. Everything a
citizen can be told is marked ``N_("…")`` in the code, Vietnamese being the message id, as
gettext does with its source language. ``pybabel extract`` collects the marked sentences
into ``surveys/locale/citizen.pot``; translators edit
``surveys/locale/<lang>/LC_MESSAGES/citizen.po`` with any PO editor, never the code. The
``.po`` files are compiled with Babel when first needed (in memory, so no binary file is
kept in the repository). A sentence missing from a catalogue falls back to Vietnamese at
run time, and a test fails the build before that can ship (tests/integration/test_i18n.py).

The questionnaires carry their own wording in every language they support (see
``surveys.catalogue.Wording``); this module only holds the bot's own sentences.
"""

from __future__ import annotations

import gettext
import re
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SOURCE = "vi"
LANGUAGES = ("vi", "km", "en")
DOMAIN = "citizen"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# The one-tap switch on a survey's first question: each language named in itself.
SWITCH_LABELS: dict[str, str] = {"vi": "🇻🇳 Tiếng Việt", "km": "🇰🇭 ខ្មែរ", "en": "🇬🇧 EN"}


def N_(message: str) -> str:
    """Marks a sentence for the citizens' catalogue; returns it unchanged (Vietnamese)."""
    return message


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _translations(language: str) -> gettext.NullTranslations:
    if language == SOURCE:
        return gettext.NullTranslations()
    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(language: str, message: str) -> str:
    """``message`` (a Vietnamese ``N_`` sentence) in ``language``; Vietnamese if unknown."""
    if language not in LANGUAGES:
        return message
    return _translations(language).gettext(message)


def supported(code: str | None) -> str | None:
    """The shipped language a code names (``"km"``, ``"en-US"``, ``"KM_kh"``), or None."""
    if not code:
        return None
    base = code.strip().replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


def choose(*codes: str | None) -> str:
    """The first of ``codes`` that is a shipped language, else Vietnamese."""
    for code in codes:
        found = supported(code)
        if found is not None:
            return found
    return SOURCE


_PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def extract_messages(root: Path) -> set[str]:
    """Every ``N_`` sentence in the code under ``root``, as ``pybabel extract`` finds them
    with babel.cfg."""
    method_map = [("bot/**.py", "python"), ("surveys/**.py", "python")]
    found = extract_from_dir(
        root, method_map=method_map, keywords={"N_": None}, comment_tags=(), strip_comment_tags=True
    )
    return {str(message) for _, _, message, _, _ in found}


def catalogue_problems(language: str, messages: set[str]) -> list[str]:
    """What stops ``language``'s catalogue from saying every one of ``messages``: missing,
    empty or fuzzy (unreviewed) entries, and placeholders that differ from the Vietnamese."""
    path = catalogue_path(language)
    if not path.exists():
        return [f"{path}: không có tệp"]
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    problems = []
    for message in sorted(messages):
        entry = catalog.get(message)
        if entry is None or not entry.string:
            problems.append(f"{language}: chưa dịch: {message!r}")
        elif entry.fuzzy:
            problems.append(f"{language}: bản dịch chưa duyệt (fuzzy): {message!r}")
        elif sorted(_PLACEHOLDER.findall(str(entry.string))) != sorted(
            _PLACEHOLDER.findall(message)
        ):
            problems.append(f"{language}: sai chỗ điền {{…}}: {message!r}")
    return problems
