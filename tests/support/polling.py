"""The one way a test waits: poll for an observable condition, with a generous deadline.

A test never sleeps and then asserts; it waits here for what it expects to see (a message
at the fake server, a row's status, a log line) and fails with ``what`` when it does not
come. The deadline only stops a broken test: it is not what the test checks, so it is
generous (a loaded 2-core CI machine is slow).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

Condition = Callable[[], bool] | Callable[[], Awaitable[bool]]


async def until(
    condition: Condition,
    timeout: float = 30.0,
    what: str = "the condition",
    *,
    interval: float = 0.02,
    check: Callable[[], None] | None = None,
    details: Callable[[], str] | None = None,
) -> float:
    """Wait until ``condition()`` (sync or async) holds; returns the seconds it took.

    ``check`` runs at every poll and may raise to stop early (a bot process that exited);
    ``details`` adds context to the timeout's message (what the bots printed).
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return loop.time() - started
        if check is not None:
            check()
        if loop.time() - started > timeout:
            extra = f"\n{details()}" if details is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{extra}")
        await asyncio.sleep(interval)
