"""Reporting rounds in the database: periodic ones open themselves from the calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from db import repo
from db.models import Round
from scheduler.calendar import CalendarRules, Period, period_for_date
from surveys.catalogue import Catalogue, Indicator, Unit

CLOSE_AFTER_DAYS = 30  # a periodic round accepts late reports and corrections this long


def rules_of(window_start_day: int, deadline_day: int) -> CalendarRules:
    return CalendarRules(window_start_day=window_start_day, deadline_day=deadline_day)


async def open_period_round(session: AsyncSession, period: Period, opened_at: datetime) -> Round:
    """The round of ``period``, inserted if it is not there yet (a no-op when it is)."""
    await repo.insert_ignore(
        session,
        Round,
        [
            {
                "key": period.key,
                "kind": "quarter",
                "title": period.title,
                "window_start": period.window_start,
                "window_end": period.window_end,
                "deadline": period.deadline,
                "opened_at": opened_at,
            }
        ],
        ["key"],
    )
    found = await repo.round_by_key(session, period.key)
    assert found is not None
    return found


async def ensure_periodic_round(
    session: AsyncSession, today: date, rules: CalendarRules, now: datetime
) -> Round:
    """The round of the period whose window holds ``today``, opened if it is not yet.

    Also closes periodic rounds whose grace time after the deadline has passed.
    """
    current = await open_period_round(session, period_for_date(today, rules), now)
    for old in await repo.open_rounds(session):
        if old.kind == "quarter" and old.deadline + timedelta(days=CLOSE_AFTER_DAYS) < today:
            old.closed_at = now
    return current


def unit_is_asked(round_: Round, unit: Unit) -> bool:
    if not unit.reports:
        return False
    return round_.unit_codes is None or unit.code in round_.unit_codes


def indicators_for(catalogue: Catalogue, round_: Round, unit: Unit) -> tuple[Indicator, ...]:
    return catalogue.indicators.due_from(unit, round_.indicator_codes)


async def round_for_unit(session: AsyncSession, catalogue: Catalogue, unit: Unit) -> Round | None:
    """The round a unit head reports for: the oldest open round the unit still owes, else
    the newest open round (for corrections)."""
    rounds = [r for r in await repo.open_rounds(session) if unit_is_asked(r, unit)]
    for candidate in rounds:
        if await repo.submission_for(session, candidate.id, unit.code) is None:
            return candidate
    return rounds[-1] if rounds else None


async def missing_units(session: AsyncSession, catalogue: Catalogue, round_: Round) -> list[Unit]:
    """Units asked by the round that have not submitted, in organisation order."""
    done = {s.unit_code for s in await repo.submissions_of(session, round_.id)}
    return [
        u
        for u in catalogue.org.reporting_units()
        if unit_is_asked(round_, u) and u.code not in done
    ]


def is_late(round_: Round, submitted_on: date) -> bool:
    return submitted_on > round_.deadline
