"""Claims with leases: which due rows a dispatcher takes, and for how long.

Rows are claimed in batches by one ``UPDATE … RETURNING`` with a lease (``claimed_until``)
that the dispatcher renews while it holds them; rows of a dispatcher that died are queued
again when their lease runs out. A claim takes at most one row per chat, and none of a chat
that has a row under a live lease. On PostgreSQL it locks with ``FOR UPDATE SKIP LOCKED``;
on SQLite the single statement is atomic by itself. A reminder whose unit has meanwhile
reported is ``skipped`` at claim time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Member, OutboxMessage, Submission
from scheduler.outbox.pacing import Limits

log = logging.getLogger("scheduler.outbox")  # one logger for the whole outbox

REMINDER_PREFIX = "remind:"


class Claims:
    """The outbox table as one dispatcher sees it: the channels it sends on (and, for the
    console, the only chats it shows); ``db`` serialises this process's write transactions
    (SQLite has one writer)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        limits: Limits,
        channels: Collection[str],
        only_chats: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.limits = limits
        self.channels = channels
        self.only_chats = only_chats
        self.db = asyncio.Lock()
        self.skipped = 0  # reminders skipped at claim time, since construction

    async def claim(self, size: int | None = None) -> list[OutboxMessage]:
        """Claim up to ``size`` due rows, at most one per chat and none of a chat that has a
        row under a live lease; reminders of units that have meanwhile reported are skipped.

        One statement: it walks the ``(status, next_attempt_at)`` index and stops after a
        page, so a claim costs the same with 50 or 50,000 rows queued.
        """
        o = OutboxMessage
        size = size or self.limits.batch
        now = self.clock()
        live_chats = select(o.channel, o.chat_id).where(
            o.status == "sending", o.claimed_until >= now
        )
        page = (
            select(o.id, o.channel, o.chat_id, o.next_attempt_at)
            .where(
                o.status == "pending",
                o.next_attempt_at <= now,
                o.channel.in_(list(self.channels)),
                tuple_(o.channel, o.chat_id).not_in(live_chats),
            )
            .order_by(o.next_attempt_at, o.id)
            .limit(size * 4)
            .with_for_update(skip_locked=True)
        )
        if self.only_chats is not None:
            page = page.where(o.chat_id.in_(list(self.only_chats())))
        due = page.subquery()
        first_per_chat = (
            select(func.min(due.c.id))
            .group_by(due.c.channel, due.c.chat_id)
            .order_by(func.min(due.c.next_attempt_at), func.min(due.c.id))
            .limit(size)
        )
        lease = now + timedelta(seconds=self.limits.lease_seconds)
        async with self.db, self.sessions.begin() as session:
            result = await session.scalars(
                update(o)
                .where(o.id.in_(first_per_chat), o.status == "pending")
                .values(status="sending", claimed_until=lease)
                .returning(o)
                .execution_options(synchronize_session=False)
            )
            rows = list(result.all())
            rows = await self._skip_reported(session, rows, now)
        rows.sort(key=lambda r: (r.next_attempt_at, r.id))
        return rows

    async def reclaim_expired(self, held: Collection[int]) -> int:
        """Put back rows whose lease ran out (their dispatcher died), except ``held`` (this
        dispatcher's own); returns how many."""
        o = OutboxMessage
        now = self.clock()
        async with self.db, self.sessions.begin() as session:
            result = await session.execute(
                update(o)
                .where(
                    o.status == "sending",
                    o.claimed_until < now,
                    o.id.not_in(list(held)),
                    o.channel.in_(list(self.channels)),
                )
                .values(status="pending", claimed_until=None)
                .execution_options(synchronize_session=False)
            )
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            log.warning(
                "outbox: %s rows of a dispatcher that stopped are queued again",
                count,
                extra={"event": "outbox_reclaimed", "count": count},
            )
        return count

    async def release(self, ids: list[int]) -> None:
        """Hand back rows claimed and not started (a clean stop)."""
        async with self.db, self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
                .values(status="pending", claimed_until=None)
                .execution_options(synchronize_session=False)
            )

    async def renew(self, ids: list[int]) -> None:
        """Extend the lease of the rows still held."""
        lease = self.clock() + timedelta(seconds=self.limits.lease_seconds)
        async with self.db, self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
                .values(claimed_until=lease)
                .execution_options(synchronize_session=False)
            )

    async def _skip_reported(
        self, session: AsyncSession, rows: list[OutboxMessage], now: datetime
    ) -> list[OutboxMessage]:
        """Mark ``skipped`` the reminders whose member's unit has submitted for the round."""
        reminders = [
            r.id
            for r in rows
            if r.dedupe_key.startswith(REMINDER_PREFIX) and r.member_id and r.round_id
        ]
        if not reminders:
            return rows
        o = OutboxMessage
        done = set(
            (
                await session.scalars(
                    select(o.id)
                    .join(Member, Member.id == o.member_id)
                    .join(
                        Submission,
                        (Submission.round_id == o.round_id)
                        & (Submission.unit_code == Member.unit_code),
                    )
                    .where(o.id.in_(reminders))
                )
            ).all()
        )
        if not done:
            return rows
        await session.execute(
            update(o)
            .where(o.id.in_(done))
            .values(status="skipped", claimed_until=None, last_error="unit already submitted")
            .execution_options(synchronize_session=False)
        )
        for row in rows:
            if row.id in done:
                log.info(
                    "outbox id=%s round=%s step=%s skipped: the unit has already submitted",
                    row.id,
                    row.round_id,
                    row.step,
                    extra={
                        "event": "outbox_skipped",
                        "outbox": row.id,
                        "round": row.round_id,
                        "step": row.step,
                    },
                )
        self.skipped += len(done)
        return [r for r in rows if r.id not in done]
