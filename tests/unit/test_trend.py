"""The yearly report's "theo đà hiện tại": a least-squares line through the quarterly
figures, read until the target's year (reports.trend), against hand-computed cases."""

from __future__ import annotations

import pytest

from reports.figures import SatisfactionFigure
from reports.trend import (
    enough_rates,
    least_squares,
    quarter_number,
    towards_last_target,
    trend_text,
    year_reaching,
)


def quarters(year: int, *values: float) -> list[tuple[int, float]]:
    return [(quarter_number(year, 1) + n, v) for n, v in enumerate(values)]


def test_the_line_through_exact_points_is_found() -> None:
    a, b = least_squares([(0, 1.0), (1, 3.0), (2, 5.0), (3, 7.0)])
    assert (a, b) == pytest.approx((1.0, 2.0))


def test_two_points_a_quarter_reach_80_in_2029() -> None:
    # 50, 52, 54, 56 in 2026: +2 a quarter; 80 is 24 above Q4/2026, 12 quarters on: Q4/2029
    trend = year_reaching(quarters(2026, 50, 52, 54, 56), 80)
    assert trend is not None and trend.slope == pytest.approx(2.0)
    assert trend.year == 2029 and trend_text(trend) == "theo đà hiện tại: đạt năm 2029"


def test_noisy_quarters_follow_the_fitted_line_not_the_last_value() -> None:
    # the last quarter jumps to 79, but the line (slope 8.5) sits at 74.5 there: it reaches
    # 80 a quarter on, at 83 in Q1/2027
    trend = year_reaching(quarters(2026, 50, 60, 58, 79), 80)
    assert trend is not None and trend.slope == pytest.approx(8.5)
    assert trend.intercept + trend.slope * quarter_number(2026, 4) == pytest.approx(74.5)
    assert trend.year == 2027


def test_already_reached_is_the_latest_quarters_year() -> None:
    trend = year_reaching(quarters(2026, 96, 97, 98, 99), 95)
    assert trend is not None and trend.year == 2026


@pytest.mark.parametrize(
    "values",
    [
        (60, 60, 60, 60),  # flat below the target
        (70, 68, 66, 64),  # going the wrong way
        (50, 50.5, 51, 51.5),  # too slow: 80 only after 2030
    ],
)
def test_not_before_2030(values: tuple[float, ...]) -> None:
    trend = year_reaching(quarters(2026, *values), 80)
    assert trend is not None and trend.year is None
    assert trend_text(trend) == "theo đà hiện tại: chưa đạt trước 2030"


def test_a_max_target_is_reached_going_down() -> None:
    trend = year_reaching(quarters(2026, 30, 28, 26, 24), 10, direction="max")
    assert trend is not None and trend.year == 2028  # 24 − 2·7 = 10 at Q3/2028


def test_fewer_than_four_quarters_give_no_trend() -> None:
    assert year_reaching(quarters(2026, 50, 60, 70), 80) is None
    # the same quarter twice is still one quarter
    assert year_reaching([(8104, 1.0), (8104, 2.0), (8105, 3.0), (8106, 4.0)], 9) is None


def test_quarters_belong_to_their_reports_year() -> None:
    # Q1/2027 (data from 15/12/2026) counts for 2027
    assert quarter_number(2027, 1) // 4 == 2027 and quarter_number(2026, 4) // 4 == 2026


# --------------------------------------------------------------------------- satisfaction


def rate(target: str, satisfied: int, n: int, respondents: int) -> SatisfactionFigure:
    """A quarter's figure as ``reports.status.satisfaction`` gives it (interval left out),
    enough with the default [survey] min_sample of 30 people."""
    enough = respondents >= 30
    return SatisfactionFigure(
        target=target, name=target, satisfied=satisfied, n=n, respondents=respondents,
        rate=100 * satisfied / n if n else None, low=None, high=None, enough=enough,
        goal=95, met=None,
    )  # fmt: skip


TARGETS_14 = {2025: 90.0, 2030: 95.0}


def test_satisfaction_trends_on_the_quarters_with_enough_respondents() -> None:
    # 14: 80, 82, 84, 86 % with 40 people each, +2 a quarter: 95 % first at Q1/2028 (96 %)
    # 16: the same rates, but Q2 had 12 people (< 30): three quarters left, no trend
    first = quarter_number(2026, 1)
    per_quarter = [
        (first + n, (rate("14", s, 100, 40), rate("16", s, 100, 12 if n == 1 else 40)))
        for n, s in enumerate((80, 82, 84, 86))
    ]
    series = enough_rates(per_quarter)
    assert [v for _, v in series["14"]] == pytest.approx([80, 82, 84, 86])
    assert [t for t, _ in series["16"]] == [first, first + 2, first + 3]
    fourteen = towards_last_target(series["14"], TARGETS_14)
    assert fourteen is not None and fourteen.slope == pytest.approx(2.0)
    assert fourteen.year == 2028 and fourteen.horizon == 2030
    assert trend_text(fourteen) == "theo đà hiện tại: đạt năm 2028"
    assert towards_last_target(series["16"], {2030: 90.0}) is None


def test_a_quarter_without_enough_respondents_is_no_point_of_the_line() -> None:
    # Q4/2025's 0 % from two people is left out; counted, it would make the line steep
    # (17,6 points a quarter from 0 to 80) and claim 95 % already in 2026
    first = quarter_number(2025, 4)
    per_quarter = [(first, (rate("14", 0, 6, 2),))] + [
        (first + 1 + n, (rate("14", s, 100, 40),)) for n, s in enumerate((80, 82, 84, 86))
    ]
    series = enough_rates(per_quarter)["14"]
    assert len(series) == 4 and first not in {t for t, _ in series}
    trend = towards_last_target(series, TARGETS_14)
    assert trend is not None and trend.year == 2028
    with_it = year_reaching([(first, 0.0), *series], 95)
    assert with_it is not None and with_it.year == 2026  # what counting it would have said


def test_a_falling_or_flat_satisfaction_rate_does_not_get_there() -> None:
    first = quarter_number(2026, 1)
    falling = enough_rates([(first + n, (rate("15", s, 100, 50),)) for n, s in
                            enumerate((92, 91, 90, 89))])["15"]  # fmt: skip
    trend = towards_last_target(falling, {2030: 95.0})
    assert trend is not None and trend.year is None
    assert trend_text(trend) == "theo đà hiện tại: chưa đạt trước 2030"
    assert towards_last_target(falling, {}) is None  # a target without numbers: nothing said
