"""``cchc-bot demo``: a separate database holding one realistic district quarter.

The previous quarter is complete (most units on time, a few late, a few missing); the
current one is under way; about 2,000 citizens answered surveys across the service points
and fields. Values are drawn around each indicator's target with a fixed seed, so the demo
is the same every time it is made on the same day.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from surveys.scoring import target_for_year

from bot.context import Context
from bot.surveying import respondent_key
from db import repo
from db.models import (
    Round,
    Submission,
    SubmissionValue,
    SurveyDailyCount,
    SurveyResponse,
    ValueRevision,
)
from scheduler.calendar import period_from_key, previous_period
from scheduler.rounds import ensure_periodic_round, indicators_for, rules_of
from surveys import survey_flow
from surveys.catalogue import FIELD_LABELS, Indicator

SEED = 53  # Kế hoạch 53/KH-UBND
SURVEYS = 2000


def _value(rng: random.Random, indicator: Indicator, year: int) -> dict[str, Any]:
    target = target_for_year(indicator.targets, year) or 70.0
    share = min(100.0, max(0.0, rng.gauss(target + 2, 12))) / 100
    if indicator.kind == "ratio":
        den = rng.randint(20, 600)
        return {"num": float(round(den * share)), "den": float(den)}
    if indicator.kind == "percent":
        return {"value": round(share * 100, 1)}
    return {"value": float(rng.randint(0, 40))}


async def _fill_round(
    ctx: Context,
    session: AsyncSession,
    rng: random.Random,
    round_: Round,
    report_share: float,
    late_share: float,
) -> None:
    for unit in ctx.catalogue.org.reporting_units():
        if rng.random() > report_share:
            continue
        late = rng.random() < late_share
        day = (
            round_.deadline + timedelta(days=rng.randint(1, 6))
            if late
            else min(ctx.today(), round_.deadline - timedelta(days=rng.randint(0, 12)))
        )
        moment = datetime.combine(day, time(9, rng.randint(0, 59)), ctx.config.timezone)
        submission = Submission(
            round_id=round_.id,
            unit_code=unit.code,
            submitted_at=moment.astimezone(UTC),
            submitted_by=f"Thủ trưởng {unit.name}",
            late=late,
        )
        session.add(submission)
        await session.flush()
        for indicator in indicators_for(ctx.catalogue, round_, unit):
            answer = _value(rng, indicator, round_.deadline.year)
            ratio = indicator.kind == "ratio"
            session.add(
                SubmissionValue(
                    submission_id=submission.id,
                    indicator_code=indicator.code,
                    numerator=answer.get("num"),
                    denominator=answer.get("den"),
                    value=100 * answer["num"] / answer["den"] if ratio else answer["value"],
                )
            )
            session.add(
                ValueRevision(
                    submission_id=submission.id,
                    indicator_code=indicator.code,
                    old=None,
                    new=answer,
                    changed_by=submission.submitted_by,
                    changed_at=submission.submitted_at,
                )
            )


def _rating(rng: random.Random, mood: float) -> int:
    """A 1–5 answer; ``mood`` around 0.9 gives roughly nine in ten satisfied."""
    if rng.random() < mood:
        return 5 if rng.random() < 0.45 else 4
    return rng.choice((1, 2, 3, 3, 3))


async def _surveys(
    ctx: Context, session: AsyncSession, rng: random.Random, start: date, end: date
) -> int:
    days = max(1, (end - start).days + 1)
    moods = {p.code: rng.uniform(0.82, 0.97) for p in ctx.catalogue.points}
    fields = [f for f in FIELD_LABELS if f not in ("y_te", "giao_duc")]
    for n in range(SURVEYS):
        point = rng.choice(ctx.catalogue.points)
        questionnaire = ctx.catalogue.questionnaires[point.questionnaire]
        day = start + timedelta(days=rng.randrange(days))
        answers: dict[str, Any] = {}
        for q in survey_flow.questions(questionnaire, point):
            if q.kind == "rating":
                answers[q.id] = _rating(rng, moods[point.code])
            elif q.kind == "choice":
                answers[q.id] = rng.choice(fields) if q.sets_field else q.options[0].value
        moment = datetime.combine(
            day, time(rng.randint(7, 16), rng.randint(0, 59)), ctx.config.timezone
        )
        response = SurveyResponse(
            point_code=point.code,
            questionnaire=questionnaire.code,
            respondent=respondent_key(ctx, "demo", str(n)),
            day=day,
            field=survey_flow.field_of(questionnaire, point, answers),
            status="counted",
            answers=answers,
            started_at=moment.astimezone(UTC),
            completed_at=moment.astimezone(UTC) + timedelta(seconds=40),
        )
        session.add(response)
        by_target: dict[str, list[int]] = {}
        for q in questionnaire.questions:
            if q.kind == "rating" and q.id in answers:
                for target in q.feeds:
                    by_target.setdefault(target, []).append(int(answers[q.id]))
        for target, levels in by_target.items():
            await repo.add_to_daily_counts(
                session,
                day,
                point.code,
                response.field or "",
                target,
                levels,
                fully_satisfied=all(v >= 4 for v in levels),
            )
    return SURVEYS


async def fill_demo(ctx: Context) -> tuple[str, str]:
    """Fill the (already migrated) demo database; returns the two round keys filled."""
    rng = random.Random(SEED)
    cal = ctx.config.calendar
    rules = rules_of(cal.window_start_day, cal.deadline_day)
    today = ctx.today()
    async with ctx.sessions.begin() as session:
        for model in (ValueRevision, SubmissionValue, Submission, SurveyResponse, SurveyDailyCount):
            await session.execute(delete(model))
        current = await ensure_periodic_round(session, today, rules, ctx.now())
        before = previous_period(period_from_key(current.key, rules), rules)
        await repo.insert_ignore(
            session,
            Round,
            [
                {
                    "key": before.key,
                    "kind": "quarter",
                    "title": before.title,
                    "window_start": before.window_start,
                    "window_end": before.window_end,
                    "deadline": before.deadline,
                    "opened_at": datetime.combine(
                        before.window_start, time(0), ctx.config.timezone
                    ),
                }
            ],
            ["key"],
        )
        previous = await repo.round_by_key(session, before.key)
        assert previous is not None
        await _fill_round(ctx, session, rng, previous, report_share=0.9, late_share=0.12)
        await _fill_round(ctx, session, rng, current, report_share=0.75, late_share=0.0)
        await _surveys(ctx, session, rng, current.window_start, today)
    return previous.key, current.key
