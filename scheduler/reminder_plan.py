"""When each reminder of a reporting round is due, kept inside working hours.

Every step has a nominal moment: ``send_time`` (local) on its day, which is the opening day for
"open" and ``deadline + offset_days`` for the others (``deadline`` is the last on-time day). A
nominal moment outside working hours is moved:

* "open" and overdue steps move FORWARD to the next working moment: the start of the day when
  the nominal time is before the start of a working day, else the start of the next working day;
* pre-deadline steps and the deadline-day step move BACKWARD, so that they still arrive before
  the deadline: to ``end - 30 min`` (16:30 by default) of the same working day when the nominal
  time is after the end, else of the previous working day. They never go before the round's
  opening moment (the "open" step's moment); a step that would must wait for the opening
  moment, and one that could then only arrive after the deadline day is dropped.

Steps whose day is before the opening day are dropped (a short ad-hoc round). When two steps
land on the same moment only the later one (closer to or further past the deadline) is kept.

Holidays are configuration data (``[calendar] holidays``), never code. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_STEPS",
    "LAST_CALL_BEFORE_END",
    "MAX_OFFSET_DAYS",
    "ReminderStep",
    "ScheduledReminder",
    "WorkingHours",
    "latest_due",
    "parse_steps",
    "plan_reminders",
]

LAST_CALL_BEFORE_END = timedelta(minutes=30)
MAX_OFFSET_DAYS = 366
_OFFSET_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class WorkingHours:
    """Office hours, as local wall-clock times: a moment is working when ``start <= t < end``
    on a weekday in ``weekdays`` (0 = Monday) that is not in ``holidays``."""

    start: time = time(7, 30)
    end: time = time(17, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("working hours must be naive local times")
        if self.start >= self.end:
            raise ValueError(f"working hours end ({self.end}) must be after start ({self.start})")
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError(f"weekdays must be a non-empty set of 0..6, got {set(self.weekdays)}")

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def is_working_moment(self, moment: datetime) -> bool:
        """``moment`` must be tz-aware and already in the local time zone."""
        _require_aware(moment, "moment")
        return self.is_working_day(moment.date()) and self.start <= moment.time() < self.end

    def last_call(self, day: date) -> time:
        """The time a reminder moved backward is sent on working day ``day``: half an hour
        before the end (16:30 by default), or the start if the day is shorter than that."""
        moment = datetime.combine(day, self.end) - LAST_CALL_BEFORE_END
        if moment.date() != day or moment.time() < self.start:
            return self.start
        return moment.time()


@dataclass(frozen=True)
class ReminderStep:
    """One reminder of a round. ``offset_days`` counts from the deadline (the last on-time
    day): -7 is a week before, 0 the deadline day, +1 the day after; ``None`` is the opening
    day. The name is what outbox dedupe keys and logs use."""

    name: str  # "open", "d-7", "d-3", "d-1", "d0", "overdue+1", "overdue+3"
    offset_days: int | None
    overdue: bool

    def __post_init__(self) -> None:
        off = self.offset_days
        if off is not None and (
            isinstance(off, bool) or not isinstance(off, int) or abs(off) > MAX_OFFSET_DAYS
        ):
            raise ValueError(f"offset_days must be None or an int within ±{MAX_OFFSET_DAYS}")
        if (self.name, self.overdue) != _canonical(off):
            raise ValueError(
                f"inconsistent reminder step {self.name!r} (offset_days={off!r}, "
                f"overdue={self.overdue!r}); expected name and overdue {_canonical(off)!r}"
            )

    @staticmethod
    def for_offset(offset_days: int | None) -> ReminderStep:
        """The step for an offset from the deadline (``None`` for "open")."""
        name, overdue = _canonical(offset_days)
        return ReminderStep(name, offset_days, overdue)

    @property
    def rank(self) -> float:
        """Order of steps in a round: "open" first, then by offset."""
        return float("-inf") if self.offset_days is None else float(self.offset_days)


def _canonical(offset_days: int | None) -> tuple[str, bool]:
    """(name, overdue) of the step at ``offset_days``."""
    if offset_days is None:
        return "open", False
    if offset_days < 0:
        return f"d{offset_days}", False
    if offset_days == 0:
        return "d0", False
    return f"overdue+{offset_days}", True


def parse_steps(spec: Sequence[str]) -> tuple[ReminderStep, ...]:
    """Read ``[calendar] reminder_steps``, e.g. ``["open", "-7", "-3", "-1", "0", "+1", "+3"]``.

    Offsets other than 0 must carry their sign, so that "7" is never read as the wrong side of
    the deadline. Returns the steps in round order ("open" first, then by offset).
    """
    if isinstance(spec, str):
        raise ValueError("reminder steps must be a list of strings, not a single string")
    steps: dict[str, ReminderStep] = {}
    for item in spec:
        step = _parse_step(item)
        if step.name in steps:
            raise ValueError(f"reminder step {item!r} is listed twice")
        steps[step.name] = step
    return tuple(sorted(steps.values(), key=lambda s: s.rank))


def _parse_step(item: object) -> ReminderStep:
    if not isinstance(item, str):
        raise ValueError(f"reminder step {item!r} must be a string such as 'open', '-7' or '+1'")
    text = item.strip()
    if text.lower() == "open":
        return ReminderStep.for_offset(None)
    if not _OFFSET_RE.fullmatch(text):
        raise ValueError(
            f"bad reminder step {item!r}: use 'open', '0' (deadline day), '-N' (N days before "
            "the deadline) or '+N' (N days after it)"
        )
    offset = int(text)
    if offset != 0 and text[0] not in "+-":
        raise ValueError(
            f"reminder step {item!r} needs a sign: '-{offset}' for {offset} days before the "
            f"deadline or '+{offset}' for {offset} days after it"
        )
    if abs(offset) > MAX_OFFSET_DAYS:
        raise ValueError(
            f"reminder step {item!r} is more than {MAX_OFFSET_DAYS} days from the deadline"
        )
    return ReminderStep.for_offset(offset)


DEFAULT_STEPS: tuple[ReminderStep, ...] = parse_steps(("open", "-7", "-3", "-1", "0", "+1", "+3"))


@dataclass(frozen=True)
class ScheduledReminder:
    step: ReminderStep
    at: datetime  # tz-aware UTC: the moment the step becomes due


# --------------------------------------------------------------------------- shifting


def _forward(nominal: datetime, hours: WorkingHours) -> datetime:
    """``nominal`` if it is a working moment, else the next start of a working day."""
    if hours.is_working_moment(nominal):
        return nominal
    day = nominal.date()
    if not (hours.is_working_day(day) and nominal.time() < hours.start):
        day += _ONE_DAY
        while not hours.is_working_day(day):
            day += _ONE_DAY
    return _local(day, hours.start, nominal)


def _backward(nominal: datetime, hours: WorkingHours, not_before: date) -> datetime | None:
    """``nominal`` if it is a working moment, else the last call of the latest working day
    that is not after it; ``None`` if no such day is on or after ``not_before``."""
    if hours.is_working_moment(nominal):
        return nominal
    day = nominal.date()
    if not (hours.is_working_day(day) and nominal.time() >= hours.end):
        day -= _ONE_DAY
        while day >= not_before and not hours.is_working_day(day):
            day -= _ONE_DAY
    if day < not_before:
        return None
    return _local(day, hours.last_call(day), nominal)


def _local(day: date, at: time, like: datetime) -> datetime:
    return datetime.combine(day, at, tzinfo=like.tzinfo)


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a tz-aware datetime, got naive {moment.isoformat()}")


# --------------------------------------------------------------------------- planning


def plan_reminders(
    opens: date,
    deadline: date,
    steps: Sequence[ReminderStep],
    hours: WorkingHours,
    tz: ZoneInfo,
    send_time: time = time(8, 0),
) -> list[ScheduledReminder]:
    """The moments (UTC) at which each step of a round opening on ``opens`` and due by the end
    of ``deadline`` (local dates) becomes due, sorted by moment. See the module docstring."""
    if deadline < opens:
        raise ValueError(f"deadline {deadline} is before the round opens ({opens})")
    send = send_time.replace(tzinfo=None)
    open_moment = _forward(datetime.combine(opens, send, tzinfo=tz), hours)
    deadline_over = datetime.combine(deadline + _ONE_DAY, time(0), tzinfo=tz)

    chosen: dict[datetime, ReminderStep] = {}
    for step in sorted({s.name: s for s in steps}.values(), key=lambda s: s.rank):
        if step.offset_days is None:
            at = open_moment
        else:
            day = deadline + timedelta(days=step.offset_days)
            if day < opens:
                continue
            nominal = datetime.combine(day, send, tzinfo=tz)
            if step.overdue:
                at = _forward(nominal, hours)
            else:
                earlier = _backward(nominal, hours, opens)
                at = open_moment if earlier is None or earlier < open_moment else earlier
                if at >= deadline_over:
                    continue  # could only arrive after the deadline day
        # Steps come in round order, so a later step takes a shared moment over.
        chosen[at] = step
    return [
        ScheduledReminder(step=step, at=at.astimezone(UTC))
        for at, step in sorted(chosen.items(), key=lambda item: item[0])
    ]


def latest_due(plan: Sequence[ScheduledReminder], now: datetime) -> ScheduledReminder | None:
    """The latest reminder of ``plan`` already due at ``now`` (``None`` before the first).

    A bot that was down across several steps thus sends one reminder, not a burst.
    """
    _require_aware(now, "now")
    best: ScheduledReminder | None = None
    for item in plan:
        if item.at <= now and (
            best is None or (item.at, item.step.rank) >= (best.at, best.step.rank)
        ):
            best = item
    return best
