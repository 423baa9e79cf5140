"""Load benchmark: N citizens answer a survey at the same time, through the whole bot.

What runs, each in a process of its own:

* the fake Bot API server (tests/support/fakes/telegram_api.py) with the citizens: each
  citizen opens the land office's survey (``/start s-dkdd-huyen``) and sends its next
  answer as soon as the bot's reply to the previous one arrives (four answers: three
  ratings and a comment),
  so up to N updates wait at once;
* the survey bot: ``python -m bot.app.cli --config CFG run``, the real command, long polling the
  fake server, on a fresh SQLite file;
* then, on the same server in the same run, a bare python-telegram-bot echo bot (one
  ``MessageHandler`` that sends the text back, ``run_polling`` with PTB's defaults), driven
  the same way with the same five messages per citizen: the yardstick of the issue;
* then the same echo bot making its requests as the survey bot does, with aiohttp
  (``bot.channels.telegram_request``): how the survey bot compares with PTB on an equal footing.

It prints, for each: updates handled per second (N × 5 updates / wall time from the first
update queued to the last reply), p50/p95 reply latency (an update queued → its reply
received by the server), the process's peak memory (VmHWM) and CPU time per update (all its
threads, from /proc); the survey bot's rate as a share of each echo bot's (goal >= 0.5 of the
bare one); and the responses counted in the database (goal: all N, each once).

    python -m bench.load [--citizens 1000] [--profile FILE.prof]

All three bots are limited by CPU in one process, so the ratio of rates is roughly the
inverse ratio of CPU times. Where the survey bot's went, and what was done about it (from
py-spy and cProfile of the bot, and an in-process loop calling ``Core.handle``):

* **the HTTP client.** With PTB's default, httpx, a request costs about 1 ms of CPU (the
  bare echo bot: 1.3–1.8 ms an update); with aiohttp, whose HTTP parser is in C, about a
  third of that (the echo bot on aiohttp: 0.5 ms an update). httpcore's pool also checks
  every idle connection on each request, so sending replies to several people at once cost
  more still. The survey bot makes its requests with aiohttp (``BaseRequest``, PTB's
  interface for another HTTP library): from 5–6 to about 2.5 ms an update.
* **aiosqlite's trips to its thread**: three or four per statement under SQLAlchemy (about
  65 µs of CPU each); one now (``db.session.OneTripCursor``).
* **statements**: a survey answer is BEGIN, one SELECT (the member, the conversation and the
  open response together), one UPDATE, COMMIT. The first message checks the respondent's
  history in one query and inserts the response with a plain INSERT … RETURNING; the last
  completes and counts the response with one guarded UPDATE (no savepoint) and adds to the
  day's aggregates with one upsert for every target. Statements are built once: building a
  statement and its cache key costs more than running it. Core.handle went from 4.3 to
  0.85 ms of CPU a message (the first and last messages of a survey from 2.6 and 3.4 ms to
  about 1 and 1.2).
* **group commit** (``db.session.Transactions``) with updates of different people handled at
  once, each person's in order (``bot.channels.telegram.PerPersonUpdates``, 8 at once).

The survey bot went from about 100 to 500 updates/s, from 0.17 to about 0.75 of the bare
echo bot's rate. (Since the Bot API session has ``trust_env=True``, aiohttp looks up the
proxy variables and ~/.netrc on every request, which takes it back to about 0.5: see the
README's Benchmarks.) Against the echo bot on aiohttp it is about 0.3: what is left is the core
(about 0.85 ms) and python-telegram-bot's building and parsing of the rating keyboards.

The machine matters: with 2 CPUs, the fake server takes most of one, so the figures move
with whatever else runs (±20 % between runs on a busy machine).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # python bench/load.py: the project's root, not bench/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.children import Child, receive, stop

TOKEN = "123456:LOAD-TOKEN"
POINT = "s-dkdd-huyen"
ANSWERS = ("4", "5", "3", "Phục vụ tốt")
MARKERS = ("Câu 1/4", "Câu 2/4", "Câu 3/4", "Câu 4/4", "Cảm ơn ông/bà đã góp ý")
SURVEY_FIRST = 20_000_000
ECHO_FIRST = 30_000_000
ECHO_AIOHTTP_FIRST = 40_000_000
ROOT = Path(__file__).resolve().parents[1]
WHO = "bench/load.py"


@dataclass(frozen=True)
class Run:
    """What the server saw of one bot."""

    citizens: int
    updates: int
    seconds: float
    latencies: list[float]
    wrong: int  # replies that were not the expected next message

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def latency(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --------------------------------------------------------------------------- server side


def _serve(conn: Connection) -> None:
    asyncio.run(_server_main(conn))


async def _server_main(conn: Connection) -> None:
    from tests.support.fakes.telegram_api import FakeTelegram, SentMessage

    class Watched(FakeTelegram):
        """The fake server, telling a listener about every message the bot sends."""

        listener: Callable[[SentMessage], None] | None = None

        def _record(self, *args: Any, **kwargs: Any) -> None:
            super()._record(*args, **kwargs)
            if self.listener is not None:
                self.listener(self.sent[-1])

    async with Watched(token=TOKEN, bot_username="cchc_load_bot") as tg:
        conn.send((tg.base_url, tg.base_file_url))
        while True:
            command = await asyncio.to_thread(conn.recv)
            if command[0] == "stop":
                return
            if command[0] == "polling":
                seen = sum(1 for method, _ in tg.requests if method == "getUpdates")
                while sum(1 for method, _ in tg.requests if method == "getUpdates") <= seen:
                    await asyncio.sleep(0.05)
                tg.requests.clear()
                conn.send("polling")
                continue
            _, citizens, first, echo = command
            run = await _citizens(tg, citizens, first, echo)
            tg.sent.clear()
            tg.requests.clear()
            conn.send(run)


async def _citizens(tg: Any, citizens: int, first: int, echo: bool) -> Run:
    """Every citizen sends its first message at once, then each next one on each reply."""
    script = (f"/start {POINT}", *ANSWERS)
    expected = script if echo else MARKERS
    step: dict[int, int] = {}
    queued_at: dict[int, float] = {}
    latencies: list[float] = []
    wrong = 0
    done = asyncio.get_running_loop().create_future()

    def on_sent(message: Any) -> None:
        nonlocal wrong
        user = message.chat_id
        if user not in step:
            return
        now = time.perf_counter()
        latencies.append(now - queued_at[user])
        index = step[user]
        if expected[index] not in (message.text or ""):
            wrong += 1
        if index + 1 == len(script):
            del step[user]
            if not step and not done.done():
                done.set_result(None)
            return
        step[user] = index + 1
        queued_at[user] = now
        tg.user_sends(user, script[index + 1])

    tg.listener = on_sent
    started = time.perf_counter()
    for user in range(first, first + citizens):
        step[user] = 0
        queued_at[user] = time.perf_counter()
        tg.user_sends(user, script[0])
    await asyncio.wait_for(done, timeout=600)
    seconds = time.perf_counter() - started
    tg.listener = None
    return Run(citizens, citizens * len(script), seconds, latencies, wrong)


# --------------------------------------------------------------------------- bots


def write_config(folder: Path, base_url: str, file_url: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"""
[telegram]
token = "{TOKEN}"
base_url = "{base_url}"
base_file_url = "{file_url}"
bot_username = "cchc_load_bot"

