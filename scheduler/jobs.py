"""The APScheduler side: only ticks. Every tick recomputes from the calendar and the
database what is due (level-triggered), so a missed tick catches up and a repeated tick
does nothing twice; no job is persisted by APScheduler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


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
