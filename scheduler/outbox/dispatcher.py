"""The dispatcher: claims due rows, sends them with a few workers, records outcomes.

It puts the pieces of ``scheduler.outbox`` together: ``claims`` (what to take, leases),
``pacing`` (how fast), ``sending`` (one attempt) and ``failures`` (what a failure does).
Each of the ``in_flight`` workers holds at most one message whose outcome is not yet
committed, so a crash repeats at most that many; outcomes are committed in groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import OutboxMessage
from scheduler.jobs import FailureLog
from scheduler.outbox.claims import Claims
from scheduler.outbox.failures import FailurePolicy, Fallback
from scheduler.outbox.pacing import Limits, RateLimiter, Signal
from scheduler.outbox.sending import Sender, SendError, attempt

log = logging.getLogger("scheduler.outbox")  # one logger for the whole outbox

ChatKey = tuple[str, str]
DEFAULT_LIMITS = Limits()


@dataclass
class _Outcome:
    row: OutboxMessage
    error: SendError | None  # None: sent
    at: datetime
    done: asyncio.Future[None] = field(repr=False)


class Dispatcher:
    """Claims due outbox rows and sends them (see the module docstring).

    ``run_forever()`` serves until cancelled (then stops cleanly: in-flight sends finish and
    are recorded, rows not started are handed back); ``drain()`` serves until nothing is due
    and returns how many rows it handled (tests, benchmarks). ``wake()`` makes it look at the
    queue at once instead of at the next poll.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: dict[str, Sender],
        clock: Callable[[], datetime],
        limits: Limits = DEFAULT_LIMITS,
        admin_chats: Callable[[], Sequence[tuple[str, str]]] = lambda: (),
        only_chats: Callable[[], Sequence[str]] | None = None,
        jitter: Callable[[], float] = random.random,
        channel_rates: dict[str, float] | None = None,
        fallback: Fallback | None = None,
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.clock = clock
        self.limits = limits
        # the console delivers only to the person being played (``only_chats``)
        self.claims = Claims(sessions, clock, limits, senders, only_chats)
        self.failure_policy = FailurePolicy(limits, admin_chats, jitter, fallback)
        self._recorded = 0  # rows whose outcome was recorded, since construction
        self._limiter: RateLimiter | None = None
        # A platform with its own sending rate (Zalo) gets its own limiter; others share one.
        self.channel_rates = dict(channel_rates or {})
        self._channel_limiters: dict[str, RateLimiter] = {}
        self._wake = Signal()  # new rows may be claimable
        self._changed = Signal()  # a row was buffered, or a chat became free
        self._ready: deque[OutboxMessage] = deque()  # claimed, not started
        self._held: dict[int, OutboxMessage] = {}  # claimed, outcome not yet committed
        self._busy: set[ChatKey] = set()  # chats with a send on the wire
        self._chat_free_at: dict[ChatKey, float] = {}  # loop time a chat may be sent to
        self._outcomes: asyncio.Queue[_Outcome] = asyncio.Queue()
        self._stopping = False
        self._woken = False
        self._next_sweep = 0.0  # loop time of the next look for rows with a lapsed lease
        self._failures = FailureLog(log)

    # ------------------------------------------------------------------ public

    @property
    def handled(self) -> int:
        """Rows whose outcome was recorded or that were skipped, since construction."""
        return self._recorded + self.claims.skipped

    async def claim(self, size: int | None = None) -> list[OutboxMessage]:
        """Claim up to ``size`` due rows (``Claims.claim``)."""
        return await self.claims.claim(size)

    def wake(self) -> None:
        """Look at the queue now instead of at the next poll."""
        self._woken = True  # kept until the feeder looks, so a wake-up is never lost
        self._wake.notify()

    @property
    def limiter(self) -> RateLimiter:
        if self._limiter is None:
            self._limiter = RateLimiter(self.limits.per_second, margin=self.limits.window_margin)
        return self._limiter

    def limiter_for(self, channel: str) -> RateLimiter:
        """The pace of one channel: its own rate (``channel_rates``), else the overall one."""
        rate = self.channel_rates.get(channel)
        if rate is None:
            return self.limiter
        if channel not in self._channel_limiters:
            self._channel_limiters[channel] = RateLimiter(rate, margin=self.limits.window_margin)
        return self._channel_limiters[channel]

    async def run_forever(self, poll_seconds: float = 2.0) -> None:
        await self._serve(poll_seconds, until_idle=False)

    async def drain(self, poll_seconds: float = 0.05) -> int:
        """Send everything that is due now (and what becomes due while sending); return the
        number of rows handled by this call."""
        before = self.handled
        await self._serve(poll_seconds, until_idle=True)
        return self.handled - before

    # ------------------------------------------------------------------ serving

    async def _serve(self, poll_seconds: float, until_idle: bool) -> None:
        self._stopping = False
        self._next_sweep = 0.0
        self._forget_previous_run()
        loop = asyncio.get_running_loop()
        workers = [loop.create_task(self._worker()) for _ in range(self.limits.in_flight)]
        helpers = [loop.create_task(self._writer()), loop.create_task(self._heartbeat())]
        try:
            await self._feed(poll_seconds, until_idle)
        finally:
            await self._shut_down(workers, helpers)

    def _forget_previous_run(self) -> None:
        """Drop what a run stopped abruptly left behind (its database was gone): rows it
        still thought it held (their leases run out, then any dispatcher sends them) and
        outcomes it could not record (at least once: those few are sent again)."""
        if self._held or not self._outcomes.empty():
            log.warning(
                "outbox: %s rows of the previous run were left unrecorded; their leases "
                "will run out and they will be sent again",
                len(self._held),
                extra={"event": "outbox_forgotten", "count": len(self._held)},
            )
        self._ready.clear()
        self._held.clear()
        self._busy.clear()
        self._outcomes = asyncio.Queue()

    async def _feed(self, poll_seconds: float, until_idle: bool) -> None:
        low_water = max(1, self.limits.batch // 2)
        while True:
            self._woken = False
            claimed = 0
            if len(self._ready) < low_water:
                claimed = await self._claim_some(self.limits.batch - len(self._ready))
            if claimed:
                continue
            if until_idle and not self._held:
                return
            timeout = await self._idle_timeout(poll_seconds)
            if not self._woken:
                await self._wake.wait(timeout)

    async def _claim_some(self, size: int) -> int:
        loop = asyncio.get_running_loop()
        try:
            if loop.time() >= self._next_sweep:
                self._next_sweep = loop.time() + min(1.0, self.limits.lease_seconds / 3)
                await self.claims.reclaim_expired(self._held)
            rows = await self.claim(size)
        except Exception:
            self._failures.failed("claim", "outbox: claiming rows failed; retrying")
            return 0
        self._failures.ok("claim", "outbox: claiming rows works again")
        fresh = [r for r in rows if r.id not in self._held]
        for row in fresh:
            self._held[row.id] = row
            self._ready.append(row)
        if fresh:
            self._changed.notify()
        return len(fresh)

    async def _idle_timeout(self, poll_seconds: float) -> float:
        """How long to wait for a wake-up: until the next retry is due or the next lease of
        another dispatcher runs out, at most a poll."""
        if self._held:
            return poll_seconds
        o = OutboxMessage
        try:
            async with self.sessions() as session:
                found = await session.execute(
                    select(
                        func.min(case((o.status == "pending", o.next_attempt_at))),
                        func.min(case((o.status == "sending", o.claimed_until))),
                    ).where(o.status.in_(("pending", "sending")), o.channel.in_(list(self.senders)))
                )
                moments: list[datetime] = [m for m in found.one() if m is not None]
        except Exception:
            return poll_seconds
        now = self.clock()
        # Moments already past are rows that are not ours to take now (another dispatcher's
        # chat, a chat the console does not show): for those, wait for a wake-up or a poll.
        waits: list[float] = [(m - now).total_seconds() for m in moments if m > now]
        return min([poll_seconds, *(max(0.05, w) for w in waits)])

    async def _shut_down(
        self, workers: list[asyncio.Task[None]], helpers: list[asyncio.Task[None]]
    ) -> None:
        """Let sends on the wire finish and be recorded, hand back the rest, stop."""
        self._stopping = True
        self._changed.notify()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.gather(*workers, return_exceptions=True), 15)
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        waiting = [row.id for row in self._ready]
        self._ready.clear()
        if waiting:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self.claims.release(waiting)
            for row_id in waiting:
                self._held.pop(row_id, None)
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)

    # ------------------------------------------------------------------ claiming

    async def _heartbeat(self) -> None:
        """Renew the lease of the rows held, every third of the lease."""
        while True:
            await asyncio.sleep(self.limits.lease_seconds / 3)
            ids = list(self._held)
            if not ids:
                continue
            try:
                await self.claims.renew(ids)
            except Exception:
                self._failures.failed("lease", "outbox: renewing leases failed; retrying")
                continue
            self._failures.ok("lease", "outbox: renewing leases works again")

    # ------------------------------------------------------------------ sending

    async def _take(self) -> OutboxMessage | None:
        """The next buffered row whose chat may be written to now (None when stopping)."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            now = loop.time()
            soonest: float | None = None
            for index, row in enumerate(self._ready):
                key = (row.channel, row.chat_id)
                if key in self._busy:
                    continue
                free_at = self._chat_free_at.get(key, 0.0)
                if free_at > now:
                    soonest = free_at if soonest is None else min(soonest, free_at)
                    continue
                del self._ready[index]
                self._busy.add(key)
                if len(self._ready) < max(1, self.limits.batch // 2):
                    self.wake()
                return row
            await self._changed.wait(None if soonest is None else soonest - now)
        return None

    async def _worker(self) -> None:
        loop = asyncio.get_running_loop()
        while (row := await self._take()) is not None:
            key = (row.channel, row.chat_id)
            try:
                sender, limiter = self.senders[row.channel], self.limiter_for(row.channel)
                error = await attempt(sender, limiter, row)
            finally:
                self._chat_free_at[key] = loop.time() + 1.0 / self.limits.per_chat_per_second
                self._busy.discard(key)
                self._forget_old_chats(loop.time())
                self._changed.notify()
            outcome = _Outcome(row, error, self.clock(), loop.create_future())
            await self._outcomes.put(outcome)
            await asyncio.shield(outcome.done)

    def _forget_old_chats(self, now: float) -> None:
        if len(self._chat_free_at) > 4 * self.limits.batch + 1000:
            for key in [k for k, t in self._chat_free_at.items() if t <= now]:
                del self._chat_free_at[key]

    # ------------------------------------------------------------------ recording

    async def _writer(self) -> None:
        """Commit outcomes in groups (one transaction for whatever has arrived)."""
        while True:
            batch = [await self._outcomes.get()]
            while not self._outcomes.empty() and len(batch) < 500:
                batch.append(self._outcomes.get_nowait())
            while True:
                try:
                    async with self.claims.db, self.sessions.begin() as session:
                        await self._record(session, batch)
                except Exception:
                    ids = ",".join(str(o.row.id) for o in batch[:20])
                    self._failures.failed(
                        "record", "outbox: recording outcomes failed (ids %s); retrying", ids
                    )
                    await asyncio.sleep(1.0)
                    continue
                self._failures.ok("record", "outbox: recording outcomes works again")
                break
            for outcome in batch:
                self._held.pop(outcome.row.id, None)
                if not outcome.done.done():
                    outcome.done.set_result(None)
            self._recorded += len(batch)
            self.wake()  # the chats of these rows may have more

    async def _record(self, session: AsyncSession, batch: list[_Outcome]) -> None:
        sent = [o for o in batch if o.error is None]
        if sent:
            table = cast(Table, OutboxMessage.__table__)
            await session.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values(
                    status="sent",
                    sent_at=bindparam("at"),
                    attempts=table.c.attempts + 1,
                    claimed_until=None,
                ),
                [{"row_id": o.row.id, "at": o.at} for o in sent],
            )
            for o in sent:
                log.debug(
                    "outbox id=%s round=%s step=%s sent",
                    o.row.id,
                    o.row.round_id,
                    o.row.step,
                    extra={
                        "event": "outbox_sent",
                        "outbox": o.row.id,
                        "round": o.row.round_id,
                        "step": o.row.step,
                    },
                )
        for outcome in batch:
            if outcome.error is not None:
                await self.failure_policy.record(
                    session, outcome.row, outcome.error, outcome.at
                )
