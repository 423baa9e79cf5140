"""Fan-out benchmark: one reminder to each of N recipients through the outbox.

What runs:

* the bot side: ``--processes`` bot processes (1 by default), spawned, each with the real
  outbox ``Dispatcher`` (scheduler/outbox/) started the way the bot starts it
  (``bot.app.runtime.start_dispatcher``: on PostgreSQL, only the process elected by
  ``scheduler.leader`` sends) and ``TelegramSender`` around the python-telegram-bot ``Bot``
  that ``bot.app.runtime.build_application`` builds from a config file. The database (SQLite,
  or PostgreSQL with ``--database``) is migrated and filled by the bot's own start-up code
  (``open_runtime``); the reminders are queued by the same function as the admin's /remind
  (``enqueue_round_reminders``) for N members spread over the sample district's units. Each
  dispatcher gets the config's ``[delivery]`` limits: ``messages_per_second = --rate``,
  ``per_chat_per_second`` and ``max_attempts`` default. Not the whole bot: no polling or
  webhook, no scheduler tick;
* the fake Bot API server (tests/support/fakes/telegram_api.py) in a child process of its own,
  limiting the bot token to ``--rate`` messages/s overall, whichever process sends
  (``rate_limit(per_second=R)``: a 429 with ``retry_after`` beyond it, kept up for the
  retry_after).

The processes start together (each one ready, then all told to go at once); the time runs
from that moment until no reminder is left pending or in flight. It prints the achieved
rate (recipients / time) as a share of the limit, the 429s the server answered, the
messages lost (a recipient who got nothing) and duplicated (more than one), and per bot
process the messages it sent and its peak memory (``VmHWM``). Goals: >= 90 % of the
limit, 0 429s, 0 lost, 0 duplicated.

    python -m bench.fanout [--recipients 5000] [--rate 300] [--processes N]
                           [--database postgresql+asyncpg://USER:PASSWORD@HOST/DB [--empty-first]]

Several processes need PostgreSQL (one SQLite file is for one bot process). The bench
fills the database with made-up members and reminders, so it wants an empty one; with
``--empty-first`` it empties it (drops the ``public`` schema) before starting.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # python bench/fanout.py: the project's root, not bench/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text

from bench.children import Child, receive, stop
from bot.app.config import load_config
from bot.app.runtime import build_application, load_data, open_runtime, start_dispatcher
from bot.channels.telegram import CHANNEL, TelegramSender
from bot.usecases.settings import Config
from db.models import Member, OutboxMessage
from db.session import is_sqlite, make_engine
from scheduler.reminders import enqueue_round_reminders
from scheduler.rounds import ensure_periodic_round, rules_of
from surveys.messages import Button

TOKEN = "123456:BENCH-TOKEN"
FIRST_CHAT = 10_000_000
POLL_SECONDS = 0.05  # how often the bench looks whether the fan-out is over
WHO = "bench/fanout.py"


@dataclass(frozen=True)
class Delivery:
    """What the fake server saw."""

    per_chat: dict[int, int]
    too_many_requests: int


@dataclass(frozen=True)
class Share:
    """What one bot process did."""

    sent: int  # messages the server accepted from it
    handled: int  # outcomes its dispatcher recorded
    terms: int  # how many times it was the elected dispatcher
    peak_mb: float


# --------------------------------------------------------------------------- fake server


def _serve_fake(conn: Connection, rate: float) -> None:
    asyncio.run(_fake_main(conn, rate))


async def _fake_main(conn: Connection, rate: float) -> None:
    from tests.support.fakes.telegram_api import FakeTelegram

    async with FakeTelegram(token=TOKEN) as tg:
        tg.rate_limit(per_second=rate)
        conn.send((tg.base_url, tg.base_file_url))
        await asyncio.to_thread(conn.recv)  # "report"
        counts = Counter(m.chat_id for m in tg.sent if m.method == "sendMessage")
        conn.send(Delivery(dict(counts), tg.too_many_requests))


# --------------------------------------------------------------------------- bot side


def write_config(folder: Path, base_url: str, file_url: str, rate: float, database: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"""
[telegram]
token = "{TOKEN}"
base_url = "{base_url}"
base_file_url = "{file_url}"
bot_username = "cchc_bench_bot"

[database]
url = "{database}"

[survey]
secret = "a-bench-secret-of-enough-length"

