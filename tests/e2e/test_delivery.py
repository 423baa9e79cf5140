"""Delivery end to end: /remind fans out through the real bot to the fake Bot API server,
which answers 429, 5xx, 403, drops connections or is slow. Every due reminder arrives
exactly once (a lost answer is the one documented duplicate), and every outcome is on its
outbox row. The fake clock is moved to make retries due instead of sleeping."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import insert, select

from db import repo
from db.models import Member, OutboxMessage
from scheduler.reminders import enqueue_round_reminders, manual_step
from scheduler.rounds import ensure_periodic_round, rules_of
from tests.support.harness import ADMIN, OTHER_ADMIN, Bot, FakeClock, running_bot, texts

FIRST = 700_000


async def add_members(bot: Bot, count: int) -> list[int]:
    """``count`` registered unit heads, spread over the district's units."""
    units = [u.code for u in bot.catalogue.org.reporting_units()]
    async with bot.runtime.ctx.sessions.begin() as session:
        await session.execute(
            insert(Member),
            [
                {
                    "unit_code": units[n % len(units)],
                    "channel": "telegram",
                    "user_id": str(FIRST + n),
                    "chat_id": str(FIRST + n),
                    "display_name": f"Thủ trưởng số {n}",
                    "registered_at": bot.clock(),
                }
                for n in range(count)
            ],
        )
    return [FIRST + n for n in range(count)]


def is_reminder(message: object) -> bool:
    return "Nhắc nộp" in getattr(message, "body", "")


def reminders_per_chat(bot: Bot) -> Counter[int]:
    return Counter(m.chat_id for m in bot.tg.sent if is_reminder(m))


async def remind(bot: Bot, expected: int) -> None:
    """What an admin's /nhacnho does (its answer would meet the faults set for reminders)."""
    ctx = bot.runtime.ctx
    cal = ctx.config.calendar
    async with ctx.sessions.begin() as session:
        round_ = await ensure_periodic_round(
            session, ctx.today(), rules_of(cal.window_start_day, cal.deadline_day), ctx.now()
        )
        queued, _ = await enqueue_round_reminders(
            session, ctx.catalogue, round_, manual_step(ctx.today()), ctx.today(), ctx.now()
        )
    assert queued == expected
    ctx.notify_outbox()


async def deliver_all(bot: Bot, advance: float = 2.0, timeout: float = 20.0) -> None:
    """Until the outbox is empty: move the fake clock on so that retries come due."""
    dispatcher = bot.runtime.dispatcher
    assert dispatcher is not None
    deadline = time.monotonic() + timeout
    while True:
        async with bot.runtime.ctx.sessions() as session:
            if await repo.pending_count(session) == 0:
                return
        assert time.monotonic() < deadline, "the outbox did not empty"
        bot.clock.advance(seconds=advance)
        dispatcher.wake()
        await asyncio.sleep(0.05)


async def rows(bot: Bot) -> list[OutboxMessage]:
    return await bot.scalars(select(OutboxMessage).order_by(OutboxMessage.id))


async def test_a_429_really_stops_sending_and_each_reminder_arrives_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    # 4 a second: the refusal is surely back before the second send would start.
    async with running_bot(tmp_path, clock, "[delivery]\nmessages_per_second = 4\n") as bot:
        chats = await add_members(bot, 6)
        bot.tg.fail("sendMessage", 429, retry_after=1)  # the first reminder is refused
        started = time.monotonic()
        await remind(bot, 6)
        await bot.tg.wait_for(None, count=5, predicate=is_reminder)
        first = min(m.at for m in bot.tg.sent if is_reminder(m))
        assert first - started >= 0.95  # nobody sent during the retry_after
        await deliver_all(bot)
        assert reminders_per_chat(bot) == Counter(dict.fromkeys(chats, 1))
        [refused] = [r for r in await rows(bot) if r.attempts > 1]
        assert (refused.status, refused.attempts) == ("sent", 2)
        assert refused.last_error == "retry_after: Flood control exceeded. Retry in 0:00:01"
        assert all(r.status == "sent" and r.sent_at is not None for r in await rows(bot))


async def test_a_server_limiting_the_rate_gets_everything_once(bot: Bot) -> None:
    chats = await add_members(bot, 15)
    bot.tg.rate_limit(per_second=6)  # much slower than the bot's 25/s
    await remind(bot, 15)
    await deliver_all(bot, advance=1.0)
    assert bot.tg.too_many_requests >= 1
    assert reminders_per_chat(bot) == Counter(dict.fromkeys(chats, 1))
    retried = [r for r in await rows(bot) if r.attempts > 1]
    assert retried and all(r.last_error and "retry_after" in r.last_error for r in retried)


async def test_server_errors_and_dropped_connections_are_retried(bot: Bot) -> None:
    chats = await add_members(bot, 10)
    bot.tg.fail("sendMessage", 502, times=3)
    bot.tg.reset_connections("sendMessage", times=2)  # not delivered
    await remind(bot, 10)
    await deliver_all(bot)
    assert reminders_per_chat(bot) == Counter(dict.fromkeys(chats, 1))
    outcomes = await rows(bot)
    assert sum(r.attempts for r in outcomes) == 10 + 3 + 2
    errors = sorted((r.last_error or "").lower() for r in outcomes if r.attempts > 1)
    assert all(e.startswith("transient: ") for e in errors)
    assert ["bad gateway" in e for e in errors].count(True) == 3
    assert ["server disconnected" in e for e in errors].count(True) == 2
    assert all(r.status == "sent" for r in outcomes)


