"""The dispatcher election (scheduler/leader.py) with an in-memory lock standing in for
PostgreSQL's session-level advisory lock; on SQLite, the election the process always wins.
tests/pg/test_leader.py runs the same on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scheduler.leader import Election, LockSession, database_election
from tests.support.polling import until


@dataclass
class FakeServer:
    """One advisory lock: held by one connection at a time, freed when it closes or drops."""

    holder: FakeConnection | None = None
    connections: list[FakeConnection] = field(default_factory=list)
    refuse: bool = False  # new connections fail (the server is down)
    refused: int = 0  # connections refused so far

    @property
    def tries(self) -> int:
        """Lock requests so far, over every connection: a clock that counts retries."""
        return sum(c.tries for c in self.connections)

    async def connect(self) -> LockSession:
        if self.refuse:
            self.refused += 1
            raise ConnectionError("connection refused")
        connection = FakeConnection(self)
        self.connections.append(connection)
        return connection


@dataclass
class FakeConnection:
    server: FakeServer
    dropped: bool = False
    hang: bool = False
    closed: bool = False
    tries: int = 0  # how often this connection asked for the lock

    async def try_lock(self) -> bool:
        self.tries += 1
        if self.dropped:
            raise ConnectionError("connection closed")
        if self.server.holder is None:
            self.server.holder = self
        return self.server.holder is self

    async def holds_lock(self) -> bool:
        if self.hang:
            await asyncio.sleep(3600)
        if self.dropped:
            raise ConnectionError("connection closed")
        return self.server.holder is self

    def drop(self) -> None:
        """The connection breaks: the server frees the lock, the client notices on use."""
        self.dropped = True
        if self.server.holder is self:
            self.server.holder = None

    async def close(self) -> None:
        self.closed = True
        if self.server.holder is self:
            self.server.holder = None


@dataclass
class Candidate:
    """An election running in a task, counting how often it led and is leading now."""

    election: Election
    task: asyncio.Task[None] | None = None
    started: int = 0
    running: int = 0
    fail_with: Exception | None = None

    async def lead(self) -> None:
        self.started += 1
        self.running += 1
        try:
            if self.fail_with is not None:
                raise self.fail_with
            await asyncio.Event().wait()  # a dispatcher serves until cancelled
        finally:
            self.running -= 1

    def start(self) -> Candidate:
        self.task = asyncio.create_task(self.election.run(self.lead))
        return self

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def fast_election(server: FakeServer) -> Election:
    return Election(server.connect, retry_seconds=0.05, check_seconds=0.02, check_timeout=0.2)


def candidate(server: FakeServer) -> Candidate:
    return Candidate(fast_election(server)).start()


async def test_exactly_one_of_three_candidates_leads() -> None:
    server = FakeServer()
    candidates = [candidate(server) for _ in range(3)]
    await until(lambda: sum(c.running for c in candidates) == 1)
    tried = server.tries
    await until(lambda: server.tries >= tried + 10)  # many retries of the others later: still one
    assert [c.running for c in candidates].count(1) == 1
    assert sum(c.started for c in candidates) == 1
    assert sum(c.election.leading for c in candidates) == 1
    for c in candidates:
        await c.stop()


async def test_a_leader_that_stops_hands_over_and_releases_the_lock() -> None:
    server = FakeServer()
    first = candidate(server)
    await until(lambda: first.running == 1)
    second = candidate(server)
    await until(lambda: len(server.connections) == 2 and server.connections[1].tries >= 3)
    assert second.started == 0  # it asked three times and was refused
    await first.stop()
    assert first.running == 0 and not first.election.leading  # its dispatcher stopped first
    assert all(c.closed for c in server.connections[:1])
    asked = server.connections[1].tries
    await until(lambda: second.running == 1)
    assert server.connections[1].tries == asked + 1  # its next retry took the freed lock
    await second.stop()
    assert server.holder is None and all(c.closed for c in server.connections)


async def test_a_leader_whose_connection_breaks_stops_dispatching_and_another_takes_over(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = FakeServer()
    first = candidate(server)
    await until(lambda: first.running == 1)
    second = candidate(server)
    await until(lambda: len(server.connections) == 2 and server.connections[1].tries >= 1)
    leader_connection = server.holder
    assert leader_connection is not None
    leader_connection.drop()
    asked = server.connections[1].tries
    await until(lambda: first.running == 0 and second.running == 1)
    assert server.connections[1].tries == asked + 1  # taken over at its next retry
    assert first.election.terms == 1 and second.election.terms == 1
    assert any("lost the dispatcher lock" in r.getMessage() for r in caplog.records)
    # The old leader campaigns again on a new connection, and stands by.
    await until(lambda: len(server.connections) == 3)
    await until(lambda: server.connections[2].tries >= 3)  # it asked again, three times
    assert first.running == 0 and first.started == 1
    await first.stop()
    await second.stop()


async def test_a_leader_whose_check_hangs_stops_after_the_timeout() -> None:
    server = FakeServer()
    first = candidate(server)
    await until(lambda: first.running == 1)
    assert server.holder is not None
    server.holder.hang = True  # a network cut: no answer at all
    took = await until(lambda: first.running == 0)
    assert took >= 0.15  # not before check_timeout (0.2 s) after a check started
    await first.stop()


async def test_the_lock_taken_away_ends_the_term() -> None:
    server = FakeServer()
    first = candidate(server)
    await until(lambda: first.running == 1)
    server.holder = None  # what a pooler in transaction mode does to a session lock
    await until(lambda: first.running == 0)
    await until(lambda: first.running == 1)  # nobody else: it wins again
    assert first.election.terms == 2
    await first.stop()


async def test_a_dispatcher_that_crashes_is_logged_and_elected_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = FakeServer()
    crashing = Candidate(fast_election(server))
    crashing.fail_with = RuntimeError("boom")
    crashing.start()
    await until(lambda: crashing.started >= 2)  # the lock was released, then won again
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and "dispatcher stopped on an error" in errors[0].getMessage()
    await crashing.stop()
    assert server.holder is None


async def test_an_unreachable_server_is_logged_once_and_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = FakeServer(refuse=True)
    waiting = candidate(server)
    await until(lambda: server.refused >= 3)  # several failed connections
    assert waiting.started == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "election" in errors[0].getMessage()
    server.refuse = False
    await until(lambda: waiting.running == 1)
    assert any("works again" in r.getMessage() for r in caplog.records)
    await waiting.stop()


async def test_on_sqlite_the_process_always_leads(tmp_path: Path) -> None:
    election = database_election(f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}")
    assert election.connect is None
    alone = Candidate(election).start()
    await until(lambda: alone.running == 1)
    assert election.leading and election.terms == 1
    await alone.stop()
    assert alone.running == 0 and not election.leading
