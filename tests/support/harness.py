"""End-to-end harness: the real Application built by the project's start-up code from a
config file, talking HTTP to the fake Bot API server, with an injectable clock."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url
from telegram.ext import Application

from bot.app.config import load_config
from bot.app.runtime import Runtime, build_application, load_data
from bot.usecases.settings import Config
from surveys.catalogue import Catalogue
from tests.support.fakes.telegram_api import FakeTelegram, SentMessage
from tests.support.fakes.zalo_api import FakeZalo, ZaloSent
from tests.support.polling import until

VN = ZoneInfo("Asia/Ho_Chi_Minh")
DATA = Path(__file__).parents[2] / "bot" / "data"
ADMIN = 9001
OTHER_ADMIN = 9002
ZALO_ADMIN = "za-admin-1"  # a Zalo user id in [zalo] admins when a test runs Zalo too


class FakeClock:
    """A clock tests move by hand; it always returns tz-aware UTC."""

    def __init__(self, local: datetime) -> None:
        self.moment = local.replace(tzinfo=VN).astimezone(UTC) if local.tzinfo is None else local

    def __call__(self) -> datetime:
        return self.moment

    def set_local(self, local: datetime) -> None:
        self.moment = local.replace(tzinfo=VN).astimezone(UTC)

    def advance(self, **kwargs: float) -> None:
        self.moment += timedelta(**kwargs)


# ------------------------------------------------------------------ the test database

TEST_DATABASE_ENV = "CCHC_TEST_DATABASE_URL"


def postgres_test_url() -> str | None:
    """The PostgreSQL database the tests use instead of SQLite files (``CCHC_TEST_DATABASE_URL``,
    e.g. ``postgresql+asyncpg://cchc:cchc@127.0.0.1:5432/cchc_test``), or None."""
    url = os.environ.get(TEST_DATABASE_ENV, "").strip()
    if not url:
        return None
    if not url.startswith("postgresql+asyncpg://"):
        raise RuntimeError(f"{TEST_DATABASE_ENV} must be a postgresql+asyncpg:// URL, not {url!r}")
    return url


class _TestDatabase:
    """Which database the current test has been given (reset by the autouse fixture)."""

    owner: tuple[Path, str] | None = None


def new_test() -> None:
    """Forget the previous test's database: the next ``database_url`` call gives a fresh one."""
    _TestDatabase.owner = None


async def _empty_postgres(url: str) -> None:
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        # Connections a previous test left open (a pooled engine, a killed process) would
        # hold locks that DROP SCHEMA waits for.
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND usename = current_user"  # others' sessions are not ours to end
        )
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        await connection.execute("CREATE SCHEMA public")
    finally:
        await connection.close()


def empty_postgres(url: str) -> None:
    """Drop every table, sequence and index of the PostgreSQL test database.

    Runs on a thread of its own, so it can be called from inside a running event loop."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            asyncio.run(_empty_postgres(url))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def database_url(tmp: Path, name: str = "bot") -> str:
    """The database URL a test uses: the SQLite file ``tmp/<name>.sqlite3``, or, when
    ``CCHC_TEST_DATABASE_URL`` is set, that PostgreSQL database, emptied at the test's first
    call. A test gets one PostgreSQL database: asking for a second one is an error."""
    url = postgres_test_url()
    if url is None:
        return f"sqlite+aiosqlite:///{tmp / f'{name}.sqlite3'}"
    key = (tmp, name)
    if _TestDatabase.owner is None:
        empty_postgres(url)
        _TestDatabase.owner = key
    elif _TestDatabase.owner != key:
        raise RuntimeError(
            f"a test gets one PostgreSQL database; {_TestDatabase.owner} has it, not {key}"
        )
    return url


# ------------------------------------------------------------------ bot processes


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a webhook server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    """A ``cchc-bot run`` subprocess; its stdout and stderr go to ``log``."""

    proc: asyncio.subprocess.Process
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def stop(self) -> int:
        """SIGTERM (SIGKILL after 30 s); the exit status."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return int(self.proc.returncode or 0)


