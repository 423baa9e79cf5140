"""Alembic environment. The bot runs migrations on a connection it passes in (the cookbook's
connection-sharing recipe), so this works inside a running event loop; the ``alembic``
command line path builds its own async engine from ``sqlalchemy.url``."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from db.models import Base
from db.session import make_engine

target_metadata = Base.metadata


# Any fixed number: the key of the PostgreSQL advisory lock that migrations run under.
MIGRATION_LOCK = 0x63636863  # "cchc"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several bot processes starting at once would all try to create the same tables.
            # The first migrates; the others wait here, then find the schema up to date
            # (READ COMMITTED: the version is read after the lock, so it is the new one).
            # On SQLite BEGIN IMMEDIATE already makes them take turns.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = make_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    asyncio.run(_run_async(context.config.get_main_option("sqlalchemy.url") or ""))


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
