"""What the fake Telegram and Zalo servers share: an aiohttp server on 127.0.0.1 with a
random port, a signal to wake waiting long polls, and "wait until the bot is idle".

Each fake adds its platform's methods, update shapes and faults (see their docstrings for
the documented shapes they follow).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web


class Signal:
    """Wakes every coroutine waiting on it; ``notify`` is sync so sync test helpers can call it."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait({waiter}, timeout=max(0.0, timeout))
        finally:
            self._waiters.discard(waiter)


class FakeServer(ABC):
    """The plumbing of a fake platform server; subclasses implement ``_handle`` (every
    request), ``_busy`` and ``_busy_detail`` (for ``wait_idle``), and set their URLs in
    ``_started``."""

    name = "fake server"
    client_max_size = 1024**2
    shutdown_timeout = 1.0

    def __init__(self) -> None:
        self.port = 0
        self.base_url = ""
        self._inflight_now = 0  # requests being answered now, long polls aside
        self.peak_in_flight = 0  # the most answered at once
        self._last_activity = time.monotonic()
        self._updates = Signal()  # an update was queued (wakes a long poll)
        self._activity = Signal()  # a request came or ended (wakes wait_idle)
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None  # pushes webhook updates
        self._pusher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=self.client_max_size)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=self.shutdown_timeout
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._closing = False
        self._started()

    def _started(self) -> None:
        self.base_url = f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        self._closing = True
        self._updates.notify()
        self._activity.notify()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
            self._pusher = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ idleness

    @abstractmethod
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one request of the platform's API."""

    @property
    def in_flight(self) -> int:
        """Requests being answered now, long polls aside (a delayed sendMessage, say)."""
        return self._inflight

    @property
    def _inflight(self) -> int:
        return self._inflight_now

    @_inflight.setter
    def _inflight(self, count: int) -> None:
        self._inflight_now = count
        self.peak_in_flight = max(self.peak_in_flight, count)

    def _busy(self) -> bool:
        """Whether the bot still has something to fetch or a request open."""
        return self._inflight > 0

    def _busy_detail(self) -> str:
        return f"in flight: {self._inflight}"

    def _touch(self) -> None:
        self._last_activity = time.monotonic()
        self._activity.notify()

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until the bot has fetched every update and made no request for ``quiet`` s."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            busy = self._busy()
            if not busy and now - self._last_activity >= quiet:
                return
            if now >= deadline:
                raise AssertionError(
                    f"{self.name}: bot not idle after {timeout}s ({self._busy_detail()})"
                )
            wait = quiet - (now - self._last_activity) if not busy else quiet
            await self._activity.wait(min(max(wait, 0.01), deadline - now))
