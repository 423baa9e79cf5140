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
    aggregate: str = "stock"  # over quarters: "flow" (summed) or "stock" (latest quarter)
    quarters_used: tuple[str, ...] = ()  # "Quý I/2026", … the quarters the figure holds
    gaps: tuple[str, ...] = ()  # "UBND xã Tân Hưng (Quý II/2026)": asked, gave nothing
    # the target as the plan tells it: "plan" (its own number), "duy_tri" (the 2025 level
    # kept to 2030), "lo_trinh" (a step of a yearly trajectory)
    target_source: str = "plan"
    not_judged: str = ""  # why there is no verdict (8b before its baseline period is over)
    qualitative: str = ""  # the target's part that is no number, as the plan words it
    notes: tuple[str, ...] = ()  # "UBND xã …: text" the units wrote on that part
    trend: str = ""  # yearly report: "theo đà hiện tại: đạt năm 2027" (reports.trend)


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
    trend: str = ""  # yearly report: "theo đà hiện tại: đạt năm 2028" (reports.trend)


@dataclass(frozen=True)
class ChannelShare:
    """Counted survey responses that came by one channel over the round's window."""

    channel: str  # telegram | zalo | web | kiosk | console | "" (before channels were kept)
    responses: int
    share: float  # percent of all counted responses in the window


@dataclass(frozen=True)
class QuarterSubmitted:
    """One quarter of a six-month or yearly report: who submitted its round."""

    key: str  # "2026-Q1"
    title: str  # "Quý I/2026"
    units_total: int
    submitted: int
    late: int
    closed: bool


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
    # A six-month ("half_year") or yearly ("year") report joins quarters; "quarter" (and an
    # ad-hoc round) is one round. For a window, on_time/late/missing are those of the quarter
    # report that carries it (Q2's, Q4's), the window's own in ``quarters`` and ``unit_gaps``.
    scope: str = "quarter"
    # the organisation's words (units.toml [organisation]): "toàn huyện", "Phòng Nội vụ"
    whole: str = "toàn đơn vị"
    office: str = ""
    quarters: tuple[QuarterSubmitted, ...] = ()
    unit_gaps: tuple[tuple[str, tuple[str, ...]], ...] = ()  # unit name, quarters it missed

    @property
    def days_left(self) -> int:
        return (self.deadline - self.today).days

    @property
    def submitted(self) -> int:
        return len(self.on_time) + len(self.late)
