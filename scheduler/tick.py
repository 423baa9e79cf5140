"""One scheduler tick, level-triggered and idempotent.

From the calendar and the database it works out what should have happened by now — the
current round open, the latest due reminder step queued for every missing unit, stale
surveys expired, idle reports nudged — and makes it so. A missed tick catches up (with only
the latest step, not a burst); a repeated tick finds everything done (the outbox's unique
keys make a second insert a no-op).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts as T
from bot.context import Context
from db import repo
from db.models import Conversation, Round, SurveyResponse
from scheduler.reminder_plan import WorkingHours, latest_due, parse_steps, plan_reminders
from scheduler.reminders import enqueue_round_reminders
from scheduler.rounds import ensure_periodic_round, missing_units, rules_of

log = logging.getLogger(__name__)

NUDGE_AFTER = timedelta(hours=2)


def working_hours(ctx: Context) -> WorkingHours:
    cal = ctx.config.calendar
    return WorkingHours(start=cal.work_start, end=cal.work_end, holidays=cal.holidays)


def due_step(ctx: Context, round_: Round, now: datetime) -> str | None:
    """The name of the latest reminder step due for ``round_`` at ``now``."""
    cal = ctx.config.calendar
    plan = plan_reminders(
        round_.window_start,
        round_.deadline,
        parse_steps(cal.reminder_steps),
        working_hours(ctx),
        ctx.config.timezone,
        cal.send_time,
    )
    latest = latest_due(plan, now)
    return latest.step.name if latest is not None else None


async def _overdue_to_admins(
    ctx: Context, session: AsyncSession, round_: Round, step: str, now: datetime
) -> None:
    names = [u.name for u in await missing_units(session, ctx.catalogue, round_)]
    if not names:
        return
    text = T.overdue_admin(round_.title, names)
    recipients = [("telegram", str(a)) for a in sorted(ctx.admins.get("telegram", ()))]
    recipients += [(c.channel, c.chat_id) for c in await repo.admin_chats(session)]
    await repo.enqueue(
        session,
        [
            {
                "dedupe_key": f"overdue:{round_.id}:{step}:{channel}:{chat}",
                "channel": channel,
                "chat_id": chat,
                "round_id": round_.id,
                "step": step,
                "text": text,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for channel, chat in recipients
        ],
    )


async def queue_reminders(ctx: Context, session: AsyncSession, now: datetime) -> int:
    """Queue the latest due step of every open round; only in working hours."""
    if not working_hours(ctx).is_working_moment(ctx.local(now)):
        return 0
    queued = 0
    for round_ in await repo.open_rounds(session):
        step = due_step(ctx, round_, now)
        if step is None:
            continue
        count, units = await enqueue_round_reminders(
            session, ctx.catalogue, round_, step, ctx.today(), now
        )
        queued += count
        if step.startswith("overdue"):
            await _overdue_to_admins(ctx, session, round_, step, now)
        if count:
            log.info(
                "reminders queued round=%s step=%s count=%s units=%s",
                round_.key,
                step,
                count,
                units,
            )
    return queued


async def nudge_idle_reports(ctx: Context, session: AsyncSession, now: datetime) -> int:
    """One gentle nudge for a report left unfinished for two hours."""
    idle = (
        await session.scalars(
            select(Conversation).where(
                Conversation.kind == "report",
                Conversation.nudged_at.is_(None),
                Conversation.updated_at < now - NUDGE_AFTER,
            )
        )
    ).all()
    rows = []
    for conv in idle:
        conv.nudged_at = now
        rows.append(
            {
                "dedupe_key": f"nudge:{conv.channel}:{conv.user_id}:{conv.updated_at.isoformat()}",
                "channel": conv.channel,
                "chat_id": conv.user_id,
                "text": T.NUDGE,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    return await repo.enqueue(session, rows)


async def tick(ctx: Context) -> None:
    now = ctx.now()
    cal = ctx.config.calendar
    async with ctx.sessions.begin() as session:
        await ensure_periodic_round(
            session, ctx.today(), rules_of(cal.window_start_day, cal.deadline_day), now
        )
        await session.execute(
            update(SurveyResponse)
            .where(
                SurveyResponse.status == "open",
                SurveyResponse.started_at
                < now - timedelta(minutes=ctx.config.survey.expire_minutes),
            )
            .values(status="expired")
        )
        await queue_reminders(ctx, session, now)
        if working_hours(ctx).is_working_moment(ctx.local(now)):
            await nudge_idle_reports(ctx, session, now)
