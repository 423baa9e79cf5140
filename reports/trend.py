"""When the current trend reaches a target: "theo đà hiện tại: đạt năm 2027" (pure, no I/O).

Method (documented for the yearly report): an ordinary least-squares straight line through
the indicator's quarterly figures, value = a + b·t with t the quarter's number
(4 · year + quarter − 1, the year being the one the quarter's report belongs to, so Q1/2027's
window opening on 15/12/2026 counts for 2027). From the latest quarter on, the line is read
quarter by quarter; the first quarter whose value reaches the target (≥ for "min", ≤ for
"max", with the tolerance of ``surveys.scoring.is_met``) gives the year. If that year is after
the target's own year (2030), or the line never gets there (flat, or going the wrong way),
the answer is "chưa đạt trước 2030". If the line already reaches it at the latest quarter,
the year is that quarter's. At least four quarters are needed (``MIN_QUARTERS``): fewer
give no trend, and the report says nothing.

A straight line is the simplest honest reading of "the current trend"; it knows nothing of
a ceiling (a share cannot pass 100 %), which is why it is read only until the target's year.

The satisfaction targets (14, 14a, 15, 16) are read the same way through their quarterly
rates: each quarter's rate is the one the quarter's status shows (``reports.status.
satisfaction``: Σ satisfied answers / Σ answers over the quarter's window, the estimate with
respondents as clusters), and only a quarter with at least ``[survey] min_sample``
respondents counts (``enough_rates``): a rate the status calls "chưa đủ dữ liệu" is no point
of the line. Four such quarters are needed, as for the indicators. The points are the
rates themselves, each given the same weight whatever its sample: the line is the trend of
the figure the reports show, not a pooled model of the answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reports.figures import SatisfactionFigure
from surveys.scoring import is_met

MIN_QUARTERS = 4
PREFIX = "theo đà hiện tại: "


@dataclass(frozen=True)
class Trend:
    intercept: float  # a, at t = 0
    slope: float  # b, points per quarter
    year: int | None  # the year the line reaches the target; None: not by ``horizon``
    horizon: int  # the target's year (2030)
    quarters: int  # how many quarterly figures the line was fitted on


def quarter_number(year: int, quarter: int) -> int:
    return 4 * year + quarter - 1


def least_squares(points: Sequence[tuple[int, float]]) -> tuple[float, float]:
    """(a, b) of the least-squares line value = a + b·t through ``points`` (t, value)."""
    n = len(points)
    if n < 2:
        raise ValueError("a line needs at least two points")
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    sxx = sum((t - mean_t) ** 2 for t, _ in points)
    if sxx == 0:
        raise ValueError("the points must be in different quarters")
    sxy = sum((t - mean_t) * (v - mean_v) for t, v in points)
    slope = sxy / sxx
    return mean_v - slope * mean_t, slope


def year_reaching(
    points: Sequence[tuple[int, float]],
    target: float,
    direction: str = "min",
    horizon: int = 2030,
) -> Trend | None:
    """The trend of ``points`` (quarter number, figure) towards ``target``; None with fewer
    than ``MIN_QUARTERS`` quarters."""
    if len({t for t, _ in points}) < MIN_QUARTERS:
        return None
    intercept, slope = least_squares(points)
    last = max(t for t, _ in points)
    for t in range(last, quarter_number(horizon, 4) + 1):
        if is_met(intercept + slope * t, target, direction):
            return Trend(intercept, slope, t // 4, horizon, len(points))
    return Trend(intercept, slope, None, horizon, len(points))


def towards_last_target(
    points: Sequence[tuple[int, float]], targets: Mapping[int, float], direction: str = "min"
) -> Trend | None:
    """The trend of ``points`` towards the last of ``targets`` (year → value: 2030's), read
    until that year; None without targets or with fewer than ``MIN_QUARTERS`` quarters."""
    if not targets:
        return None
    horizon = max(targets)
    return year_reaching(points, targets[horizon], direction, horizon)


def enough_rates(
    quarters: Iterable[tuple[int, Iterable[SatisfactionFigure]]],
) -> dict[str, list[tuple[int, float]]]:
    """Per satisfaction target, (quarter number, rate) of the quarters whose figure had
    enough respondents (``SatisfactionFigure.enough``); the others are left out."""
    series: dict[str, list[tuple[int, float]]] = {}
    for t, figures in quarters:
        for f in figures:
            if f.enough and f.rate is not None:
                series.setdefault(f.target, []).append((t, f.rate))
    return series


def trend_text(trend: Trend) -> str:
    """ "theo đà hiện tại: đạt năm 2027" or "theo đà hiện tại: chưa đạt trước 2030"."""
    if trend.year is None:
        return f"{PREFIX}chưa đạt trước {trend.horizon}"
    return f"{PREFIX}đạt năm {trend.year}"
