"""The main scenarios on both shipped samples: Long Phú district as in the 2022 plan, and a
commune of Cần Thơ after 1 July 2025 (bot/data/xa-long-phu). Register, remind, report,
survey, status and export run alike; every name the bot says comes from the sample's files
(the organisation, its level, "toàn huyện" / "toàn xã", the collecting office)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.e2e.flows import answer_until_summary, register
from tests.support.fakes.telegram_api import SentMessage
from tests.support.harness import ADMIN, SAMPLES, Bot, FakeClock, Sample, running_bot, texts

HEAD = 601
CITIZENS = (811, 812, 813)


@pytest.fixture(params=SAMPLES, ids=[s.name for s in SAMPLES])
def sample(request: pytest.FixtureRequest) -> Sample:
    chosen: Sample = request.param
    return chosen


@pytest.fixture
async def bot(tmp_path: Path, clock: FakeClock, sample: Sample) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path, clock, "min_sample = 3\n", sample=sample) as running:
        yield running


def quick_entry(bot: Bot, unit_code: str) -> str:
    unit = bot.catalogue.org.unit(unit_code)
    assert unit is not None
    default = {"ratio": "150/200", "percent": "90", "count": "5"}
    return " ".join(f"{i.code}={default[i.kind]}" for i in bot.catalogue.indicators.due_from(unit))


async def answer_survey(bot: Bot, citizen: int, point: str) -> str:
    """Answer a survey as its questions come: a rating 4, the first option of a choice
    (a "yes" opens a conditional question), no comment; the thanks."""
    replies = await bot.say(citizen, f"/start s-{point}")
    for _ in range(20):
        last: SentMessage = replies[-1]
        if "Cảm ơn" in texts(replies):
            return texts(replies)
        labels = [label for label, _ in last.buttons()]
        if any("Bỏ qua" in label for label in labels):
            replies = await bot.press(citizen, last, "Bỏ qua")
        elif any("hài lòng" in label.lower() for label in labels):
            replies = await bot.say(citizen, "4")
        else:
            replies = await bot.say(citizen, "1")
    raise AssertionError(f"the survey did not end: {texts(replies)}")


async def test_register_remind_report_survey_status_export(bot: Bot, sample: Sample) -> None:
    words = bot.catalogue.org.words
    unit = bot.catalogue.org.unit(sample.unit)
    assert unit is not None
    # the admin's help names the sample's collecting office
    assert f"Chức năng dành cho {words.office}:" in texts(await bot.say(ADMIN, "/help"))

    # register
    await register(bot, HEAD, sample.unit)

    # remind: what is due, to whom (the sample's organisation and office) and by when
    assert "Đã xếp 1 lời nhắc" in texts(await bot.say(ADMIN, "/nhacnho"))
    [reminder] = [
        m
        for m in await bot.tg.wait_for(HEAD, predicate=lambda m: "Nhắc nộp" in m.body)
        if "Nhắc nộp" in m.body
    ][-1:]
    assert f"của {unit.name}: gửi về {bot.catalogue.org.recipient()} trước ngày 15/12/2026" in (
        reminder.body
    )

    # report every indicator the unit owes in one quick entry, then send
    replies = await bot.say(HEAD, f"/baocao {quick_entry(bot, sample.unit)}")
    summary = await answer_until_summary(bot, HEAD, replies[-1])
    assert "Đã ghi nhận báo cáo" in texts(await bot.press(HEAD, summary, "Gửi"))

    # survey at the sample's one-stop counter
    for citizen in CITIZENS:
        assert "Cảm ơn" in await answer_survey(bot, citizen, sample.point)
    welcome = texts(await bot.say(899, "/start"))
    assert f"trợ lý cải cách hành chính của {words.name}." in welcome

    # status: the sample's "whole organisation", the unit counted, the surveys judged
    replies = await bot.say(ADMIN, "/trangthai")
    assert replies[-1].method == "sendPhoto"
    text = texts([m for m in replies if m.method == "sendMessage"])
    assert f"CHỈ TIÊU (số liệu {words.whole}, tính từ tử số/mẫu số):" in text
    assert "Đã nộp: 1/" in text
    some = bot.catalogue.indicators.due_from(unit)[0]
    assert f"• {some.code}. " in text and "75% (150/200)" in text
    fourteen = next(ln for ln in text.splitlines() if ln.startswith("• 14. "))
    assert "3 người" in fourteen and "chưa đủ dữ liệu" not in fourteen
    for other in ("toàn huyện", "toàn xã"):
        if other != words.whole:
            assert other not in text

    # export: the summary and the unit sheet in the sample's words
    [document] = [m for m in await bot.say(ADMIN, "/xuat") if m.method == "sendDocument"]
    assert document.file_bytes is not None
    book = load_workbook(io.BytesIO(document.file_bytes))
    summary_rows = [tuple(c.value for c in r) for r in book["Tổng hợp"].iter_rows()]
    assert any(r[2] == f"Kết quả {words.whole}" for r in summary_rows)
    header = [c.value for c in next(book["Số liệu theo đơn vị"].iter_rows())]
    assert f"{words.office} nhập thay" in header
    units = [tuple(c.value for c in r) for r in book["Số liệu theo đơn vị"].iter_rows(min_row=2)]
    assert any(r[0] == sample.unit and r[3] == some.code for r in units)
