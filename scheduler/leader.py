"""One outbox dispatcher for all the bot processes: elected with a PostgreSQL advisory lock.

Several ``cchc-bot run --webhook`` processes share one PostgreSQL database and one outbox,
but the platforms' limits are per bot: Telegram answers 429 when *the token* sends more
than about 30 messages a second, whichever process sent them. So exactly one process sends:
each one's background start campaigns for the session-level advisory lock
``outbox:dispatcher`` (``pg_try_advisory_lock``) on a connection of its own that it keeps
open; the process holding it runs the ``Dispatcher``, the others only answer their users
and queue messages, which the dispatcher's periodic claim picks up (``SHARED_POLL_SECONDS``).

**Why an elected dispatcher and not a token bucket in the database.** One place paces the
sends, so ``[delivery] messages_per_second`` holds exactly, with the in-process limiter
that already avoids 429s (its sliding window counts a send until its answer came back,
which a shared bucket could not see), and a 429's ``retry_after`` pauses every sender at
once. A bucket in a table would cost a write transaction, and contention between the
processes, for every message sent, and would still let each process's in-flight sends
overlap. The price is a failover of seconds when the sending process dies, which is
nothing for reminders that are due over days.

**Failover.** The lock belongs to the leader's database session: when the process dies,
its connection closes, PostgreSQL frees the lock and the next candidate to try
(``RETRY_SECONDS``) takes over; the dead leader's claimed rows are sent again when their
lease runs out (``Limits.lease_seconds``). The leader checks every ``CHECK_SECONDS`` that
its connection still holds the lock; when the check fails or hangs (``CHECK_TIMEOUT``) it
stops dispatching at once (no new send starts; those on the wire finish) and campaigns
again. The connection asks the server for TCP keepalives (``KEEPALIVE``: a dead peer is
noticed within about 25 s), longer than the leader needs to notice the same failure, so
after a network cut the old leader has stopped before PostgreSQL lets a new one in. Should
two dispatchers still overlap for a moment, the outbox's claims and leases keep every row
with one of them; at worst Telegram answers a 429, which is retried.

The connection must be a real PostgreSQL session: a pooler in transaction mode (PgBouncer)
would lose session-level locks; the leader's check would then see the lock is not held.

On SQLite (one process by design) there is nobody to elect: ``run`` leads at once, for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import NullPool

from db.session import is_sqlite, make_engine
from scheduler.jobs import FailureLog

log = logging.getLogger(__name__)

LOCK_NAME = "outbox:dispatcher"
RETRY_SECONDS = 2.0  # a candidate tries the lock this often: the failover takes about this
CHECK_SECONDS = 1.0  # the leader checks its connection this often
CHECK_TIMEOUT = 5.0  # a check (or a close) that takes longer counts as a lost connection
SHARED_POLL_SECONDS = 1.0  # the leader looks for rows other processes queued this often
# Server-side TCP keepalives on the leader's connection: a vanished leader is noticed in ~25 s.
KEEPALIVE = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}

_TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtextextended(:name, 0))")
# A bigint advisory key shows in pg_locks as classid (high half), objid (low half), objsubid 1.
_HOLDS_LOCK = text(
    "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 1"
    " AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(:name, 0))"
)


class LockSession(Protocol):
    """A dedicated connection that can hold the lock (closing it releases the lock)."""

    async def try_lock(self) -> bool: ...

    async def holds_lock(self) -> bool: ...  # raises when the connection is gone

    async def close(self) -> None: ...


class PostgresLock:
    """The lock ``name`` on one connection of an engine without a pool (closing the
    connection really closes it, so the lock never outlives it in a pool)."""

    def __init__(self, connection: AsyncConnection, name: str) -> None:
        self.connection = connection
        self.name = name

    async def try_lock(self) -> bool:
        return bool(await self.connection.scalar(_TRY_LOCK, {"name": self.name}))

    async def holds_lock(self) -> bool:
        return bool(await self.connection.scalar(_HOLDS_LOCK, {"name": self.name}))

    async def close(self) -> None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await self.connection.close()
        except Exception:  # a broken or unreachable server: drop the socket instead
            with contextlib.suppress(Exception):
                await self.connection.invalidate()


class Election:
    """Campaigns for the lock and, while holding it, runs ``lead()`` (see the module
    docstring). ``connect`` opens a dedicated ``LockSession``; ``None`` means there is
    nobody to compete with (SQLite): ``run`` then leads at once and for good. ``dispose``
    is awaited when ``run`` ends (the engine the connections came from)."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[LockSession]] | None,
        *,
        retry_seconds: float = RETRY_SECONDS,
        check_seconds: float = CHECK_SECONDS,
        check_timeout: float = CHECK_TIMEOUT,
        dispose: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.connect = connect
        self.dispose = dispose
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self.check_timeout = check_timeout
        self.leading = False
        self.terms = 0  # how many times this process became the leader
        self._failures = FailureLog(log)

    async def run(self, lead: Callable[[], Awaitable[None]]) -> None:
        """Until cancelled: lead whenever this process holds the lock. Never raises
        (``lead``'s own failures are logged and end the term)."""
        try:
            await self._campaign(lead)
        finally:
            if self.dispose is not None:
                await self.dispose()

    async def _campaign(self, lead: Callable[[], Awaitable[None]]) -> None:
        if self.connect is None:
            self.leading, self.terms = True, 1
            try:
                await lead()
            finally:
                self.leading = False
            return
        standing_by = False
        while True:
            session: LockSession | None = None
            try:
                session = await self.connect()
                while not await session.try_lock():
                    if not standing_by:
                        standing_by = True
                        log.info(
                            "outbox: another process is the dispatcher; this one stands by",
                            extra={"event": "dispatcher_standby"},
                        )
                    await asyncio.sleep(self.retry_seconds)
                self._failures.ok("election", "outbox: the dispatcher election works again")
                standing_by = False
                await self._lead(session, lead)
            except Exception:
                self._failures.failed(
                    "election", "outbox: the dispatcher election's connection failed; retrying"
                )
            finally:
                if session is not None:
                    await session.close()  # releases the lock, if it is still ours
            await asyncio.sleep(self.retry_seconds)

    async def _lead(self, session: LockSession, lead: Callable[[], Awaitable[None]]) -> None:
        self.leading = True
        self.terms += 1
        log.info(
            "outbox: this process is now the dispatcher",
            extra={"event": "dispatcher_elected", "term": self.terms},
        )
        task = asyncio.ensure_future(lead())
        try:
            while True:
                await asyncio.wait({task}, timeout=self.check_seconds)
                if task.done():
                    if not task.cancelled() and task.exception() is not None:
                        log.error(
                            "outbox: the dispatcher stopped on an error; electing again",
                            exc_info=task.exception(),
                            extra={"event": "dispatcher_failed"},
                        )
                    return
                if not await self._still_holds(session):
                    return
        finally:
            self.leading = False  # before the dispatcher finishes what it has on the wire
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _still_holds(self, session: LockSession) -> bool:
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow the
            # cancellation that arrives as the check finishes, and the term never ends
            async with asyncio.timeout(self.check_timeout):
                held = await session.holds_lock()
        except Exception as exc:  # a timeout, a closed connection, a restarted server
            reason = type(exc).__name__
        else:
            if held:
                return True
            reason = "the lock is no longer held"
        log.error(
            "outbox: lost the dispatcher lock (%s); this process stops sending",
            reason,
            extra={"event": "dispatcher_lost", "reason": reason},
        )
        return False


def database_election(
    url: str,
    name: str = LOCK_NAME,
    retry_seconds: float = RETRY_SECONDS,
    check_seconds: float = CHECK_SECONDS,
) -> Election:
    """The election among the processes sharing the database at ``url`` (on SQLite, an
    election this process always wins)."""
    if is_sqlite(url):
        return Election(None)
    engine: AsyncEngine = make_engine(
        url,
        poolclass=NullPool,
        connect_args={"server_settings": {"application_name": "cchc-bot dispatcher", **KEEPALIVE}},
    )

    async def connect() -> LockSession:
        connection = await engine.connect()
        try:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        except BaseException:
            await connection.close()
            raise
        return PostgresLock(connection, name)

    return Election(
        connect, retry_seconds=retry_seconds, check_seconds=check_seconds, dispose=engine.dispose
    )
