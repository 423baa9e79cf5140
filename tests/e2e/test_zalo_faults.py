"""The Zalo Bot channel at its edges (issue 17, part 1), end to end against the fake Zalo
Bot API: the bot's own and redelivered updates, a revoked token, quota answers, server
errors on direct replies, and a Zalo that is down when the bot starts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.channels.zalo import ZaloSender
from bot.channels.zalo_api import ZaloApi
from bot.channels.zalo_common import Offers
from bot.usecases.settings import ZaloConfig
from db.models import OutboxMessage, SeenUpdate
from scheduler.outbox import SendError
from surveys import texts as T
from tests.e2e.flows import invite_payload
from tests.e2e.test_zalo import CITIZEN, ZALO_HEAD, body, settle
from tests.support.fakes.telegram_api import FakeTelegram
from tests.support.fakes.zalo_api import FakeZalo
from tests.support.harness import (
    ADMIN,
    Bot,
    FakeClock,
    load_config,
    load_data,
    running_bot,
    write_config,
    zalo_config,
)
from tests.support.polling import until


async def test_the_bots_own_messages_are_dropped_and_a_redelivery_answers_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running_bot(tmp_path, clock, zalo=True) as zbot:
        await settle(zbot)
        zalo = zbot.zalo
        assert zalo is not None
        # Zalo hands the bot its own message back: nothing answers it.
        zalo.bot_echo(CITIZEN, "S-MC-HUYEN")
        first = await zbot.zsay(CITIZEN, "S-MC-HUYEN")
        assert "Câu 1/8" in first[-1].text and len(first) == 1
        assert len(zalo.sent_to(CITIZEN)) == 1  # the echo started no survey

        # "2" redelivered (same message id): it answers question 1 once, and the next
        # digit answers question 2 instead of being eaten by the copy.
        zalo.mark(CITIZEN)
        message_id = zalo.user_sends(CITIZEN, "2")
        zalo.user_sends(CITIZEN, "2", message_id=message_id)
        [second] = await zalo.wait_for(CITIZEN)
        assert "Câu 2/8" in second.text
        third = await zbot.zsay(CITIZEN, "5")
        assert "Câu 3/8" in body(third)
        assert len(zalo.sent_to(CITIZEN)) == 3
        kept = await zbot.scalars(select(SeenUpdate).where(SeenUpdate.channel == "zalo"))
        assert f"message.text.received:{message_id}" in {row.update_key for row in kept}
        assert zbot.runtime.channels["zalo"].seen.dropped == 1  # type: ignore[attr-defined]


async def register_on_zalo(zbot: Bot, user: str, unit: str) -> None:
    payload = await invite_payload(zbot, unit)
    assert "Đăng ký thành công" in body(await zbot.zsay(user, payload))


async def test_a_revoked_token_pauses_zalo_keeps_the_rows_and_tells_admins_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    extra = "paused_retry_seconds = 1\n"
    async with running_bot(tmp_path, clock, zalo=True, zalo_extra=extra) as zbot:
        await settle(zbot)
        zalo = zbot.zalo
        assert zalo is not None
        await register_on_zalo(zbot, ZALO_HEAD, "PTP")
        zalo.revoke()
        zbot.tg.mark(ADMIN)
        await zbot.say(ADMIN, "/nhacnho")
        [notice] = await zbot.tg.wait_for(ADMIN, timeout=15)
        assert "Zalo Bot từ chối khóa truy cập" in notice.body and "giữ lại" in notice.body

        seen: list[OutboxMessage] = []

        async def tried_twice() -> bool:
            rows = await zbot.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id == ZALO_HEAD)
            )
            seen[:] = rows
            return bool(rows) and rows[0].attempts >= 2 and rows[0].status == "pending"

        async def retried() -> bool:  # while revoked: still pending, admins not told again
            clock.advance(seconds=2)
            zbot.runtime.wake_outbox()
            return await tried_twice()

        await until(retried, timeout=30, interval=0.2)
        [row] = seen
        assert row.status == "pending" and row.last_error is not None
        assert row.last_error.startswith("paused: 401")
        await zbot.idle()
        notices = [m for m in zbot.tg.sent_to(ADMIN) if "từ chối khóa" in m.body]
        assert len(notices) == 1

        zalo.restore()  # the token works again: the kept reminder goes out
        zalo.mark(ZALO_HEAD)

        async def sent() -> bool:
            clock.advance(seconds=2)
            zbot.runtime.wake_outbox()
            rows = await zbot.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id == ZALO_HEAD)
            )
            return rows[0].status == "sent"

        await until(sent, timeout=30)
        [reminder] = await zalo.wait_for(ZALO_HEAD)
        assert "Phòng Tư pháp" in reminder.text


async def test_quota_answers_wait_longer_each_time_in_a_row(tmp_path: Path) -> None:
    async with FakeZalo() as zalo, ZaloApi(zalo.token, zalo.base_url) as api:
        from db.session import make_engine, make_sessionmaker

        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
        try:
            offers = Offers(
                "zalo", make_sessionmaker(engine), lambda: datetime.now(UTC), lambda chat: chat
            )
            sender = ZaloSender(api, offers, ZaloConfig(retry_after_seconds=30.0))
            zalo.fail("sendMessage", 429, times=6)
            waits = []
            for _ in range(6):
                with pytest.raises(SendError) as error:
                    await sender.send("u1", "nhắc", ())
                assert error.value.kind == "retry_after"
                waits.append(error.value.retry_after)
            assert waits == [30.0, 60.0, 120.0, 240.0, 480.0, 600.0]
            await sender.send("u1", "nhắc", ())  # a send that passed starts again
            zalo.fail("sendMessage", 429)
            with pytest.raises(SendError) as error:
                await sender.send("u1", "nhắc", ())
            assert error.value.retry_after == 30.0
        finally:
            await engine.dispose()


async def test_direct_replies_ride_out_server_errors_and_a_quota_answer(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running_bot(tmp_path, clock, zalo=True) as zbot:
        await settle(zbot)
        zalo = zbot.zalo
        assert zalo is not None
        zalo.fail("sendMessage", 502, times=1)
        zalo.fail("sendMessage", 429, times=1)
        replies = await zbot.zsay(CITIZEN, "/help")
        assert "Quét mã QR" in body(replies)
        tries = [p for m, p in zalo.requests if m == "sendMessage" and p["chat_id"] == CITIZEN]
        assert len(tries) == 3  # two refused, the third delivered


async def test_a_zalo_outage_at_start_up_holds_up_neither_telegram_nor_the_bot(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with FakeTelegram() as tg, FakeZalo() as zalo:
        zalo.fail("getMe", 503, times=3)
        config = load_config(write_config(tmp_path, tg, zalo_config(zalo)))
        zbot = Bot(tg=tg, config=config, catalogue=load_data(config), clock=clock)
        zbot.zalo = zalo
        zbot.wait_for_zalo = False
        await zbot.start()
        try:
            replies = await zbot.say(ADMIN, "/help")  # Telegram serves while Zalo is down
            assert "/trangthai" in body_tg(replies)
            channel = zbot.runtime.channels["zalo"]
            await until(channel.started.is_set, timeout=30)  # type: ignore[attr-defined]
            answered = await zbot.zsay(CITIZEN, "/help")
            assert "Quét mã QR" in body(answered)
        finally:
            await zbot.stop()
    failed = [r for r in caplog.records if getattr(r, "event", "") == "channel_start_failed"]
    recovered = [r for r in caplog.records if getattr(r, "event", "") == "channel_started"]
    assert len(failed) == 1 and len(recovered) == 1  # once per streak, and its end
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert not any(zalo.token in line for line in ours)  # (httpx's own lines: bot/app/logs.py)
    gets = [m for m, _ in zalo.requests if m == "getMe"]
    assert len(gets) == 4


def body_tg(messages: list[object]) -> str:
    return "\n".join(str(getattr(m, "body", "")) for m in messages)


async def test_seen_updates_are_forgotten_after_their_window(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running_bot(tmp_path, clock, zalo=True) as zbot:
        await settle(zbot)
        seen = zbot.runtime.channels["zalo"].seen  # type: ignore[attr-defined]
        assert await seen.first("message.text.received:old")
        assert not await seen.first("message.text.received:old")
        clock.advance(hours=25)
        seen._next_sweep = None  # the sweep's own interval passed too
        assert await seen.first("message.text.received:new")
        async with zbot.runtime.ctx.sessions() as session:
            keys = set((await session.scalars(select(SeenUpdate.update_key))).all())
            count = await session.scalar(select(func.count()).select_from(SeenUpdate))
        assert "message.text.received:old" not in keys and count == len(keys)
        assert T.CHANNEL_NAMES["zalo"] == "Zalo Bot"
