"""Structured logs (bot/app/logs.py): one logfmt line per event with the ids that matter, never
a citizen's id, a failing send logged once per attempt and not in a loop."""

from __future__ import annotations

import hashlib
import hmac
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import logs
from bot.app.cli import main
from bot.app.logs import LogfmtFormatter, fields_of
from bot.channels.telegram import REPLY_ATTEMPTS
from tests.e2e.test_delivery import add_members, deliver_all, remind
from tests.support.harness import ADMIN, FakeClock, running_bot
from tests.support.polling import until

CITIZEN = 987_654_321
NAME, HANDLE = "Phạm Thị Hoa", "hoa_pham_1990"
OURS = ("bot", "scheduler", "db", "surveys", "reports")


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.logfmt = LogfmtFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [self.logfmt.format(r) for r in self.records]


@pytest.fixture
def collected() -> Iterator[Collect]:
    """Every record at INFO and above (the default level), and ours at DEBUG too."""
    handler = Collect()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in OURS}
    old_root = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in OURS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_root)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def event(made: logging.LogRecord) -> str:
    return str(fields_of(made).get("event", ""))


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("scheduler.outbox", logging.WARNING, __file__, 1, msg, args, None)
    made.__dict__.update(extra)
    made.created = datetime(2026, 11, 18, 8, 26, 40, 250_000, tzinfo=UTC).timestamp()
    return made


# --------------------------------------------------------------------------- the format


def test_a_record_is_one_line_with_utc_time_level_logger_event_and_fields() -> None:
    line = LogfmtFormatter().format(
        record(
            "outbox id=%s failed (%s)",
            12,
            'Bad "Gateway"\nnext',
            event="send_failed",
            outbox=12,
            round=3,
            unit="PNV",
            retried=False,
        )
    )
    assert line == (
        "ts=2026-11-18T08:26:40.250Z level=WARNING logger=scheduler.outbox event=send_failed "
        "outbox=12 round=3 unit=PNV retried=false "
        'msg="outbox id=12 failed (Bad \\"Gateway\\"\\nnext)"'
    )


def test_a_record_without_an_event_or_fields_still_says_what_happened() -> None:
    line = LogfmtFormatter().format(record("tick ok"))
    assert line.endswith('logger=scheduler.outbox event=message msg="tick ok"')


def test_a_traceback_stays_on_the_line_and_a_bot_token_is_masked() -> None:
    try:
        raise RuntimeError(
            "POST https://api.telegram.org/bot123456:AAE-secret_token_of_35_chars_xyz1/x"
        )
    except RuntimeError:
        made = record("send failed", event="send_failed")
        made.exc_info = sys.exc_info()
    line = LogfmtFormatter().format(made)
    assert "\n" not in line and 'exc="Traceback (most recent call last):\\n' in line
    assert "secret_token" not in line and "bot<token>/x" in line


def test_a_desk_login_link_is_masked() -> None:
    """PTB logs every message's parameters at DEBUG: a /web reply's link never shows."""
    token = "mjj2PDxb9lOFWfZXEz3pdlmoaV4W4TQ_qlL0MKQQ8KM"
    line = LogfmtFormatter().format(
        record("sendMessage %s", {"text": f"https://cchc.example.vn/dang-nhap/{token}\nKhông"})
    )
    assert token not in line and "/dang-nhap/<token>" in line


def test_a_published_file_s_token_is_masked() -> None:
    """A file published for Zalo (/tep/TOKEN) is reached by its address alone."""
    token = "Zq3xK0fGm1pLr2sTu4vWx5yZa6bCd7eFg8hIj9kLm0n"
    line = LogfmtFormatter().format(
        record("sendMessage %s", {"text": f"Tải tệp: https://cchc.example.vn/tep/{token}"})
    )
    assert token not in line and "/tep/<token>" in line


def test_the_command_line_logs_through_the_formatter(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    config = tmp_path / "config.toml"
    config.write_text('[survey]\nsecret = "a-test-secret-of-enough-length"\n', encoding="utf-8")
    try:
        assert main(["--config", str(config), "units"]) == 0
        [handler] = root.handlers
        assert isinstance(handler.formatter, LogfmtFormatter)
        assert root.level == logging.WARNING  # quiet for a listing
        assert logging.getLogger("httpx").level == logging.WARNING
        logs.configure()
        assert logging.getLogger().level == logging.INFO  # the bot's default
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


# --------------------------------------------------------------------------- through the bot


async def test_a_citizens_survey_leaves_no_trace_of_who_in_the_logs(
    tmp_path: Path, clock: FakeClock, collected: Collect
) -> None:
    async with running_bot(tmp_path, clock) as bot:
        bot.tg.fail("sendMessage", 502, times=REPLY_ATTEMPTS)  # the first reply is lost
        bot.tg.user_sends(CITIZEN, "/start s-dkdd-huyen", first_name=NAME, username=HANDLE)
        await bot.idle()
        for answer in ("/start s-dkdd-huyen", "2", "1", "2", "2", "2", "Chờ quá lâu, không ai"):
            await bot.say(CITIZEN, answer, first_name=NAME, username=HANDLE)
        [alert] = await bot.tg.wait_for(ADMIN, predicate=lambda m: "Phản ánh" in m.body)
        await bot.idle()
    secret = bot.config.survey.secret.encode()
    pseudonym = hmac.new(secret, f"telegram:{CITIZEN}".encode(), hashlib.sha256).hexdigest()
    lines = collected.lines()
    assert any("event=reply_failed" in line for line in lines)  # the lost reply was logged
    for line in lines:
        for secret_part in (str(CITIZEN), NAME, HANDLE, pseudonym):
            assert secret_part not in line, line
    assert "Phản ánh" in alert.body


async def test_a_failing_send_is_logged_once_per_attempt_not_in_a_loop(
    tmp_path: Path, clock: FakeClock, collected: Collect
) -> None:
    fast = "[delivery]\nmax_attempts = 3\nper_chat_per_second = 20\n"
    async with running_bot(tmp_path, clock, fast) as bot:
        await add_members(bot, 1)
        bot.tg.fail("sendMessage", 500, times=3)
        await remind(bot, 1)
        await deliver_all(bot, advance=400.0)  # past every backoff
        bot.tg.fail("sendMessage", 503, times=REPLY_ATTEMPTS)  # a reply that cannot go
        bot.tg.user_sends(CITIZEN + 1, "/start")
        await until(lambda: any(event(r) == "reply_failed" for r in collected.records))
        await bot.idle()
    sends = [r for r in collected.records if event(r) in ("send_retry", "send_failed")]
    fields = [fields_of(r) for r in sends]
    assert [(r.levelname, f["attempt"]) for r, f in zip(sends, fields, strict=True)] == [
        ("WARNING", 1),
        ("WARNING", 2),
        ("ERROR", 3),
    ]
    assert {f["outbox"] for f in fields} == {1}
    assert all(f["round"] is not None and f["unit"] != "-" for f in fields)
    replies = [r for r in collected.records if event(r) == "reply_failed"]
    assert len(replies) == 1 and replies[0].levelname == "ERROR"
    errors = [r for r in collected.records if r.levelno >= logging.ERROR]
    assert errors == [sends[-1], replies[0]]
