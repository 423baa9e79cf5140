from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.calendar import (
    CalendarRules,
    Period,
    PeriodKind,
    days_left,
    format_date,
    half_year_window,
    next_period,
    period_for_date,
    period_from_key,
    previous_period,
    quarter_period,
    window_from_key,
    year_window,
)

D = date

# (year, quarter, window_start, window_end, deadline) with the default rules (15, 15).
DEFAULT_QUARTERS = [
    (2025, 1, D(2024, 12, 15), D(2025, 3, 14), D(2025, 3, 14)),
    (2025, 2, D(2025, 3, 15), D(2025, 6, 14), D(2025, 6, 14)),
    (2025, 3, D(2025, 6, 15), D(2025, 9, 14), D(2025, 9, 14)),
    (2025, 4, D(2025, 9, 15), D(2025, 12, 14), D(2025, 12, 14)),
    (2026, 1, D(2025, 12, 15), D(2026, 3, 14), D(2026, 3, 14)),
    (2026, 2, D(2026, 3, 15), D(2026, 6, 14), D(2026, 6, 14)),
    (2026, 3, D(2026, 6, 15), D(2026, 9, 14), D(2026, 9, 14)),
    (2026, 4, D(2026, 9, 15), D(2026, 12, 14), D(2026, 12, 14)),
    (2027, 1, D(2026, 12, 15), D(2027, 3, 14), D(2027, 3, 14)),
]


@pytest.mark.parametrize(("year", "quarter", "start", "end", "deadline"), DEFAULT_QUARTERS)
def test_default_quarters(year: int, quarter: int, start: date, end: date, deadline: date) -> None:
    p = quarter_period(year, quarter)
    assert p.key == f"{year}-Q{quarter}"
    assert (p.year, p.quarter) == (year, quarter)
    assert (p.window_start, p.window_end, p.deadline) == (start, end, deadline)
    assert p.due_before == D(deadline.year, deadline.month, 15)


def test_q1_2026_as_in_the_plan() -> None:
    p = quarter_period(2026, 1)
    assert format_date(p.window_start) == "15/12/2025"
    assert format_date(p.window_end) == "14/03/2026"
    assert format_date(p.deadline) == "14/03/2026"
    assert format_date(p.due_before) == "15/03/2026"


def test_kinds_and_titles() -> None:
    expected = {
        1: ((PeriodKind.QUARTER,), "Quý I/2026"),
        2: ((PeriodKind.QUARTER, PeriodKind.HALF_YEAR), "Quý II/2026 (6 tháng đầu năm)"),
        3: ((PeriodKind.QUARTER,), "Quý III/2026"),
        4: ((PeriodKind.QUARTER, PeriodKind.YEAR), "Quý IV/2026 (cả năm)"),
    }
    for quarter, (kinds, title) in expected.items():
        p = quarter_period(2026, quarter)
        assert p.kinds == kinds
        assert p.title == title
    assert PeriodKind.AD_HOC.value == "ad_hoc"
    assert str(PeriodKind.HALF_YEAR) == "half_year"


def test_the_half_year_and_year_reports_cover_their_span() -> None:
    # 6-month report: 15/12 of the year before to 14/06; yearly report: 15/12 to 14/12.
    assert quarter_period(2026, 1).window_start == D(2025, 12, 15)
    assert quarter_period(2026, 2).window_end == D(2026, 6, 14)
    assert quarter_period(2026, 4).window_end == D(2026, 12, 14)


@pytest.mark.parametrize(
    ("day", "key"),
    [
        (D(2026, 3, 14), "2026-Q1"),
        (D(2026, 3, 15), "2026-Q2"),
        (D(2026, 6, 14), "2026-Q2"),
        (D(2026, 6, 15), "2026-Q3"),
        (D(2026, 9, 14), "2026-Q3"),
        (D(2026, 9, 15), "2026-Q4"),
        (D(2026, 12, 14), "2026-Q4"),
        (D(2026, 12, 15), "2027-Q1"),
        (D(2025, 12, 14), "2025-Q4"),
        (D(2025, 12, 15), "2026-Q1"),
        (D(2026, 12, 31), "2027-Q1"),
        (D(2027, 1, 1), "2027-Q1"),
        (D(2026, 1, 1), "2026-Q1"),
        (D(2028, 2, 29), "2028-Q1"),
        (D(2026, 3, 1), "2026-Q1"),
        (D(2026, 5, 20), "2026-Q2"),
    ],
)
def test_period_for_date_boundaries(day: date, key: str) -> None:
    assert period_for_date(day).key == key


