"""Computing /status figures from the database. Survey figures come from the daily
aggregate rows summed in SQL, so the cost grows with units, not with responses (bench/status.py
measures it)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import repo
from db.models import (
    OfficialSurveyFigure,
    Round,
    Submission,
    SubmissionValue,
    SurveyDailyCount,
    SurveyResponse,
)
from reports.figures import ChannelShare, IndicatorFigure, SatisfactionFigure, StatusFigures
from scheduler.rounds import missing_units, unit_is_asked
from surveys.catalogue import Catalogue, Indicator
from surveys.scoring import aggregate_ratio, cluster_rate, is_met, target_for_year


def fields_for(indicator: Indicator, year: int) -> tuple[str, ...]:
    """The fields that count for a field-restricted target (14a) in ``year``."""
    years = sorted(indicator.fields_by_year)
    for y in years:
        if y >= year:
            return indicator.fields_by_year[y]
    return indicator.fields_by_year[years[-1]] if years else ()


# The sums over respondents the interval needs, per daily aggregate row (db.models).
CLUSTER_SUMS = ("answers_sq", "satisfied_sq", "satisfied_answers")


async def daily_totals(session: AsyncSession, start: date, end: date) -> list[Any]:
    """The daily aggregate rows of ``start``..``end`` summed by target and field in SQL, so
    that the rows read stay a handful however many days, points and responses there are."""
    c = SurveyDailyCount
    query = (
        select(
            c.target,
            c.field,
            *(func.sum(getattr(c, f"level{n}")).label(f"level{n}") for n in range(1, 6)),
            func.sum(c.respondents).label("respondents"),
            *(func.sum(getattr(c, name)).label(name) for name in CLUSTER_SUMS),
        )
        .where(c.day >= start, c.day <= end)
        .group_by(c.target, c.field)
    )
    return list((await session.execute(query)).all())


async def satisfaction(
    session: AsyncSession,
    catalogue: Catalogue,
    start: date,
    end: date,
    year: int,
    min_sample: int,
) -> tuple[SatisfactionFigure, ...]:
    levels: dict[str, dict[int, int]] = defaultdict(lambda: dict.fromkeys(range(1, 6), 0))
    people: dict[str, int] = defaultdict(int)
    sums: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(CLUSTER_SUMS, 0.0))
    rows = await daily_totals(session, start, end)
    targets = catalogue.indicators.survey_targets()
    for indicator in targets:
        source = indicator.part_of or indicator.code
        allowed = fields_for(indicator, year) if indicator.part_of else None
        bucket = levels[indicator.code]
        for row in rows:
            if row.target != source or (allowed is not None and row.field not in allowed):
                continue
            for n in range(1, 6):
                bucket[n] += getattr(row, f"level{n}")
            people[indicator.code] += row.respondents
            for name in CLUSTER_SUMS:
                sums[indicator.code][name] += float(getattr(row, name) or 0.0)
    out = []
    for indicator in targets:
        counts = levels[indicator.code]
        rate = cluster_rate(
            satisfied=counts[4] + counts[5],
            answers=sum(counts.values()),
            respondents=people[indicator.code],
            min_sample=min_sample,
            **sums[indicator.code],
        )
        enough = rate.enough
        goal = target_for_year(indicator.targets, year)
        out.append(
            SatisfactionFigure(
                target=indicator.code,
                name=indicator.name,
                satisfied=rate.satisfied,
                n=rate.n,
                respondents=people[indicator.code],
                rate=rate.rate,
                low=rate.low,
                high=rate.high,
                enough=enough,
                goal=goal,
                met=is_met(rate.rate, goal) if enough else None,
            )
        )
    return tuple(out)


async def channel_shares(
    session: AsyncSession, start: date, end: date
) -> tuple[ChannelShare, ...]:
    """The counted responses of ``start``..``end`` by the channel they came by, largest
    first (ties by name), each with its share of the window's counted responses."""
    r = SurveyResponse
    rows = await session.execute(  # grouped by the column: PostgreSQL refuses a GROUP BY
        # coalesce(channel, $2) against a SELECT coalesce(channel, $1) (two parameters)
        select(r.channel, func.count())
        .where(r.status == "counted", r.day >= start, r.day <= end)
        .group_by(r.channel)
    )
    counts = sorted(((str(c or ""), int(n)) for c, n in rows), key=lambda cn: (-cn[1], cn[0]))
    total = sum(n for _, n in counts)
    return tuple(ChannelShare(c, n, 100.0 * n / total) for c, n in counts)


