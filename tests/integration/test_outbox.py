"""The outbox dispatcher with a fake Sender: rates, retries, leases, outcomes on the rows."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import repo
from db.migrate import upgrade
from db.models import Member, OutboxMessage, Round, Submission, Unit
from db.session import make_engine, make_sessionmaker
from scheduler.outbox import Dispatcher, Limits, RateLimiter, SendError
from surveys.messages import Button
from tests.support.harness import FakeClock
from tests.support.polling import until

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 09:00 in Long Phú
ADMINS = (("fake", "9001"), ("fake", "9002"))
FAST = Limits(per_second=1000, per_chat_per_second=1000, backoff_base=1.0, lease_seconds=10)

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class FakeSender:
    """Records sends (with loop time); ``script[chat]`` lists what the next sends to that
    chat do (an exception to raise, or None for ok); ``delay`` makes each send take time."""

    delay: float = 0.0
    script: dict[str, list[SendError | None]] = field(default_factory=dict)
    sent: list[tuple[str, str, float]] = field(default_factory=list)
    calls: list[tuple[str, float]] = field(default_factory=list)
    buttons: dict[str, tuple[tuple[Button, ...], ...]] = field(default_factory=dict)
    concurrent: int = 0
    peak: int = 0

    async def send(self, chat_id: str, text: str, buttons: tuple[tuple[Button, ...], ...]) -> None:
        loop = asyncio.get_running_loop()
        self.calls.append((chat_id, loop.time()))
        self.concurrent += 1
        self.peak = max(self.peak, self.concurrent)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            planned = self.script.get(chat_id)
            if planned:
                error = planned.pop(0)
                if error is not None:
                    raise error
            self.sent.append((chat_id, text, loop.time()))
            self.buttons[chat_id] = buttons
        finally:
            self.concurrent -= 1

    def count(self, chat_id: str) -> int:
        return sum(1 for chat, _, _ in self.sent if chat == chat_id)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'outbox.sqlite3'}")
    await upgrade(engine)
    made = make_sessionmaker(engine)
    async with made.begin() as session:
        for code, name in (("PNV", "Phòng Nội vụ"), ("PTP", "Phòng Tư pháp")):
            session.add(Unit(code=code, name=name, kind="phong_ban", reports=True, active=True))
    yield made
    await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def dispatcher(
    sessions: Sessions, clock: FakeClock, sender: FakeSender, limits: Limits = FAST
) -> Dispatcher:
    return Dispatcher(
        sessions,
        {"fake": sender},
        clock,
        limits,
        admin_chats=lambda: ADMINS,
        jitter=lambda: 1.0,  # the longest backoff: deterministic
    )


async def queue(
    sessions: Sessions, clock: FakeClock, chats: Iterable[str], **extra: Any
) -> list[int]:
    rows = [
        {
            "dedupe_key": f"test:{n}:{chat}:{extra.get('step', '')}",
            "channel": "fake",
            "chat_id": chat,
            "text": f"tin {n} cho {chat}",
            "buttons": [[{"label": "📝 Nhập báo cáo", "data": "go:report"}]],
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": clock(),
            "created_at": clock(),
            **extra,
        }
        for n, chat in enumerate(chats)
    ]
    async with sessions.begin() as session:
        await repo.enqueue(session, rows)
        keys = [r["dedupe_key"] for r in rows]
        found = await session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key.in_(keys))
        )
        return sorted(found.all())


async def rows(sessions: Sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def row(sessions: Sessions, row_id: int) -> OutboxMessage:
    async with sessions() as session:
        found = await session.get(OutboxMessage, row_id)
        assert found is not None
        return found


async def add_member(sessions: Sessions, clock: FakeClock, user: str, unit: str) -> int:
    async with sessions.begin() as session:
        member = Member(
            unit_code=unit,
            channel="fake",
            user_id=user,
            chat_id=user,
            display_name=f"Thủ trưởng {user}",
            registered_at=clock(),
        )
        session.add(member)
        await session.flush()
        return member.id


async def add_round(sessions: Sessions, clock: FakeClock) -> int:
    async with sessions.begin() as session:
        round_ = Round(
            key="2026-Q4",
            kind="quarter",
            title="Quý IV/2026",
            window_start=date(2026, 9, 15),
            window_end=date(2026, 12, 14),
            deadline=date(2026, 12, 14),
            opened_at=clock(),
        )
        session.add(round_)
        await session.flush()
        return round_.id


# --------------------------------------------------------------------------- delivery


async def test_every_due_row_is_sent_once_and_recorded(
    sessions: Sessions, clock: FakeClock
) -> None:
    chats = [str(1000 + n) for n in range(60)]
    await queue(sessions, clock, chats)
    sender = FakeSender()
    assert await dispatcher(sessions, clock, sender).drain() == 60
    assert sorted(chat for chat, _, _ in sender.sent) == sorted(chats)
    assert sender.buttons["1000"] == ((Button("📝 Nhập báo cáo", "go:report"),),)
    for r in await rows(sessions):
        assert (r.status, r.attempts, r.sent_at, r.claimed_until) == ("sent", 1, clock(), None)
    assert await dispatcher(sessions, clock, sender).drain() == 0  # nothing twice
    assert len(sender.sent) == 60


async def test_concurrency_is_bounded_by_in_flight(sessions: Sessions, clock: FakeClock) -> None:
    await queue(sessions, clock, [str(n) for n in range(40)])
    sender = FakeSender(delay=0.02)
    limits = Limits(per_second=1000, per_chat_per_second=1000, in_flight=4)
    await dispatcher(sessions, clock, sender, limits).drain()
    assert sender.peak == 4  # used, and never more
    assert len(sender.sent) == 40


async def test_one_chat_gets_one_message_per_interval_without_holding_up_others(
    sessions: Sessions, clock: FakeClock
) -> None:
    await queue(sessions, clock, ["admin"] * 1 + [str(n) for n in range(20)])
    await queue(sessions, clock, ["admin", "admin", "admin"], step="more")
    sender = FakeSender()
    limits = Limits(per_second=1000, per_chat_per_second=4)  # 0.25 s between two to a chat
    await dispatcher(sessions, clock, sender, limits).drain()
    to_admin = [at for chat, _, at in sender.sent if chat == "admin"]
    others = [at for chat, _, at in sender.sent if chat != "admin"]
    assert len(to_admin) == 4 and len(others) == 20
    gaps = [b - a for a, b in itertools.pairwise(to_admin)]
    assert min(gaps) >= 0.249
    assert max(others) < to_admin[1]  # nobody waited for the admin's chat


async def test_transient_errors_back_off_exponentially_and_keep_the_error(
    sessions: Sessions, clock: FakeClock
) -> None:
    [row_id] = await queue(sessions, clock, ["42"])
    sender = FakeSender(script={"42": [SendError("transient", "Bad Gateway")] * 2})
    d = dispatcher(sessions, clock, sender)
    await d.drain()
    first = await row(sessions, row_id)
    assert (first.status, first.attempts) == ("pending", 1)
    assert first.next_attempt_at == clock() + timedelta(seconds=1)  # base, full jitter
    assert first.last_error == "transient: Bad Gateway"
    clock.advance(seconds=0.5)
    assert await d.drain() == 0  # not due yet
    clock.advance(seconds=0.5)
    await d.drain()
    second = await row(sessions, row_id)
    assert (second.status, second.attempts) == ("pending", 2)
    assert second.next_attempt_at == clock() + timedelta(seconds=2)  # doubled
    clock.advance(seconds=2)
    await d.drain()
    done = await row(sessions, row_id)
    assert (done.status, done.attempts, done.sent_at) == ("sent", 3, clock())
    assert done.last_error == "transient: Bad Gateway"  # how it went is kept
    assert sender.count("42") == 1


async def test_jitter_spreads_retries_between_half_and_all_of_the_backoff(
    sessions: Sessions, clock: FakeClock
) -> None:
    ids = await queue(sessions, clock, ["1", "2"])
    sender = FakeSender(script={c: [SendError("transient", "timed out")] for c in ("1", "2")})
    draws = iter([0.0, 1.0])
    d = Dispatcher(sessions, {"fake": sender}, clock, FAST, jitter=lambda: next(draws))
    await d.drain()
    waits = sorted([(await row(sessions, i)).next_attempt_at - clock() for i in ids])
    assert waits == [timedelta(seconds=0.5), timedelta(seconds=1)]


async def test_gives_up_after_max_attempts(sessions: Sessions, clock: FakeClock) -> None:
    [row_id] = await queue(sessions, clock, ["42"])
    sender = FakeSender(script={"42": [SendError("transient", "Internal Server Error")] * 10})
    limits = Limits(per_second=1000, per_chat_per_second=1000, max_attempts=4, backoff_cap=3)
    d = dispatcher(sessions, clock, sender, limits)
    for _ in range(10):
        await d.drain()
        clock.advance(seconds=3)  # the cap: every retry is due
    failed = await row(sessions, row_id)
    assert (failed.status, failed.attempts) == ("failed", 4)
    assert len(sender.calls) == 4 and sender.sent == []


async def test_a_permanent_error_fails_at_once(sessions: Sessions, clock: FakeClock) -> None:
    [row_id] = await queue(sessions, clock, ["42"])
    sender = FakeSender(script={"42": [SendError("permanent", "Message is too long")]})
    await dispatcher(sessions, clock, sender).drain()
    failed = await row(sessions, row_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == "permanent: Message is too long"


async def test_retry_after_really_pauses_everyone_and_puts_the_row_back(
    sessions: Sessions, clock: FakeClock
) -> None:
    [first, *_] = await queue(sessions, clock, ["1", "2", "3", "4"])
    sender = FakeSender(script={"1": [SendError("retry_after", "Too Many Requests", 0.3)]})
    limits = Limits(per_second=1000, per_chat_per_second=1000, in_flight=1)
    d = dispatcher(sessions, clock, sender, limits)
    await d.drain()
    [(_, refused_at)] = [c for c in sender.calls if c[0] == "1"]
    assert sorted(chat for chat, _, _ in sender.sent) == ["2", "3", "4"]
    assert min(at for _, _, at in sender.sent) - refused_at >= 0.29  # really waited
    waiting = await row(sessions, first)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.next_attempt_at == clock() + timedelta(seconds=0.3)
    assert waiting.last_error is not None and waiting.last_error.startswith("retry_after")
    clock.advance(seconds=0.3)
    await d.drain()
    assert (await row(sessions, first)).status == "sent"
    assert [sender.count(c) for c in "1234"] == [1, 1, 1, 1]


async def test_a_blocked_member_is_unreachable_and_the_admins_are_told_once(
    sessions: Sessions, clock: FakeClock
) -> None:
    member = await add_member(sessions, clock, "501", "PTP")
    first = await queue(sessions, clock, ["501"], member_id=member, step="d-7")
    second = await queue(sessions, clock, ["501"], member_id=member, step="d-3")
    blocked = SendError("blocked", "Forbidden: bot was blocked by the user")
    sender = FakeSender(script={"501": [blocked, blocked]})
    d = dispatcher(sessions, clock, sender)
    await d.drain()
    for row_id in first + second:
        gone = await row(sessions, row_id)
        assert (gone.status, gone.attempts) == ("unreachable", 1)
    async with sessions() as session:
        stored = await session.get(Member, member)
        assert stored is not None and stored.unreachable_at == clock()
    notices = [(chat, text) for chat, text, _ in sender.sent]
    assert sorted(chat for chat, _ in notices) == ["9001", "9002"]  # once each
    assert all("Thủ trưởng 501" in text and "Phòng Tư pháp" in text for _, text in notices)


async def test_reminders_of_a_unit_that_has_submitted_are_skipped(
    sessions: Sessions, clock: FakeClock
) -> None:
    round_id = await add_round(sessions, clock)
    done = await add_member(sessions, clock, "501", "PNV")
    missing = await add_member(sessions, clock, "502", "PTP")
    key = {"round_id": round_id, "step": "d-3"}
    await queue(sessions, clock, ["501"], member_id=done, dedupe_key="remind:x:501", **key)
    await queue(sessions, clock, ["502"], member_id=missing, dedupe_key="remind:x:502", **key)
    async with sessions.begin() as session:
        session.add(
            Submission(round_id=round_id, unit_code="PNV", submitted_at=clock(), submitted_by="A")
        )
    sender = FakeSender()
    await dispatcher(sessions, clock, sender).drain()
    assert [chat for chat, _, _ in sender.sent] == ["502"]
    assert {r.chat_id: r.status for r in await rows(sessions)} == {"501": "skipped", "502": "sent"}


# --------------------------------------------------------------------------- leases


async def test_rows_of_a_dead_dispatcher_are_taken_again_after_the_lease(
    sessions: Sessions, clock: FakeClock
) -> None:
    await queue(sessions, clock, [str(n) for n in range(10)])
    dead = dispatcher(sessions, clock, FakeSender())
    claimed = await dead.claim(4)  # ... and then it died
    assert len(claimed) == 4
    sender = FakeSender()
    alive = dispatcher(sessions, clock, sender)
    assert await alive.drain() == 6  # the leased rows are left alone
    clock.advance(seconds=FAST.lease_seconds + 1)
    assert await alive.drain() == 4
    assert sorted(int(chat) for chat, _, _ in sender.sent) == list(range(10))


async def test_a_claim_takes_one_row_per_chat_and_no_chat_under_lease(
    sessions: Sessions, clock: FakeClock
) -> None:
    await queue(sessions, clock, ["a", "a", "b"], step="1")
    await queue(sessions, clock, ["a", "c"], step="2")
    d = dispatcher(sessions, clock, FakeSender())
    first = await d.claim(10)
    assert sorted(r.chat_id for r in first) == ["a", "b", "c"]
    assert await d.claim(10) == []  # "a" has a row under lease


async def test_a_clean_stop_hands_back_the_rows_not_started(
    sessions: Sessions, clock: FakeClock
) -> None:
    await queue(sessions, clock, [str(n) for n in range(30)])
    slow = FakeSender(delay=0.05)
    limits = Limits(per_second=1000, per_chat_per_second=1000, in_flight=2)
    task = asyncio.create_task(dispatcher(sessions, clock, slow, limits).run_forever())
    while len(slow.sent) < 4:
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    states = [r.status for r in await rows(sessions)]
    assert "sending" not in states  # in flight finished and recorded, the rest handed back
    assert states.count("sent") == len(slow.sent)
    rest = FakeSender()
    assert await dispatcher(sessions, clock, rest).drain() == 30 - len(slow.sent)  # no lease wait
    assert sorted(c for c, _, _ in slow.sent + rest.sent) == sorted(str(n) for n in range(30))


async def test_a_stopped_dispatcher_serves_a_second_term(
    sessions: Sessions, clock: FakeClock
) -> None:
    """What the election does to a process's dispatcher when it loses the lock and wins it
    back (scheduler/leader.py): ``run_forever`` cancelled, then started again."""
    await queue(sessions, clock, [str(n) for n in range(30)])
    slow = FakeSender(delay=0.02)
    limits = Limits(per_second=1000, per_chat_per_second=1000, in_flight=2)
    d = dispatcher(sessions, clock, slow, limits)
    first = asyncio.create_task(d.run_forever(poll_seconds=0.05))
    while len(slow.sent) < 4:
        await asyncio.sleep(0.01)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    assert len(slow.sent) < 30
    await queue(sessions, clock, ["late"], step="late")  # queued while it stood by
    second = asyncio.create_task(d.run_forever(poll_seconds=0.05))
    try:
        async with asyncio.timeout(10):
            while {r.status for r in await rows(sessions)} != {"sent"}:
                await asyncio.sleep(0.02)
    finally:
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
    assert sorted(c for c, _, _ in slow.sent) == sorted([str(n) for n in range(30)] + ["late"])


async def test_an_idle_dispatcher_wakes_by_itself_when_a_retry_comes_due(
    sessions: Sessions,
) -> None:
    def real() -> datetime:
        return datetime.now(UTC)

    await queue(sessions, FakeClock(real() + timedelta(seconds=0.3)), ["7"])
    sender = FakeSender()
    # An hour between polls: only the retry's own due time can wake it.
    dispatcher = Dispatcher(sessions, {"fake": sender}, real, FAST)
    task = asyncio.create_task(dispatcher.run_forever(poll_seconds=3600))
    waited = await until(lambda: bool(sender.sent), what="the retry to be sent")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert waited >= 0.25  # when it was due (0.3 s), not before; and not at the next poll


# --------------------------------------------------------------------------- logging


async def test_a_failing_claim_is_logged_once_and_its_recovery_once(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}")  # no tables yet
    made = make_sessionmaker(engine)
    d = Dispatcher(made, {"fake": FakeSender()}, clock, FAST)
    caplog.set_level(logging.DEBUG, logger="scheduler.outbox")
    task = asyncio.create_task(d.run_forever(poll_seconds=0.01))
    async with asyncio.timeout(10):  # several failing claims (later on a loaded machine)
        while sum("again" in r.getMessage() for r in caplog.records) < 3:  # the rest: debug
            await asyncio.sleep(0.01)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "claiming rows failed" in errors[0].getMessage()
    await upgrade(engine)
    async with asyncio.timeout(10):  # the next claim succeeds (later on a loaded machine)
        while not any("works again" in r.getMessage() for r in caplog.records):
            await asyncio.sleep(0.01)
    sender = d.senders["fake"]
    for n in range(2):  # more successful claims (each row sent proves one): not logged again
        await queue(made, clock, [f"after-{n}"], step=f"after-{n}")
        d.wake()
        await until(lambda n=n: any(chat == f"after-{n}" for chat, *_ in sender.sent))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    recovered = [r for r in caplog.records if "works again" in r.getMessage()]
    assert len(recovered) == 1 and "failures" in recovered[0].getMessage()
    await engine.dispose()


async def test_each_failed_attempt_is_logged_once_with_its_ids(
    sessions: Sessions, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    round_id = await add_round(sessions, clock)
    member = await add_member(sessions, clock, "501", "PTP")
    [row_id] = await queue(sessions, clock, ["501"], member_id=member, round_id=round_id, step="d0")
    sender = FakeSender(script={"501": [SendError("transient", "Bad Gateway")]})
    caplog.set_level(logging.INFO, logger="scheduler.outbox")
    d = dispatcher(sessions, clock, sender)
    await d.drain()
    clock.advance(seconds=5)
    await d.drain()
    lines = [r.getMessage() for r in caplog.records if r.name == "scheduler.outbox"]
    assert lines == [
        f"outbox id={row_id} round={round_id} unit=PTP step=d0 chat=fake:501 attempt=1 "
        "-> pending (transient: Bad Gateway)"
    ]


# --------------------------------------------------------------------------- rate limiter


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def test_rate_limiter_keeps_any_second_of_arrivals_within_the_rate() -> None:
    time = VirtualTime()
    limiter = RateLimiter(300, now=time, sleep=time.sleep)
    sends: list[tuple[float, float]] = []  # (request, answer)
    for n in range(3000):
        await limiter.acquire()
        start = time.now
        time.now += 0.002 if n % 7 else 0.05  # answers take time, some much longer
        limiter.release()
        sends.append((start, time.now))
    # The platform counts a message somewhere between request and answer: wherever, no
    # second can hold more than 300, i.e. a request never starts within a second after
    # the answer of the 300th message before it.
    for j in range(300, len(sends)):
        assert sends[j][0] > sends[j - 300][1] + 1.0


async def test_rate_limiter_reaches_the_rate_when_answers_are_quick() -> None:
    time = VirtualTime()
    limiter = RateLimiter(300, now=time, sleep=time.sleep)
    for _ in range(3000):
        await limiter.acquire()
        time.now += 0.0005
        limiter.release()
    assert 0.97 * 300 <= 3000 / time.now <= 300


async def test_rate_limiter_waits_for_answers_when_every_slot_is_on_the_wire() -> None:
    time = VirtualTime()
    limiter = RateLimiter(1, now=time, sleep=time.sleep)
    await limiter.acquire()
    second = asyncio.create_task(limiter.acquire())
    await until(lambda: bool(limiter._released._waiters))  # parked until a slot is released
    assert not second.done()  # the one allowed send has not answered yet
    time.now += 0.4
    limiter.release()
    await second
    assert time.now >= 0.4 + limiter.window - 1e-9


async def test_rate_limiter_pause_waits_the_whole_retry_after() -> None:
    time = VirtualTime()
    limiter = RateLimiter(25, now=time, sleep=time.sleep)
    await limiter.acquire()
    limiter.release()
    time.now += 5.0  # idle for a while: the old bucket forgot the pause by this much
    limiter.pause(3.0)
    await limiter.acquire()
    limiter.release()
    assert time.now >= 8.0
    started = time.now
    for _ in range(5):
        await limiter.acquire()
        limiter.release()
    assert time.now - started >= 5 / 25 - 1e-9  # then at the rate, not a burst