async def test_a_message_that_keeps_failing_is_given_up_after_max_attempts(
    tmp_path: Path, clock: FakeClock
) -> None:
    fast_retries = "[delivery]\nmax_attempts = 4\nper_chat_per_second = 20\n"
    async with running_bot(tmp_path, clock, fast_retries) as bot:
        [chat] = await add_members(bot, 1)
        bot.tg.fail("sendMessage", 500, times=50)
        await remind(bot, 1)
        await deliver_all(bot, advance=400.0)  # past the longest backoff each time
        [row] = await rows(bot)
        assert (row.status, row.attempts) == ("failed", 4)
        assert row.last_error == "transient: Internal Server Error" and row.sent_at is None
        assert reminders_per_chat(bot)[chat] == 0
        sends = [p for method, p in bot.tg.requests if method == "sendMessage"]
        assert len(sends) == 4


async def test_a_slow_server_gets_each_reminder_once_and_concurrently(bot: Bot) -> None:
    chats = await add_members(bot, 20)
    bot.tg.delay = 0.3  # every answer is late (but within PTB's timeout)
    await remind(bot, 20)
    await bot.tg.wait_for(None, count=20, predicate=is_reminder)
    assert bot.tg.peak_in_flight > 1  # not one after the other: several on the wire at once
    await deliver_all(bot)
    assert reminders_per_chat(bot) == Counter(dict.fromkeys(chats, 1))
    assert all((r.status, r.attempts) == ("sent", 1) for r in await rows(bot))


async def test_blocked_members_are_unreachable_and_the_admins_told_once(bot: Bot) -> None:
    chats = await add_members(bot, 8)
    blocked = chats[:3]
    for chat in blocked:
        bot.tg.block(chat)
    bot.tg.rate_limit(per_chat_per_second=1)  # Telegram's limit for one chat
    await remind(bot, 8)
    for admin in (ADMIN, OTHER_ADMIN):
        await bot.tg.wait_for(admin, count=3, predicate=lambda m: "chặn bot" in m.body)
    await deliver_all(bot)
    assert reminders_per_chat(bot) == Counter(dict.fromkeys(chats[3:], 1))
    assert bot.tg.too_many_requests == 0  # one message a second to each admin
    units = {u.code: u.name for u in bot.catalogue.org.reporting_units()}
    for admin in (ADMIN, OTHER_ADMIN):
        notices = [m for m in bot.tg.sent_to(admin) if "chặn bot" in m.body]
        assert len(notices) == 3
        for gap in (b.at - a.at for a, b in itertools.pairwise(notices)):
            assert gap >= 0.99
        named = sorted(n.body.split("Không gửi được tin nhắn tới ")[1] for n in notices)
        assert all(name.startswith("Thủ trưởng số ") for name in named)
        assert {units[u] for u in ("VP", "PNV", "PTP")} == {
            n.body.split("(")[1].split(")")[0] for n in notices
        }
    members = {m.user_id: m for m in await bot.scalars(select(Member))}
    assert {u for u, m in members.items() if m.unreachable_at} == {str(c) for c in blocked}
    assert [r.status for r in await rows(bot) if int(r.chat_id) in blocked] == ["unreachable"] * 3

    # The next day /remind leaves them out, and the admins are not told again.
    bot.tg.rate_limit()  # the admin's answer follows the last notice within the second
    bot.clock.advance(days=1)
    assert "Đã xếp 5 lời nhắc" in texts(await bot.say(ADMIN, "/nhacnho"))
    await deliver_all(bot)
    assert reminders_per_chat(bot) == Counter(dict.fromkeys(chats[3:], 2))
    assert len([m for m in bot.tg.sent_to(ADMIN) if "chặn bot" in m.body]) == 3

    # One of them unblocks the bot and writes to it: reachable again, reminded again.
    back = blocked[0]
    bot.tg.unblock(back)
    await bot.say(back, "/help")
    [member] = await bot.scalars(select(Member).where(Member.user_id == str(back)))
    assert member.unreachable_at is None
    bot.clock.advance(days=1)
    assert "Đã xếp 6 lời nhắc" in texts(await bot.say(ADMIN, "/nhacnho"))
    await deliver_all(bot)
    assert reminders_per_chat(bot)[back] == 1


async def test_a_lost_answer_repeats_that_one_message(bot: Bot) -> None:
    chats = await add_members(bot, 6)
    bot.tg.reset_connections("sendMessage", times=1, delivered=True)  # sent, answer lost
    await remind(bot, 6)
    await deliver_all(bot)
    counts = reminders_per_chat(bot)
    assert sorted(counts[c] for c in chats) == [1, 1, 1, 1, 1, 2]  # at least once
    [twice] = [r for r in await rows(bot) if r.attempts == 2]
    assert counts[int(twice.chat_id)] == 2 and twice.status == "sent"
