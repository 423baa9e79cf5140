"""The outbox dispatcher: sends queued messages within the platforms' limits.

**Delivery is at least once.** A row is marked sent only after the platform said ok, so a
crash repeats the messages that were *in flight*: those sent to the platform whose outcome
was not yet committed. Each of the ``in_flight`` workers holds at most one such message (it
waits for its outcome to be committed before it takes the next row), so a crash repeats at
most ``Limits.in_flight`` messages, each at most once, and nothing else. An answer lost on
the wire (a timeout after the platform accepted the message) repeats that one message.

**Claims and leases.** Rows are claimed in batches by one ``UPDATE … RETURNING`` with a
lease (``claimed_until``) that the dispatcher renews while it holds the rows; rows of a
dispatcher that died are queued again when their lease runs out (``Limits.lease_seconds``),
and a dispatcher that stops cleanly hands back at once the rows it has not started. A claim
takes at most one row per chat, and none of a chat that has a row under a live lease, so one
chat is never written to by two workers at a time. The claim walks the ``(status,
next_attempt_at)`` index and stops after a page, so its cost does not grow with the queue.
On PostgreSQL it locks with ``FOR UPDATE SKIP LOCKED``, so several processes share the queue
(two of them may then, rarely, write to one chat in the same instant: at worst a per-chat
429, retried); on SQLite the single statement is atomic by itself.

**Rates.** Overall: a token bucket with small bursts, and a sliding window in which a send
counts from its request until a second after its answer. The platform counts a message when
it receives it, somewhere in between, so no delay on the way can squeeze more than the rate
into one of its seconds and a sender at full speed does not run into 429s. Per chat: one
message per ``1 / per_chat_per_second`` seconds, counted from the previous answer. A 429
pauses every worker for ``retry_after`` (really waiting) and puts the row back for
``retry_after`` (a row gives up after ``4 × max_attempts`` of them). 5xx, timeouts and
connection errors are retried with exponential backoff and "equal jitter" (half the delay
fixed, half random); after ``max_attempts`` attempts the row is ``failed``; other refusals
(400) fail at once. A 403 (blocked, or "chat not found") makes the row ``unreachable``, marks
the member unreachable (no more reminders are queued for them) and tells the admins once per
member.

**Row states.** ``pending`` → ``sending`` (claimed) → ``sent`` | ``pending`` (retry, with
``next_attempt_at``) | ``failed`` | ``unreachable`` | ``skipped``. Every attempt counts in
``attempts``; ``last_error`` keeps the latest error (also after a later success);
``sent_at`` is the moment the platform accepted the message.

**A unit that reports while its reminders are queued.** At claim time a reminder
(``remind:…``) whose member's unit has meanwhile submitted for the round is ``skipped``
instead of sent. A unit that submits while its reminder is already in flight still gets it:
that window is one request long, and the reminder's button then shows the sent report.

**Time.** ``clock`` (injectable) stamps rows and decides what is due; the rate limits use the
event loop's monotonic time, because they are about real seconds between requests. Tests move
a fake clock to make retries due instead of sleeping.

**Failures** are logged once per failed attempt with the outbox id, round, unit, step and
chat; a failing claim or database write is logged once per streak, not on every retry.

**Several processes** (PostgreSQL): only the one elected by ``scheduler.leader`` runs its
``Dispatcher``, so the overall rate is this one limiter's and holds exactly; the others
queue rows, which the elected one claims at its next poll. The claims and leases above
still make a second dispatcher on the same table safe (the console's; two leaders for a
moment during a failover), and let a new leader take over a dead one's rows. A dispatcher
may serve several terms (``run_forever`` again after it lost the election and won it
back): each run starts from a clean slate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, cast

from sqlalchemy import Table, bindparam, case, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import repo
from db.models import Member, OutboxMessage, Submission, Unit
from scheduler.jobs import FailureLog
from surveys import texts as T
from surveys.messages import Button

log = logging.getLogger(__name__)

Failure = Literal["retry_after", "transient", "blocked", "permanent"]
ChatKey = tuple[str, str]

REMINDER_PREFIX = "remind:"
RETRY_AFTER_ATTEMPTS_FACTOR = 4  # 429s alone give up only after this many times max_attempts
_EPSILON = 1e-9  # seconds or tokens: float rounding must not make a limiter spin


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
    per_second: float = 25.0  # overall sends per second
    per_chat_per_second: float = 1.0
    max_attempts: int = 6  # 5xx / timeouts / connection errors before "failed"
    lease_seconds: float = 10.0  # renewed every third of it while the rows are held
    batch: int = 50  # rows claimed at most at once (refilled at half)
    in_flight: int = 8  # concurrent sends; also the most a crash can repeat
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    window_margin: float = 0.01  # a send counts this much longer than a second

    def __post_init__(self) -> None:
        for name in ("per_second", "per_chat_per_second", "lease_seconds", "backoff_base"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive")
        if self.max_attempts < 1 or self.batch < 1 or self.in_flight < 1:
            raise ValueError("Limits.max_attempts, batch and in_flight must be at least 1")


class _Signal:
    """Wakes every coroutine waiting on it (an Event that never needs clearing)."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float | None) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait({waiter}, timeout=timeout)
        finally:
            self._waiters.discard(waiter)