[delivery]
messages_per_second = {rate}
""",
        encoding="utf-8",
    )
    return path


async def empty_database(url: str, empty_first: bool) -> None:
    """Make sure the PostgreSQL database is empty (drop its ``public`` schema when asked)."""
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            if empty_first:
                await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
            tables = await connection.scalar(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            )
    finally:
        await engine.dispose()
    if tables:
        raise SystemExit(
            f"bench/fanout.py: the database has {tables} tables; the bench fills a database "
            "with made-up members and reminders, so give it an empty one (or add "
            "--empty-first to drop everything in it first)"
        )


async def prepare(config: Config, recipients: int) -> int:
    """Migrate the database, add the members and queue one reminder for each."""
    catalogue = load_data(config)
    runtime = await open_runtime(config, catalogue)
    try:
        ctx = runtime.ctx
        units = [u.code for u in catalogue.org.reporting_units()]
        now = datetime.now(UTC)
        async with ctx.sessions.begin() as session:
            await session.execute(
                insert(Member),
                [
                    {
                        "unit_code": units[n % len(units)],
                        "channel": CHANNEL,
                        "user_id": str(FIRST_CHAT + n),
                        "chat_id": str(FIRST_CHAT + n),
                        "display_name": f"Thủ trưởng {n}",
                        "registered_at": now,
                    }
                    for n in range(recipients)
                ],
            )
            cal = config.calendar
            round_ = await ensure_periodic_round(
                session, ctx.today(), rules_of(cal.window_start_day, cal.deadline_day), now
            )
            queued, _ = await enqueue_round_reminders(
                session, catalogue, round_, "bench", ctx.today(), now
            )
        return queued
    finally:
        await runtime.stop()


class CountingSender:
    """Counts the messages the server accepted from this process."""

    def __init__(self, inner: TelegramSender) -> None:
        self.inner = inner
        self.sent = 0

    async def send(self, chat_id: str, text: str, buttons: tuple[tuple[Button, ...], ...]) -> None:
        await self.inner.send(chat_id, text, buttons)
        self.sent += 1


def peak_mb() -> float:
    """This process's peak resident memory: ``VmHWM`` (Linux), else ``ru_maxrss``.

    Not ``ru_maxrss`` alone: Linux carries it over an exec, so a spawned process would
    report its parent's peak when that was higher."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        status = ""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _bot_process(conn: Connection, config_path: Path) -> None:
    asyncio.run(_bot_main(conn, config_path))


async def _bot_main(conn: Connection, config_path: Path) -> None:
    """One bot process: ready, then (on "go") the dispatcher as the bot starts it, until
    "stop"; then it reports its ``Share``."""
    config = load_config(config_path)
    catalogue = load_data(config)
    runtime = await open_runtime(config, catalogue)
    app = build_application(config, catalogue)
    await app.bot.initialize()
    try:
        sender = CountingSender(TelegramSender(app.bot))
        conn.send("ready")
        await asyncio.to_thread(conn.recv)  # "go"
        dispatcher = start_dispatcher(runtime, {CHANNEL: sender})
        await asyncio.to_thread(conn.recv)  # "stop"
        terms = runtime.election.terms if runtime.election is not None else 0
        await runtime.stop_background()
        conn.send(Share(sender.sent, dispatcher.handled, terms, peak_mb()))
    finally:
        await app.bot.shutdown()
        await runtime.stop()


async def left_to_send(url: str, processes: list[Any]) -> float:
    """Wait until no reminder is pending or in flight; returns when that was seen
    (``time.perf_counter``)."""
    engine = make_engine(url)
    o = OutboxMessage
    try:
        while True:
            async with engine.connect() as connection:
                left = await connection.scalar(
                    select(func.count()).select_from(o).where(o.status.in_(("pending", "sending")))
                )
            if not left:
                return time.perf_counter()
            dead = [f"{p.pid} (status {p.exitcode})" for p in processes if not p.is_alive()]
            if dead:
                raise SystemExit(
                    f"{WHO}: bot process(es) {', '.join(dead)} died, {left} reminders left; "
                    "its error is above"
                )
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await engine.dispose()


