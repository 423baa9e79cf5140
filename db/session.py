"""Engines and sessions, with SQLite set up the way concurrent writers need it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine. On SQLite: WAL, foreign keys on, a busy timeout, BEGIN IMMEDIATE.

    Every SQLite transaction starts with BEGIN IMMEDIATE: a transaction that reads and then
    writes would otherwise fail with "database is locked" whatever the busy timeout.

    On PostgreSQL (asyncpg): READ COMMITTED, the server's default; connections are checked
    before use (a restarted server or a dropped idle connection costs a retry, not an
    error) and named ``cchc-bot`` in ``pg_stat_activity``.
    """
    if not is_sqlite(url):
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("server_settings", {}).setdefault("application_name", "cchc-bot")
        return create_async_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event own the transaction start (pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