async def start_bot(config: Path, log: Path, *args: str) -> BotProcess:
    """``cchc-bot --config CONFIG run ARGS`` in the background, its output going to ``log``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.app.cli",
            "--config",
            str(config),
            "run",
            *args,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=config.parent,
        )
    return BotProcess(proc, log)


async def wait_until(
    condition: Callable[[], bool], *processes: BotProcess, timeout: float = 60.0
) -> None:
    """Wait for ``condition()`` while the processes live (their output is in the failure)."""

    def alive() -> None:
        for process in processes:
            if process.proc.returncode is not None:
                raise AssertionError(f"a bot exited early:\n{process.output()}")

    def said() -> str:
        return "the bots said:\n" + "\n".join(p.output()[-3000:] for p in processes)

    await until(condition, timeout, "the bots", interval=0.05, check=alive, details=said)


def write_config(tmp: Path, tg: FakeTelegram, extra: str = "", name: str = "config.toml") -> Path:
    path = tmp / name
    path.write_text(
        f"""
[telegram]
token = "{tg.token}"
base_url = "{tg.base_url}"
base_file_url = "{tg.base_file_url}"

[database]
url = "{database_url(tmp)}"

[access]
admins = [{ADMIN}, {OTHER_ADMIN}]

[survey]
secret = "a-test-secret-of-enough-length"
{extra}
""",
        encoding="utf-8",
    )
    return path


@dataclass
class Bot:
    tg: FakeTelegram
    config: Config
    catalogue: Catalogue
    clock: FakeClock
    app: Application | None = None  # type: ignore[type-arg]
    seen: dict[int, int] = field(default_factory=dict)
    zalo: FakeZalo | None = None  # the fake Zalo Bot API, when the test runs Zalo too
    zseen: dict[str, int] = field(default_factory=dict)
    wait_for_zalo: bool = True  # start() returns once the Zalo channel has started

    @property
    def runtime(self) -> Runtime:
        assert self.app is not None
        runtime: Runtime = self.app.bot_data["runtime"]
        return runtime

    async def start(self) -> None:
        app = build_application(self.config, self.catalogue, self.clock)
        # The same steps as Application.run_polling, inside the test's event loop.
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        self.app = app
        zalo = self.runtime.channels.get("zalo")
        started = getattr(zalo, "started", None)
        if self.wait_for_zalo and isinstance(started, asyncio.Event):
            await asyncio.wait_for(started.wait(), 30)  # Zalo starts in the background
        await self.startup_tick_done()

    async def startup_tick_done(self) -> None:
        """Until the tick the scheduler runs as the bot starts has ended. A test's own tick
        meanwhile would do nothing on PostgreSQL (the start-up tick holds the tick lock),
        and the start-up tick reads the clock the test may already have moved on."""
        scheduler = self.runtime.scheduler
        assert scheduler is not None
        executor = scheduler._lookup_executor("default")
        began = datetime.now(UTC)

        def done() -> bool:
            job = scheduler.get_job("tick")
            return (
                job is not None
                and job.next_run_time > began  # the first run was submitted
                and executor._instances[job.id] == 0  # and has ended
            )

        await until(done, what="the start-up tick")

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        assert app.updater is not None
        await app.updater.stop()
        await app.stop()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await app.shutdown()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def idle(self) -> None:
        await self.tg.wait_idle(quiet=0.15)
        if self.zalo is not None:
            await self.zalo.wait_idle(quiet=0.15)

    def znew_to(self, chat_id: str) -> list[ZaloSent]:
        assert self.zalo is not None
        messages = self.zalo.sent_to(chat_id)
        start = self.zseen.get(chat_id, 0)
        self.zseen[chat_id] = len(messages)
        return messages[start:]

    async def zsay(
        self, user_id: str, text: str, *, silent: bool = False, name: str = "Người dùng Zalo"
    ) -> list[ZaloSent]:
        """Send on Zalo as ``user_id`` and return what the bot answered in that chat."""
        assert self.zalo is not None
        self.znew_to(user_id)
        self.zalo.mark(user_id)
        self.zalo.user_sends(user_id, text, display_name=name)
        if not silent:
            await self.zalo.wait_for(user_id)
        await self.idle()
        return self.znew_to(user_id)

    def new_to(self, chat_id: int) -> list[SentMessage]:
        messages = self.tg.sent_to(chat_id)
        start = self.seen.get(chat_id, 0)
        self.seen[chat_id] = len(messages)
        return messages[start:]

    async def say(
        self, user_id: int, text: str, *, silent: bool = False, **kwargs: Any
    ) -> list[SentMessage]:
        """Send as ``user_id`` and return what the bot answered in that chat (at least one
        message unless ``silent``: the bot answers everything said to it in private)."""
        chat = kwargs.get("chat_id", user_id)
        self.new_to(chat)
        self.tg.mark(chat)
        self.tg.user_sends(user_id, text, **kwargs)
        if not silent:
            await self.tg.wait_for(chat)
        await self.idle()
        return self.new_to(chat)

    async def press(self, user_id: int, message: SentMessage, label: str) -> list[SentMessage]:
        """Press the button whose label contains ``label``."""
        matches = [d for lbl, d in message.buttons() if label in lbl]
        assert matches, f"no button {label!r} in {message.buttons()}"
        return await self.press_data(user_id, message, matches[0])

    async def press_data(
        self, user_id: int, message: SentMessage, data: str, strict: bool = True
    ) -> list[SentMessage]:
        self.new_to(message.chat_id)
        self.tg.mark(message.chat_id)
        self.tg.user_presses(user_id, message, data, strict=strict)
        await self.tg.wait_for(
            message.chat_id,
            predicate=lambda m: m.method in ("sendMessage", "sendPhoto", "sendDocument"),
        )
        await self.idle()
        return [m for m in self.new_to(message.chat_id) if m.method != "editMessageReplyMarkup"]

    async def query(self, statement: Any) -> list[Any]:
        async with self.runtime.ctx.sessions() as session:
            return list((await session.execute(statement)).all())

    async def scalars(self, statement: Any) -> list[Any]:
        async with self.runtime.ctx.sessions() as session:
            return list((await session.scalars(statement)).all())


def zalo_config(zalo: FakeZalo, extra: str = "") -> str:
    """A ``[zalo]`` table that points the bot at the fake Zalo Bot API (``extra``: more keys
    of that table)."""
    return (
        "[zalo]\n"
        "enabled = true\n"
        f'token = "{zalo.token}"\n'
        f'base_url = "{zalo.base_url}"\n'
        f'admins = ["{ZALO_ADMIN}"]\n'
        "poll_timeout = 1\n"
    ) + extra


@dataclass(frozen=True)
class Sample:
    """A shipped data set the end-to-end scenarios run on, and the codes they use in it."""

    name: str
    directory: Path | None  # None: the config's default, Long Phú 2022
    unit: str  # a reporting unit whose head registers and reports
    point: str  # a one-stop counter (questionnaire tthc)

    def org_config(self) -> str:
        """The ``[org]`` table that points the bot at the sample's files."""
        if self.directory is None:
            return ""
        d = self.directory
        return (
            f'[org]\nunits = "{d / "units.toml"}"\nindicators = "{d / "indicators.toml"}"\n'
            f'points = "{d / "points.toml"}"\nquestionnaires = "{DATA / "questionnaires"}"\n'
        )


