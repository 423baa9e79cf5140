"""The figures /status shows, as plain data: computed from the database by
``reports.status``, rendered as text by ``reports.text`` and as a chart by ``reports.chart``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class IndicatorFigure:
    code: str
    name: str
    kind: str  # ratio | percent | count
    value: float | None  # district figure: percent for ratio/percent, total for count
    numerator: float | None  # Σ numerators (ratio only)
    denominator: float | None  # Σ denominators (ratio only)
    target: float | None  # target in force for the round's year
    direction: str
    met: bool | None
    units_reporting: int  # units that gave a value (not skipped)


@dataclass(frozen=True)
class SatisfactionFigure:
    target: str  # "14", "14a", "15", "16"
    name: str
    satisfied: int
    n: int  # rating answers (the rate's denominator)
    respondents: int  # people who gave them (the minimum sample counts people)
    rate: float | None  # percent
    low: float | None
    high: float | None
    enough: bool  # respondents >= the minimum sample
    goal: float | None  # the plan's target for the year
    met: bool | None  # None when not enough data
    official: float | None = None  # a figure units entered from an official survey


@dataclass(frozen=True)
class ChannelShare:
    """Counted survey responses that came by one channel over the round's window."""

    channel: str  # telegram | zalo | web | kiosk | console | "" (before channels were kept)
    responses: int
    share: float  # percent of all counted responses in the window


@dataclass(frozen=True)
class StatusFigures:
    round_key: str
    round_title: str
    window_start: date
    window_end: date
    deadline: date
    today: date
    closed: bool
    units_total: int
    on_time: tuple[str, ...]  # unit names
    late: tuple[str, ...]
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)  # kind label -> names
    indicators: tuple[IndicatorFigure, ...] = ()
    satisfaction: tuple[SatisfactionFigure, ...] = ()
    channels: tuple[ChannelShare, ...] = ()  # largest first

    @property
    def days_left(self) -> int:
        return (self.deadline - self.today).days

    @property
    def submitted(self) -> int:
        return len(self.on_time) + len(self.late)
