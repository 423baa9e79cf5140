"""The APScheduler side: only ticks. Every tick recomputes from the calendar and the
database what is due (level-triggered), so a missed tick catches up and a repeated tick
does nothing twice; no job is persisted by APScheduler.

Also ``FailureLog``: background jobs retry forever, so a lasting failure (a locked or
missing database) must be logged once when it starts and once when it ends, not on every
retry."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


class FailureLog:
    """Logs a failure once per streak (with the traceback) and the recovery after it.

    ``key`` names what failed ("claim", "tick", "round:12"), so independent failures are
    each logged once.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.streaks: dict[str, int] = {}

    def failed(self, key: str, message: str, *args: object, exc_info: bool = True) -> None:
        count = self.streaks.get(key, 0) + 1
        self.streaks[key] = count
        if count == 1:
            self.logger.error(message, *args, exc_info=exc_info)
        else:
            self.logger.debug("%s (again, %d times in a row)", message % args, count)

    def ok(self, key: str, message: str, *args: object) -> None:
        count = self.streaks.pop(key, 0)
        if count:
            self.logger.warning("%s (after %d failures)", message % args, count)


def start_scheduler(
    tick: Callable[[], Awaitable[object]], every_minutes: float, run_now: bool = True
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        tick,
        "interval",
        minutes=every_minutes,
        id="tick",
        next_run_time=datetime.now(UTC) if run_now else None,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,  # a late tick still runs (once, coalesced)
    )
    scheduler.start()
    return scheduler
