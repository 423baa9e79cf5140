"""Computing /status figures from the database. Survey figures come from the daily
aggregate rows summed in SQL, so the cost grows with units, not with responses (bench/status.py
measures it)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import repo
from db.models import (
    OfficialSurveyFigure,
    QualitativeNote,
    Round,
    Submission,
    SubmissionValue,
    SurveyDailyCount,
    SurveyResponse,
)
from reports.figures import (
    ChannelShare,
    IndicatorFigure,
    QuarterSubmitted,
    SatisfactionFigure,
    StatusFigures,
)
from reports.quarters import QuarterValues, combine, unit_share
from reports.trend import enough_rates, quarter_number, towards_last_target, trend_text
from scheduler.calendar import PeriodKind, ReportWindow, period_from_key
from scheduler.rounds import indicators_for, missing_units, unit_is_asked
from surveys.catalogue import Catalogue, Indicator
from surveys.scoring import cluster_rate, is_met, target_for_year


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
    # Grouped by the bare column: PostgreSQL refuses GROUP BY coalesce(channel, $2) for a
    # SELECT of coalesce(channel, $1) (two bind parameters, two expressions to it).
    rows = await session.execute(
        select(r.channel, func.count())
        .where(r.status == "counted", r.day >= start, r.day <= end)
        .group_by(r.channel)
    )
    by_channel: dict[str, int] = defaultdict(int)
    for channel, n in rows:  # NULL (rows from before channels were kept) counts as ""
        by_channel[str(channel or "")] += int(n)
    counts = sorted(by_channel.items(), key=lambda cn: (-cn[1], cn[0]))
    total = sum(n for _, n in counts)
    return tuple(ChannelShare(c, n, 100.0 * n / total) for c, n in counts)


def round_label(round_: Round) -> str:
    """A quarter round as a report names it inside a longer one: "Quý II/2026"."""
    if round_.kind == "quarter":
        try:
            return period_from_key(round_.key).short_title
        except ValueError:
            pass
    return round_.title


@dataclass(frozen=True)
class WindowRounds:
    """A six-month or yearly report and the quarter rounds of its window found so far."""

    window: ReportWindow
    rounds: tuple[Round, ...]  # oldest first; quarters not opened yet are absent

    @property
    def key(self) -> str:
        return self.window.key

    @property
    def title(self) -> str:
        return self.window.title


async def quarter_values(
    session: AsyncSession, catalogue: Catalogue, round_: Round
) -> dict[str, QuarterValues]:
    """Every non-survey indicator's values in ``round_`` (one query for the round)."""
    v = SubmissionValue
    given: dict[str, dict[str, tuple[float | None, float | None, float | None]]] = defaultdict(dict)
    skipped: dict[str, set[str]] = defaultdict(set)
    rows = await session.execute(
        select(Submission.unit_code, v.indicator_code, v.numerator, v.denominator, v.value,
               v.skip_reason)
        .join(Submission, Submission.id == v.submission_id)
        .where(Submission.round_id == round_.id)
    )  # fmt: skip
    for unit_code, code, numerator, denominator, value, skip in rows:
        if skip is None:
            given[code][unit_code] = (numerator, denominator, value)
        else:
            skipped[code].add(unit_code)
    asked: dict[str, set[str]] = defaultdict(set)
    for unit in catalogue.org.reporting_units():
        if unit_is_asked(round_, unit):
            for indicator in indicators_for(catalogue, round_, unit):
                asked[indicator.code].add(unit.code)
    label = round_label(round_)
    return {
        i.code: QuarterValues(
            label=label,
            asked=frozenset(asked[i.code]),
            values=given.get(i.code, {}),
            skipped=frozenset(skipped[i.code]),
        )
        for i in catalogue.indicators.indicators
        if i.kind != "survey"
    }


async def qualitative_notes(
    session: AsyncSession, catalogue: Catalogue, rounds: Sequence[Round]
) -> dict[str, tuple[str, ...]]:
    """indicator code -> "Unit: text", the latest per unit over ``rounds`` (/dinhtinh)."""
    n = QualitativeNote
    rows = await session.scalars(
        select(n).where(n.round_id.in_([r.id for r in rounds])).order_by(n.entered_at, n.id)
    )
    latest: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        latest[row.indicator_code][row.unit_code] = row.text
    names = {u.code: u.name for u in catalogue.org.units}
    order = {u.code: i for i, u in enumerate(catalogue.org.units)}
    return {
        code: tuple(
            f"{names.get(unit, unit)}: {text}"
            for unit, text in sorted(by_unit.items(), key=lambda kv: order.get(kv[0], 0))
        )
        for code, by_unit in latest.items()
    }


