"""Pacing: how fast the outbox may send (see ``scheduler.outbox``, "Rates").

``Limits`` are the numbers; ``RateLimiter`` keeps the overall rate, a token bucket with small
bursts and a sliding window in which a send counts from its request until a second after
its answer, and pauses every sender on a 429.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

_EPSILON = 1e-9  # seconds or tokens: float rounding must not make a limiter spin


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


class Signal:
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
        self._released = Signal()

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
