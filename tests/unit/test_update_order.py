"""PerPersonUpdates: each person's updates one after the other in arrival order, different
people's at once (up to the processor's limit), and nothing left behind."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from telegram import CallbackQuery, Chat, Message, Update, User

from bot.channels.telegram import CONCURRENT_UPDATES, PerPersonUpdates, _person_of
from tests.support.polling import until

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def message_update(update_id: int, user_id: int) -> Update:
    user = User(id=user_id, first_name=f"Người {user_id}", is_bot=False)
    chat = Chat(id=user_id, type=Chat.PRIVATE)
    message = Message(update_id, NOW, chat, from_user=user, text=f"tin {update_id}")
    return Update(update_id=update_id, message=message)


def channel_post(update_id: int, chat_id: int) -> Update:
    chat = Chat(id=chat_id, type=Chat.CHANNEL)
    return Update(update_id=update_id, channel_post=Message(update_id, NOW, chat, text="bài"))


@dataclass
class Recorder:
    """Handler coroutines that log their start and end and take ``seconds`` to run."""

    events: list[tuple[str, int]] = field(default_factory=list)
    running: int = 0
    most: int = 0

    async def handle(self, update_id: int, seconds: float) -> None:
        self.events.append(("start", update_id))
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(seconds)
        finally:
            self.running -= 1
            self.events.append(("end", update_id))

    def position(self, kind: str, update_id: int) -> int:
        return self.events.index((kind, update_id))


async def feed(
    processor: PerPersonUpdates, recorder: Recorder, updates: list[tuple[object, int, float]]
) -> list[asyncio.Task[None]]:
    """Hand the updates over as PTB does: one task each, created in arrival order."""
    return [
        asyncio.create_task(processor.process_update(update, recorder.handle(uid, seconds)))
        for update, uid, seconds in updates
    ]


def assert_no_leak(processor: PerPersonUpdates) -> None:
    assert processor._locks == {}
    assert processor._users == {}
    assert processor.current_concurrent_updates == 0


async def test_each_persons_updates_run_one_after_the_other_in_order() -> None:
    processor = PerPersonUpdates()
    recorder = Recorder()
    # (update, update_id, seconds): person 1's first update is the slowest of all.
    arrivals: list[tuple[object, int, float]] = [
        (message_update(1, 101), 1, 0.08),
        (message_update(2, 202), 2, 0.01),
        (message_update(3, 101), 3, 0.01),
        (message_update(4, 303), 4, 0.03),
        (message_update(5, 202), 5, 0.05),
        (message_update(6, 101), 6, 0.0),
        (message_update(7, 202), 7, 0.0),
    ]
    await asyncio.gather(*await feed(processor, recorder, arrivals))
    by_person = {101: [1, 3, 6], 202: [2, 5, 7], 303: [4]}
    for ids in by_person.values():
        order = [recorder.position(kind, uid) for uid in ids for kind in ("start", "end")]
        assert order == sorted(order), f"overlap or reordering in {ids}: {recorder.events}"
    # Different people at once: 202's and 303's first updates start before 101's first ends.
    assert recorder.position("start", 2) < recorder.position("end", 1)
    assert recorder.position("start", 4) < recorder.position("end", 1)
    # ... and 202 gets through two updates while 101 is still on its first.
    assert recorder.position("end", 5) < recorder.position("end", 1)
    assert_no_leak(processor)


async def test_a_burst_from_one_person_keeps_its_order() -> None:
    processor = PerPersonUpdates()
    recorder = Recorder()
    # Decreasing durations: run at once, the later ones would finish first.
    arrivals: list[tuple[object, int, float]] = [
        (message_update(n, 7), n, (6 - n) * 0.005) for n in range(1, 6)
    ]
    await asyncio.gather(*await feed(processor, recorder, arrivals))
    assert recorder.events == [(kind, n) for n in range(1, 6) for kind in ("start", "end")]
    assert recorder.most == 1
    assert_no_leak(processor)


async def test_no_more_than_the_limit_run_at_once() -> None:
    processor = PerPersonUpdates()
    recorder = Recorder()
    arrivals: list[tuple[object, int, float]] = [
        (message_update(n, 1000 + n), n, 0.02) for n in range(20)
    ]
    await asyncio.gather(*await feed(processor, recorder, arrivals))
    assert CONCURRENT_UPDATES == 8
    assert recorder.most == 8
    assert len(recorder.events) == 40
    assert_no_leak(processor)


async def test_a_smaller_limit_is_kept() -> None:
    processor = PerPersonUpdates(running=3)
    recorder = Recorder()
    arrivals: list[tuple[object, int, float]] = [
        (message_update(n, 1000 + n), n, 0.01) for n in range(7)
    ]
    await asyncio.gather(*await feed(processor, recorder, arrivals))
    assert recorder.most == 3
    assert_no_leak(processor)


async def test_one_persons_burst_does_not_hold_up_another_person() -> None:
    """Twelve quick updates of one person, then one of another: the other's starts while
    the burst is still going (the burst's waiting updates hold no slot)."""
    processor = PerPersonUpdates()
    recorder = Recorder()
    burst: list[tuple[object, int, float]] = [
        (message_update(n, 1), n, 0.05) for n in range(1, 13)
    ]
    other: list[tuple[object, int, float]] = [(message_update(99, 2), 99, 0.0)]
    await asyncio.gather(*await feed(processor, recorder, burst + other))
    assert recorder.events.index(("start", 99)) < recorder.events.index(("end", 2))
    assert_no_leak(processor)


async def test_updates_without_a_person_are_processed_at_once() -> None:
    processor = PerPersonUpdates()
    recorder = Recorder()
    arrivals: list[tuple[object, int, float]] = [
        (Update(update_id=1), 1, 0.03),
        (Update(update_id=2), 2, 0.03),
        ("not an update", 3, 0.03),
    ]
    await asyncio.gather(*await feed(processor, recorder, arrivals))
    assert set(recorder.events) == {(k, n) for n in (1, 2, 3) for k in ("start", "end")}
    assert recorder.most == 3  # not queued behind one another
    assert_no_leak(processor)


async def test_a_channels_posts_are_in_order_by_chat() -> None:
    processor = PerPersonUpdates()
    recorder = Recorder()
    arrivals: list[tuple[object, int, float]] = [
        (channel_post(1, -1001), 1, 0.03),
        (channel_post(2, -1001), 2, 0.0),
        (channel_post(3, -1002), 3, 0.0),
    ]
    await asyncio.gather(*await feed(processor, recorder, arrivals))
    assert recorder.position("end", 1) < recorder.position("start", 2)
    assert recorder.position("start", 3) < recorder.position("end", 1)
    assert_no_leak(processor)


async def test_a_failing_or_cancelled_update_does_not_block_the_next() -> None:
    processor = PerPersonUpdates()
    recorder = Recorder()

    async def failing() -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("handler failed")

    first = asyncio.create_task(processor.process_update(message_update(1, 5), failing()))
    second = asyncio.create_task(
        processor.process_update(message_update(2, 5), recorder.handle(2, 0.05))
    )
    never_run = recorder.handle(3, 0.0)
    third = asyncio.create_task(processor.process_update(message_update(3, 5), never_run))
    await until(lambda: first.done() and ("start", 2) in recorder.events)
    # 1 has failed, 2 is running, 3 waits for the lock
    third.cancel()
    with pytest.raises(RuntimeError, match="handler failed"):
        await first
    await second
    with pytest.raises(asyncio.CancelledError):
        await third
    never_run.close()  # as PTB's task would have: cancelled before it ran
    assert recorder.events == [("start", 2), ("end", 2)]
    assert_no_leak(processor)
    # The person's next update still runs.
    await asyncio.gather(*await feed(processor, recorder, [(message_update(4, 5), 4, 0.0)]))
    assert recorder.events[-2:] == [("start", 4), ("end", 4)]
    assert_no_leak(processor)


def test_whose_update_it_is() -> None:
    assert _person_of(message_update(1, 42)) == 42
    assert _person_of(channel_post(2, -1001)) == -1001
    assert _person_of(Update(update_id=3)) is None
    assert _person_of(object()) is None
    presser = User(id=77, first_name="Bấm", is_bot=False)
    query = CallbackQuery("q", presser, chat_instance="c", data="nút")
    assert _person_of(Update(update_id=4, callback_query=query)) == 77
    # In a group, the sender: two members of one group are two people.
    group = Chat(id=-500, type=Chat.GROUP)
    member = User(id=88, first_name="Thành viên", is_bot=False)
    in_group = Message(5, NOW, group, from_user=member, text="chào")
    assert _person_of(Update(update_id=5, message=in_group)) == 88