def indicator_figures(
    catalogue: Catalogue,
    quarters: list[dict[str, QuarterValues]],
    year: int,
    wanted: set[str] | None = None,
    notes: Mapping[str, tuple[str, ...]] | None = None,
    trends: Mapping[str, str] | None = None,
    unit: str | None = None,
) -> tuple[IndicatorFigure, ...]:
    """Each indicator's figure over ``quarters`` (oldest first), against ``year``'s target,
    which says whether it is the plan's own number or derived; no verdict while a baseline
    period is not over; the qualitative part of the target with the units' ``notes``.

    With ``unit`` (a unit code): that unit's part of each figure (``reports.quarters.
    unit_share``, for the drill-downs), its gaps named by quarter only."""
    names = {u.code: u.name for u in catalogue.org.units}
    out = []
    for indicator in catalogue.indicators.indicators:
        if indicator.kind == "survey" or (wanted is not None and indicator.code not in wanted):
            continue
        given = [q[indicator.code] for q in quarters if indicator.code in q]
        if unit is None:
            combined = combine(indicator.kind, indicator.aggregate, given)
            gaps = tuple(f"{names.get(c, c)} ({q})" for c, q in combined.gaps)
        else:
            combined = unit_share(indicator.kind, indicator.aggregate, given, unit)
            gaps = tuple(q for _, q in combined.gaps)
        target = target_for_year(indicator.targets, year)
        judged = indicator.judged_in(year)
        baseline = indicator.baseline
        out.append(
            IndicatorFigure(
                code=indicator.code,
                name=indicator.name,
                kind=indicator.kind,
                value=combined.value,
                numerator=combined.numerator,
                denominator=combined.denominator,
                target=target,
                direction=indicator.direction,
                met=is_met(combined.value, target, indicator.direction) if judged else None,
                units_reporting=combined.units_reporting,
                aggregate=indicator.aggregate,
                quarters_used=combined.quarters_used,
                gaps=gaps,
                target_source=indicator.target_source(year),
                not_judged=""
                if judged or baseline is None
                else f"chưa đánh giá: giai đoạn so sánh {baseline[0]}–{baseline[1]} chưa kết thúc",
                qualitative=indicator.qualitative_for(year),
                notes=(notes or {}).get(indicator.code, ()),
                trend=(trends or {}).get(indicator.code, ""),
            )
        )
    return tuple(out)


async def _submitted(
    session: AsyncSession, catalogue: Catalogue, round_: Round
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, tuple[str, ...]], int]:
    """(on time, late, missing by kind label, units asked) of one round, as names."""
    org = catalogue.org
    submissions = await repo.submissions_of(session, round_.id)
    names = {u.code: u.name for u in org.units}
    on_time = tuple(names.get(s.unit_code, s.unit_code) for s in submissions if not s.late)
    late = tuple(names.get(s.unit_code, s.unit_code) for s in submissions if s.late)
    missing: dict[str, list[str]] = {}
    for unit in await missing_units(session, catalogue, round_):
        missing.setdefault(org.kind_label(unit.kind), []).append(unit.name)
    asked = [u for u in org.reporting_units() if unit_is_asked(round_, u)]
    return on_time, late, {k: tuple(v) for k, v in missing.items()}, len(asked)


async def status_figures(
    session: AsyncSession, catalogue: Catalogue, round_: Round, today: date, min_sample: int
) -> StatusFigures:
    on_time, late, missing, total = await _submitted(session, catalogue, round_)
    year = round_.deadline.year
    wanted = set(round_.indicator_codes) if round_.indicator_codes is not None else None
    words = catalogue.org.words
    return StatusFigures(
        whole=words.whole,
        office=words.office,
        round_key=round_.key,
        round_title=round_.title,
        window_start=round_.window_start,
        window_end=round_.window_end,
        deadline=round_.deadline,
        today=today,
        closed=round_.closed_at is not None,
        units_total=total,
        on_time=on_time,
        late=late,
        missing=missing,
        indicators=indicator_figures(
            catalogue,
            [await quarter_values(session, catalogue, round_)],
            year,
            wanted,
            await qualitative_notes(session, catalogue, [round_]),
        ),
        satisfaction=with_official(
            await satisfaction(
                session, catalogue, round_.window_start, round_.window_end, year, min_sample
            ),
            await official_figures(session, round_.id),
        ),
        channels=await channel_shares(session, round_.window_start, round_.window_end),
    )