def test_non_default_rules_same_days() -> None:
    rules = CalendarRules(window_start_day=20, deadline_day=20)
    q1 = quarter_period(2026, 1, rules)
    assert (q1.window_start, q1.window_end, q1.deadline) == (
        D(2025, 12, 20),
        D(2026, 3, 19),
        D(2026, 3, 19),
    )
    assert q1.due_before == D(2026, 3, 20)
    assert period_for_date(D(2026, 3, 19), rules).key == "2026-Q1"
    assert period_for_date(D(2026, 3, 20), rules).key == "2026-Q2"
    assert period_for_date(D(2025, 12, 19), rules).key == "2025-Q4"
    assert period_for_date(D(2025, 12, 20), rules).key == "2026-Q1"


def test_non_default_rules_window_start_on_the_first() -> None:
    # Windows start on the 1st of the month before each quarter, so each ends on the last
    # day of the month before the quarter's last month; the deadline stays on the 24th.
    rules = CalendarRules(window_start_day=1, deadline_day=25)
    q1 = quarter_period(2026, 1, rules)
    assert (q1.window_start, q1.window_end, q1.deadline) == (
        D(2025, 12, 1),
        D(2026, 2, 28),
        D(2026, 3, 24),
    )
    q2 = next_period(q1, rules)
    assert (q2.window_start, q2.window_end, q2.deadline) == (
        D(2026, 3, 1),
        D(2026, 5, 31),
        D(2026, 6, 24),
    )
    q4 = quarter_period(2026, 4, rules)
    assert (q4.window_start, q4.window_end, q4.deadline) == (
        D(2026, 9, 1),
        D(2026, 11, 30),
        D(2026, 12, 24),
    )
    assert quarter_period(2028, 1, rules).window_end == D(2028, 2, 29)
    assert period_for_date(D(2026, 2, 28), rules).key == "2026-Q1"
    assert period_for_date(D(2026, 3, 1), rules).key == "2026-Q2"
    assert period_for_date(D(2026, 11, 30), rules).key == "2026-Q4"
    assert period_for_date(D(2026, 12, 1), rules).key == "2027-Q1"