async def status_figures(
    session: AsyncSession, catalogue: Catalogue, round_: Round, today: date, min_sample: int
) -> StatusFigures:
    org = catalogue.org
    submissions = await repo.submissions_of(session, round_.id)
    names = {u.code: u.name for u in org.units}
    on_time = tuple(names.get(s.unit_code, s.unit_code) for s in submissions if not s.late)
    late = tuple(names.get(s.unit_code, s.unit_code) for s in submissions if s.late)
    missing: dict[str, list[str]] = {}
    for unit in await missing_units(session, catalogue, round_):
        missing.setdefault(org.kind_label(unit.kind), []).append(unit.name)
    asked = [u for u in org.reporting_units() if unit_is_asked(round_, u)]

    values_by_code: dict[str, list[tuple[float | None, float | None, float | None]]] = defaultdict(
        list
    )
    v = SubmissionValue
    given_values = await session.execute(  # one query for the round, not one per unit
        select(v.indicator_code, v.numerator, v.denominator, v.value)
        .join(Submission, Submission.id == v.submission_id)
        .where(Submission.round_id == round_.id, v.skip_reason.is_(None))
    )
    for code, numerator, denominator, value in given_values:
        values_by_code[code].append((numerator, denominator, value))
    year = round_.deadline.year
    indicators = []
    wanted = set(round_.indicator_codes) if round_.indicator_codes is not None else None
    for indicator in catalogue.indicators.indicators:
        if indicator.kind == "survey" or (wanted is not None and indicator.code not in wanted):
            continue
        given = values_by_code.get(indicator.code, [])
        num = den = None
        if indicator.kind == "ratio":
            pairs = [(float(n or 0), float(d or 0)) for n, d, _ in given]
            num, den = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
            value = aggregate_ratio(pairs) if pairs else None
        elif indicator.kind == "percent":
            value = sum(float(v or 0) for *_, v in given) / len(given) if given else None
        else:
            value = sum(float(v or 0) for *_, v in given) if given else None
        target = target_for_year(indicator.targets, year)
        indicators.append(
            IndicatorFigure(
                code=indicator.code,
                name=indicator.name,
                kind=indicator.kind,
                value=value,
                numerator=num if given else None,
                denominator=den if given else None,
                target=target,
                direction=indicator.direction,
                met=is_met(value, target, indicator.direction),
                units_reporting=len(given),
            )
        )
    return StatusFigures(
        round_key=round_.key,
        round_title=round_.title,
        window_start=round_.window_start,
        window_end=round_.window_end,
        deadline=round_.deadline,
        today=today,
        closed=round_.closed_at is not None,
        units_total=len(asked),
        on_time=on_time,
        late=late,
        missing={k: tuple(v) for k, v in missing.items()},
        indicators=tuple(indicators),
        satisfaction=with_official(
            await satisfaction(
                session, catalogue, round_.window_start, round_.window_end, year, min_sample
            ),
            await official_figures(session, round_.id),
        ),
        channels=await channel_shares(session, round_.window_start, round_.window_end),
    )


async def official_figures(session: AsyncSession, round_id: int) -> dict[str, float]:
    """The latest official-survey figure per target entered for the round."""
    rows = await session.scalars(
        select(OfficialSurveyFigure)
        .where(OfficialSurveyFigure.round_id == round_id)
        .order_by(OfficialSurveyFigure.entered_at, OfficialSurveyFigure.id)
    )
    return {row.target: row.value for row in rows}


def with_official(
    figures: tuple[SatisfactionFigure, ...], official: dict[str, float]
) -> tuple[SatisfactionFigure, ...]:
    """Attach official figures beside the bot's own; the bot's figures are left untouched."""
    return tuple(replace(f, official=official.get(f.target, f.official)) for f in figures)