async def window_figures(
    session: AsyncSession,
    catalogue: Catalogue,
    scope: WindowRounds,
    today: date,
    min_sample: int,
) -> StatusFigures:
    """The six-month or yearly report: the indicators over the quarters' rounds (flows
    summed, stocks as of the latest quarter), the surveys over every day of the window
    (15/12 of the year before – 14/06 or 14/12), who missed which quarter."""
    window, rounds = scope.window, scope.rounds
    if not rounds:
        raise ValueError(f"no round of {window.key} has opened yet")
    per_quarter = []
    quarters = []
    missed: dict[str, list[str]] = defaultdict(list)
    for round_ in rounds:
        on_time, late, _, total = await _submitted(session, catalogue, round_)
        label = round_label(round_)
        quarters.append(
            QuarterSubmitted(
                key=round_.key,
                title=label,
                units_total=total,
                submitted=len(on_time) + len(late),
                late=len(late),
                closed=round_.closed_at is not None,
            )
        )
        for unit in await missing_units(session, catalogue, round_):
            missed[unit.code].append(label)
        per_quarter.append(await quarter_values(session, catalogue, round_))
    last = rounds[-1]
    on_time, late, missing, total = await _submitted(session, catalogue, last)
    names = {u.code: u.name for u in catalogue.org.units}
    order = {u.code: n for n, u in enumerate(catalogue.org.units)}
    official: dict[str, float] = {}
    for round_ in rounds:  # the latest round's official figure wins
        official.update(await official_figures(session, round_.id))
    words = catalogue.org.words
    yearly = (
        await trends(session, catalogue, window.window_end, min_sample)
        if window.kind is PeriodKind.YEAR
        else {}
    )
    return StatusFigures(
        whole=words.whole,
        office=words.office,
        round_key=window.key,
        round_title=window.title,
        window_start=window.window_start,
        window_end=window.window_end,
        deadline=window.deadline,
        today=today,
        closed=all(r.closed_at is not None for r in rounds) and len(rounds) == len(window.quarters),
        units_total=total,
        on_time=on_time,
        late=late,
        missing=missing,
        indicators=indicator_figures(
            catalogue,
            per_quarter,
            window.year,
            notes=await qualitative_notes(session, catalogue, rounds),
            trends=yearly,
        ),
        satisfaction=with_trends(
            with_official(
                await satisfaction(
                    session,
                    catalogue,
                    window.window_start,
                    window.window_end,
                    window.year,
                    min_sample,
                ),
                official,
            ),
            yearly,
        ),
        channels=await channel_shares(session, window.window_start, window.window_end),
        scope=window.kind.value,
        quarters=tuple(quarters),
        unit_gaps=tuple(
            (names.get(code, code), tuple(labels))
            for code, labels in sorted(missed.items(), key=lambda kv: order.get(kv[0], 0))
        ),
    )


async def trends(
    session: AsyncSession, catalogue: Catalogue, end: date, min_sample: int
) -> dict[str, str]:
    """For the yearly report: the year each indicator's and each satisfaction target's
    least-squares line reaches its last target (``reports.trend``), over every quarter round
    whose window ends by ``end`` (earlier years too): an indicator's district figure of the
    quarter (``combine`` on the quarter alone), a satisfaction target's rate of the quarter's
    window (``satisfaction``, the status's own, counted only with ``min_sample``
    respondents); at least four quarters each, else nothing is said."""
    rounds = (
        await session.scalars(
            select(Round)
            .where(Round.kind == "quarter", Round.window_end <= end)
            .order_by(Round.window_start)
        )
    ).all()
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    rates: list[tuple[int, tuple[SatisfactionFigure, ...]]] = []
    for round_ in rounds:
        try:
            period = period_from_key(round_.key)
        except ValueError:
            continue
        t = quarter_number(period.year, period.quarter)
        for code, values in (await quarter_values(session, catalogue, round_)).items():
            indicator = catalogue.indicators.get(code)
            if indicator is None:
                continue
            figure = combine(indicator.kind, indicator.aggregate, [values]).value
            if figure is not None:
                series[code].append((t, figure))
        quarter_rates = await satisfaction(
            session, catalogue, round_.window_start, round_.window_end, period.year, min_sample
        )
        rates.append((t, quarter_rates))
    series.update(enough_rates(rates))
    out: dict[str, str] = {}
    for indicator in catalogue.indicators.indicators:
        trend = towards_last_target(
            series.get(indicator.code, []), indicator.targets, indicator.direction
        )
        if trend is not None:
            out[indicator.code] = trend_text(trend)
    return out


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


def with_trends(
    figures: tuple[SatisfactionFigure, ...], trends: Mapping[str, str]
) -> tuple[SatisfactionFigure, ...]:
    """Attach the yearly report's "theo đà hiện tại" to the satisfaction figures."""
    return tuple(replace(f, trend=trends.get(f.target, f.trend)) for f in figures)
