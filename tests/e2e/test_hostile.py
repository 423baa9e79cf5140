"""Hostile input (issue 9): random sequences of messages, commands, deep links, button
presses and passing time, from citizens, unit heads of two units and an admin, in private
and in an admin group, through the real bot and the fake Bot API server.

Property: nothing is logged at ERROR (no unhandled exception, no reply refused by the
server), every private input gets an answer (group talk may be ignored), and the database
invariants hold after every example: one submission per unit and round, one counted survey
per person, point and day, no value outside its validation rule, survey aggregates that
add up to the counted responses.

One bot serves every example (a fresh one per example would cost a second each); it runs
on an event loop in a thread of its own, and Hypothesis drives it from the test's thread.
Text includes 10,000 characters, control characters, NUL, emoji, SQL-looking text, "\\ufffd"
and mojibake. Lone surrogates are left out: Telegram sends UTF-8, which cannot carry them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import Counter
from collections.abc import Coroutine
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app.config import load_config
from bot.app.runtime import load_data
from db.models import (
    Conversation,
    OutboxMessage,
    Submission,
    SubmissionValue,
    SurveyDailyCount,
    SurveyResponse,
)
from scheduler.reminders import REPORT_BUTTON_DATA
from surveys.report_machine import MAX_COUNT, SKIP_REASON_MAX
from tests.e2e.flows import invite_payload, register
from tests.e2e.test_reporting import SMALL_CATALOGUE
from tests.support.fakes.telegram_api import FakeTelegram, SentMessage
from tests.support.harness import ADMIN, Bot, FakeClock, texts, write_config

T_ = TypeVar("T_")

CITIZENS = (620_000_001, 620_000_002, 620_000_003)
HEADS = {630_000_001: "PNV", 630_000_002: "PTP"}
USERS = (*CITIZENS, *HEADS, ADMIN)
# Each person's app language: shipped ones, a region variant, one not shipped, none.
APP_LANGUAGE = dict(zip(USERS, ("km", "en-US", None, "km", "fr", "en"), strict=True))
GROUP = -100_620
SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument")
MAX_STEPS = 15

HOSTILE = (
    "x" * 10_000,
    "5" * 10_000,
    "'; DROP TABLE submissions; --",
    "1 OR 1=1",
    "2=1/2'); DELETE FROM survey_responses; --",
    "Robert'); DROP TABLE conversations;--",
    "\x00",
    "a\x00b",
    "\x00" * 50,
    "\x07\x08\x1b[31m\r\n\t",
    "\u200b\u200e\u202e",
    "\ufffd\ufffd\ufffd",
    "Ã¡ Ã© Ä‘Æ°á»£c",  # "á é được" read as Latin-1
    "😀👍🏽🇻🇳",
    "４",  # a full-width digit
    "٣",  # an Arabic-Indic digit
    "  ",
    "\n\n",
    "-1",
    "1e309",
    "nan",
    "inf",
    "150/0",
    "0/0",
    "300/200",
    "1,5",
    "99999999999999999999",
    "101",
    "100,0",
    "<b>đậm</b>",
    "{{ token }}",
    "%s %d {0}",
)
ANSWERS = (
    "1",
    "2",
    "3",
    "4",
    "5",
    "150",
    "200",
    "150/200",
    "90",
    "7",
    "gửi",
    "sửa",
    "hủy",
    "bỏ qua",
    "Đất đai",
    "không áp dụng",
    "đơn vị không có hồ sơ",
    "có",
    "không",
    "EN",
    "ខ្មែរ",
    "tiếng việt",
    "៤",
    "រំលង",
)
COMMANDS = (
    "start",
    "help",
    "trogiup",
    "baocao",
    "report",
    "huy",
    "cancel",
    "trangthai",
    "nhacnho",
    "donvi",
    "dotxuat",
    "xuat",
    "qr",
    "khaosat_chinhthuc",
    "khong_co_lenh",
    "START",
    "baocao@cchc_test_bot",
)
ARGS = (
    "",
    "2=150/200 8b=12 20=5",
    "2=150/200 8b=12 20=5",
    "2=0/0 8b=0 20=0",
    "2=200/150",
    "8b=101",
    "8b=-1",
    "20=1.5",
    "20=99999999999999",
    "2=-5/10",
    "2=1/2 2=3/4",
    "2026-Q4",
    "2026-Q4 2=1/2",
    "2025-Q1",
    "PNV",
    "PNV 2=150/200 8b=12 20=5",
    "PTP 2=1/2",
    "XYZ",
    "dkdd-huyen",
    "dkdd-huyen HS-001",
    "14 85 120",
    "14 120",
    "Rà soát | 30/11/2026 | PTP | 2",
    "Rà soát | 31/02/2026 | PTP",
)
PAYLOADS = (
    "s-dkdd-huyen",
    "s-mc-huyen",
    "s-p-tnmt",
    "s-ttyt-huyen",
    "s-",
    "s-khong-co",
    "r-",
    "r-AbCdEfGhIjKlMnOpQrStUvWx",
    "i-",
    "i-AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    "x-mc-huyen",
    "km-s-p-tnmt",
    "EN-s-mc-huyen",
    "km-r-AbCdEfGhIjKlMnOpQrStUvWx",
    "xx-s-mc-huyen",
    "km-",
)

TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
ANY_TEXT = st.one_of(st.sampled_from(ANSWERS), st.sampled_from(HOSTILE), TEXT)
SAY = st.tuples(st.just("say"), ANY_TEXT)
ANSWER = st.tuples(st.just("say"), st.sampled_from(ANSWERS))
COMMAND = st.tuples(
    st.just("say"),
    st.builds(
        lambda name, arg: f"/{name} {arg}".rstrip(),
        st.sampled_from(COMMANDS),
        st.one_of(st.sampled_from(ARGS), st.sampled_from(ARGS), ANY_TEXT),
    ),
)
DEEP_LINK = st.tuples(
    st.just("say"),
    st.builds(lambda p: f"/start {p}", st.one_of(st.sampled_from(PAYLOADS), TEXT)),
)
FORGED = st.one_of(
    st.sampled_from(("L.km", "L.en", "L.vi", "L.xx", "L.", "0.L.km")),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=16),
)
PRESS_LAST = st.tuples(st.just("press"), st.just("last"), st.integers(0, 20), FORGED)
PRESS_ANY = st.tuples(
    st.just("press"),
    st.sampled_from(("older", "other", "forged")),
    st.integers(0, 20),
    FORGED,
)
WAIT = st.tuples(st.just("wait"), st.integers(1, 24 * 60))
IN_GROUP = st.tuples(
    st.just("group"), st.one_of(ANY_TEXT, st.just("/start"), COMMAND.map(lambda c: c[1]))
)
# What one person does in a row: mostly answers and presses of the last question's buttons,
# so that reports and surveys get somewhere; commands, deep links, hostile text, forged and
# stale presses, passing time and group talk in between.
FLOW = st.tuples(
    st.just("say"),
    st.sampled_from(
        (
            "/baocao",
            "/baocao 2=150/200 8b=12 20=5",
            "/baocao 2=1/2",
            "/baocao PNV 2=1/2 8b=5 20=1",
            "/baocao 2026-Q4",
            "gửi",
            "/huy",
            "/start s-dkdd-huyen",
            "/start s-mc-huyen",
            "/start s-p-tnmt",
            "/start km-s-mc-huyen",
            "/start en-s-ttyt-huyen",
        )
    ),
)
ACTION = st.one_of(
    ANSWER,
    PRESS_LAST,
    FLOW,
    ANSWER,
    PRESS_LAST,
    FLOW,
    COMMAND,
    DEEP_LINK,
    SAY,
    PRESS_ANY,
    WAIT,
    IN_GROUP,
)
BURST = st.tuples(st.sampled_from(USERS), st.lists(ACTION, min_size=1, max_size=6))
EXAMPLE = st.lists(BURST, min_size=1, max_size=5).map(
    lambda bursts: [(user, *action) for user, actions in bursts for action in actions][:MAX_STEPS]
)


def from_outbox(message: SentMessage) -> bool:
    """A message the outbox sends on its own time (reminders, alerts to the admins)."""
    body = message.body
    return any(d == REPORT_BUTTON_DATA for _, d in message.buttons()) or body.startswith(
        ("📣", "⚠️", "Không gửi được tin nhắn tới", "Báo cáo của ông/bà đang làm dở")
    )


class Driver:
    """The bot and the fake server on an event loop of their own, driven step by step."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.records: list[logging.LogRecord] = []
        self.handler = _Collect(self.records)
        self.processed = 0
        self.updates = 0
        self.steps = 0
        self.answered = 0

    def run(self, coro: Coroutine[Any, Any, T_], timeout: float = 60.0) -> T_:
        future: Future[T_] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    async def start(self) -> None:
        self.tg = FakeTelegram()
        await self.tg.start()
        clock = FakeClock(datetime(2026, 11, 20, 9, 0))
        indicators = self.tmp / "indicators.toml"
        indicators.write_text(SMALL_CATALOGUE, encoding="utf-8")
        extra = f'[org]\nindicators = "{indicators}"\n'
        config = load_config(write_config(self.tmp, self.tg, extra))
        self.bot = Bot(tg=self.tg, config=config, catalogue=load_data(config), clock=clock)
        await self.bot.start()
        app = self.bot.app
        assert app is not None
        process = app.process_update

        async def counted(update: object) -> None:
            try:
                await process(update)
            finally:
                self.processed += 1

        app.process_update = counted  # type: ignore[method-assign]
        for user, unit in HEADS.items():
            payload = await invite_payload(self.bot, unit)
            await self.say(user, f"/start {payload}")
        await self.say(ADMIN, "/start", chat=GROUP, chat_type="group")
        logging.getLogger().addHandler(self.handler)

    async def stop(self) -> None:
        logging.getLogger().removeHandler(self.handler)
        await self.bot.stop()
        await self.tg.stop()

    def close(self) -> None:
        try:
            self.run(self.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    # ------------------------------------------------------------------ acting

    async def settled(self) -> None:
        """Until every update queued so far has been handled to the end (replies sent)."""
        deadline = self.loop.time() + 30
        while self.processed < self.updates:
            assert self.loop.time() < deadline, f"{self.updates - self.processed} not handled"
            await asyncio.sleep(0.002)

    async def say(
        self, user: int, text: str, chat: int | None = None, chat_type: str = "private"
    ) -> list[SentMessage]:
        where = user if chat is None else chat
        start = len(self.tg.sent)
        self.tg.user_sends(
            user, text, chat_id=chat, chat_type=chat_type, language_code=APP_LANGUAGE[user]
        )
        self.updates += 1
        await self.settled()
        return self._new(where, start)

    async def press(self, user: int, how: str, n: int, forged: str) -> list[SentMessage]:
        mine = [m for m in self.tg.sent_to(user) if m.method == "sendMessage"]
        theirs = [m for m in self.tg.sent if m.chat_id != user and m.buttons()]
        with_buttons = [m for m in mine if m.buttons()]
        target: SentMessage | int = mine[-1] if mine else 10**6
        if how == "last" and with_buttons and with_buttons[-1] is mine[-1]:
            buttons = with_buttons[-1].buttons()
            data = buttons[n % len(buttons)][1]
        elif how == "older" and with_buttons:
            message = with_buttons[n % len(with_buttons)]
            buttons = message.buttons()
            target, data = message, buttons[n % len(buttons)][1]
        elif how == "other" and theirs:
            buttons = theirs[n % len(theirs)].buttons()
            data = buttons[n % len(buttons)][1]
        else:
            data = forged
            if n % 3 == 0 and with_buttons:  # a real token with a forged choice
                data = with_buttons[-1].buttons()[0][1].rsplit(":", 1)[0] + ":" + forged
        data = data.encode()[:64].decode(errors="ignore") or "x"
        start = len(self.tg.sent)
        self.tg.user_presses(user, target, data, strict=False)
        self.updates += 1
        await self.settled()
        return self._new(user, start)

    def _new(self, chat: int, start: int) -> list[SentMessage]:
        return [
            m
            for m in self.tg.sent[start:]
            if m.chat_id == chat and m.method in SEND_METHODS and not from_outbox(m)
        ]

    async def play(self, steps: list[tuple[Any, ...]]) -> None:
        for step in steps:
            self.steps += 1
            user, kind = step[0], step[1]
            if kind == "wait":
                self.bot.clock.advance(minutes=step[2])
                continue
            if kind == "group":
                await self.say(user, step[2], chat=GROUP, chat_type="group")
                continue
            if kind == "say":
                replies = await self.say(user, step[2])
            else:
                replies = await self.press(user, step[2], step[3], step[4])
            assert replies, f"no answer to {step!r}"
            self.answered += 1
        await self.bot.idle()

    # ------------------------------------------------------------------ checking

    async def invariants(self) -> None:
        catalogue = self.bot.catalogue
        kinds = {i.code: i.kind for i in catalogue.indicators.indicators}
        async with self.bot.runtime.ctx.sessions() as session:
            twice = await session.execute(
                select(Submission.round_id, Submission.unit_code)
                .group_by(Submission.round_id, Submission.unit_code)
                .having(func.count() > 1)
            )
            assert twice.all() == []
            counted = await session.execute(
                select(SurveyResponse.point_code, SurveyResponse.respondent, SurveyResponse.day)
                .where(SurveyResponse.status == "counted")
                .group_by(SurveyResponse.point_code, SurveyResponse.respondent, SurveyResponse.day)
                .having(func.count() > 1)
            )
            assert counted.all() == []
            for value in (await session.scalars(select(SubmissionValue))).all():
                check_value(kinds[value.indicator_code], value)
            responses = (await session.scalars(select(SurveyResponse))).all()
            fed: Counter[tuple[str, str]] = Counter()
            for response in responses:
                questionnaire = catalogue.questionnaires[response.questionnaire]
                for question in questionnaire.questions:
                    answer = response.answers.get(question.id)
                    if question.kind == "rating" and answer is not None:
                        assert answer in (1, 2, 3, 4, 5), response.answers
                if response.status == "counted":
                    assert response.completed_at is not None
                    targets = {
                        t
                        for q in questionnaire.questions
                        if q.kind == "rating" and q.id in response.answers
                        for t in q.feeds
                    }
                    for target in targets:
                        fed[(response.point_code, target)] += 1
            daily: Counter[tuple[str, str]] = Counter()
            for row in (await session.scalars(select(SurveyDailyCount))).all():
                levels = [row.level1, row.level2, row.level3, row.level4, row.level5]
                assert min(levels) >= 0 and 0 <= row.fully_satisfied <= row.respondents
                daily[(row.point_code, row.target)] += row.respondents
            assert daily == fed
            for conv in (await session.scalars(select(Conversation))).all():
                assert conv.kind in ("report", "survey") and conv.state.get("token")
            for queued in (await session.scalars(select(OutboxMessage))).all():
                assert queued.text.strip() and len(queued.text) <= 4096


def check_value(kind: str, value: SubmissionValue) -> None:
    if value.skip_reason is not None:
        reason = value.skip_reason
        assert reason.strip() and any(c.isalpha() for c in reason)
        assert len(reason) <= SKIP_REASON_MAX
        assert (value.numerator, value.denominator, value.value) == (None, None, None)
        return
    if kind == "ratio":
        num, den = value.numerator, value.denominator
        assert num is not None and den is not None
        assert 0 <= num <= den <= MAX_COUNT and num == int(num) and den == int(den)
        if den:
            assert value.value is not None and 0 <= value.value <= 100
    elif kind == "percent":
        assert value.value is not None and 0 <= value.value <= 100
    else:
        assert value.value is not None and 0 <= value.value <= MAX_COUNT
        assert value.value == int(value.value)


class _Collect(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


# How the hostile tests run: 40 examples, the same ones every time, unless HOSTILE_EXAMPLES
# asks for more (then random ones); no deadline, as a bot's steps take what they take.
HOSTILE_SETTINGS = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "40")),
    deadline=None,
    derandomize=not os.environ.get("HOSTILE_EXAMPLES"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def errors_logged(records: list[logging.LogRecord]) -> list[str]:
    """The records at ERROR or above, each with its traceback."""
    return [
        f"{r.name}: {r.getMessage()}\n{logging.Formatter().formatException(r.exc_info)}"
        if r.exc_info
        else f"{r.name}: {r.getMessage()}"
        for r in records
        if r.levelno >= logging.ERROR
    ]


def test_random_hostile_sequences_break_nothing(tmp_path: Path) -> None:
    driver = Driver(tmp_path)
    driver.run(driver.start())
    try:

        @HOSTILE_SETTINGS
        @given(EXAMPLE)
        def example(steps: list[tuple[Any, ...]]) -> None:
            driver.records.clear()
            driver.run(driver.play(steps))
            driver.run(driver.invariants())
            bad = errors_logged(driver.records)
            assert bad == [], "\n".join(bad)

        example()
    finally:
        driver.close()
    assert driver.steps >= 100 and driver.answered >= 50  # the examples did reach the bot


async def test_nul_in_a_comment_and_a_skip_reason_is_dropped_not_fatal(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """Found probing hostile text on PostgreSQL: a NUL in a low rating's comment made the
    alert to the admins fail to insert (a text column refuses NUL), so the citizen got "Xin
    lỗi, đã có lỗi" every time they typed it again; a skip reason would fail the same way.
    The core now drops NUL from what comes in."""
    caplog.set_level(logging.INFO)
    citizen, head = CITIZENS[0], next(iter(HEADS))
    await bot.say(citizen, "/start s-dkdd-huyen")
    for rating in ("1", "2", "1", "1", "2"):  # four ratings, "2. Không"
        await bot.say(citizen, rating)
    [thanks] = await bot.say(citizen, "Chờ\x00 lâu quá 😀")
    assert "Cảm ơn" in thanks.body
    [response] = await bot.scalars(select(SurveyResponse))
    assert response.status == "counted" and response.answers["gop_y"] == "Chờ lâu quá 😀"
    [alert] = await bot.tg.wait_for(ADMIN, predicate=lambda m: "Phản ánh" in m.body)
    assert "Chờ lâu quá 😀" in alert.body

    await register(bot, head, "PNV")
    await bot.say(head, "/baocao")
    await bot.say(head, "không áp dụng")
    last = (await bot.say(head, "Đơn vị\x00 không có hồ sơ"))[-1]
    while not any("Gửi" in label for label, _ in last.buttons()):
        last = (await bot.say(head, "150/200"))[-1]
    assert "Đã ghi nhận báo cáo" in texts(await bot.say(head, "gửi"))
    reasons = [v.skip_reason for v in await bot.scalars(select(SubmissionValue))]
    assert "Đơn vị không có hồ sơ" in reasons
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