class RateLimiter:
    """The overall pace: a token bucket (bursts of at most ``burst`` sends) and a sliding
    window in which a send counts from the moment it starts until ``1 + margin`` seconds
    after its answer came back.

    The platform counts a message when it receives it, somewhere between our request and
    its answer; counting from the answer on means that no delay on the way can squeeze more
    than ``per_second`` messages into one of its seconds. ``acquire()`` before a send,
    ``release()`` after it. ``pause(s)`` after a 429 holds every acquirer for ``s`` seconds.
    """

    def __init__(
        self,
        per_second: float,
        burst: float | None = None,
        margin: float = 0.01,
        now: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_second = per_second
        self.capacity = max(1.0, burst if burst is not None else per_second / 20)
        span = max(1.0, 1.0 / per_second)
        self.limit = max(1, round(per_second * span))
        self.window = span * (1.0 + margin)
        self._now = now or asyncio.get_running_loop().time
        self._sleep = sleep
        self.tokens = 1.0
        self.updated = self._now()
        self.paused_until = 0.0
        self.in_flight = 0
        self.recent: deque[float] = deque()  # when the answers of the last sends came
        self.lock = asyncio.Lock()
        self._released = _Signal()

    def _wait(self, now: float) -> float | None:
        """Seconds to wait before the next send may start (0: now; None: until a send on
        the wire comes back)."""
        if now < self.paused_until:
            return self.paused_until - now
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        while self.recent and self.recent[0] <= now - self.window + _EPSILON:
            self.recent.popleft()
        if self.tokens < 1 - _EPSILON:
            return (1 - self.tokens) / self.per_second
        if self.in_flight + len(self.recent) >= self.limit:
            return self.recent[0] + self.window - now if self.recent else None
        return 0.0

    async def acquire(self) -> None:
        async with self.lock:
            while (wait := self._wait(self._now())) != 0:
                if wait is None:
                    await self._released.wait(None)
                else:
                    await self._sleep(wait)
            self.tokens = max(0.0, self.tokens - 1)
            self.in_flight += 1

    def release(self) -> None:
        """The send that ``acquire`` allowed is over (whatever its outcome)."""
        self.in_flight -= 1
        self.recent.append(self._now())
        self._released.notify()

    def pause(self, seconds: float) -> None:
        """After a 429: nobody sends for ``seconds`` from now, then the bucket starts empty."""
        now = self._now()
        self.paused_until = max(self.paused_until, now + max(0.0, seconds))
        self.tokens = 0.0
        self.updated = self.paused_until


def buttons_of(raw: Sequence[Any] | None) -> tuple[tuple[Button, ...], ...]:
    if not raw:
        return ()
    return tuple(tuple(Button(b["label"], b["data"]) for b in row) for row in raw)


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
        limits: Limits = Limits(),
        admin_chats: Callable[[], Sequence[tuple[str, str]]] = lambda: (),
        only_chats: Callable[[], Sequence[str]] | None = None,
        jitter: Callable[[], float] = random.random,
        channel_rates: dict[str, float] | None = None,
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.clock = clock
        self.limits = limits
        self.admin_chats = admin_chats
        self.only_chats = only_chats  # the console delivers only to the person being played
        self.jitter = jitter
        self.handled = 0  # rows whose outcome was recorded, since construction
        self._limiter: RateLimiter | None = None
        # A platform with its own sending rate (Zalo) gets its own limiter; others share one.
        self.channel_rates = dict(channel_rates or {})
        self._channel_limiters: dict[str, RateLimiter] = {}
        self._wake = _Signal()  # new rows may be claimable
        self._changed = _Signal()  # a row was buffered, or a chat became free
        self._ready: deque[OutboxMessage] = deque()  # claimed, not started
        self._held: dict[int, OutboxMessage] = {}  # claimed, outcome not yet committed
        self._busy: set[ChatKey] = set()  # chats with a send on the wire
        self._chat_free_at: dict[ChatKey, float] = {}  # loop time a chat may be sent to
        self._outcomes: asyncio.Queue[_Outcome] = asyncio.Queue()
        self._db = asyncio.Lock()  # one write transaction of ours at a time (SQLite)
        self._stopping = False
        self._woken = False
        self._next_sweep = 0.0  # loop time of the next look for rows with a lapsed lease
        self._failures = FailureLog(log)

    # ------------------------------------------------------------------ public

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
                await self.reclaim_expired()
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
                await self._release(waiting)
            for row_id in waiting:
                self._held.pop(row_id, None)
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)

    async def _release(self, ids: list[int]) -> None:
        async with self._db, self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
                .values(status="pending", claimed_until=None)
                .execution_options(synchronize_session=False)
            )

    # ------------------------------------------------------------------ claiming

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
                o.channel.in_(list(self.senders)),
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
        async with self._db, self.sessions.begin() as session:
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

    async def reclaim_expired(self) -> int:
        """Put back rows whose lease ran out (their dispatcher died); returns how many."""
        o = OutboxMessage
        now = self.clock()
        async with self._db, self.sessions.begin() as session:
            result = await session.execute(
                update(o)
                .where(
                    o.status == "sending",
                    o.claimed_until < now,
                    o.id.not_in(list(self._held)),
                    o.channel.in_(list(self.senders)),
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
        self.handled += len(done)
        return [r for r in rows if r.id not in done]

    async def _heartbeat(self) -> None:
        """Renew the lease of the rows held, every third of the lease."""
        while True:
            await asyncio.sleep(self.limits.lease_seconds / 3)
            ids = list(self._held)
            if not ids:
                continue
            lease = self.clock() + timedelta(seconds=self.limits.lease_seconds)
            try:
                async with self._db, self.sessions.begin() as session:
                    await session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
                        .values(claimed_until=lease)
                        .execution_options(synchronize_session=False)
                    )
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
                error = await self._attempt(row)
            finally:
                self._chat_free_at[key] = loop.time() + 1.0 / self.limits.per_chat_per_second
                self._busy.discard(key)
                self._forget_old_chats(loop.time())
                self._changed.notify()
            outcome = _Outcome(row, error, self.clock(), loop.create_future())
            await self._outcomes.put(outcome)
            await asyncio.shield(outcome.done)

    async def _attempt(self, row: OutboxMessage) -> SendError | None:
        limiter = self.limiter_for(row.channel)
        await limiter.acquire()
        try:
            await self.senders[row.channel].send(row.chat_id, row.text, buttons_of(row.buttons))
        except SendError as exc:
            if exc.kind == "retry_after":
                limiter.pause(exc.retry_after)
            return exc
        except Exception as exc:  # an adapter bug must not stop the queue
            log.exception(
                "outbox id=%s: unexpected error from the %s sender",
                row.id,
                row.channel,
                extra={"event": "sender_error", "outbox": row.id, "channel": row.channel},
            )
            return SendError("transient", repr(exc))
        finally:
            limiter.release()
        return None

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
                    async with self._db, self.sessions.begin() as session:
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
            self.handled += len(batch)
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
                await self._record_failure(session, outcome.row, outcome.error, outcome.at)

    def _backoff(self, attempts: int) -> float:
        delay = min(self.limits.backoff_cap, self.limits.backoff_base * 2.0 ** (attempts - 1))
        return delay * (0.5 + 0.5 * self.jitter())  # "equal jitter": half fixed, half random

    async def _record_failure(
        self, session: AsyncSession, row: OutboxMessage, exc: SendError, now: datetime
    ) -> None:
        attempts = row.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "claimed_until": None,
            "last_error": f"{exc.kind}: {exc.detail}"[:500],
        }
        limit = self.limits.max_attempts
        if exc.kind == "blocked":
            values["status"] = "unreachable"
        elif exc.kind == "permanent":
            values["status"] = "failed"
        elif exc.kind == "retry_after" and attempts < limit * RETRY_AFTER_ATTEMPTS_FACTOR:
            values["status"] = "pending"
            values["next_attempt_at"] = now + timedelta(seconds=exc.retry_after)
        elif exc.kind == "transient" and attempts < limit:
            values["status"] = "pending"
            values["next_attempt_at"] = now + timedelta(seconds=self._backoff(attempts))
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
