"""The dispatcher election on a real PostgreSQL server: one leader among several
candidates, each on a dedicated connection holding a session-level advisory lock; the
leader's connection killed by the server (``pg_terminate_backend``) ends its term at once
and another candidate takes over within seconds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from db.session import make_engine
from scheduler.leader import LOCK_NAME, Election, LockSession, database_election
from tests.support.harness import database_url
from tests.support.polling import until

RETRY = 0.2  # the candidates' retry interval in these tests (the bot's: RETRY_SECONDS)

HOLDER = text(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
    " AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(:name, 0)"
)


class Candidate:
    def __init__(self, election: Election) -> None:
        self.election = election
        self.running = 0
        self.tries = 0  # lock requests so far: the test's clock is counted in retries
        connect = election.connect

        async def counting_connect() -> LockSession:
            session = await connect()
            try_lock = session.try_lock

            async def counted_try_lock() -> bool:
                self.tries += 1
                return await try_lock()

            session.try_lock = counted_try_lock  # type: ignore[method-assign]
            return session

        election.connect = counting_connect
        self.task = asyncio.create_task(election.run(self.lead))

    async def lead(self) -> None:
        self.running += 1
        try:
            await asyncio.Event().wait()
        finally:
            self.running -= 1

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def candidates(tmp_path: Path) -> AsyncIterator[list[Candidate]]:
    url = database_url(tmp_path)
    made = [
        Candidate(database_election(url, retry_seconds=RETRY, check_seconds=0.1)) for _ in range(3)
    ]
    yield made
    for candidate in made:
        await candidate.stop()


async def holder_pid(url: str) -> int | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            pid = await connection.scalar(HOLDER, {"name": LOCK_NAME})
            return int(pid) if pid is not None else None
    finally:
        await engine.dispose()


async def test_one_leader_and_a_failover_when_its_connection_is_killed(
    tmp_path: Path, candidates: list[Candidate]
) -> None:
    url = database_url(tmp_path)
    await until(lambda: sum(c.running for c in candidates) == 1, timeout=10)
    tried = sum(c.tries for c in candidates)
    await until(lambda: sum(c.tries for c in candidates) >= tried + 4)  # the others tried again
    [leader] = [c for c in candidates if c.running]
    assert [c.election.leading for c in candidates].count(True) == 1

    pid = await holder_pid(url)
    assert pid is not None
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await engine.dispose()

    tries_at_kill = {id(c): c.tries for c in candidates}
    await until(lambda: leader.running == 0 and sum(c.running for c in candidates) == 1)
    [successor] = [c for c in candidates if c.running]
    assert successor is not leader
    # the old leader's check, then the new one's next retries: a step or two, not a timeout
    assert successor.tries - tries_at_kill[id(successor)] <= 3
    new_pid = await holder_pid(url)
    assert new_pid is not None and new_pid != pid


async def test_a_stopped_leader_releases_the_lock_at_once(
    tmp_path: Path, candidates: list[Candidate]
) -> None:
    await until(lambda: sum(c.running for c in candidates) == 1, timeout=10)
    [leader] = [c for c in candidates if c.running]
    await leader.stop()
    assert leader.running == 0
    await until(lambda: sum(c.running for c in candidates) == 1)
    for candidate in candidates:
        await candidate.stop()
    assert await holder_pid(database_url(tmp_path)) is None  # closed connections hold nothing
