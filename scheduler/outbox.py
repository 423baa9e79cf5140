"""The outbox dispatcher: sends queued messages within the platforms' limits.

Delivery is at least once: a row is marked sent only after the platform said ok, so a crash
between the two repeats that one message (and only the ones in flight). Rows are claimed
with a lease (``claimed_until``): rows of a dispatcher that died are taken again when their
lease runs out. On PostgreSQL the claim uses FOR UPDATE SKIP LOCKED so several processes
share the queue; on SQLite the single UPDATE … RETURNING is atomic by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts as T
from bot.messages import Button
from db import repo
from db.models import Member, OutboxMessage

log = logging.getLogger(__name__)

Failure = Literal["retry_after", "transient", "blocked", "permanent"]


class SendError(Exception):
    """A platform refused or failed a send; ``kind`` says what to do about it."""

    def __init__(self, kind: Failure, detail: str, retry_after: float = 0.0) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after


class Sender(Protocol):
    async def send(
        self, chat_id: str, text: str, buttons: tuple[tuple[Button, ...], ...]
    ) -> None: ...


@dataclass(frozen=True)
class Limits:
    per_second: float = 25.0
    per_chat_per_second: float = 1.0
    max_attempts: int = 6
    lease_seconds: float = 60.0
    batch: int = 50
    in_flight: int = 16
    backoff_base: float = 1.0
    backoff_cap: float = 300.0


class RateLimiter:
    """A token bucket for the overall rate (bursts up to one second's worth)."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.tokens = 1.0
        self.updated = asyncio.get_running_loop().time()
        self.lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self.lock:
            loop = asyncio.get_running_loop()
            while True:
                now = loop.time()
                self.tokens = min(
                    self.per_second, self.tokens + (now - self.updated) * self.per_second
                )
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.per_second)

    def pause(self, seconds: float) -> None:
        """After a 429, stop everyone for ``retry_after`` seconds."""
        self.tokens = -seconds * self.per_second


def buttons_of(raw: Sequence[Any] | None) -> tuple[tuple[Button, ...], ...]:
    if not raw:
        return ()
    return tuple(tuple(Button(b["label"], b["data"]) for b in row) for row in raw)


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: dict[str, Sender],
        clock: Callable[[], datetime],
        limits: Limits = Limits(),
        admin_chats: Callable[[], Sequence[tuple[str, str]]] = lambda: (),
        only_chats: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.clock = clock
        self.limits = limits
        self.admin_chats = admin_chats
        self.only_chats = only_chats  # the console delivers only to the person being played
        self._wake = asyncio.Event()
        self._limiter: RateLimiter | None = None
        self._last_to_chat: dict[tuple[str, str], float] = {}

    def wake(self) -> None:
        """Look at the queue now instead of at the next poll."""
        self._wake.set()

    async def claim(self) -> list[OutboxMessage]:
        now = self.clock()
        lease = now + timedelta(seconds=self.limits.lease_seconds)
        channels = list(self.senders)
        async with self.sessions.begin() as session:
            due = (
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.channel.in_(channels),
                    or_(
                        (OutboxMessage.status == "pending")
                        & (OutboxMessage.next_attempt_at <= now),
                        (OutboxMessage.status == "sending") & (OutboxMessage.claimed_until < now),
                    ),
                )
                .where(
                    OutboxMessage.chat_id.in_(self.only_chats())
                    if self.only_chats is not None
                    else OutboxMessage.id.is_not(None)
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(self.limits.batch)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            result = await session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(due))
                .values(status="sending", claimed_until=lease)
                .returning(OutboxMessage)
            )
            rows = list(result.all())
        rows.sort(key=lambda r: (r.next_attempt_at, r.id))
        return rows

    async def run_once(self) -> int:
        """Claim one batch and send it; returns how many rows were handled."""
        if self._limiter is None:
            self._limiter = RateLimiter(self.limits.per_second)
        rows = await self.claim()
        if not rows:
            return 0
        gate = asyncio.Semaphore(self.limits.in_flight)
        chat_locks: dict[tuple[str, str], asyncio.Lock] = {}

        async def one(row: OutboxMessage) -> None:
            key = (row.channel, row.chat_id)
            lock = chat_locks.setdefault(key, asyncio.Lock())
            async with lock:
                await self._respect_chat_rate(key)
                async with gate:
                    await self._send(row)

        await asyncio.gather(*(one(r) for r in rows))
        return len(rows)

    async def _respect_chat_rate(self, key: tuple[str, str]) -> None:
        loop = asyncio.get_running_loop()
        gap = 1.0 / self.limits.per_chat_per_second
        last = self._last_to_chat.get(key)
        if last is not None and loop.time() - last < gap:
            await asyncio.sleep(gap - (loop.time() - last))
        self._last_to_chat[key] = loop.time()

    async def _send(self, row: OutboxMessage) -> None:
        assert self._limiter is not None
        await self._limiter.acquire()
        sender = self.senders[row.channel]
        try:
            await sender.send(row.chat_id, row.text, buttons_of(row.buttons))
        except SendError as exc:
            if exc.kind == "retry_after":
                self._limiter.pause(exc.retry_after)
            await self._failed(row, exc)
            return
        except Exception as exc:  # an adapter bug must not stop the queue
            log.exception("outbox %s: unexpected error", row.id)
            await self._failed(row, SendError("transient", repr(exc)))
            return
        async with self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    status="sent",
                    sent_at=self.clock(),
                    attempts=row.attempts + 1,
                    claimed_until=None,
                    last_error=None,
                )
            )
        log.info("outbox sent id=%s round=%s step=%s", row.id, row.round_id, row.step)

    async def _failed(self, row: OutboxMessage, exc: SendError) -> None:
        now = self.clock()
        attempts = row.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "claimed_until": None,
            "last_error": exc.detail[:500],
        }
        if exc.kind == "blocked":
            values["status"] = "unreachable"
        elif exc.kind == "permanent" or attempts >= self.limits.max_attempts:
            values["status"] = "failed"
        else:
            if exc.kind == "retry_after":
                delay = exc.retry_after
            else:
                delay = min(self.limits.backoff_cap, self.limits.backoff_base * 2 ** (attempts - 1))
                delay *= random.uniform(0.5, 1.5)
            values["status"] = "pending"
            values["next_attempt_at"] = now + timedelta(seconds=delay)
        log.warning(
            "outbox id=%s round=%s attempt=%s -> %s (%s)",
            row.id,
            row.round_id,
            attempts,
            values["status"],
            exc.detail,
        )
        async with self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values)
            )
            if exc.kind == "blocked" and row.member_id is not None:
                await self._mark_unreachable(session, row.member_id, now)

    async def _mark_unreachable(self, session: AsyncSession, member_id: int, now: datetime) -> None:
        member = await session.get(Member, member_id)
        if member is None or member.unreachable_at is not None:
            return
        member.unreachable_at = now
        text = T.unreachable_admin(member.display_name or member.user_id, member.unit_code)
        await repo.enqueue(
            session,
            [
                {
                    "dedupe_key": f"unreachable:{member_id}:{channel}:{chat}",
                    "channel": channel,
                    "chat_id": chat,
                    "text": text,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for channel, chat in self.admin_chats()
            ],
        )

    async def run_forever(self, poll_seconds: float = 2.0) -> None:
        while True:
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("outbox dispatcher: claim failed; retrying")
                handled = 0
            if handled:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)
