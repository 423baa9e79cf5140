"""Engines and sessions, with SQLite set up the way concurrent writers need it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]

SQLITE_BUSY_SECONDS = 30
# Rows a query brings back in the trip that runs it; more are fetched in further trips
# (only a streamed query, ``AsyncConnection.stream``, has more).
PREFETCH_ROWS = 512


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


class OneTripCursor:
    """An aiosqlite cursor that runs a statement in one trip to the connection's thread.

    aiosqlite makes three or four trips per statement when driven by SQLAlchemy: create the
    cursor, execute, fetch the rows, close the cursor. Each trip is a hand-over to the
    thread and back through the event loop, about 65 µs of CPU; the statements themselves
    take a few µs. Here the cursor is created, the statement executed and its first
    ``PREFETCH_ROWS`` rows fetched in one trip, and closing an exhausted cursor needs none
    (sqlite3 resets a statement once its last row is read). This made a survey answer about
    a third cheaper in CPU (bench/load.py).

    Inside a transaction the statement makes no trip at all (``OneTripConnection.run``).

    Only what SQLAlchemy's aiosqlite adapter uses is here (``AsyncAdapt_dbapi_cursor``).
    """

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None
        self._rows: deque[Any] = deque()
        self._more = False  # rows may be left in the sqlite3 cursor

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _run(self, sql: str, parameters: Any) -> tuple[sqlite3.Cursor, list[Any]]:
        """On the connection's thread: execute, and fetch the first rows of a query."""
        cursor = self._cursor or self._connection.sqlite.cursor()
        cursor.execute(sql, parameters)
        return cursor, cursor.fetchmany(PREFETCH_ROWS) if cursor.description else []

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        run = partial(self._run, sql, () if parameters is None else parameters)
        self._cursor, rows = await self._connection.run(run)
        self._rows = deque(rows)
        self._more = len(rows) == PREFETCH_ROWS
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneTripCursor:
        def run() -> sqlite3.Cursor:
            cursor = self._cursor or self._connection.sqlite.cursor()
            return cursor.executemany(sql, parameters)

        self._cursor = await self._connection.run(run)
        self._rows.clear()
        self._more = False
        return self

    async def fetchone(self) -> Any:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """``size`` rows, fewer only at the end (as the DB-API says)."""
        wanted = self.arraysize if size is None else size
        while len(self._rows) < wanted and self._more and self._cursor is not None:
            more = await self._connection.on_thread(
                self._cursor.fetchmany, max(PREFETCH_ROWS, wanted - len(self._rows))
            )
            self._rows.extend(more)
            self._more = len(more) >= PREFETCH_ROWS
        return [self._rows.popleft() for _ in range(min(wanted, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        if self._more and self._cursor is not None:
            rows += await self._connection.on_thread(self._cursor.fetchall)
            self._more = False
        return rows

    async def close(self) -> None:
        """A trip only for a cursor with rows left (a stream closed early): the others'
        statements are already reset, and sqlite3 frees the cursor when it is dropped."""
        self._rows.clear()
        if self._more and self._cursor is not None:
            self._more = False
            await self._connection.on_thread(self._cursor.close)

    @property
    def description(self) -> Any:
        return self._cursor.description if self._cursor is not None else None

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount if self._cursor is not None else -1

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid if self._cursor is not None else None


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors make one trip per statement (``OneTripCursor``)
    and whose rollback makes none when no transaction is open (SQLAlchemy's pool rolls
    back every connection handed back to it, also after a commit)."""

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection, to be used on the connection's thread only."""
        return self._conn

    async def on_thread(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the connection's thread."""
        return await self._execute(fn, *args)  # type: ignore[no-untyped-call]

    async def run(self, fn: Any) -> Any:
        """``fn()`` (one statement) right here on the event loop when this connection is in
        a transaction, else on the connection's thread.

        Every transaction here begins with BEGIN IMMEDIATE (``make_engine``), and it is
        BEGIN, run on the thread, that may wait for another connection's write lock (up to
        the busy timeout); once it holds the lock, in WAL mode no statement of the
        transaction waits for anyone, and a handler's statements take microseconds. A trip
        to the thread costs more than that: its hand-over, and above all the wait for the
        event loop's next turn to resume, which under load (a hundred web requests at once)
        is the whole batch's pace (``Transactions``). COMMIT and ROLLBACK still go to the
        thread. Measured with bench/web.py: a quarter less CPU per survey request."""
        if self._conn.in_transaction:
            return fn()
        return await self._execute(fn)  # type: ignore[no-untyped-call]

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def rollback(self) -> None:
        # in_transaction only reads SQLite's autocommit flag; the thread is idle between
        # statements (SQLAlchemy runs one at a time on a connection).
        if self._conn.in_transaction:
            await super().rollback()


def _sqlite_creator(url: str) -> Any:
    """SQLAlchemy's ``async_creator`` for ``url``: a ``OneTripConnection`` opened with the
    arguments SQLAlchemy itself would give sqlite3 for that URL."""
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    kwargs["timeout"] = SQLITE_BUSY_SECONDS
    kwargs["check_same_thread"] = False  # statements in a transaction run on the loop's thread
    connector = partial(sqlite3.connect, *args, **kwargs)

    async def creator() -> OneTripConnection:
        connection = OneTripConnection(connector, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own
        await connection
        return connection

    return creator


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine. On SQLite: WAL, foreign keys on, a busy timeout, BEGIN IMMEDIATE.

    Every SQLite transaction starts with BEGIN IMMEDIATE: a transaction that reads and then
    writes would otherwise fail with "database is locked" whatever the busy timeout. WAL
    with ``synchronous=NORMAL``: a commit survives the process crashing (not the machine
    losing power before the next checkpoint). Connections are ``OneTripConnection``s.

    On PostgreSQL (asyncpg): READ COMMITTED, the server's default; connections are checked
    before use (a restarted server or a dropped idle connection costs a retry, not an
    error) and named ``cchc-bot`` in ``pg_stat_activity``.
    """
    if not is_sqlite(url):
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("server_settings", {}).setdefault("application_name", "cchc-bot")
        return create_async_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    engine = create_async_engine(url, async_creator=_sqlite_creator(url), **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event own the transaction start (pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class Transactions:
    """Runs units of work, each in a database transaction that is committed before its
    result is returned; on SQLite (``group=True``), several at once in one transaction.

    Group commit: SQLite has one writer at a time, so the handlers of messages arriving
    together would only queue for its lock, each paying for its own BEGIN IMMEDIATE,
    COMMIT and session. Here a unit of work that arrives while a transaction is running
    waits for it to end, then runs with every other one that arrived meanwhile, one after
    the other, in one transaction; none of their results is returned before that
    transaction's COMMIT succeeds. If a unit raises or the COMMIT fails, the transaction is
    rolled back and each unit of that batch runs again alone, so that one failure costs
    the others nothing. Units must therefore touch only the database (their replies are
    sent by the caller, after ``run`` returns).

    On PostgreSQL every unit has a transaction of its own (``group=False``): writers do not
    wait for one another there, and a unit waiting for a person's lock must not hold up
    the others.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        group: bool | None = None,
        max_batch: int = 100,
    ) -> None:
        """``group`` None: group commits when the sessions are bound to SQLite."""
        self.sessions = sessions
        if group is None:
            bind = sessions.kw.get("bind")
            group = isinstance(bind, AsyncEngine) and bind.dialect.name == "sqlite"
        self.group = group
        self.max_batch = max_batch
        self._waiting: list[tuple[Work[Any], asyncio.Future[Any]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def run(self, work: Work[T]) -> tuple[T, dict[Any, Any]]:
        """``work(session)``'s result once committed, and the session's ``info`` (shared by
        the batch: a flag one unit set there is seen by all)."""
        if not self.group:
            return await self._alone(work)
        future: asyncio.Future[tuple[T, dict[Any, Any]]] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting.append((work, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run_batches())
        return await future

    async def _alone(self, work: Work[T]) -> tuple[T, dict[Any, Any]]:
        async with self.sessions.begin() as session:
            result = await work(session)
        return result, session.info

    async def _run_batches(self) -> None:
        try:
            while self._waiting:
                batch = [(w, f) for w, f in self._waiting[: self.max_batch] if not f.done()]
                del self._waiting[: self.max_batch]
                if batch:
                    await self._run_batch(batch)
        finally:
            for _, future in self._waiting:
                future.cancel()
            self._waiting.clear()

    async def _run_batch(self, batch: list[tuple[Work[Any], asyncio.Future[Any]]]) -> None:
        try:
            await self._settle_batch(batch)
        finally:  # the runner cancelled (shutdown) or a BaseException: nobody waits forever
            for _, future in batch:
                future.cancel()  # a no-op for the settled ones

    async def _settle_batch(self, batch: list[tuple[Work[Any], asyncio.Future[Any]]]) -> None:
        results = []
        try:
            async with self.sessions.begin() as session:
                for work, _ in batch:
                    results.append(await work(session))
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            for work, future in batch:  # each alone: the failure is only the failing one's
                try:
                    _settle(future, await self._alone(work))
                except Exception as alone:
                    _settle(future, alone)
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, (result, session.info))


def _settle(future: asyncio.Future[Any], outcome: Any) -> None:
    if future.done():  # its caller was cancelled
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