def test_deadline_day_one_means_the_last_day_of_the_month_before() -> None:
    rules = CalendarRules(window_start_day=1, deadline_day=1)
    q1 = quarter_period(2028, 1, rules)
    assert q1.deadline == D(2028, 2, 29)
    assert q1.due_before == D(2028, 3, 1)
    assert q1.window_end == q1.deadline


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"deadline_day": 0}, "deadline_day"),
        ({"deadline_day": 29}, "deadline_day"),
        ({"window_start_day": 0, "deadline_day": 15}, "window_start_day"),
        ({"window_start_day": 31, "deadline_day": 15}, "window_start_day"),
        ({"window_start_day": 20, "deadline_day": 15}, "window closes"),
    ],
)
def test_rules_validation(kwargs: dict[str, int], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        CalendarRules(**kwargs)


def test_rules_accept_bounds() -> None:
    assert CalendarRules(window_start_day=1, deadline_day=28).deadline_day == 28
    assert CalendarRules(window_start_day=28, deadline_day=28).window_start_day == 28


@pytest.mark.parametrize("key", ["2026-Q3", "2026-q3", " 2026-Q3 "])
def test_period_from_key_accepts(key: str) -> None:
    p = period_from_key(key)
    assert (p.year, p.quarter, p.key) == (2026, 3, "2026-Q3")
    assert p == quarter_period(2026, 3)


@pytest.mark.parametrize(
    "key", ["", "2026", "2026-Q0", "2026-Q5", "2026Q1", "26-Q1", "2026-Q01", "2026-H1", "2026-Q1x"]
)
def test_period_from_key_rejects(key: str) -> None:
    with pytest.raises(ValueError, match="period key"):
        period_from_key(key)


def test_quarter_period_rejects_bad_quarter() -> None:
    with pytest.raises(ValueError, match="quarter"):
        quarter_period(2026, 5)
    with pytest.raises(ValueError, match="quarter"):
        quarter_period(2026, 0)


def test_previous_and_next_cross_the_year() -> None:
    q4 = quarter_period(2026, 4)
    assert next_period(q4).key == "2027-Q1"
    assert previous_period(next_period(q4)) == q4
    assert previous_period(quarter_period(2026, 1)).key == "2025-Q4"


def test_format_date_and_days_left() -> None:
    assert format_date(D(2026, 3, 5)) == "05/03/2026"
    assert format_date(D(2025, 12, 31)) == "31/12/2025"
    assert days_left(D(2026, 3, 7), D(2026, 3, 14)) == 7
    assert days_left(D(2026, 3, 14), D(2026, 3, 14)) == 0
    assert days_left(D(2026, 3, 16), D(2026, 3, 14)) == -2


# --------------------------------------------------------------------------- properties

RULES = st.integers(1, 28).flatmap(
    lambda ws: st.builds(
        CalendarRules, window_start_day=st.just(ws), deadline_day=st.integers(ws, 28)
    )
)
DAYS = st.dates(min_value=D(2020, 1, 1), max_value=D(2035, 12, 31))


def _brute_force(day: date, rules: CalendarRules) -> Period:
    found = [
        quarter_period(year, quarter, rules)
        for year in (day.year, day.year + 1)
        for quarter in (1, 2, 3, 4)
        if quarter_period(year, quarter, rules).contains(day)
    ]
    assert len(found) == 1, found
    return found[0]


@given(DAYS, RULES)
def test_windows_are_contiguous(day: date, rules: CalendarRules) -> None:
    p = period_for_date(day, rules)
    assert p.window_start <= day <= p.window_end
    assert p == _brute_force(day, rules)
    nxt = next_period(p, rules)
    assert nxt.window_start == p.window_end + timedelta(days=1)
    assert previous_period(p, rules).window_end == p.window_start - timedelta(days=1)
    # The day after the window belongs to the next period, the day before to the previous.
    assert period_for_date(p.window_end + timedelta(days=1), rules) == nxt
    assert period_for_date(p.window_start - timedelta(days=1), rules) == previous_period(p, rules)


@given(DAYS, RULES)
def test_deadline_is_in_the_last_month_and_not_before_the_window_ends(
    day: date, rules: CalendarRules
) -> None:
    p = period_for_date(day, rules)
    assert p.deadline >= p.window_end
    assert p.due_before.day == rules.deadline_day
    assert p.due_before.month == 3 * p.quarter
    assert p.due_before.year == p.year
    assert p.window_start.day == rules.window_start_day
    assert (p.window_start.month - 3 * p.quarter) % 12 == 9  # the month before the quarter


@given(st.integers(2000, 2100), st.integers(1, 4), RULES)
def test_key_round_trip(year: int, quarter: int, rules: CalendarRules) -> None:
    p = quarter_period(year, quarter, rules)
    assert period_from_key(p.key, rules) == p
    assert period_from_key(p.key.lower(), rules) == p
    assert period_from_key(p.key, rules).key == p.key


# --------------------------------------------------------------------------- 6-month, year


def test_six_month_window_runs_15_12_to_14_06() -> None:
    w = window_from_key("2026-H1")
    assert (w.key, w.kind, w.title) == ("2026-H1", PeriodKind.HALF_YEAR, "6 tháng đầu năm 2026")
    assert [q.key for q in w.quarters] == ["2026-Q1", "2026-Q2"]
    assert f"{format_date(w.window_start)} – {format_date(w.window_end)}" == (
        "15/12/2025 – 14/06/2026"
    )
    # carried by the Q2 report, due before 15/06
    assert w.deadline == quarter_period(2026, 2).deadline == D(2026, 6, 14)
    assert w.contains(D(2025, 12, 15)) and w.contains(D(2026, 6, 14))
    assert not w.contains(D(2025, 12, 14)) and not w.contains(D(2026, 6, 15))


def test_year_window_runs_15_12_to_14_12() -> None:
    w = window_from_key("2026")
    assert (w.key, w.kind, w.title) == ("2026", PeriodKind.YEAR, "Năm 2026")
    assert [q.key for q in w.quarters] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert f"{format_date(w.window_start)} – {format_date(w.window_end)}" == (
        "15/12/2025 – 14/12/2026"
    )
    assert w.deadline == D(2026, 12, 14)
    # the quarters tile the year with no gap and no overlap
    for before, after in zip(w.quarters, w.quarters[1:], strict=False):
        assert before.window_end + timedelta(days=1) == after.window_start


def test_a_window_opening_on_a_sunday_is_not_moved() -> None:
    # 15/12/2024 is a Sunday (and 14/12/2025 too): data windows follow the decree's dates,
    # not working days, so the 2025 reports still start that Sunday and end on one.
    assert D(2024, 12, 15).weekday() == 6 and D(2025, 12, 14).weekday() == 6
    year = year_window(2025)
    assert (year.window_start, year.window_end) == (D(2024, 12, 15), D(2025, 12, 14))
    assert half_year_window(2025).window_start == D(2024, 12, 15)
    assert year.contains(D(2024, 12, 15)) and not year_window(2024).contains(D(2024, 12, 15))


def test_windows_follow_the_configured_days() -> None:
    rules = CalendarRules(window_start_day=20, deadline_day=20)
    w = window_from_key("2026-h1", rules)
    assert (w.window_start, w.window_end, w.deadline) == (
        D(2025, 12, 20),
        D(2026, 6, 19),
        D(2026, 6, 19),
    )
    assert year_window(2026, rules).window_end == D(2026, 12, 19)


@pytest.mark.parametrize("key", ["", "2026-H2", "2026-Q1", "26", "2026-H", "H1-2026", "0000"])
def test_window_from_key_rejects(key: str) -> None:
    with pytest.raises(ValueError):
        window_from_key(key)
