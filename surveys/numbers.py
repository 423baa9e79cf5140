"""How people in Vietnam type numbers, read strictly, and how the bot shows them.

Vietnamese writes ``1.234,5`` (dot for thousands, comma for decimals), but people also type
``1 234``, copy ``1,234,567`` from English spreadsheets and write ``85.5`` for a rate. The
reading rules, in order of precedence:

* Thousands may be grouped with spaces (also non-breaking / thin spaces): ``1 234 567``.
  A space followed by anything but a three-digit group means several numbers (``12 15``).
* A single comma is ALWAYS a decimal comma: ``85,5`` = 85.5 and ``1,234`` = 1.234.
* Two or more commas, each followed by exactly three digits, are English thousands
  separators: ``1,234,567``; such a number may end with a decimal dot (``1,234,567.89``).
  ``1,234.5`` (one comma, then a dot) is ambiguous.
* A lone dot before exactly three digits is a thousands separator (``1.234`` = 1234);
  before any other number of digits it is a decimal point (``85.5``, ``0.75``, ``12.50``).
  Exception: after a lone ``0`` it is a decimal point (``0.123`` = 0.123), because no
  number starts with a thousands group of ``0``. ``1234.567`` (a "group" of four digits
  before the dot) is ambiguous: it is either an English decimal or a mistyped
  ``1.234.567``, and guessing wrong would be off by a factor of a thousand.
* Several dots, each followed by exactly three digits, are thousands separators
  (``1.234.567``); they may be followed by one decimal comma (``1.234,5``).
* A trailing ``%`` (optionally after a space) is accepted when ``allow_percent``.

Everything else is refused with a :class:`NumberProblem`, never guessed: a minus sign
(figures here are never negative), a leading ``+`` (it reads as "an increase of", not as a
figure), letters and units (``12 hồ sơ``), several numbers (``12/15``, ``12; 15``), empty
groups or leading/trailing separators (``1..2``, ``,5``, ``5.``) and wrongly mixed separators.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

MAX_LENGTH = 40

_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"[0-9]+")
_CORE = re.compile(r"[0-9.,]+")
# A first thousands group: 1-3 digits, not starting with 0.
_LEAD_GROUP = re.compile(r"[1-9][0-9]{0,2}")
_GROUP = re.compile(r"[0-9]{3}")
_MINUS = frozenset("-\u2212\u2010\u2011\u2012\u2013\u2014\ufe63\uff0d")
_LIST_SEPARATORS = frozenset("/\\;:|&+") | _MINUS
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_FULL_WIDTH = str.maketrans("０１２３４５６７８９％，．", "0123456789%,.")
_PERCENT = "%"


class NumberProblem(StrEnum):
    EMPTY = "empty"
    NEGATIVE = "negative"
    NOT_A_NUMBER = "not_a_number"
    SEVERAL = "several"
    AMBIGUOUS = "ambiguous"
    TOO_LONG = "too_long"


class NumberError(ValueError):
    """The text is not one non-negative number; ``problem`` says why, ``text`` is the input."""

    def __init__(self, problem: NumberProblem, text: str) -> None:
        super().__init__(f"{problem.value}: {text!r}")
        self.problem = problem
        self.text = text


def parse_number(text: str, *, allow_percent: bool = True) -> Decimal:
    """Read one non-negative number typed by a person (see the module docstring).

    The result is exact and carries no trailing fractional zeros: ``"85,50"`` gives
    ``Decimal("85.5")`` and ``"100"`` gives ``Decimal("100")``. A percent sign is only
    dropped, so ``"85,5%"`` gives 85.5.
    """

    def fail(problem: NumberProblem) -> NumberError:
        return NumberError(problem, text)

    s = text.translate(_INVISIBLE).translate(_FULL_WIDTH).strip()
    if not s:
        raise fail(NumberProblem.EMPTY)
    if len(s) > MAX_LENGTH:
        raise fail(NumberProblem.TOO_LONG)
    if s.endswith(_PERCENT):
        if not allow_percent:
            raise fail(NumberProblem.NOT_A_NUMBER)
        s = s[:-1].rstrip()
        if not s:
            raise fail(NumberProblem.EMPTY)
    if s[0] in _MINUS and any(c.isdigit() for c in s):
        raise fail(NumberProblem.NEGATIVE)
    if any(c.isalpha() for c in s):
        raise fail(NumberProblem.NOT_A_NUMBER)
    others = {c for c in s if not (c in "0123456789.," or c.isspace())}
    if others:
        # "12/15", "12; 15", "12-15" list several numbers; "+5", "$5", "1_234" are not numbers.
        pieces = re.split(r"[^0-9.,\s]+", s)
        numbers = sum(1 for piece in pieces if _DIGITS.search(piece))
        several = numbers >= 2 and others <= _LIST_SEPARATORS
        raise fail(NumberProblem.SEVERAL if several else NumberProblem.NOT_A_NUMBER)
    result = _parse_spaced(_SPACES.split(s))
    if isinstance(result, NumberProblem):
        raise fail(result)
    return result


def _parse_spaced(tokens: list[str]) -> Decimal | NumberProblem:
    """Tokens split on whitespace: one number, or a number grouped in thousands by spaces."""
    if len(tokens) == 1:
        return _parse_token(tokens[0])
    *head, last = tokens
    head_grouped = _LEAD_GROUP.fullmatch(head[0]) is not None and all(
        _GROUP.fullmatch(t) for t in head[1:]
    )
    if head_grouped and _GROUP.fullmatch(last):
        return _decimal("".join(tokens), "")
    if head_grouped and re.fullmatch(r"[0-9]{3}[.,].*", last):
        # "1 234,5" or "1 234.5": a decimal tail after space-grouped thousands.
        match = re.fullmatch(r"([0-9]{3})(?:,([0-9]+)|\.([0-9]{1,2}|[0-9]{4,}))", last)
        if match is None:  # "1 234.567", "1 234,5,6": mixed or broken separators
            return NumberProblem.AMBIGUOUS
        return _decimal("".join(head) + match.group(1), match.group(2) or match.group(3))
    if all(isinstance(_parse_token(t), Decimal) for t in tokens):
        return NumberProblem.SEVERAL
    return NumberProblem.AMBIGUOUS


def _parse_token(token: str) -> Decimal | NumberProblem:
    """One run of digits, dots and commas, without spaces."""
    if _CORE.fullmatch(token) is None:  # pragma: no cover - guarded by the caller
        return NumberProblem.NOT_A_NUMBER
    groups = re.split(r"[.,]", token)
    seps = re.sub(r"[0-9]", "", token)
    if not seps:
        return _decimal(token, "")
    if any(g == "" for g in groups):  # "1..2", ",5", "5.", "1.,2"
        return NumberProblem.AMBIGUOUS
    dots, commas = seps.count("."), seps.count(",")
    if commas == 0:
        if dots == 1:
            whole, frac = groups
            if len(frac) != 3 or whole == "0":
                return _decimal(whole, frac)  # "85.5", "0.75", "0.123"
            if _LEAD_GROUP.fullmatch(whole):
                return _decimal(whole + frac, "")  # "1.234"
            return NumberProblem.AMBIGUOUS  # "1234.567", "01.234"
        return _thousands(groups)  # "1.234.567"
    if dots == 0:
        if commas == 1:
            return _decimal(groups[0], groups[1])  # "85,5", "1,234"
        return _thousands(groups)  # "1,234,567"
    # Both kinds: thousands with one kind, then exactly one decimal separator of the other.
    thousands_sep, decimal_sep = seps[0], seps[-1]
    if thousands_sep == decimal_sep or seps.count(decimal_sep) != 1:
        return NumberProblem.AMBIGUOUS  # "1.234,56.7", "1,2.3"
    if thousands_sep == "," and commas < 2:
        return NumberProblem.AMBIGUOUS  # "1,234.5": a single comma is a decimal comma
    whole = _thousands(groups[:-1])
    if isinstance(whole, NumberProblem):
        return whole
    return _decimal(str(whole), groups[-1])  # "1.234,5", "1,234,567.89"


def _thousands(groups: list[str]) -> Decimal | NumberProblem:
    """Groups of a number written with thousands separators only."""
    if _LEAD_GROUP.fullmatch(groups[0]) and all(_GROUP.fullmatch(g) for g in groups[1:]):
        return _decimal("".join(groups), "")
    return NumberProblem.AMBIGUOUS  # "1.23.4", "1.2.3", "0.123.456"


def _decimal(whole: str, frac: str) -> Decimal:
    frac = frac.rstrip("0")
    return Decimal(f"{whole}.{frac}" if frac else whole)


def parse_pair(text: str) -> tuple[Decimal, Decimal]:
    """Read ``numerator/denominator`` such as ``120/150`` (spaces around ``/`` allowed).

    Each side is read by :func:`parse_number` without a percent sign. Text without a slash
    is not a pair (``NOT_A_NUMBER``); more than one slash is ``SEVERAL``; an empty side is
    ``EMPTY``. Whether the numerator fits the denominator is the caller's business.
    """
    parts = text.split("/")
    if len(parts) == 1:
        if not text.strip():
            raise NumberError(NumberProblem.EMPTY, text)
        raise NumberError(NumberProblem.NOT_A_NUMBER, text)
    if len(parts) > 2:
        raise NumberError(NumberProblem.SEVERAL, text)
    try:
        return (
            parse_number(parts[0], allow_percent=False),
            parse_number(parts[1], allow_percent=False),
        )
    except NumberError as exc:
        raise NumberError(exc.problem, text) from exc


def format_number(value: Decimal | float | int, decimals: int = 1) -> str:
    """Show a number the Vietnamese way: ``1.234``, ``85,5``, ``1.234,5``.

    Rounded half-up to ``decimals`` places, then trailing fractional zeros are dropped
    (``100`` not ``100,0``). Non-finite floats show as ``—``.
    """
    if decimals < 0:
        raise ValueError("decimals must be >= 0")
    # For a float, repr gives the shortest decimal that round-trips: 0.15 rounds to 0.2, not 0.1.
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return "—"
    with localcontext() as ctx:
        ctx.prec = max(28, number.adjusted() + decimals + 2)
        rounded = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    whole, _, frac = f"{abs(rounded):f}".partition(".")
    frac = frac.rstrip("0")
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"{sign}{grouped},{frac}" if frac else f"{sign}{grouped}"


def format_percent(value: float | Decimal | None, decimals: int = 1) -> str:
    """``85.5`` -> ``85,5%``; a missing value shows as ``—``."""
    if value is None:
        return "—"
    shown = format_number(value, decimals)
    return shown if shown == "—" else f"{shown}%"