# Long Phú district as in the 2022 plan; a commune of Cần Thơ after 1 July 2025.
LONGPHU = Sample("longphu", None, "PNV", "mc-huyen")
XA_LONG_PHU = Sample("xa-long-phu", DATA / "xa-long-phu", "TTHCC", "tthcc-long-phu")
SAMPLES = (LONGPHU, XA_LONG_PHU)


@asynccontextmanager
async def running_bot(
    tmp: Path,
    clock: FakeClock,
    extra_config: str = "",
    zalo: bool = False,
    zalo_extra: str = "",
    sample: Sample = LONGPHU,
) -> AsyncIterator[Bot]:
    """The bot on the fake Telegram (and, with ``zalo``, on the fake Zalo Bot API too;
    ``zalo_extra``: more keys of its ``[zalo]`` table), with the data files of ``sample``."""
    async with FakeTelegram() as tg, FakeZalo() as fake_zalo:
        extra = extra_config + ("\n" + zalo_config(fake_zalo, zalo_extra) if zalo else "")
        extra += "\n" + sample.org_config()
        config = load_config(write_config(tmp, tg, extra))
        bot = Bot(tg=tg, config=config, catalogue=load_data(config), clock=clock)
        bot.zalo = fake_zalo if zalo else None
        await bot.start()
        try:
            yield bot
        finally:
            await bot.stop()


def texts(messages: list[SentMessage]) -> str:
    return "\n".join(m.text or m.caption or "" for m in messages)
