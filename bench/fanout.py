"""Fan-out benchmark: one reminder to each of N recipients through the outbox.

What runs:

* the bot side, in this process: the real outbox ``Dispatcher`` (scheduler/outbox.py) with
  ``TelegramSender`` around the python-telegram-bot ``Bot`` that ``bot.runtime.
  build_application`` builds from a config file, on a SQLite database migrated and filled
  by the bot's own start-up code (``open_runtime``). The reminders are queued by the same
  function as the admin's /remind (``enqueue_round_reminders``) for N members spread over
  the sample district's units. The dispatcher gets the config's ``[delivery]`` limits:
  ``messages_per_second = --rate``, ``per_chat_per_second`` and ``max_attempts`` default.
  Not the whole bot: no polling, no scheduler tick;
* the fake Bot API server (tests/fakes/telegram_api.py) in a child process, so that it does
  not share the bot's CPU, limiting to ``--rate`` messages/s overall (``rate_limit(
  per_second=R)``: a 429 with ``retry_after`` beyond it, kept up for the retry_after).

It prints the achieved rate (recipients / wall time from the first claim to the last outcome
recorded) as a share of the limit, the 429s the server answered, the messages lost (a
recipient who got nothing) and duplicated (more than one), and the bot process's peak
memory (``ru_maxrss``). Goals: >= 90 % of the limit, 0 lost, 0 duplicated.

    python -m bench.fanout [--recipients 5000] [--rate 300]

Seam for several sending processes (a later issue adds ``--processes``): ``prepare`` fills
the database once and ``send_all`` is everything one sending process does, given only the
config path; several processes would each run ``send_all`` against the same database and
fake server (and split the rate between them), and ``report`` counts what the server got.
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

from sqlalchemy import insert

from bot.config import Config, load_config
from bot.runtime import build_application, load_data, open_runtime
from bot.telegram_channel import CHANNEL, TelegramSender
from db.models import Member
from scheduler.outbox import Dispatcher, Limits
from scheduler.reminders import enqueue_round_reminders
from scheduler.rounds import ensure_periodic_round, rules_of

TOKEN = "123456:BENCH-TOKEN"
FIRST_CHAT = 10_000_000


@dataclass(frozen=True)
class Delivery:
    """What the fake server saw."""

    per_chat: dict[int, int]
    too_many_requests: int


# --------------------------------------------------------------------------- fake server


def _serve_fake(conn: Connection, rate: float) -> None:
    asyncio.run(_fake_main(conn, rate))


async def _fake_main(conn: Connection, rate: float) -> None:
    from tests.fakes.telegram_api import FakeTelegram

    async with FakeTelegram(token=TOKEN) as tg:
        tg.rate_limit(per_second=rate)
        conn.send((tg.base_url, tg.base_file_url))
        await asyncio.to_thread(conn.recv)  # "report"
        counts = Counter(m.chat_id for m in tg.sent if m.method == "sendMessage")
        conn.send(Delivery(dict(counts), tg.too_many_requests))


# --------------------------------------------------------------------------- bot side


def write_config(folder: Path, base_url: str, file_url: str, rate: float) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"""
[telegram]
token = "{TOKEN}"
base_url = "{base_url}"
base_file_url = "{file_url}"
bot_username = "cchc_bench_bot"

[database]
url = "sqlite+aiosqlite:///{folder / "bench.sqlite3"}"

[survey]
secret = "a-bench-secret-of-enough-length"

[delivery]
messages_per_second = {rate}
""",
        encoding="utf-8",
    )
    return path


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


async def send_all(config_path: Path) -> tuple[int, float]:
    """One sending process: drain the outbox; returns (rows handled, seconds)."""
    config = load_config(config_path)
    catalogue = load_data(config)
    runtime = await open_runtime(config, catalogue)
    app = build_application(config, catalogue)
    await app.bot.initialize()
    try:
        delivery = config.delivery
        dispatcher = Dispatcher(
            runtime.ctx.sessions,
            {CHANNEL: TelegramSender(app.bot)},
            runtime.ctx.now,
            Limits(
                per_second=delivery.messages_per_second,
                per_chat_per_second=delivery.per_chat_per_second,
                max_attempts=delivery.max_attempts,
            ),
        )
        started = time.perf_counter()
        handled = await dispatcher.drain(poll_seconds=0.2)
        return handled, time.perf_counter() - started
    finally:
        await app.bot.shutdown()
        await runtime.stop()


def report(recipients: int, rate: float, seconds: float, seen: Delivery) -> list[str]:
    reached = sum(1 for n in range(recipients) if seen.per_chat.get(FIRST_CHAT + n, 0) > 0)
    duplicated = sum(count - 1 for count in seen.per_chat.values() if count > 1)
    achieved = recipients / seconds
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return [
        f"recipients        {recipients}",
        f"limit             {rate:g} messages/s (fake server and [delivery])",
        f"time              {seconds:.2f} s",
        f"achieved rate     {achieved:.1f} messages/s = {100 * achieved / rate:.1f} % of the "
        "limit (goal >= 90 %)",
        f"429s received     {seen.too_many_requests}",
        f"lost              {recipients - reached} (goal 0)",
        f"duplicated        {duplicated} (goal 0)",
        f"peak memory       {peak_mb:.0f} MiB (bot process, ru_maxrss)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--recipients", type=int, default=5000, help="members to remind")
    parser.add_argument("--rate", type=float, default=300.0, help="messages per second")
    args = parser.parse_args(argv)

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    server = context.Process(target=_serve_fake, args=(theirs, args.rate), daemon=True)
    server.start()
    try:
        base_url, file_url = ours.recv()
        with tempfile.TemporaryDirectory(prefix="cchc-bench-") as folder:
            config_path = write_config(Path(folder), base_url, file_url, args.rate)
            queued = asyncio.run(prepare(load_config(config_path), args.recipients))
            assert queued == args.recipients, f"queued {queued} of {args.recipients}"
            handled, seconds = asyncio.run(send_all(config_path))
        ours.send("report")
        seen: Any = ours.recv()
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    print(f"bench/fanout.py — outbox fan-out ({handled} send outcomes recorded)")
    for line in report(args.recipients, args.rate, seconds, seen):
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
