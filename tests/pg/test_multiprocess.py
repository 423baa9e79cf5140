"""Province scale: several ``cchc-bot run --webhook`` processes on one PostgreSQL database
share one outbox, and exactly one of them (elected: scheduler/leader.py) sends, so the bot
token's rate holds across processes. Reminders to 2,000 recipients are queued at once (by
none of the bots: the elected one finds them at its next poll); every recipient gets exactly
one, without a single 429 from a server that allows a little more than ``[delivery]
messages_per_second``. When the sending process is killed in the middle of the fan-out,
another takes over within seconds and finishes (at least once: only the messages the dead
one had on the wire may arrive twice)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from db import repo
from db.models import OutboxMessage
from db.session import make_engine, make_sessionmaker
from scheduler.leader import RETRY_SECONDS
from scheduler.outbox import Limits
from tests.support.fakes.telegram_api import FakeTelegram
from tests.support.harness import (
    BotProcess,
    database_url,
    free_port,
    start_bot,
    wait_until,
    write_config,
)

RECIPIENTS = 2000
FIRST_CHAT = 50_000_000
CHATS = range(FIRST_CHAT, FIRST_CHAT + RECIPIENTS)
SECRET = "multi-process-secret"


@dataclass
class CountingProxy:
    """Stands between one bot process and the fake Bot API and counts the messages that
    process got accepted, so a test can see that every process did its share."""

    upstream: str
    port: int = 0
    sent: int = 0
    first_at: float | None = None  # time.monotonic() of its first accepted message
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            data=await request.read(),
            headers=headers,
        ) as answer:
            body = await answer.read()
            if answer.status == 200 and request.path.endswith("/sendMessage"):
                self.sent += 1
                if self.first_at is None:
                    self.first_at = time.monotonic()
            return web.Response(body=body, status=answer.status, content_type="application/json")


@dataclass
class Fleet:
    tg: FakeTelegram
    url: str
    processes: list[BotProcess]
    proxies: list[CountingProxy]

    def delivered(self) -> Counter[int]:
        """How many reminders each recipient got."""
        return Counter(
            m.chat_id for m in self.tg.sent if m.method == "sendMessage" and m.chat_id in CHATS
        )

    def senders(self) -> list[int]:
        """The processes (their indexes) that got at least one message accepted."""
        return [n for n, proxy in enumerate(self.proxies) if proxy.sent]

    def no_tracebacks(self) -> None:
        for process in self.processes:
            assert "Traceback" not in process.output(), process.output()


@asynccontextmanager
async def fleet(
    tmp_path: Path, count: int, rate: int, server_rate: int | None = None
) -> AsyncIterator[Fleet]:
    """``count`` bot processes in webhook mode (so none polls), all on the test's PostgreSQL
    database, configured to send at most ``rate`` messages a second, each through its own
    proxy (which counts what that process sent). The fake server answers 429 beyond
    ``server_rate`` messages a second of all the processes together."""
    url = database_url(tmp_path)
    async with FakeTelegram() as tg:
        if server_rate is not None:
            tg.rate_limit(per_second=server_rate)
        proxies = [CountingProxy(f"http://127.0.0.1:{tg.port}") for _ in range(count)]
        processes: list[BotProcess] = []
        try:
            for n, proxy in enumerate(proxies):
                await proxy.start()
                port = free_port()
                extra = (
                    f'[webhook]\nport = {port}\nurl = "http://127.0.0.1:{port}/telegram"\n'
                    f'secret_token = "{SECRET}"\n'
                    f"[delivery]\nmessages_per_second = {rate}\n"
                )
                config = write_config(tmp_path, tg, extra, name=f"config-{n}.toml")
                text = config.read_text(encoding="utf-8").replace(
                    f'base_url = "{tg.base_url}"',
                    f'base_url = "http://127.0.0.1:{proxy.port}/bot"',
                )
                config.write_text(text, encoding="utf-8")
                # Started together: they migrate one empty database at the same moment.
                processes.append(await start_bot(config, tmp_path / f"bot-{n}.log", "--webhook"))
            await wait_until(
                lambda: sum(m == "setWebhook" for m, _ in tg.requests) >= count,
                *processes,
                timeout=180,
            )
            yield Fleet(tg, url, processes, proxies)
        finally:
            for process in processes:
                await process.stop()
            for proxy in proxies:
                await proxy.stop()


async def queue_reminders(url: str) -> int:
    """Queue one reminder to each of 2,000 recipients in one transaction, as a tick does."""
    now = datetime.now(UTC)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            return await repo.enqueue(
                session,
                [
                    {
                        "dedupe_key": f"remind:test:telegram:{chat}:-7",
                        "channel": "telegram",
                        "chat_id": str(chat),
                        "step": "-7",
                        "text": f"Nhắc nộp báo cáo (người nhận {chat})",
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for chat in CHATS
                ],
            )
    finally:
        await engine.dispose()


async def outbox_states(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.dedupe_key.like("remind:test:%"))
                .group_by(OutboxMessage.status)
            )
            return {status: int(n) for status, n in rows.all()}
    finally:
        await engine.dispose()


async def all_sent(url: str, processes: list[BotProcess], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (states := await outbox_states(url)) != {"sent": RECIPIENTS}:
        assert loop.time() < deadline, f"outbox after {timeout}s: {states}"
        for process in processes:
            assert process.proc.returncode is None, process.output()
        await asyncio.sleep(0.5)


async def stop_sender_last(f: Fleet) -> None:
    """Stop every live process, the ones that send last: a leader stopped first would hand
    the lock to another process, which would then be elected as well."""
    senders = set(f.senders())
    order = sorted(range(len(f.processes)), key=lambda n: n in senders)
    for n in order:
        process = f.processes[n]
        if process.proc.returncode is None:
            assert await process.stop() == 0, process.output()


@pytest.mark.parametrize("count", [2, 3])
async def test_one_elected_process_sends_2000_reminders_exactly_once_within_the_rate(
    tmp_path: Path, count: int
) -> None:
    # Each process would send at 200/s: two or three of them would run into the server's
    # 250/s at once; one elected dispatcher never does.
    async with fleet(tmp_path, count=count, rate=200, server_rate=250) as f:
        assert await queue_reminders(f.url) == RECIPIENTS
        queued_at = time.monotonic()  # committed; no bot was told
        assert await queue_reminders(f.url) == 0  # a second tick queues nothing

        await wait_until(lambda: len(f.delivered()) == RECIPIENTS, *f.processes, timeout=120)
        await all_sent(f.url, f.processes, timeout=30)
        await stop_sender_last(f)  # stopped: nothing more can be sent, the counts are final

        delivered = f.delivered()
        assert set(delivered) == set(CHATS)
        assert [chat for chat, n in delivered.items() if n != 1] == []
        assert f.tg.too_many_requests == 0
        [sender] = f.senders()  # exactly one process sent, all of it
        assert f.proxies[sender].sent == RECIPIENTS
        first_at = f.proxies[sender].first_at
        # found by its 1-second poll of the table (nobody told it): seconds, not a long wait
        assert first_at is not None and first_at - queued_at < 15.0
        elected = [p.output().count("event=dispatcher_elected") for p in f.processes]
        assert elected == [int(n == sender) for n in range(count)]
        f.no_tracebacks()


async def test_killing_the_sending_process_mid_fan_out_hands_over_and_loses_nothing(
    tmp_path: Path,
) -> None:
    async with fleet(tmp_path, count=3, rate=100, server_rate=250) as f:
        assert await queue_reminders(f.url) == RECIPIENTS
        await wait_until(lambda: len(f.delivered()) >= 300, *f.processes, timeout=120)
        [leader] = f.senders()
        victim = f.processes[leader]
        survivors = [p for n, p in enumerate(f.processes) if n != leader]
        victim.proc.kill()  # SIGKILL: no clean shutdown, its claimed rows stay leased
        await victim.proc.wait()
        killed_at = time.monotonic()
        sent_before_kill = len(f.delivered())
        assert sent_before_kill < RECIPIENTS  # it really died mid-way

        await wait_until(lambda: len(f.senders()) == 2, *survivors, timeout=30)
        [successor] = [n for n in f.senders() if n != leader]
        first_at = f.proxies[successor].first_at
        assert first_at is not None
        failover = first_at - killed_at
        # its next tries of the lock, and a claim: seconds, not the lease's expiry
        assert failover < RETRY_SECONDS + 15.0, failover

        await wait_until(lambda: len(f.delivered()) == RECIPIENTS, *survivors, timeout=180)
        await all_sent(f.url, survivors, timeout=60)
        await stop_sender_last(f)  # stopped: nothing more can be sent, the counts are final

        delivered = f.delivered()
        assert set(delivered) == set(CHATS)  # nobody lost
        twice = [chat for chat, n in delivered.items() if n > 1]
        # At least once: only what the killed process had on the wire can come again.
        assert len(twice) <= Limits().in_flight, twice
        assert all(n <= 2 for n in delivered.values())
        assert len(f.senders()) == 2  # the third process never sent: one dispatcher at a time
        assert f.tg.too_many_requests == 0
        for process in survivors:
            assert "Traceback" not in process.output(), process.output()
