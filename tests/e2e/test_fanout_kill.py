"""The bot killed with SIGKILL in the middle of a fan-out, then restarted: every recipient
gets the reminder, and only the messages in flight at the kill are sent again.

The bot runs as a real subprocess (``python -m bot.app.cli --config CFG run``) against the fake
Bot API server in this process, on real time: the fan-out is started by an admin's
/nhacnho, and the config makes today a holiday so that the start-up tick queues nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from bot.app.config import load_config
from bot.app.runtime import load_data, open_runtime
from db.models import Member, OutboxMessage
from db.session import make_engine, make_sessionmaker
from scheduler.outbox import Limits
from tests.support.fakes.telegram_api import FakeTelegram, SentMessage
from tests.support.harness import ADMIN, VN, write_config
from tests.support.polling import until

RECIPIENTS = 300
FIRST = 800_000
ROOT = Path(__file__).resolve().parents[2]


def is_reminder(message: SentMessage) -> bool:
    return "Nhắc nộp" in message.body


def reminders_per_chat(tg: FakeTelegram) -> Counter[int]:
    return Counter(m.chat_id for m in tg.sent if is_reminder(m))


async def start_bot(config: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as output:  # the child has its own copy of the file
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.app.cli",
            "--config",
            str(config),
            "run",
            cwd=ROOT,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


async def test_sigkill_mid_fan_out_repeats_only_what_was_in_flight(tmp_path: Path) -> None:
    today = datetime.now(VN).date()
    holidays = ", ".join(f'"{today + timedelta(days=d)}"' for d in (-1, 0, 1))
    extra = f"[calendar]\nholidays = [{holidays}]\n\n[delivery]\nmessages_per_second = 100\n"
    log = tmp_path / "bot.log"
    async with FakeTelegram() as tg:
        config_path = write_config(tmp_path, tg, extra)
        config = load_config(config_path)
        runtime = await open_runtime(config, load_data(config))  # migrate, mirror the units
        units = [u.code for u in runtime.ctx.catalogue.org.reporting_units()]
        async with runtime.ctx.sessions.begin() as session:
            await session.execute(
                insert(Member),
                [
                    {
                        "unit_code": units[n % len(units)],
                        "channel": "telegram",
                        "user_id": str(FIRST + n),
                        "chat_id": str(FIRST + n),
                        "display_name": f"Thủ trưởng số {n}",
                        "registered_at": runtime.ctx.now(),
                    }
                    for n in range(RECIPIENTS)
                ],
            )
        await runtime.stop()
        engine = make_engine(config.database_url)
        sessions = make_sessionmaker(engine)

        async def statuses() -> dict[int, str]:
            async with sessions() as session:
                found = await session.execute(select(OutboxMessage.chat_id, OutboxMessage.status))
                return {int(chat): status for chat, status in found.all()}

        tg.delay = 0.05  # a slow server, so that the kill lands in the middle
        first = await start_bot(config_path, log)
        try:

            async def polling() -> bool:
                return any(method == "getUpdates" for method, _ in tg.requests)

            await until(polling, 30, "the bot to poll")
            tg.user_sends(ADMIN, "/nhacnho")
            [queued] = await tg.wait_for(ADMIN, timeout=20)
            assert f"Đã xếp {RECIPIENTS} lời nhắc" in queued.body
            await tg.wait_for(None, count=100, predicate=is_reminder, timeout=30)
        finally:
            first.send_signal(signal.SIGKILL)
            assert await first.wait() == -signal.SIGKILL

        before = reminders_per_chat(tg)
        assert 100 <= sum(before.values()) < RECIPIENTS  # killed mid fan-out
        assert set(before.values()) == {1}
        at_kill = await statuses()
        in_flight = {chat for chat in before if at_kill[chat] != "sent"}
        assert len(in_flight) <= Limits().in_flight  # each worker had at most one on the wire

        second = await start_bot(config_path, log)
        try:

            async def everyone_reached() -> bool:
                return set(reminders_per_chat(tg)) == set(range(FIRST, FIRST + RECIPIENTS)) and (
                    set((await statuses()).values()) == {"sent"}
                )

            await until(everyone_reached, 40, "every recipient to be reached")
        finally:
            second.send_signal(signal.SIGTERM)
            assert await second.wait() == 0, log.read_text(encoding="utf-8")[-3000:]
        await engine.dispose()

    after = reminders_per_chat(tg)
    repeated = {chat for chat, count in after.items() if count > 1}
    assert repeated == in_flight  # exactly the ones in flight at the kill, nothing else
    assert max(after.values()) <= 2
    assert "Traceback" not in log.read_text(encoding="utf-8")
