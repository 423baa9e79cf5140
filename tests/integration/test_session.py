"""db.session on a real SQLite file: the one-trip cursor and connection, and group commit."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, event, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.session import (
    PREFETCH_ROWS,
    OneTripConnection,
    OneTripCursor,
    Transactions,
    make_engine,
    make_sessionmaker,
)

T = Table(
    "t",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("v", Text, unique=True),
)
Sessions = async_sessionmaker[AsyncSession]
Unit = Callable[[AsyncSession], Awaitable[str]]


class Counts:
    """BEGINs and COMMITs seen on an engine (SQLAlchemy's connection events)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.begins = 0
        self.commits = 0
        event.listen(engine.sync_engine, "begin", self._begin)
        event.listen(engine.sync_engine, "commit", self._commit)

    def _begin(self, _conn: Any) -> None:
        self.begins += 1

    def _commit(self, _conn: Any) -> None:
        self.commits += 1


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "session.db"


@pytest.fixture
async def engine(db_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{db_path}")
    async with engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
        await conn.exec_driver_sql(
            "CREATE TABLE child (id INTEGER PRIMARY KEY,"
            " parent_id INTEGER REFERENCES t(id) DEFERRABLE INITIALLY DEFERRED)"
        )
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> Sessions:
    return make_sessionmaker(engine)


def committed_values(db_path: Path) -> list[str]:
    """The values committed in t, read synchronously on a connection of its own."""
    with sqlite3.connect(db_path) as other:
        return [row[0] for row in other.execute("SELECT v FROM t ORDER BY id")]


async def fill(sessions: Sessions, n: int) -> None:
    if not n:
        return
    async with sessions.begin() as session:
        await session.execute(insert(T), [{"v": f"r{i:05d}"} for i in range(n)])


def inserting(v: str, ran: list[str] | None = None) -> Unit:
    async def work(session: AsyncSession) -> str:
        if ran is not None:
            ran.append(v)
        await session.execute(insert(T).values(v=v))
        await asyncio.sleep(0)
        return v.upper()

    return work


# OneTripCursor / OneTripConnection


@pytest.mark.parametrize("n", [0, 1, PREFETCH_ROWS - 1, PREFETCH_ROWS, PREFETCH_ROWS + 1, 1300])
async def test_a_query_returns_all_its_rows_in_order(sessions: Sessions, n: int) -> None:
    await fill(sessions, n)
    async with sessions() as session:
        rows = (await session.execute(select(T.c.id, T.c.v).order_by(T.c.id))).all()
    assert [tuple(r) for r in rows] == [(i + 1, f"r{i:05d}") for i in range(n)]


async def test_connections_are_one_trip_and_the_connect_hook_applies(
    engine: AsyncEngine, db_path: Path
) -> None:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, OneTripConnection)
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 30_000
        assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == 1  # NORMAL
        # The transaction SQLAlchemy began is a BEGIN IMMEDIATE: it holds the write lock
        # although it has only read.
        with (
            sqlite3.connect(db_path, timeout=0) as other,
            pytest.raises(sqlite3.OperationalError, match="locked"),
        ):
            other.execute("BEGIN IMMEDIATE")


async def test_fetchmany_returns_as_many_rows_as_asked_until_the_end(
    sessions: Sessions, engine: AsyncEngine
) -> None:
    await fill(sessions, 1300)
    async with engine.connect() as conn:
        result = await conn.stream(select(T.c.v).order_by(T.c.id))
        sizes = [len(await result.fetchmany(size)) for size in (1, 1100, 150, 100, 100)]
        assert sizes == [1, 1100, 150, 49, 0]  # short only at the end


async def test_a_stream_closed_early_leaves_the_connection_usable(
    sessions: Sessions, engine: AsyncEngine, db_path: Path
) -> None:
    await fill(sessions, 1300)
    async with engine.connect() as conn:
        result = await conn.stream(select(T.c.v).order_by(T.c.id))
        first = [await result.fetchone() for _ in range(3)]
        assert [r[0] for r in first if r is not None] == ["r00000", "r00001", "r00002"]
        await result.close()
        assert (await conn.execute(select(func.count()).select_from(T))).scalar() == 1300
        await conn.execute(insert(T).values(v="after"))
        await conn.commit()
    assert committed_values(db_path)[-1] == "after"


async def test_a_stream_read_to_the_end_has_every_row_in_order(
    sessions: Sessions, engine: AsyncEngine
) -> None:
    await fill(sessions, 1300)
    async with engine.connect() as conn:
        result = await conn.stream(select(T.c.v).order_by(T.c.id))
        seen = [row[0] async for row in result]
        assert seen == [f"r{i:05d}" for i in range(1300)]
        assert (await conn.execute(select(func.max(T.c.id)))).scalar() == 1300
        partitions = [len(p) async for p in (await conn.stream(select(T.c.v))).partitions(500)]
        assert partitions == [500, 500, 300]


async def test_executemany_inserts_every_row(
    sessions: Sessions, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = OneTripCursor.executemany

    async def spy(self: OneTripCursor, sql: str, parameters: Any) -> OneTripCursor:
        calls.append(1)
        return await original(self, sql, parameters)

    monkeypatch.setattr(OneTripCursor, "executemany", spy)
    async with sessions.begin() as session:
        await session.execute(insert(T), [{"v": f"m{i}"} for i in range(700)])
    assert calls == [1]
    assert committed_values(db_path) == [f"m{i}" for i in range(700)]


async def test_rowcount_and_lastrowid_of_a_single_statement(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for v in ("a", "b", "c"):
            await conn.execute(insert(T).values(v=v))
        result = await conn.execute(insert(T).values(v="d"))
        assert result.rowcount == 1
        assert result.lastrowid == 4
        assert result.inserted_primary_key == (4,)
        updated = await conn.execute(T.update().where(T.c.id <= 2).values(v=T.c.v + "!"))
        assert updated.rowcount == 2
        deleted = await conn.execute(T.delete().where(T.c.v == "nobody"))
        assert deleted.rowcount == 0


async def test_a_statement_error_raises_and_the_connection_recovers(
    engine: AsyncEngine, db_path: Path
) -> None:
    async with engine.connect() as conn:
        await conn.execute(insert(T).values(v="a"))
        await conn.commit()
        await conn.execute(insert(T).values(v="x"))
        with pytest.raises(IntegrityError, match="UNIQUE"):
            await conn.execute(insert(T).values(v="a"))
        await conn.rollback()
        await conn.execute(insert(T).values(v="b"))
        assert (await conn.execute(select(T.c.v).order_by(T.c.id))).scalars().all() == ["a", "b"]
        await conn.commit()
    assert committed_values(db_path) == ["a", "b"]  # "x" went with the rollback


async def test_a_rollback_makes_a_trip_only_with_a_transaction_open(
    sessions: Sessions, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rollbacks: list[int] = []
    original = aiosqlite.Connection.rollback

    async def counting(self: aiosqlite.Connection) -> None:
        rollbacks.append(1)
        await original(self)

    monkeypatch.setattr(aiosqlite.Connection, "rollback", counting)
    # Committed, then rolled back by the pool on its return: no transaction, no trip.
    async with sessions.begin() as session:
        await session.execute(insert(T).values(v="kept"))
    assert rollbacks == []
    # An open transaction is rolled back for real.
    async with sessions() as session:
        await session.execute(insert(T).values(v="dropped"))
        await session.rollback()
    assert rollbacks == [1]
    assert committed_values(db_path) == ["kept"]


async def test_statements_in_a_transaction_run_on_the_loop_thread_and_begin_on_its_own(
    engine: AsyncEngine,
) -> None:
    """The statements of a transaction make no trip to the connection's thread; the BEGIN
    that opens it (which may wait for the write lock) does."""
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert isinstance(raw, OneTripConnection)
        await raw.on_thread(raw.sqlite.create_function, "thread", 0, threading.get_ident)
        # autobegun: the BEGIN IMMEDIATE on the thread, then the statement here
        inside = (await conn.exec_driver_sql("SELECT thread()")).scalar_one()
        await conn.commit()
        outside = await raw.on_thread(lambda: raw.sqlite.execute("SELECT thread()").fetchone())
        assert inside == threading.get_ident()
        assert outside[0] != threading.get_ident()


async def test_a_begin_waiting_for_the_write_lock_leaves_the_loop_free(
    sessions: Sessions, db_path: Path
) -> None:
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    writing = asyncio.create_task(fill(sessions, 1))
    ticks = 0
    while ticks < 50:  # the loop keeps turning while the BEGIN waits on the thread
        await asyncio.sleep(0)
        ticks += 1
    assert not writing.done()
    other.execute("COMMIT")
    other.close()
    await writing
    assert committed_values(db_path) == ["r00000"]


# Transactions


async def test_group_is_the_default_on_sqlite(sessions: Sessions) -> None:
    assert Transactions(sessions).group is True
    assert Transactions(sessions, group=False).group is False


async def test_units_arriving_together_share_transactions(
    sessions: Sessions, engine: AsyncEngine, db_path: Path
) -> None:
    transactions = Transactions(sessions, group=True)
    counts = Counts(engine)
    names = [f"u{i:02d}" for i in range(20)]
    results = await asyncio.gather(*(transactions.run(inserting(v)) for v in names))
    assert [result for result, _info in results] == [v.upper() for v in names]
    assert sorted(committed_values(db_path)) == names
    assert 1 <= counts.commits < 20
    assert counts.begins == counts.commits


async def test_a_batch_is_at_most_max_batch_units(
    sessions: Sessions, engine: AsyncEngine, db_path: Path
) -> None:
    transactions = Transactions(sessions, group=True, max_batch=5)
    counts = Counts(engine)
    names = [f"u{i:02d}" for i in range(20)]
    await asyncio.gather(*(transactions.run(inserting(v)) for v in names))
    assert counts.commits == 4
    assert sorted(committed_values(db_path)) == names


async def test_the_session_info_is_shared_by_a_batch(sessions: Sessions) -> None:
    transactions = Transactions(sessions, group=True)

    async def flagging(session: AsyncSession) -> str:
        session.info["flag"] = True
        return "flagged"

    async def plain(session: AsyncSession) -> str:
        return "plain"

    (_, info_a), (_, info_b) = await asyncio.gather(
        transactions.run(plain), transactions.run(flagging)
    )
    assert info_a.get("flag") is True
    assert info_b.get("flag") is True


async def test_no_result_comes_back_before_its_commit(
    sessions: Sessions, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow COMMIT: a result handed back before it had ended would be seen at once.
    original = OneTripConnection.commit

    async def slow_commit(self: OneTripConnection) -> None:
        await asyncio.sleep(0.05)
        await original(self)

    monkeypatch.setattr(OneTripConnection, "commit", slow_commit)
    transactions = Transactions(sessions, group=True)
    unseen: list[str] = []

    async def caller(v: str) -> None:
        await transactions.run(inserting(v))
        if v not in committed_values(db_path):  # synchronous: nothing runs in between
            unseen.append(v)

    await asyncio.gather(*(caller(f"c{i}") for i in range(12)))
    await asyncio.gather(*(caller(f"d{i}") for i in range(3)))
    assert unseen == []
    assert len(committed_values(db_path)) == 15


async def test_a_failing_unit_costs_the_others_nothing(sessions: Sessions, db_path: Path) -> None:
    transactions = Transactions(sessions, group=True)

    class Boom(Exception):
        pass

    async def failing(session: AsyncSession) -> str:
        await session.execute(insert(T).values(v="partial"))
        raise Boom("no")

    units: list[Unit] = [inserting(f"g{i}") for i in range(8)]
    units.insert(4, failing)
    outcomes = await asyncio.gather(
        *(transactions.run(unit) for unit in units), return_exceptions=True
    )
    assert isinstance(outcomes[4], Boom)
    others = [o for n, o in enumerate(outcomes) if n != 4]
    assert [o[0] for o in others if isinstance(o, tuple)] == [f"G{i}" for i in range(8)]
    assert sorted(committed_values(db_path)) == [f"g{i}" for i in range(8)]


async def test_a_failed_commit_reruns_each_unit_alone(
    sessions: Sessions, engine: AsyncEngine, db_path: Path
) -> None:
    """A deferred foreign key fails only at COMMIT: the unit that breaks it fails alone."""
    transactions = Transactions(sessions, group=True)
    counts = Counts(engine)

    async def orphan(session: AsyncSession) -> str:
        await session.execute(insert(T).values(v="orphan's"))
        await session.execute(text("INSERT INTO child (parent_id) VALUES (999)"))
        return "orphan"

    units: list[Unit] = [inserting(f"f{i}") for i in range(5)]
    units.insert(2, orphan)
    outcomes = await asyncio.gather(
        *(transactions.run(unit) for unit in units), return_exceptions=True
    )
    assert isinstance(outcomes[2], IntegrityError)
    assert "FOREIGN KEY" in str(outcomes[2])
    assert [o[0] for o in outcomes if isinstance(o, tuple)] == [f"F{i}" for i in range(5)]
    assert sorted(committed_values(db_path)) == [f"f{i}" for i in range(5)]
    with sqlite3.connect(db_path) as other:
        assert other.execute("SELECT count(*) FROM child").fetchone() == (0,)
    # The batch's failed COMMIT, then each of the six alone (the orphan's fails again).
    assert counts.begins == counts.commits == 1 + 6


async def test_a_commit_that_fails_once_costs_nobody_their_result(
    sessions: Sessions, engine: AsyncEngine, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = OneTripConnection.commit
    failures: list[int] = []

    async def failing_once(self: OneTripConnection) -> None:
        if not failures:
            failures.append(1)
            raise sqlite3.OperationalError("disk I/O error")
        await original(self)

    monkeypatch.setattr(OneTripConnection, "commit", failing_once)
    transactions = Transactions(sessions, group=True)
    counts = Counts(engine)
    ran: list[str] = []
    names = [f"h{i}" for i in range(6)]
    outcomes = await asyncio.gather(*(transactions.run(inserting(v, ran)) for v in names))
    assert [result for result, _ in outcomes] == [v.upper() for v in names]
    assert failures == [1]
    assert sorted(ran) == sorted(names * 2)  # once in the batch, once alone
    assert counts.begins == 1 + 6
    assert sorted(committed_values(db_path)) == names
    # Not left in a broken state: the next ones are grouped again.
    await asyncio.gather(*(transactions.run(inserting(f"k{i}")) for i in range(4)))
    assert counts.begins == 1 + 6 + 1


async def test_a_lone_unit_that_fails_gets_its_error(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(self: OneTripConnection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(OneTripConnection, "commit", failing)
    transactions = Transactions(sessions, group=True)
    with pytest.raises(OperationalError, match="disk I/O"):
        await transactions.run(inserting("alone"))


async def test_without_grouping_each_unit_has_its_own_transaction(
    sessions: Sessions, engine: AsyncEngine, db_path: Path
) -> None:
    transactions = Transactions(sessions, group=False)
    counts = Counts(engine)
    names = [f"s{i}" for i in range(6)]
    results = await asyncio.gather(*(transactions.run(inserting(v)) for v in names))
    assert [result for result, _ in results] == [v.upper() for v in names]
    assert counts.begins == counts.commits == 6
    assert sorted(committed_values(db_path)) == names


async def test_a_cancelled_caller_does_not_break_the_others(
    sessions: Sessions, db_path: Path
) -> None:
    transactions = Transactions(sessions, group=True)
    gate = asyncio.Event()
    started = asyncio.Event()
    ran: list[str] = []

    async def held(session: AsyncSession) -> str:
        started.set()
        await gate.wait()
        await session.execute(insert(T).values(v="held"))
        return "HELD"

    first = asyncio.create_task(transactions.run(held))
    await started.wait()  # its batch is running; these wait for the next one
    waiting = {v: asyncio.create_task(transactions.run(inserting(v, ran))) for v in "abcd"}
    await asyncio.sleep(0)
    waiting["b"].cancel()  # waiting for the next batch
    first.cancel()  # its unit is running
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    with pytest.raises(asyncio.CancelledError):
        await waiting["b"]
    assert [(await waiting[v])[0] for v in "acd"] == ["A", "C", "D"]
    assert ran == ["a", "c", "d"]  # the cancelled caller's unit was not run
    assert {"a", "c", "d"} <= set(committed_values(db_path))
    assert "b" not in committed_values(db_path)
    assert (await transactions.run(inserting("later")))[0] == "LATER"