[database]
url = "sqlite+aiosqlite:///{folder / "load.sqlite3"}"

[survey]
secret = "a-load-secret-of-enough-length"
""",
        encoding="utf-8",
    )
    return path


def echo_bot(base_url: str, file_url: str, concurrent: int = 1, aiohttp: bool = False) -> None:
    """A bare python-telegram-bot echo bot: the yardstick for the survey bot. PTB's defaults
    (one update at a time) are its fastest: with ``concurrent`` > 1 it is slower. With
    ``aiohttp`` it makes its requests as the survey bot does (bot.channels.telegram_request)."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    from bot.channels.telegram_request import AiohttpRequest

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.text:
            await context.bot.send_message(message.chat_id, message.text)

    builder = ApplicationBuilder().token(TOKEN).base_url(base_url).base_file_url(file_url)
    if concurrent > 1:
        builder = builder.concurrent_updates(concurrent)
    if aiohttp:
        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(1))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(stop_signals=(signal.SIGINT, signal.SIGTERM), close_loop=True)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) the process has used so far (Linux); 0 where
    unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_memory_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM, Linux), in MiB; 0 where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def drive(
    conn: Connection,
    server: Child,
    argv: list[str],
    log: Path,
    citizens: int,
    first: int,
    echo: bool,
) -> Measured:
    """Start a bot process, let the citizens loose on it, stop it. If the bot or the fake
    server exits meanwhile, stop the benchmark with its error (the bot's: its log's tail)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    env["PYTHONUNBUFFERED"] = "1"
    with log.open("ab") as out:
        bot = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    watched: dict[str, Child] = {"fake server": server, "bot": bot}
    try:
        conn.send(("polling",))
        receive(conn, watched, logs={"bot": log}, who=WHO)
        cpu_before = cpu_seconds(bot.pid)
        conn.send(("run", citizens, first, echo))
        run: Run = receive(conn, watched, logs={"bot": log}, who=WHO)
        cpu = cpu_seconds(bot.pid) - cpu_before
        peak = peak_memory_mib(bot.pid)
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(30)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait()
    return Measured(run, peak, cpu)


def counted(database: Path) -> tuple[int, int, int]:
    """(counted responses, distinct respondents among them, respondents in the aggregates)."""
    with sqlite3.connect(database) as db:
        responses, people = db.execute(
            "SELECT count(*), count(DISTINCT respondent) FROM survey_responses"
            " WHERE status = 'counted'"
        ).fetchone()
        (aggregated,) = db.execute(
            "SELECT coalesce(sum(respondents), 0) FROM survey_daily_counts"
        ).fetchone()
    return int(responses), int(people), int(aggregated)


@dataclass
class Measured:
    """One bot's run with what its process used."""

    run: Run
    peak_mib: float
    cpu_seconds: float


