from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys.numbers import (
    NumberError,
    NumberProblem,
    format_number,
    format_percent,
    parse_number,
    parse_pair,
)

P = NumberProblem

ACCEPTED: list[tuple[str, str]] = [
    ("0", "0"),
    ("7", "7"),
    ("007", "7"),
    ("100", "100"),
    ("1.234", "1234"),
    ("1 234", "1234"),
    ("1\u00a0234", "1234"),  # non-breaking space
    ("1\u2009234", "1234"),  # thin space
    ("1\u202f234", "1234"),  # narrow non-breaking space
    ("1 234 567", "1234567"),
    ("1.234.567", "1234567"),
    ("1,234,567", "1234567"),
    ("1,234", "1.234"),  # a single comma is always decimal
    ("85,5", "85.5"),
    ("85,50", "85.5"),
    ("85,5%", "85.5"),
    ("85,5 %", "85.5"),
    ("85.5%", "85.5"),
    ("100%", "100"),
    ("85.5", "85.5"),
    ("0.75", "0.75"),
    ("0,75", "0.75"),
    ("12.50", "12.5"),
    ("0.123", "0.123"),  # no number starts with a 0 thousands group
    ("0.000", "0"),
    ("1.000", "1000"),
    ("1.0000", "1"),
    ("1234.5", "1234.5"),
    ("1.234,5", "1234.5"),
    ("1.234.567,89", "1234567.89"),
    ("1,234,567.89", "1234567.89"),
    ("1 234,5", "1234.5"),
    ("1 234.5", "1234.5"),
    ("  42  ", "42"),
    ("\t42\n", "42"),
    ("４２", "42"),  # full-width digits
    ("1\u200b234", "1234"),  # zero-width space from a copy-paste
    ("0,0", "0"),
    ("999.999.999.999", "999999999999"),
]

