"""Putting reminders into the outbox. A reminder's dedupe key names its round, recipient and
step, so whoever enqueues it a second time (a repeated tick, another process) does nothing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts as T
from db import repo
from db.models import Round
from scheduler.rounds import missing_units
from surveys.catalogue import Catalogue

REPORT_BUTTON_DATA = "go:report"


def reminder_key(round_id: int, channel: str, chat_id: str, step: str) -> str:
    return f"remind:{round_id}:{channel}:{chat_id}:{step}"


async def enqueue_round_reminders(
    session: AsyncSession,
    catalogue: Catalogue,
    round_: Round,
    step: str,
    today: date,
    now: datetime,
) -> tuple[int, int]:
    """Queue ``step``'s reminder to every reachable member of every unit still missing.

    Returns (messages newly queued, units concerned).
    """
    units = await missing_units(session, catalogue, round_)
    by_code = {u.code: u for u in units}
    members = [m for m in await repo.members_of_units(session, by_code) if m.unreachable_at is None]
    days_left = (round_.deadline - today).days
    rows: list[dict[str, Any]] = []
    for member in members:
        unit = by_code[member.unit_code]
        rows.append(
            {
                "dedupe_key": reminder_key(round_.id, member.channel, member.chat_id, step),
                "channel": member.channel,
                "chat_id": member.chat_id,
                "round_id": round_.id,
                "member_id": member.id,
                "step": step,
                "text": T.reminder(
                    unit.name, round_.title, round_.deadline, days_left < 0, days_left
                ),
                "buttons": [[{"label": T.REMIND_BUTTON, "data": REPORT_BUTTON_DATA}]],
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    queued = await repo.enqueue(session, rows)
    return queued, len({m.unit_code for m in members})
