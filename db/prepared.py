"""Hot statements compiled once and, on SQLite, run straight on the sqlite3 connection.

A survey's first and last requests each run four or five small statements (bench/web.py).
Through ``AsyncSession.execute`` each costs about 150 µs of CPU, almost all of it
SQLAlchemy's execution machinery (the greenlet hand-over, the execution context, the result
object); SQLite runs the statement itself in a few µs. A hundred citizens answering at once
queue behind one another's statements in one group-commit transaction
(``db.session.Transactions``), so that CPU is their waiting time.

A ``Prepared`` statement is compiled by SQLAlchemy once per dialect and set of parameter
names, and its parameters are converted by the same bind processors SQLAlchemy would use
(a date, a datetime or a JSON value is stored exactly as the ORM stores it). On SQLite it
then runs on the sqlite3 connection of the session's own transaction, on the event loop
(as ``OneTripConnection.run`` does inside a transaction): committed or rolled back with
everything else the transaction did. On PostgreSQL, or for a statement SQLAlchemy must
complete at execution time (a Python-side column default, an expanding IN), it is simply
``session.execute``.

Rows come back as tuples of the values SQLAlchemy would give (its result processors: a
JSON column is a dict, a date a ``date``). Like every Core statement given to
``session.execute``, a prepared one neither flushes the session nor refreshes the ORM
objects it holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from db.session import OneTripConnection

_SQLITE = "prepared_sqlite"  # session.info key: the sqlite3 connection of this transaction


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the connection is handed back to the pool
        session.info.pop(_SQLITE, None)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    compiled: SQLCompiler
    order: tuple[str, ...]  # the bound parameters' names, in the SQL's order
    processors: Mapping[str, Any]  # name -> SQLAlchemy's bind processor for its type
    results: tuple[Any, ...] | None  # a result processor per column; None: none needed


class Prepared:
    """One Core statement (``insert``, ``update``, ``delete``, ``select`` of a Table),
    executed as cheaply as the database allows (module docstring)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        # (dialect class, parameter names) -> the compiled form, or None: not runnable raw
        self._compiled: dict[tuple[type[Dialect], frozenset[str]], _Compiled | None] = {}

    def _compile(self, dialect: Dialect, keys: frozenset[str]) -> _Compiled | None:
        cache_key = (type(dialect), keys)
        if cache_key not in self._compiled:
            clause = cast(ClauseElement, self.statement)
            compiled = clause.compile(dialect=dialect, column_keys=sorted(keys))
            assert isinstance(compiled, SQLCompiler)
            needs_execution_time = (
                compiled.insert_prefetch
                or compiled.update_prefetch
                or compiled.literal_execute_params
                or compiled.post_compile_params
                or compiled.positiontup is None
            )
            self._compiled[cache_key] = (
                None
                if needs_execution_time
                else _Compiled(
                    sql=compiled.string,
                    compiled=compiled,
                    order=tuple(compiled.positiontup or ()),
                    processors={
                        name: processor
                        for bind, name in compiled.bind_names.items()
                        if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
                        is not None
                    },
                    results=self._result_processors(dialect),
                )
            )
        return self._compiled[cache_key]

    def _result_processors(self, dialect: Dialect) -> tuple[Any, ...] | None:
        columns = getattr(self.statement, "exported_columns", ())
        processors = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        return processors if any(p is not None for p in processors) else None

    @staticmethod
    def _arguments(compiled: _Compiled, params: Mapping[str, Any]) -> tuple[Any, ...]:
        values = compiled.compiled.construct_params(dict(params))
        processors = compiled.processors
        return tuple(
            processors[name](values[name]) if name in processors else values[name]
            for name in compiled.order
        )

    async def _raw(
        self, session: AsyncSession, keys: frozenset[str]
    ) -> tuple[sqlite3.Connection, _Compiled] | None:
        """The transaction's sqlite3 connection and the compiled statement, or None when
        the statement must go through ``session.execute``."""
        bind = session.bind
        if bind is None or bind.dialect.name != "sqlite":
            return None
        compiled = self._compile(bind.dialect, keys)
        if compiled is None:
            return None
        connection: sqlite3.Connection | None = session.info.get(_SQLITE)
        if connection is None:
            # begins the transaction (BEGIN IMMEDIATE, db.session.make_engine) if not yet
            raw = await (await session.connection()).get_raw_connection()
            driver = raw.driver_connection
            if not isinstance(driver, OneTripConnection):
                return None
            connection = driver.sqlite
            session.info[_SQLITE] = connection
        if not connection.in_transaction:  # never outside the session's transaction
            return None
        return connection, compiled

    async def rows(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Any]:
        """The rows of a query (or of an INSERT … RETURNING), as SQLAlchemy gives them."""
        raw = await self._raw(session, frozenset(params))
        if raw is None:
            return list((await session.execute(self.statement, dict(params))).all())
        connection, compiled = raw
        rows = connection.execute(compiled.sql, self._arguments(compiled, params)).fetchall()
        if compiled.results is None:
            return rows
        return [
            tuple(v if p is None else p(v) for p, v in zip(compiled.results, row, strict=True))
            for row in rows
        ]

    async def run(self, session: AsyncSession, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""
        raw = await self._raw(session, frozenset(params))
        if raw is None:
            result = await session.execute(self.statement, dict(params))
            return int(getattr(result, "rowcount", 0) or 0)
        connection, compiled = raw
        return connection.execute(compiled.sql, self._arguments(compiled, params)).rowcount

    async def run_many(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per row (``executemany``); the rows share their keys."""
        if not rows:
            return
        keys = frozenset(rows[0])
        raw = await self._raw(session, keys)
        if raw is None or any(frozenset(row) != keys for row in rows):
            await session.execute(self.statement, [dict(row) for row in rows])
            return
        connection, compiled = raw
        arguments: Iterable[tuple[Any, ...]] = [self._arguments(compiled, row) for row in rows]
        connection.executemany(compiled.sql, arguments)