REFUSED: list[tuple[str, NumberProblem]] = [
    ("", P.EMPTY),
    ("   ", P.EMPTY),
    ("\u00a0", P.EMPTY),
    ("%", P.EMPTY),
    ("-5", P.NEGATIVE),
    ("−5", P.NEGATIVE),  # unicode minus
    ("- 5", P.NEGATIVE),
    ("-85,5%", P.NEGATIVE),
    ("–5", P.NEGATIVE),  # en dash, from autocorrect
    ("+5", P.NOT_A_NUMBER),  # reads as "an increase of 5", not a figure
    ("-abc", P.NOT_A_NUMBER),
    ("không", P.NOT_A_NUMBER),
    ("abc", P.NOT_A_NUMBER),
    ("12 hồ sơ", P.NOT_A_NUMBER),
    ("12 và 15", P.NOT_A_NUMBER),  # any letter: not a number
    ("1e5", P.NOT_A_NUMBER),
    ("NaN", P.NOT_A_NUMBER),
    ("Infinity", P.NOT_A_NUMBER),
    ("1_234", P.NOT_A_NUMBER),
    ("$5", P.NOT_A_NUMBER),
    ("85%%", P.NOT_A_NUMBER),
    ("%85", P.NOT_A_NUMBER),
    ("5-", P.NOT_A_NUMBER),
    ("12 15", P.SEVERAL),
    ("12/15", P.SEVERAL),
    ("12; 15", P.SEVERAL),
    ("12-15", P.SEVERAL),
    ("12 – 15", P.SEVERAL),
    ("12 & 15", P.SEVERAL),
    ("12+15", P.SEVERAL),
    ("12*15", P.NOT_A_NUMBER),
    ("12 15%", P.SEVERAL),
    ("1 23", P.SEVERAL),
    ("1 2345", P.SEVERAL),
    ("0 123", P.SEVERAL),
    ("12,5 15", P.SEVERAL),
    ("1.234,56.7", P.AMBIGUOUS),
    ("1,2.3", P.AMBIGUOUS),
    ("1,234.5", P.AMBIGUOUS),  # one comma then a dot: mixed wrongly
    ("1..2", P.AMBIGUOUS),
    ("1,,2", P.AMBIGUOUS),
    ("1.23.4", P.AMBIGUOUS),
    ("1.2.3", P.AMBIGUOUS),
    ("1,23,4", P.AMBIGUOUS),
    ("1234.567", P.AMBIGUOUS),  # English decimal or mistyped 1.234.567
    ("1234.567.890", P.AMBIGUOUS),
    ("01.234", P.AMBIGUOUS),
    ("0.123.456", P.AMBIGUOUS),
    (",5", P.AMBIGUOUS),
    ("5.", P.AMBIGUOUS),
    ("5,", P.AMBIGUOUS),
    ("1.2,5", P.AMBIGUOUS),
    ("1 234.567", P.AMBIGUOUS),
    ("1 234 ,5", P.AMBIGUOUS),
    ("1" * 41, P.TOO_LONG),
    ("1 " * 30, P.TOO_LONG),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_accepted(text: str, expected: str) -> None:
    value = parse_number(text)
    assert value == Decimal(expected)
    # no trailing fractional zeros in the result
    assert str(value) == expected


@pytest.mark.parametrize(("text", "problem"), REFUSED)
def test_refused(text: str, problem: NumberProblem) -> None:
    with pytest.raises(NumberError) as info:
        parse_number(text)
    assert info.value.problem is problem
    assert info.value.text == text


def test_case_table_is_large_enough() -> None:
    assert len(ACCEPTED) + len(REFUSED) >= 40


def test_exactly_forty_characters_is_allowed() -> None:
    assert parse_number("0," + "1" * 38) == Decimal("0." + "1" * 38)


def test_percent_refused_when_not_allowed() -> None:
    with pytest.raises(NumberError) as info:
        parse_number("85,5%", allow_percent=False)
    assert info.value.problem is P.NOT_A_NUMBER
    assert parse_number("85,5", allow_percent=False) == Decimal("85.5")


def test_number_error_is_a_value_error() -> None:
    error = NumberError(P.SEVERAL, "1 2")
    assert isinstance(error, ValueError)
    assert str(error.problem) == "several"
    assert error.text == "1 2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("120/150", (Decimal(120), Decimal(150))),
        ("120 / 150", (Decimal(120), Decimal(150))),
        ("1.234/2.000", (Decimal(1234), Decimal(2000))),
        ("0/0", (Decimal(0), Decimal(0))),
    ],
)
def test_parse_pair(text: str, expected: tuple[Decimal, Decimal]) -> None:
    assert parse_pair(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("120", P.NOT_A_NUMBER),
        ("", P.EMPTY),
        ("1/2/3", P.SEVERAL),
        ("/150", P.EMPTY),
        ("120/", P.EMPTY),
        ("12 15/20", P.SEVERAL),
        ("1,2.3/5", P.AMBIGUOUS),
        ("-1/5", P.NEGATIVE),
        ("50%/100", P.NOT_A_NUMBER),
        ("a/b", P.NOT_A_NUMBER),
    ],
)
def test_parse_pair_refused(text: str, problem: NumberProblem) -> None:
    with pytest.raises(NumberError) as info:
        parse_pair(text)
    assert info.value.problem is problem
    assert info.value.text == text


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (1234, 1, "1.234"),
        (85.5, 1, "85,5"),
        (1234.5, 1, "1.234,5"),
        (100, 1, "100"),
        (100.0, 1, "100"),
        (Decimal("100.04"), 1, "100"),
        (0, 1, "0"),
        (1234567, 1, "1.234.567"),
        (0.15, 1, "0,2"),  # half-up on the decimal the person sees, not the binary float
        (2.25, 1, "2,3"),
        (85.55, 2, "85,55"),
        (85.5, 2, "85,5"),
        (Decimal("1234.567"), 2, "1.234,57"),
        (66.666, 0, "67"),
        (-1234.5, 1, "-1.234,5"),
        (-0.04, 1, "0"),
        (1e20, 1, "100.000.000.000.000.000.000"),
        (float("nan"), 1, "—"),
    ],
)
def test_format_number(value: Decimal | float | int, decimals: int, expected: str) -> None:
    assert format_number(value, decimals) == expected


def test_format_number_negative_decimals() -> None:
    with pytest.raises(ValueError):
        format_number(1, -1)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (85.5, 1, "85,5%"),
        (100, 1, "100%"),
        (Decimal("33.333"), 1, "33,3%"),
        (95.0, 0, "95%"),
        (None, 1, "—"),
        (float("inf"), 1, "—"),
    ],
)
def test_format_percent(value: float | Decimal | None, decimals: int, expected: str) -> None:
    assert format_percent(value, decimals) == expected


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_formatted_integer_round_trips(n: int) -> None:
    assert parse_number(format_number(n)) == n
    assert parse_number(f"{n:,}".replace(",", " ")) == n
    assert parse_number(f"{n:,}".replace(",", "\u00a0")) == n


@given(st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_formatted_decimal_round_trips(x: Decimal) -> None:
    assert parse_number(format_number(x, 2)) == x
    assert parse_number(format_percent(x, 2)) == x


@given(st.text())
def test_arbitrary_text_only_number_errors(text: str) -> None:
    try:
        value = parse_number(text)
    except NumberError:
        return
    assert value >= 0
    assert value.is_finite()


@given(st.text(alphabet="0123456789.,  %-/\u00a0", max_size=20))
def test_number_like_text_only_number_errors(text: str) -> None:
    try:
        value = parse_number(text)
    except NumberError:
        return
    assert value >= 0
    assert not value.is_signed()
