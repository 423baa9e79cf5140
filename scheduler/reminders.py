"""Putting reminders into the outbox. A reminder's dedupe key names its round, recipient and
step, so whoever enqueues it a second time (a repeated tick, another process) does nothing.

Who is reminded: every reachable member of every unit the round asks that has not
submitted, except

* a member registered after the step fell due (``due_at``): the invitation's answer already
  told them what to do, and the next step will reach them;
* a member busy with a report right now (touched in the last ``ACTIVE_REPORT``): a reminder
  in the middle of the questions only gets in the way. The tick is level-triggered, so they
  get the step later if their unit still has not submitted.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import repo
from db.models import Conversation, OutboxMessage, Round
from scheduler.rounds import missing_units
from surveys import texts as T
from surveys.catalogue import Catalogue

REPORT_BUTTON_DATA = "go:report"
DESK_BUTTON_DATA = "go:web"  # "Mở trên máy tính": a login link to the desk, as /web
ACTIVE_REPORT = timedelta(hours=2)
REPORT_KIND = "report"  # Conversation.kind of a report in progress (bot.usecases.unit_reports.KIND)
CHUNK = 500  # rows per statement


def reminder_key(round_id: int, channel: str, chat_id: str, step: str) -> str:
    return f"remind:{round_id}:{channel}:{chat_id}:{step}"


def manual_step(today: date) -> str:
    """The step name of an admin's /remind: one per recipient, round and local day. It fits
    the outbox's 16-character ``step`` column ("manual-20261120")."""
    return f"manual-{today:%Y%m%d}"


async def _busy_reporting(session: AsyncSession, now: datetime) -> set[tuple[str, str]]:
    rows = await session.execute(
        select(Conversation.channel, Conversation.user_id).where(
            Conversation.kind == REPORT_KIND, Conversation.updated_at >= now - ACTIVE_REPORT
        )
    )
    return {(channel, user) for channel, user in rows.all()}


async def enqueue_round_reminders(
    session: AsyncSession,
    catalogue: Catalogue,
    round_: Round,
    step: str,
    today: date,
    now: datetime,
    due_at: datetime | None = None,
    desk: bool = False,
) -> tuple[int, int]:
    """Queue ``step``'s reminder to the members of the units still missing (see the module
    docstring); ``due_at`` is when the step fell due (``None`` for an admin's /remind);
    ``desk``: the web desk is on, and the reminder has a second button, "Mở trên máy tính",
    which answers with a login link (as /web).

    Returns (messages newly queued, units they go to).
    """
    units = await missing_units(session, catalogue, round_)
    by_code = {u.code: u for u in units}
    busy = await _busy_reporting(session, now)
    members = [
        m
        for m in await repo.members_of_units(session, by_code)
        if m.unreachable_at is None
        and (due_at is None or m.registered_at <= due_at)
        and (m.channel, m.user_id) not in busy
    ]
    keyed = {reminder_key(round_.id, m.channel, m.chat_id, step): m for m in members}
    keys = list(keyed)
    for start in range(0, len(keys), CHUNK):
        queued_before = await session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.dedupe_key.in_(keys[start : start + CHUNK])
            )
        )
        for key in queued_before.all():
            del keyed[key]
    days_left = (round_.deadline - today).days
    recipient = catalogue.org.recipient()
    buttons = [[{"label": T.REMIND_BUTTON, "data": REPORT_BUTTON_DATA}]]
    if desk:
        buttons.append([{"label": T.DESK_BUTTON, "data": DESK_BUTTON_DATA}])
    rows: list[dict[str, Any]] = []
    for key, member in keyed.items():
        unit = by_code[member.unit_code]
        text = T.reminder(
            unit.name, round_.title, round_.deadline, days_left < 0, days_left, recipient, desk
        )
        rows.append(
            repo.outbox_row(
                key,
                member.channel,
                member.chat_id,
                text,
                now,
                round_id=round_.id,
                member_id=member.id,
                step=step,
                buttons=buttons,
            )
        )
    queued = 0
    for start in range(0, len(rows), CHUNK):  # SQLite allows only so many bound values
        queued += await repo.enqueue(session, rows[start : start + CHUNK])
    return queued, len({m.unit_code for m in keyed.values()})