def report(
    citizens: int, survey: Measured, echo: Measured, echo_aiohttp: Measured, count: Any
) -> str:
    responses, people, aggregated = count

    def row(name: str, bot: Measured) -> str:
        run = bot.run
        return (
            f"  {name:<17} {run.rate:7.1f} updates/s   p50 {1000 * run.latency(0.5):7.1f} ms"
            f"   p95 {1000 * run.latency(0.95):7.1f} ms   peak memory {bot.peak_mib:4.0f} MiB"
            f"   CPU {1000 * bot.cpu_seconds / run.updates:4.2f} ms/update"
        )

    ratio, same_transport = (survey.run.rate / e.run.rate for e in (echo, echo_aiohttp))
    bots = survey, echo, echo_aiohttp
    wrong = [bot.run.wrong for bot in bots]
    return "\n".join(
        [
            f"bench/load.py — {citizens} citizens, each a survey of 5 messages at once "
            f"({survey.run.updates} updates per bot), fake Bot API server in its own process",
            row("survey bot", survey),
            row("echo bot", echo),
            row("echo bot, aiohttp", echo_aiohttp),
            f"  ratio             {ratio:.2f} (survey bot / bare echo bot; goal >= 0.5)",
            f"                    {same_transport:.2f} (survey bot / echo bot on the survey "
            "bot's aiohttp requests)",
            f"  counted           {responses} responses of {people} citizens, {aggregated} in "
            f"the aggregates (goal {citizens}); unexpected replies: {' / '.join(map(str, wrong))}",
            f"  wall time         {' / '.join(f'{m.run.seconds:.1f} s' for m in bots)}; "
            f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--citizens", type=int, default=1000, help="citizens at once")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the survey bot here")
    parser.add_argument(
        "--bot-module", default="bot.app.cli", help="run this module as the survey bot (profiling)"
    )
    parser.add_argument(
        "--echo-concurrent",
        type=int,
        default=1,
        metavar="N",
        help="let the echo bot handle N updates at once (PTB's concurrent_updates)",
    )
    parser.add_argument("--echo-bot", nargs=2, metavar=("BASE_URL", "FILE_URL"), help="internal")
    parser.add_argument("--echo-aiohttp", action="store_true", help="internal")
    args = parser.parse_args(argv)
    if args.echo_bot:
        base_url, file_url = args.echo_bot
        echo_bot(base_url, file_url, args.echo_concurrent, args.echo_aiohttp)
        return 0

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    server = context.Process(target=_serve, args=(theirs,), daemon=True)
    server.start()
    try:
        base_url, file_url = receive(ours, {"fake server": server}, who=WHO)
        with tempfile.TemporaryDirectory(prefix="cchc-load-") as name:
            folder = Path(name)
            config = write_config(folder, base_url, file_url)
            log = folder / "bots.log"
            survey = drive(
                ours,
                server,
                [
                    sys.executable,
                    *(
                        ["-m", "cProfile", "-o", str(args.profile.resolve())]
                        if args.profile
                        else []
                    ),
                    "-m",
                    args.bot_module,
                    "--config",
                    str(config),
                    "run",
                ],
                log,
                args.citizens,
                SURVEY_FIRST,
                echo=False,
            )
            count = counted(folder / "load.sqlite3")
            echo_argv = [
                sys.executable,
                *("-m", "bench.load", "--echo-bot", base_url, file_url),
                *("--echo-concurrent", str(args.echo_concurrent)),
            ]
            echo = drive(ours, server, echo_argv, log, args.citizens, ECHO_FIRST, echo=True)
            echo_aiohttp = drive(
                ours,
                server,
                [*echo_argv, "--echo-aiohttp"],
                log,
                args.citizens,
                ECHO_AIOHTTP_FIRST,
                echo=True,
            )
            said = log.read_text(encoding="utf-8", errors="replace")
        ours.send(("stop",))
    except BaseException:
        stop([server])
        raise
    server.join(timeout=10)
    stop([server])
    print(report(args.citizens, survey, echo, echo_aiohttp, count))
    problems = [line for line in said.splitlines() if " ERROR " in line or "Traceback" in line]
    for line in problems[:10]:
        print("  log: " + line)
    ok = count[0] == count[1] == count[2] == args.citizens and not survey.run.wrong
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