def report(recipients: int, rate: float, seconds: float, seen: Delivery) -> list[str]:
    reached = sum(1 for n in range(recipients) if seen.per_chat.get(FIRST_CHAT + n, 0) > 0)
    duplicated = sum(count - 1 for count in seen.per_chat.values() if count > 1)
    achieved = recipients / seconds
    return [
        f"recipients        {recipients}",
        f"limit             {rate:g} messages/s (fake server, per bot token, and [delivery])",
        f"time              {seconds:.2f} s",
        f"achieved rate     {achieved:.1f} messages/s = {100 * achieved / rate:.1f} % of the "
        "limit (goal >= 90 %)",
        f"429s received     {seen.too_many_requests} (goal 0)",
        f"lost              {recipients - reached} (goal 0)",
        f"duplicated        {duplicated} (goal 0)",
    ]


def share_lines(shares: list[Share]) -> list[str]:
    lines = []
    for n, share in enumerate(shares, 1):
        role = "the dispatcher" if share.terms else "stood by"
        lines.append(
            f"process {n}         sent {share.sent:>5} ({role}), peak memory "
            f"{share.peak_mb:.0f} MiB"
        )
    return lines


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--recipients", type=int, default=5000, help="members to remind")
    parser.add_argument("--rate", type=float, default=300.0, help="messages per second")
    parser.add_argument("--processes", type=int, default=1, help="bot processes (default 1)")
    parser.add_argument(
        "--database",
        help="a PostgreSQL URL (postgresql+asyncpg://…) of an empty database; "
        "default: a SQLite file in a temporary folder",
    )
    parser.add_argument(
        "--empty-first",
        action="store_true",
        help="drop everything in the --database first (its public schema)",
    )
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    if args.database is not None and is_sqlite(args.database):
        parser.error("--database is for PostgreSQL; leave it out for SQLite")
    if args.processes > 1 and args.database is None:
        parser.error(
            f"--processes {args.processes} needs PostgreSQL: several bot processes share "
            "one database only on a PostgreSQL server (SQLite is for one process); add "
            "--database postgresql+asyncpg://USER:PASSWORD@HOST:5432/DATABASE"
        )
    return args


def run(
    args: argparse.Namespace, folder: Path, base_url: str, file_url: str, server: Child
) -> tuple[list[Share], float]:
    """Prepare the database, run the bot processes; returns (shares, seconds)."""
    url = args.database or f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
    if args.database:
        asyncio.run(empty_database(url, args.empty_first))
    config_path = write_config(folder, base_url, file_url, args.rate, url)
    queued = asyncio.run(prepare(load_config(config_path), args.recipients))
    assert queued == args.recipients, f"queued {queued} of {args.recipients}"

    context = multiprocessing.get_context("spawn")
    pipes = [context.Pipe() for _ in range(args.processes)]
    bots = [
        context.Process(target=_bot_process, args=(theirs, config_path), daemon=True)
        for _, theirs in pipes
    ]
    watched: dict[str, Child] = {"fake server": server}
    watched |= {f"bot process {n}": bot for n, bot in enumerate(bots, 1)}
    try:
        for bot in bots:
            bot.start()
        for ours, _ in pipes:
            assert receive(ours, watched, who=WHO) == "ready"
        started = time.perf_counter()
        for ours, _ in pipes:
            ours.send("go")  # together
        finished = asyncio.run(left_to_send(url, bots))
        for ours, _ in pipes:
            ours.send("stop")
        shares: list[Share] = [receive(ours, watched, who=WHO) for ours, _ in pipes]
    except BaseException:
        stop(list(bots))
        raise
    for bot in bots:
        bot.join(timeout=30)
    stop(list(bots))
    return shares, finished - started


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    server = context.Process(target=_serve_fake, args=(theirs, args.rate), daemon=True)
    server.start()
    watched: dict[str, Child] = {"fake server": server}
    try:
        base_url, file_url = receive(ours, watched, who=WHO)
        with tempfile.TemporaryDirectory(prefix="cchc-bench-") as folder:
            shares, seconds = run(args, Path(folder), base_url, file_url, server)
        ours.send("report")
        seen: Any = receive(ours, watched, who=WHO)
    except BaseException:
        stop([server])
        raise
    server.join(timeout=10)
    stop([server])
    database = "PostgreSQL" if args.database else "SQLite"
    handled = sum(share.handled for share in shares)
    print(
        f"bench/fanout.py — outbox fan-out, {args.processes} bot process"
        f"{'es' if args.processes > 1 else ''} on {database} ({handled} send outcomes recorded)"
    )
    for line in report(args.recipients, args.rate, seconds, seen) + share_lines(shares):
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
