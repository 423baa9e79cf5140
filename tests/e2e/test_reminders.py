"""Reminders end to end: a fake clock walks through a whole quarter, ticking like the
scheduler, while the real bot delivers through the fake Bot API server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.usecases import tick as tick_module
from bot.usecases.tick import tick
from db import repo
from db.models import OutboxMessage, Round
from db.session import make_engine, make_sessionmaker
from scheduler.reminders import REPORT_BUTTON_DATA
from tests.e2e.flows import register
from tests.support.fakes.telegram_api import SentMessage
from tests.support.harness import ADMIN, OTHER_ADMIN, VN, Bot, FakeClock, running_bot, texts

PNV_HEAD = 501  # reports on 08/12, after the d-7 reminder
PTP_HEAD = 502  # never reports
LATE_HEAD = 503  # registers on 01/12, after the round opened
# The Monday of d-7 and the day after the deadline are holidays in this test's config.
HOLIDAYS = '[calendar]\nholidays = ["2026-12-07", "2026-12-15"]\n'
DENSE = ((7, 45), (10, 0), (16, 45), (20, 0))  # 20:00 is outside working hours
SPARSE = ((10, 0),)  # the quiet weeks between the opening and the deadline


def local(moment: datetime) -> datetime:
    return moment.astimezone(VN).replace(tzinfo=None)


async def settle(bot: Bot, timeout: float = 10.0) -> None:
    """Wake the dispatcher and wait until nothing due is left in the outbox."""
    dispatcher = bot.runtime.dispatcher
    assert dispatcher is not None
    deadline = time.monotonic() + timeout
    while True:
        async with bot.runtime.ctx.sessions() as session:
            if await repo.pending_count(session) == 0:
                return
        assert time.monotonic() < deadline, "the outbox did not empty"
        dispatcher.wake()
        await asyncio.sleep(0.005)


class Journal:
    """What reached each chat, by the (fake, local) time of the tick that queued it."""

    def __init__(self, bot: Bot, chats: Iterable[int]) -> None:
        self.bot = bot
        self.got: dict[int, list[tuple[datetime, SentMessage]]] = {c: [] for c in chats}
        self.seen = {c: len(bot.tg.sent_to(c)) for c in self.got}

    async def tick_at(self, when: datetime) -> None:
        self.bot.clock.set_local(when)
        await tick(self.bot.runtime.ctx)
        await settle(self.bot)
        for chat, items in self.got.items():
            messages = self.bot.tg.sent_to(chat)
            items += [(when, m) for m in messages[self.seen[chat] :]]
            self.seen[chat] = len(messages)

    async def walk(self, first: date, last: date, times: Iterable[tuple[int, int]]) -> None:
        day = first
        while day <= last:
            for hour, minute in times:
                await self.tick_at(datetime(day.year, day.month, day.day, hour, minute))
            day += timedelta(days=1)

    def reminders(self, chat: int, period: str = "") -> list[tuple[datetime, str]]:
        return [(when, m.body) for when, m in self.got[chat] if period in m.body]


@pytest.fixture
async def quarter_bot(tmp_path: Path) -> AsyncIterator[Bot]:
    clock = FakeClock(datetime(2026, 9, 15, 7, 0))  # Q4/2026 opens today (15/09 – 14/12)
    async with running_bot(tmp_path, clock, HOLIDAYS) as running:
        yield running


async def steps_sent(bot: Bot, chat: int) -> list[tuple[str, str | None]]:
    rows = await bot.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.chat_id == str(chat), OutboxMessage.status == "sent")
        .order_by(OutboxMessage.sent_at, OutboxMessage.id)
    )
    keys = {row_id: key for row_id, key in await bot.query(select(Round.id, Round.key))}
    return [(keys[r.round_id], r.step) for r in rows]


def quick_entry(bot: Bot, unit_code: str) -> str:
    unit = bot.catalogue.org.unit(unit_code)
    assert unit is not None
    parts = []
    for indicator in bot.catalogue.indicators.due_from(unit):
        if indicator.kind == "ratio":
            parts.append(f"{indicator.code}=150/200")
        elif indicator.kind == "percent":
            parts.append(f"{indicator.code}=90")
        else:
            parts.append(f"{indicator.code}=5")
    return "/baocao " + " ".join(parts)


async def test_a_quarter_of_reminders_in_working_hours_each_once(quarter_bot: Bot) -> None:
    bot = quarter_bot
    await register(bot, PNV_HEAD, "PNV")
    await register(bot, PTP_HEAD, "PTP")
    journal = Journal(bot, (PNV_HEAD, PTP_HEAD, LATE_HEAD, ADMIN, OTHER_ADMIN))

    await journal.walk(date(2026, 9, 15), date(2026, 9, 16), DENSE)
    await journal.walk(date(2026, 9, 17), date(2026, 11, 30), SPARSE)
    bot.clock.set_local(datetime(2026, 12, 1, 9, 0))
    await register(bot, LATE_HEAD, "TCKH")
    journal.seen[LATE_HEAD] = len(bot.tg.sent_to(LATE_HEAD))  # the registration's talk
    await journal.walk(date(2026, 12, 1), date(2026, 12, 7), DENSE)

    # PNV's head opens the report from the d-7 reminder's button and sends it on 08/12.
    [(when, d7)] = [(w, m) for w, m in journal.got[PNV_HEAD] if "còn 10 ngày" in m.body]
    assert when == datetime(2026, 12, 4, 16, 45)  # Monday 07/12 is a holiday: Friday 16:30
    assert d7.buttons() == [("📝 Nhập báo cáo", REPORT_BUTTON_DATA)]
    bot.clock.set_local(datetime(2026, 12, 8, 9, 0))
    started = await bot.press(PNV_HEAD, d7, "Nhập báo cáo")
    assert "Báo cáo Quý IV/2026 (cả năm) của Phòng Nội vụ" in texts(started)
    await bot.say(PNV_HEAD, "/huy")
    summary = (await bot.say(PNV_HEAD, quick_entry(bot, "PNV")))[-1]
    assert "TÓM TẮT BÁO CÁO" in summary.body
    assert "Đã ghi nhận báo cáo" in texts(await bot.press(PNV_HEAD, summary, "Gửi"))
    journal.seen = {c: len(bot.tg.sent_to(c)) for c in journal.got}  # the report's talk

    await journal.walk(date(2026, 12, 8), date(2026, 12, 20), DENSE)

    q4, q1 = "Quý IV/2026", "Quý I/2027"
    ptp = journal.reminders(PTP_HEAD, q4)
    assert [when for when, _ in ptp] == [
        datetime(2026, 9, 15, 10, 0),  # open (08:00)
        datetime(2026, 12, 4, 16, 45),  # d-7, moved back before the holiday
        datetime(2026, 12, 11, 10, 0),  # d-3 (08:00)
        datetime(2026, 12, 11, 16, 45),  # d-1 falls on a Sunday: Friday 16:30
        datetime(2026, 12, 14, 10, 0),  # d0, the last on-time day
        datetime(2026, 12, 16, 7, 45),  # +1 falls on a holiday: the next morning, 07:30
        datetime(2026, 12, 17, 10, 0),  # +3
    ]
    wording = [body for _, body in ptp]
    assert "còn 90 ngày" in wording[0] and "Phòng Tư pháp" in wording[0]
    assert "còn 10 ngày" in wording[1] and "còn 3 ngày" in wording[2]
    assert "còn 3 ngày" in wording[3] and "hôm nay là ngày cuối" in wording[4]
    assert "đã quá hạn 2 ngày" in wording[5] and "đã quá hạn 3 ngày" in wording[6]
    where, when = "UBND huyện Long Phú (qua Phòng Nội vụ)", "trước ngày 15/12/2026"
    assert all(where in b and when in b for b in wording)  # to whom, by when, as the plan says
    assert await steps_sent(bot, PTP_HEAD) == [
        ("2026-Q4", "open"),
        ("2026-Q4", "d-7"),
        ("2026-Q4", "d-3"),
        ("2026-Q4", "d-1"),
        ("2026-Q4", "d0"),
        ("2026-Q4", "overdue+1"),
        ("2027-Q1", "open"),  # the next quarter opened on 15/12, a holiday too
        ("2026-Q4", "overdue+3"),
    ]
    assert [w for w, _ in journal.reminders(PTP_HEAD, q1)] == [datetime(2026, 12, 16, 7, 45)]

    # The unit that reported hears nothing more about Q4; the late one not of "open".
    assert [w.date() for w, _ in journal.reminders(PNV_HEAD, q4)] == [
        date(2026, 9, 15),
        date(2026, 12, 4),
    ]
    assert len(journal.reminders(PNV_HEAD, q1)) == 1
    assert [w.date() for w, _ in journal.reminders(LATE_HEAD, q4)] == [
        date(2026, 12, 4),
        date(2026, 12, 11),
        date(2026, 12, 11),
        date(2026, 12, 14),
        date(2026, 12, 16),
        date(2026, 12, 17),
    ]

    # Overdue steps also go to the admins, naming the units still missing.
    for admin in (ADMIN, OTHER_ADMIN):
        notices = journal.reminders(admin, q4)
        assert [w for w, _ in notices] == [
            datetime(2026, 12, 16, 7, 45),
            datetime(2026, 12, 17, 10, 0),
        ]
        for _, body in notices:
            missing = len(bot.catalogue.org.reporting_units()) - 1
            assert f"{missing} đơn vị đã quá hạn" in body
            assert "• Phòng Tư pháp" in body and "• Phòng Tài chính - Kế hoạch" in body
            assert "Phòng Nội vụ" not in body

    # Nothing ever arrives outside working hours.
    for items in journal.got.values():
        for when, _ in items:
            assert when.weekday() < 5 and (7, 30) <= (when.hour, when.minute) < (17, 0)


async def test_a_bot_down_for_days_sends_only_the_latest_step_once(quarter_bot: Bot) -> None:
    bot = quarter_bot
    await register(bot, PTP_HEAD, "PTP")
    journal = Journal(bot, (PTP_HEAD, ADMIN))
    await journal.tick_at(datetime(2026, 9, 15, 10, 0))
    assert len(journal.reminders(PTP_HEAD)) == 1  # "open"

    # Down from then until Monday 14/12 07:40 (d-7, d-3 and d-1 were missed). Restarting
    # runs a tick; the missed d-1 is not sent at 07:40 since d0 is due at 08:00 that day.
    bot.clock.set_local(datetime(2026, 12, 14, 7, 40))
    await bot.restart()
    journal.bot = bot
    await journal.tick_at(datetime(2026, 12, 14, 7, 40))
    assert len(journal.reminders(PTP_HEAD)) == 1
    await journal.tick_at(datetime(2026, 12, 14, 8, 5))
    await journal.tick_at(datetime(2026, 12, 14, 8, 5))  # a repeated tick does nothing
    await journal.tick_at(datetime(2026, 12, 14, 16, 0))
    got = journal.reminders(PTP_HEAD)
    assert [w for w, _ in got] == [datetime(2026, 9, 15, 10, 0), datetime(2026, 12, 14, 8, 5)]
    assert "hôm nay là ngày cuối" in got[1][1]

    # Down again until Monday 21/12: +1 and +3 were missed; only +3 goes, to the admins too.
    await journal.tick_at(datetime(2026, 12, 21, 6, 0))  # before working hours: nothing
    await journal.tick_at(datetime(2026, 12, 21, 9, 0))
    q4 = [(w, b) for w, b in journal.reminders(PTP_HEAD, "Quý IV/2026")]
    assert [w for w, _ in q4][2:] == [datetime(2026, 12, 21, 9, 0)]
    assert "đã quá hạn 7 ngày" in q4[2][1]
    assert await steps_sent(bot, PTP_HEAD) == [
        ("2026-Q4", "open"),
        ("2026-Q4", "d0"),
        ("2026-Q4", "overdue+3"),
        ("2027-Q1", "open"),
    ]
    assert [w for w, _ in journal.reminders(ADMIN, "Quý IV/2026")] == [
        datetime(2026, 12, 21, 9, 0)
    ]


async def test_admin_remind_reaches_each_recipient_at_most_once_a_day(bot: Bot) -> None:
    await register(bot, PTP_HEAD, "PTP")
    assert "Đã xếp 1 lời nhắc tới người báo cáo của 1 đơn vị" in texts(
        await bot.say(ADMIN, "/nhacnho")
    )
    await bot.tg.wait_for(PTP_HEAD, predicate=lambda m: "Nhắc nộp" in m.body)
    bot.clock.advance(hours=6)  # 15:00 the same day
    assert "Không có lời nhắc mới" in texts(await bot.say(ADMIN, "/nhacnho"))
    bot.clock.advance(hours=18)  # the next morning
    assert "Đã xếp 1 lời nhắc" in texts(await bot.say(OTHER_ADMIN, "/remind"))
    await bot.tg.wait_for(PTP_HEAD, predicate=lambda m: "Nhắc nộp" in m.body)
    await bot.idle()
    reminders = [m for m in bot.tg.sent_to(PTP_HEAD) if "Nhắc nộp" in m.body]
    assert len(reminders) == 2
    steps = await bot.scalars(select(OutboxMessage.step).where(OutboxMessage.chat_id == "502"))
    assert sorted(steps) == ["manual-20261120", "manual-20261121"]


async def test_no_reminder_in_the_middle_of_a_report(quarter_bot: Bot) -> None:
    bot = quarter_bot
    await register(bot, PTP_HEAD, "PTP")
    bot.clock.set_local(datetime(2026, 9, 15, 7, 50))
    question = (await bot.say(PTP_HEAD, "/baocao"))[-1]
    assert "Chỉ tiêu 1/" in question.body
    journal = Journal(bot, (PTP_HEAD,))
    await journal.tick_at(datetime(2026, 9, 15, 8, 30))  # "open" is due, but they are busy
    assert journal.reminders(PTP_HEAD) == []
    await journal.tick_at(datetime(2026, 9, 15, 10, 30))  # idle for 2 h 40 min: reminded
    [(_, reminder)] = journal.reminders(PTP_HEAD, "Nhắc nộp")
    assert "còn 90 ngày" in reminder
    assert len(journal.reminders(PTP_HEAD, "đang làm dở")) == 1  # and nudged, once


# --------------------------------------------------------------------------- failures


def broken_sessions(tmp_path: Path) -> async_sessionmaker[AsyncSession]:
    missing = tmp_path / "no-such-folder" / "db.sqlite3"
    return make_sessionmaker(make_engine(f"sqlite+aiosqlite:///{missing}"))


async def test_a_failing_tick_is_logged_once_and_catches_up(
    bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await register(bot, PTP_HEAD, "PTP")
    ctx = bot.runtime.ctx
    good = ctx.sessions
    tick_module.failures.streaks.clear()  # whatever an earlier bot in this process left
    caplog.set_level(logging.DEBUG, logger="bot.usecases.tick")
    ctx.sessions = broken_sessions(tmp_path)
    try:
        for _ in range(4):
            assert await tick(ctx) == 0  # never raises
    finally:
        ctx.sessions = good
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "scheduler tick failed" in errors[0].getMessage()
    bot.clock.set_local(datetime(2026, 12, 7, 9, 0))  # d-7
    assert await tick(ctx) == 1
    recovered = [r.getMessage() for r in caplog.records if "works again" in r.getMessage()]
    assert recovered == ["scheduler tick works again (after 4 failures)"]


async def test_one_broken_round_does_not_stop_the_others(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    await register(bot, PTP_HEAD, "PTP")
    ctx = bot.runtime.ctx
    async with ctx.sessions.begin() as session:
        session.add(  # a deadline before its opening day: its reminder plan cannot be made
            Round(
                key="DX-HONG",
                kind="ad_hoc",
                title="Đột xuất: hỏng",
                window_start=date(2026, 12, 1),
                window_end=date(2026, 12, 1),
                deadline=date(2026, 11, 1),
                opened_at=ctx.now(),
            )
        )
    tick_module.failures.streaks.clear()
    caplog.set_level(logging.INFO, logger="bot.usecases.tick")
    bot.clock.set_local(datetime(2026, 12, 7, 9, 0))
    assert await tick(ctx) == 1  # Q4's d-7 still queued
    bot.clock.advance(minutes=5)
    assert await tick(ctx) == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "round=DX-HONG" in errors[0]
    assert tick_module.failures.streaks  # still failing, still quiet
    await settle(bot)
    assert "còn 7 ngày" in bot.tg.last_to(PTP_HEAD).body
