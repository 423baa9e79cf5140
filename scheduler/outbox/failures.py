"""The failure policy: what a refused or failed send does to its row, and who is told.

5xx, timeouts and connection errors are retried with exponential backoff and "equal
jitter" (half the delay fixed, half random); after ``max_attempts`` the row is ``failed``;
a 429 puts the row back for ``retry_after`` (giving up after ``4 × max_attempts`` of them);
other refusals (400) fail at once. A 403 (blocked, or "chat not found") makes the row
``unreachable``, marks the member unreachable (no more reminders are queued for them) and
tells the admins once per member.

``paused`` (a platform refused the bot's key, Zalo Bot's 401) keeps the row ``pending``
however often it happens, due again after ``retry_after`` (the sender also pauses its
channel's pace that long), and tells the admins on the *other* platforms once a day while
it lasts. ``undeliverable`` (Zalo OA's -230: the person has not written to the OA for 7
days) makes the row ``undeliverable`` and tells the admins once per member and round.

**Another way** (``Fallback``, handed in by the layer above: ZNS by phone number, see
``bot.usecases.zns``): an ``undeliverable`` reminder is first offered to it; when it queues
the message another way the admins are not told yet. When that other way itself gives up
(``failed``, ``undeliverable``), the admins are told once per member and round that the
member could not be reached at all, in the fallback's words.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db import repo
from db.models import Member, OutboxMessage, Unit
from scheduler.outbox.pacing import Limits
from scheduler.outbox.sending import SendError
from surveys import texts as T

log = logging.getLogger("scheduler.outbox")  # one logger for the whole outbox

RETRY_AFTER_ATTEMPTS_FACTOR = 4  # 429s alone give up only after this many times max_attempts


class Fallback(Protocol):
    """Another way to deliver a message the platform would not carry (see the module
    docstring)."""

    async def instead(
        self, session: AsyncSession, row: OutboxMessage, member: Member, now: datetime
    ) -> bool:
        """``row`` is undeliverable: queue it another way; True when that was done."""
        ...

    async def gave_up(
        self, session: AsyncSession, row: OutboxMessage, member: Member, error: str
    ) -> str | None:
        """``row`` failed for good: when it was the other way, what the admins are told
        (the member could not be reached at all); None when it was not."""
        ...


class FailurePolicy:
    """Records failed sends (``record``) by the rules above; ``admin_chats`` are told of a
    member who became unreachable."""

    def __init__(
        self,
        limits: Limits,
        admin_chats: Callable[[], Sequence[tuple[str, str]]] = lambda: (),
        jitter: Callable[[], float] = random.random,
        fallback: Fallback | None = None,
    ) -> None:
        self.limits = limits
        self.admin_chats = admin_chats
        self.jitter = jitter
        self.fallback = fallback

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try of a transient failure (exponential, capped)."""
        delay = min(self.limits.backoff_cap, self.limits.backoff_base * 2.0 ** (attempts - 1))
        return delay * (0.5 + 0.5 * self.jitter())  # "equal jitter": half fixed, half random

    async def record(
        self, session: AsyncSession, row: OutboxMessage, exc: SendError, now: datetime
    ) -> None:
        """What a failed send means for its row: a retry (when), a give-up, or an
        unreachable member; logged once per attempt."""
        attempts = row.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "claimed_until": None,
            "last_error": f"{exc.kind}: {exc.detail}"[:500],
        }
        limit = self.limits.max_attempts
        if exc.kind == "blocked":
            values["status"] = "unreachable"
        elif exc.kind == "paused":
            values["status"] = "pending"
            values["next_attempt_at"] = now + timedelta(seconds=exc.retry_after)
        elif exc.kind == "undeliverable":
            values["status"] = "undeliverable"
        elif exc.kind == "permanent":
            values["status"] = "failed"
        elif exc.kind == "retry_after" and attempts < limit * RETRY_AFTER_ATTEMPTS_FACTOR:
            values["status"] = "pending"
            values["next_attempt_at"] = now + timedelta(seconds=exc.retry_after)
        elif exc.kind == "transient" and attempts < limit:
            values["status"] = "pending"
            values["next_attempt_at"] = now + timedelta(seconds=self.backoff(attempts))
        else:
            values["status"] = "failed"
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        member = await session.get(Member, row.member_id) if row.member_id else None
        level = logging.WARNING if values["status"] == "pending" else logging.ERROR
        unit = member.unit_code if member is not None else "-"
        log.log(
            level,
            "outbox id=%s round=%s unit=%s step=%s chat=%s:%s attempt=%s -> %s (%s)",
            row.id,
            row.round_id,
            unit,
            row.step or "-",
            row.channel,
            row.chat_id,
            attempts,
            values["status"] + (f" retry in {exc.retry_after:g}s" if exc.retry_after else ""),
            values["last_error"],
            extra={
                "event": "send_retry" if values["status"] == "pending" else "send_failed",
                "outbox": row.id,
                "round": row.round_id,
                "unit": unit,
                "step": row.step or "-",
                "attempt": attempts,
                "status": values["status"],
                "error": exc.kind,
            },
        )
        if exc.kind == "blocked" and member is not None:
            await self._mark_unreachable(session, member, now)
        elif exc.kind == "paused":
            await self._tell_paused(session, row.channel, exc.detail, now)
        if member is None or values["status"] not in ("failed", "undeliverable"):
            return
        fallback = self.fallback
        notice = None
        if fallback is not None:
            notice = await fallback.gave_up(session, row, member, values["last_error"])
        if notice is not None:
            await self._tell_admins(session, row, member, notice, now)
        elif exc.kind == "undeliverable":
            if fallback is not None and await fallback.instead(session, row, member, now):
                return
            await self._tell_undeliverable(session, row, member, now)

    async def _tell_paused(
        self, session: AsyncSession, channel: str, detail: str, now: datetime
    ) -> None:
        """Tell the admins on the other platforms that sending on ``channel`` waits (once a
        day: the notice's key names the day)."""
        text = T.channel_paused_admin(channel, detail[:120])
        await repo.enqueue(
            session,
            [
                repo.outbox_row(f"paused:{channel}:{now:%Y-%m-%d}:{c}:{chat}", c, chat, text, now)
                for c, chat in self.admin_chats()
                if c != channel
            ],
        )

    async def _tell_undeliverable(
        self, session: AsyncSession, row: OutboxMessage, member: Member, now: datetime
    ) -> None:
        """Tell the admins (once per member and round) that a reminder could not go."""
        unit = await session.get(Unit, member.unit_code)
        text = T.undeliverable_admin(
            member.display_name or member.user_id,
            unit.name if unit else member.unit_code,
            row.channel,
        )
        await self._tell_admins(session, row, member, text, now)

    async def _tell_admins(
        self, session: AsyncSession, row: OutboxMessage, member: Member, text: str, now: datetime
    ) -> None:
        """``text`` to the admins on the other platforms, once per member and round."""
        key = f"undeliverable:{row.channel}:{member.id}:{row.round_id or '-'}"
        await repo.enqueue(
            session,
            [
                repo.outbox_row(f"{key}:{c}:{chat}", c, chat, text, now)
                for c, chat in self.admin_chats()
                if c != row.channel
            ],
        )

    async def _mark_unreachable(self, session: AsyncSession, member: Member, now: datetime) -> None:
        """Stop reminding a member who blocked the bot, and tell the admins (once)."""
        if member.unreachable_at is not None:
            return
        member.unreachable_at = now
        unit = await session.get(Unit, member.unit_code)
        text = T.unreachable_admin(
            member.display_name or member.user_id, unit.name if unit else member.unit_code
        )
        await repo.enqueue(
            session,
            [
                repo.outbox_row(
                    f"unreachable:{member.id}:{channel}:{chat}", channel, chat, text, now
                )
                for channel, chat in self.admin_chats()
            ],
        )
