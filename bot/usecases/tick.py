"""One scheduler tick, level-triggered and idempotent.

From the calendar and the database it works out what should have happened by now — the
current round open, the latest due reminder step queued for every missing unit, stale
surveys expired, idle reports nudged, files published for Zalo past their hour purged —
and makes it so. A missed tick catches up (with only
the latest step, not a burst); a repeated tick finds everything done (the outbox's unique
keys make a second insert a no-op).

Reminders are queued only in working hours. A step missed while the bot was down is sent
when it comes back, unless the next step falls later that same day: then only that one is
sent (no "3 days left" at 07:30 followed by "last day" at 08:00).

A tick never raises: a failure is logged once (with the round) until it goes away, and the
next tick tries again. One round's failure does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases import published
from bot.usecases.context import Context
from db import repo
from db.models import Conversation, Round, SurveyResponse
from reports.text import split_message
from scheduler.jobs import FailureLog
from scheduler.reminder_plan import (
    ScheduledReminder,
    WorkingHours,
    latest_due,
    parse_steps,
    plan_reminders,
)
from scheduler.reminders import enqueue_round_reminders
from scheduler.rounds import ensure_periodic_round, missing_units, rules_of
from surveys import texts as T

log = logging.getLogger(__name__)
failures = FailureLog(log)

NUDGE_AFTER = timedelta(hours=2)
ADMIN_MESSAGE_LIMIT = 2000  # the smallest platform limit (Zalo); Telegram allows 4096


def working_hours(ctx: Context) -> WorkingHours:
    cal = ctx.config.calendar
    return WorkingHours(start=cal.work_start, end=cal.work_end, holidays=cal.holidays)


def round_plan(ctx: Context, round_: Round) -> list[ScheduledReminder]:
    cal = ctx.config.calendar
    return plan_reminders(
        round_.window_start,
        round_.deadline,
        parse_steps(cal.reminder_steps),
        working_hours(ctx),
        ctx.config.timezone,
        cal.send_time,
    )


def due_reminder(
    plan: Sequence[ScheduledReminder], now: datetime, ctx: Context
) -> ScheduledReminder | None:
    """The step to have queued at ``now``: the latest due one, except a step from an earlier
    day when the next step is due later today (it would only arrive just before it)."""
    latest = latest_due(plan, now)
    if latest is None:
        return None
    today = ctx.local(now).date()
    if ctx.local(latest.at).date() < today:
        later = [p for p in plan if p.at > now]
        if later and ctx.local(min(p.at for p in later)).date() == today:
            return None
    return latest


def due_step(ctx: Context, round_: Round, now: datetime) -> str | None:
    """The name of the reminder step due for ``round_`` at ``now``."""
    due = due_reminder(round_plan(ctx, round_), now, ctx)
    return due.step.name if due is not None else None


def overdue_admin_texts(title: str, names: list[str]) -> list[str]:
    """The admins' list of overdue units, in messages that fit every platform."""
    return split_message(T.overdue_admin(title, names).split("\n"), ADMIN_MESSAGE_LIMIT)


async def _overdue_to_admins(
    ctx: Context, session: AsyncSession, round_: Round, step: str, now: datetime
) -> int:
    names = [u.name for u in await missing_units(session, ctx.catalogue, round_)]
    if not names:
        return 0
    recipients = ctx.admin_accounts()  # Zalo's admins too, when Zalo is on
    recipients += [(c.channel, c.chat_id) for c in await repo.admin_chats(session)]
    parts = overdue_admin_texts(round_.title, names)
    return await repo.enqueue(
        session,
        [
            repo.outbox_row(
                f"overdue:{round_.id}:{step}:{channel}:{chat}" + (f":{n}" if n else ""),
                channel,
                chat,
                text,
                now,
                round_id=round_.id,
                step=step,
            )
            for channel, chat in recipients
            for n, text in enumerate(parts)
        ],
    )


async def _queue_round(ctx: Context, session: AsyncSession, round_: Round, now: datetime) -> int:
    due = due_reminder(round_plan(ctx, round_), now, ctx)
    if due is None:
        return 0
    step = due.step.name
    count, units = await enqueue_round_reminders(
        session, ctx.catalogue, round_, step, ctx.today(), now, due_at=due.at,
        desk=ctx.config.web.enabled,
    )
    admins = await _overdue_to_admins(ctx, session, round_, step, now) if due.step.overdue else 0
    if count or admins:
        log.info(
            "reminders queued round=%s (id=%s) step=%s members=%s units=%s admin_messages=%s",
            round_.key,
            round_.id,
            step,
            count,
            units,
            admins,
            extra={
                "event": "reminders_queued",
                "round": round_.id,
                "round_key": round_.key,
                "step": step,
                "members": count,
                "units": units,
            },
        )
    return count


async def queue_reminders(ctx: Context, session: AsyncSession, now: datetime) -> int:
    """Queue the due step of every open round; only in working hours."""
    if not working_hours(ctx).is_working_moment(ctx.local(now)):
        return 0
    queued = 0
    for round_ in await repo.open_rounds(session):
        key = f"round:{round_.id}"
        try:
            async with session.begin_nested():
                queued += await _queue_round(ctx, session, round_, now)
        except Exception:
            failures.failed(
                key, "reminders for round=%s (id=%s) failed; will retry", round_.key, round_.id
            )
            continue
        failures.ok(key, "reminders for round=%s (id=%s) work again", round_.key, round_.id)
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
        key = f"nudge:{conv.channel}:{conv.user_id}:{conv.updated_at.isoformat()}"
        rows.append(repo.outbox_row(key, conv.channel, conv.user_id, T.NUDGE, now))
    return await repo.enqueue(session, rows)


async def tick(ctx: Context) -> int:
    """Run one tick; returns the number of reminders queued. Never raises."""
    try:
        queued = await _tick(ctx)
    except Exception:
        failures.failed("tick", "scheduler tick failed; the next tick will catch up")
        return 0
    failures.ok("tick", "scheduler tick works again")
    return queued


async def _tick(ctx: Context) -> int:
    now = ctx.now()
    cal = ctx.config.calendar
    async with ctx.sessions.begin() as session:
        if not await repo.try_lock(session, "scheduler:tick"):
            return 0  # another process is ticking; its unique keys would make ours a no-op
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
        await published.purge(session, now)  # files published for Zalo, expired
        queued = await queue_reminders(ctx, session, now)
        if working_hours(ctx).is_working_moment(ctx.local(now)):
            await nudge_idle_reports(ctx, session, now)
    return queued
