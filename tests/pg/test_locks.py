"""What lets several processes share one PostgreSQL database: start-up that takes turns,
advisory locks, and bulk inserts beyond the driver's limit of bound values."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.usecases.settings import OrgConfig
from db import repo
from db.migrate import upgrade
from db.models import OutboxMessage, Unit
from db.session import make_engine, make_sessionmaker
from surveys.catalogue import load_organisation
from tests.support.harness import database_url
from tests.support.polling import until

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[list[AsyncEngine]]:
    """Three engines on the test's empty database, as three processes would have."""
    url = database_url(tmp_path)
    made = [make_engine(url) for _ in range(3)]
    yield made
    for engine in made:
        await engine.dispose()


async def test_processes_starting_together_migrate_and_sync_units_once(tmp_path: Path) -> None:
    """Three ``cchc-bot db upgrade`` at the same moment on an empty database (each migrates
    and mirrors the organisation into the units table, as ``run`` does at start-up)."""
    url = database_url(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[survey]\nsecret = "a-test-secret-of-enough-length"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "bot.app.cli", "--config", str(config), "db", "upgrade"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        for _ in range(3)
    ]
    outputs = await asyncio.gather(*(p.communicate() for p in processes))
    for process, (output, _) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output.decode()
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            units = await session.scalar(select(func.count()).select_from(Unit))
            found = await session.scalars(text("SELECT version_num FROM alembic_version"))
            versions = found.all()
    finally:
        await engine.dispose()
    assert units == len(load_organisation(OrgConfig().units).units)
    assert len(versions) == 1


async def test_sync_units_at_the_same_moment_in_three_processes(
    engines: list[AsyncEngine],
) -> None:
    await upgrade(engines[0])
    units = load_organisation(OrgConfig().units).units

    async def sync(engine: AsyncEngine) -> None:
        async with make_sessionmaker(engine).begin() as session:
            await repo.sync_units(session, units)

    await asyncio.gather(*(sync(engine) for engine in engines))
    async with make_sessionmaker(engines[0])() as session:
        assert await session.scalar(select(func.count()).select_from(Unit)) == len(units)


async def test_try_lock_is_held_until_the_transaction_ends(engines: list[AsyncEngine]) -> None:
    first, second = (make_sessionmaker(e) for e in engines[:2])
    async with first.begin() as holder:
        assert await repo.try_lock(holder, "scheduler-tick")
        async with second.begin() as other:
            assert not await repo.try_lock(other, "scheduler-tick")
            assert await repo.try_lock(other, "another-name")
    async with second.begin() as other:
        assert await repo.try_lock(other, "scheduler-tick")  # released at commit


async def _count_once(
    sessions: async_sessionmaker[AsyncSession], started: asyncio.Event, go: asyncio.Event
) -> None:
    """Read the person's conversation, wait, write it back one higher (a handled message)."""
    async with sessions.begin() as session:
        conv = await repo.conversation(session, "telegram", "501")
        seen = conv.state["n"] if conv is not None else 0
        started.set()
        await go.wait()
        await repo.save_conversation(session, "telegram", "501", "report", {"n": seen + 1}, NOW)


async def lock_waiters(engine: AsyncEngine) -> bool:
    """Whether some other backend of this database is waiting for a lock."""
    async with engine.connect() as connection:
        waiting = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        )
    return bool(waiting)


async def test_two_processes_handling_one_person_do_not_lose_an_update(
    engines: list[AsyncEngine],
) -> None:
    await upgrade(engines[0])
    first, second = (make_sessionmaker(e) for e in engines[:2])
    started_first, started_second, go = asyncio.Event(), asyncio.Event(), asyncio.Event()
    one = asyncio.create_task(_count_once(first, started_first, go))
    await started_first.wait()
    two = asyncio.create_task(_count_once(second, started_second, go))
    # The second handler waits for the person's lock before it reads anything: PostgreSQL
    # shows its backend waiting on a lock.
    await until(lambda: lock_waiters(engines[2]), what="the second handler to wait for the lock")
    assert not started_second.is_set()
    go.set()
    await asyncio.wait_for(asyncio.gather(one, two), 30)
    async with first() as session:
        conv = await repo.conversation(session, "telegram", "501")
        assert conv is not None and conv.state == {"n": 2}


async def test_insert_ignore_goes_beyond_the_drivers_limit_of_bound_values(
    engines: list[AsyncEngine],
) -> None:
    await upgrade(engines[0])
    rows = [
        {
            "dedupe_key": f"bulk:{n}",
            "channel": "telegram",
            "chat_id": str(n),
            "text": "Nhắc nộp báo cáo",
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": NOW,
            "created_at": NOW,
        }
        for n in range(6000)
    ]
    assert 6000 * len(rows[0]) > 32767  # asyncpg's limit for one statement
    async with make_sessionmaker(engines[0]).begin() as session:
        assert await repo.enqueue(session, rows) == 6000
        assert await repo.enqueue(session, [*rows[:10], {**rows[0], "dedupe_key": "new"}]) == 1
        count = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert count == 6001
