"""The periodic reporting calendar (Nghị định 09/2019/NĐ-CP, Kế hoạch 53/KH-UBND).

A quarter's data window opens on ``window_start_day`` of the month before the quarter and the
report is due *before* ``deadline_day`` of the quarter's last month. With the defaults (15, 15):

    Q1/2026: data 15/12/2025 – 14/03/2026, due before 15/03/2026 (last on-time day 14/03/2026)
    Q2/2026: 15/03 – 14/06 (also the 6-month report), Q3: 15/06 – 14/09,
    Q4/2026: 15/09 – 14/12 (also the yearly report).

Contiguity. Windows never overlap and never leave a gap: every window ends the day before the
next one starts. The starts are fixed by ``window_start_day`` (the month before each quarter),
so a window ends on ``window_start_day - 1`` of the quarter's last month (the last day of the
month before, when ``window_start_day`` is 1). The deadline is set by ``deadline_day`` alone.
With the defaults both rules give 14/03; for other settings they differ, e.g.
``window_start_day=1, deadline_day=25``: Q1/2026 holds data 01/12/2025 – 28/02/2026 and is due
by 24/03/2026, while Q2's window has already opened on 01/03/2026.

A report cannot be due before its data window closes, so ``window_start_day > deadline_day``
is rejected (``ValueError``).

Six-month and yearly reports (Nghị định 09/2019/NĐ-CP, Điều 12, khoản 4): their data run
from the start of Q1's window (15/12 of the previous year) to the end of Q2's (14/06) or
Q4's (14/12) — ``ReportWindow``, keys ``"2026-H1"`` and ``"2026"``. The dates come from the
same ``window_start_day``, never from the weekday: 15/12/2024 is a Sunday and still opens
the 2025 windows. The Q2 and Q4 rounds are the reports that carry them (``Period.title``).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, timedelta
from enum import StrEnum

__all__ = [
    "CalendarRules",
    "Period",
    "PeriodKind",
    "ReportWindow",
    "days_left",
    "format_date",
    "half_year_window",
    "next_period",
    "period_for_date",
    "period_from_key",
    "previous_period",
    "quarter_period",
    "window_from_key",
    "year_window",
]

_ROMAN = ("I", "II", "III", "IV")
_KEY_RE = re.compile(r"([0-9]{4})-[Qq]([1-4])", re.ASCII)
_HALF_KEY_RE = re.compile(r"([0-9]{4})-[Hh]1", re.ASCII)
_YEAR_KEY_RE = re.compile(r"([0-9]{4})", re.ASCII)


@dataclass(frozen=True)
class CalendarRules:
    """Days of the month that shape every quarter (config table ``[calendar]``)."""

    window_start_day: int = 15  # [calendar] window_start_day
    deadline_day: int = 15  # [calendar] deadline_day: the report is due *before* this day

    def __post_init__(self) -> None:
        for name in ("window_start_day", "deadline_day"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 28:
                raise ValueError(f"{name} must be a day of the month from 1 to 28, got {value!r}")
        if self.window_start_day > self.deadline_day:
            raise ValueError(
                f"window_start_day ({self.window_start_day}) must not be after deadline_day "
                f"({self.deadline_day}): a report would be due before its data window closes"
            )


class PeriodKind(StrEnum):
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"
    AD_HOC = "ad_hoc"


@dataclass(frozen=True)
class Period:
    """One quarterly reporting round. All dates are local calendar dates."""

    key: str  # "2026-Q1"
    year: int
    quarter: int  # 1..4
    kinds: tuple[PeriodKind, ...]
    window_start: date  # first day of the data window, the day the round opens
    window_end: date  # last day of the data window (inclusive)
    deadline: date  # last day on which a report is on time

    @property
    def due_before(self) -> date:
        """The day the plan names ("trước ngày 15/03/2026"): one day after ``deadline``."""
        return self.deadline + timedelta(days=1)

    @property
    def short_title(self) -> str:
        """ "Quý II/2026", without what the round doubles as."""
        return f"Quý {_ROMAN[self.quarter - 1]}/{self.year}"

    @property
    def title(self) -> str:
        base = self.short_title
        if PeriodKind.YEAR in self.kinds:
            return f"{base} (cả năm)"
        if PeriodKind.HALF_YEAR in self.kinds:
            return f"{base} (6 tháng đầu năm)"
        return base

    def contains(self, day: date) -> bool:
        """Whether ``day`` lies in the data window."""
        return self.window_start <= day <= self.window_end


@dataclass(frozen=True)
class ReportWindow:
    """A six-month or yearly report: the quarters whose windows it joins (Điều 12, NĐ 09/2019).

    ``2026-H1``: Q1 and Q2 of 2026, data 15/12/2025 – 14/06/2026, carried by the Q2 report;
    ``2026``: Q1–Q4, data 15/12/2025 – 14/12/2026, carried by the Q4 report.
    """

    key: str  # "2026-H1" | "2026"
    year: int
    kind: PeriodKind  # HALF_YEAR | YEAR
    quarters: tuple[Period, ...]

    @property
    def window_start(self) -> date:
        return self.quarters[0].window_start

    @property
    def window_end(self) -> date:
        return self.quarters[-1].window_end

    @property
    def deadline(self) -> date:
        """The deadline of the quarter report that carries it (Q2's or Q4's)."""
        return self.quarters[-1].deadline

    @property
    def title(self) -> str:
        if self.kind is PeriodKind.HALF_YEAR:
            return f"6 tháng đầu năm {self.year}"
        return f"Năm {self.year}"

    def contains(self, day: date) -> bool:
        return self.window_start <= day <= self.window_end


# --------------------------------------------------------------------------- internals
# Periods are numbered consecutively: index = 4 * year + (quarter - 1).


def _index(year: int, quarter: int) -> int:
    return 4 * year + quarter - 1


def _split(index: int) -> tuple[int, int]:
    year, rest = divmod(index, 4)
    return year, rest + 1


def _month_day(month_index: int, day: int) -> date:
    """``day`` of the month numbered ``12 * year + (month - 1)``."""
    year, month0 = divmod(month_index, 12)
    return date(year, month0 + 1, day)


def _start_month_index(index: int) -> int:
    """Month number of the month before the quarter (December of the year before for Q1)."""
    return 3 * index - 1


def _window_start(index: int, rules: CalendarRules) -> date:
    return _month_day(_start_month_index(index), rules.window_start_day)


def _kinds(quarter: int) -> tuple[PeriodKind, ...]:
    if quarter == 2:
        return (PeriodKind.QUARTER, PeriodKind.HALF_YEAR)
    if quarter == 4:
        return (PeriodKind.QUARTER, PeriodKind.YEAR)
    return (PeriodKind.QUARTER,)


def _period(index: int, rules: CalendarRules) -> Period:
    year, quarter = _split(index)
    last_month = _start_month_index(index) + 3  # the quarter's last month
    return Period(
        key=f"{year:04d}-Q{quarter}",
        year=year,
        quarter=quarter,
        kinds=_kinds(quarter),
        window_start=_window_start(index, rules),
        window_end=_window_start(index + 1, rules) - timedelta(days=1),
        deadline=_month_day(last_month, rules.deadline_day) - timedelta(days=1),
    )


# --------------------------------------------------------------------------- public API


def quarter_period(year: int, quarter: int, rules: CalendarRules = CalendarRules()) -> Period:
    """The period of ``quarter`` (1..4) of ``year``."""
    if not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be 1..4, got {quarter}")
    # Q1's window starts in the year before; Q4's successor (for window_end) is in the next.
    if not MINYEAR < year < MAXYEAR:
        raise ValueError(f"year out of range: {year}")
    return _period(_index(year, quarter), rules)


def period_from_key(key: str, rules: CalendarRules = CalendarRules()) -> Period:
    """Parse ``"2026-Q3"`` (or ``"2026-q3"``)."""
    match = _KEY_RE.fullmatch(key.strip()) if isinstance(key, str) else None
    if match is None:
        raise ValueError(f"not a period key like '2026-Q1': {key!r}")
    return quarter_period(int(match.group(1)), int(match.group(2)), rules)


def period_for_date(day: date, rules: CalendarRules = CalendarRules()) -> Period:
    """The period whose data window contains ``day`` (15/12/2025 gives 2026-Q1)."""
    month_index = 12 * day.year + day.month - 1
    # The latest period whose start month is not after day's month ...
    index = (month_index + 1) // 3
    # ... unless day is in that very month but before the window opens.
    if _start_month_index(index) == month_index and day.day < rules.window_start_day:
        index -= 1
    return _period(index, rules)


def half_year_window(year: int, rules: CalendarRules = CalendarRules()) -> ReportWindow:
    """The six-month report of ``year``: Q1 and Q2 (15/12 of ``year - 1`` – 14/06)."""
    quarters = tuple(quarter_period(year, q, rules) for q in (1, 2))
    return ReportWindow(f"{year:04d}-H1", year, PeriodKind.HALF_YEAR, quarters)


def year_window(year: int, rules: CalendarRules = CalendarRules()) -> ReportWindow:
    """The yearly report of ``year``: Q1–Q4 (15/12 of ``year - 1`` – 14/12)."""
    quarters = tuple(quarter_period(year, q, rules) for q in (1, 2, 3, 4))
    return ReportWindow(f"{year:04d}", year, PeriodKind.YEAR, quarters)


def window_from_key(key: str, rules: CalendarRules = CalendarRules()) -> ReportWindow:
    """Parse ``"2026-H1"`` (six months) or ``"2026"`` (the year)."""
    text = key.strip() if isinstance(key, str) else ""
    if match := _HALF_KEY_RE.fullmatch(text):
        return half_year_window(int(match.group(1)), rules)
    if match := _YEAR_KEY_RE.fullmatch(text):
        return year_window(int(match.group(1)), rules)
    raise ValueError(f"not a report window key like '2026-H1' or '2026': {key!r}")


def previous_period(p: Period, rules: CalendarRules = CalendarRules()) -> Period:
    return _period(_index(p.year, p.quarter) - 1, rules)


def next_period(p: Period, rules: CalendarRules = CalendarRules()) -> Period:
    return _period(_index(p.year, p.quarter) + 1, rules)


def format_date(d: date) -> str:
    """dd/mm/yyyy, as Vietnamese documents write dates: ``05/03/2026``."""
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def days_left(today: date, deadline: date) -> int:
    """Days from ``today`` to ``deadline``: 0 on the deadline itself, negative once late."""
    return (deadline - today).days
