"""Indicator reporting end to end (issue 4), through the fake Bot API server.

Unit heads answer one number at a time or all at once, check a summary with the year's
targets, send, correct with history; admins enter on a unit's behalf; nothing gets stuck;
forged or stale buttons change nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.usecases import tick as scheduler_tick
from db.models import (
    Conversation,
    OutboxMessage,
    Round,
    Submission,
    SubmissionValue,
    ValueRevision,
)
from scheduler.reminders import REPORT_BUTTON_DATA
from surveys import texts as T
from tests.e2e.flows import invite_payload
from tests.support.fakes.telegram_api import SentMessage
from tests.support.harness import ADMIN, Bot, FakeClock, running_bot, texts

PNV_CODES = ["2", "3a", "3b", "4a", "5a", "5b", "5c", "7", "9", "11a", "12"]
PTP_CODES = ["1a", "1b", *PNV_CODES]  # Phòng Tư pháp also reports target 1 (the `units` key)


@dataclass(frozen=True)
class Head:
    id: int
    name: str


AN = Head(501, "Nguyễn Văn An")  # Phòng Nội vụ
BINH = Head(502, "Trần Thị Bình")  # Phòng Nội vụ too: one unit, two members
CUONG = Head(503, "Lê Văn Cường")  # Phòng Tư pháp


# --------------------------------------------------------------------------- helpers


async def settle(bot: Bot) -> None:
    """Wait for the start-up scheduler tick (it opens the current round), so that its
    reminders do not land in the middle of a test's conversation."""
    for _ in range(200):
        if await bot.scalars(select(Round)):
            await bot.idle()
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the start-up tick never opened a round")


async def join(bot: Bot, head: Head, unit: str) -> None:
    payload = await invite_payload(bot, unit)
    assert "Đăng ký thành công" in texts(await tell(bot, head, f"/start {payload}"))


def is_reminder(message: SentMessage) -> bool:
    """A reminder from the scheduler (it may arrive at any moment after a restart)."""
    return any(data == REPORT_BUTTON_DATA for _, data in message.buttons())


async def tell(bot: Bot, head: Head, text: str) -> list[SentMessage]:
    replies = await bot.say(head.id, text, first_name=head.name)
    return [m for m in replies if not is_reminder(m)]


async def press(
    bot: Bot,
    head: Head,
    message: SentMessage,
    label: str = "",
    *,
    data: str | None = None,
) -> list[SentMessage]:
    """Press a button as ``head`` (by label, or any ``data`` at all: a forged press)."""
    if data is None:
        matches = [d for lbl, d in message.buttons() if label in lbl]
        assert matches, f"no button {label!r} in {message.buttons()}"
        data, strict = matches[0], True
    else:
        strict = False
    bot.new_to(message.chat_id)
    bot.tg.mark(message.chat_id)
    bot.tg.user_presses(head.id, message, data, first_name=head.name, strict=strict)
    await bot.tg.wait_for(message.chat_id, predicate=lambda m: m.method == "sendMessage")
    await bot.idle()
    return [
        m for m in bot.new_to(message.chat_id) if m.method == "sendMessage" and not is_reminder(m)
    ]


def quick(bot: Bot, unit_code: str, leave_out: str = "", **chosen: str) -> str:
    """A quick entry for every indicator the unit owes but ``leave_out``: ``chosen``
    (``i5c="300/520"``) as given, the others 150/200 (ratios), 90 (percentages)."""
    unit = bot.catalogue.org.unit(unit_code)
    assert unit is not None
    default = {"ratio": "150/200", "percent": "90", "count": "5"}
    return " ".join(
        f"{i.code}={chosen.get('i' + i.code, default[i.kind])}"
        for i in bot.catalogue.indicators.due_from(unit)
        if i.code != leave_out
    )


def line(message: SentMessage, code: str) -> str:
    found = [ln for ln in message.body.splitlines() if ln.startswith(f"• {code}. ")]
    assert len(found) == 1, f"no line for {code} in {message.body}"
    return found[0]


def codes_in_summary(message: SentMessage) -> list[str]:
    return [ln[2:].split(".")[0] for ln in message.body.splitlines() if ln.startswith("• ")]


def token_of(message: SentMessage) -> str:
    return message.buttons()[0][1].split(":")[1]


async def conversation(bot: Bot, head: Head) -> Conversation | None:
    rows = await bot.scalars(select(Conversation).where(Conversation.user_id == str(head.id)))
    return rows[0] if rows else None


async def values(bot: Bot, unit: str, round_key: str = "2026-Q4") -> dict[str, SubmissionValue]:
    rows = await bot.scalars(
        select(SubmissionValue)
        .join(Submission, Submission.id == SubmissionValue.submission_id)
        .join(Round, Round.id == Submission.round_id)
        .where(Submission.unit_code == unit, Round.key == round_key)
    )
    return {v.indicator_code: v for v in rows}


async def count(bot: Bot, model: Any) -> int:
    [(n,)] = await bot.query(select(func.count()).select_from(model))
    return int(n)


# --------------------------------------------------------------------------- a small catalogue

SMALL_CATALOGUE = """
[[indicator]]
code = "2"
target_no = 2
name = "Tỷ lệ hồ sơ TTHC luân chuyển bằng phương thức điện tử"
purpose = "Chỉ tiêu 2: tối thiểu 80% năm 2025, 100% năm 2030"
kind = "ratio"
aggregate = "flow"
denominator_label = "Tổng số hồ sơ thủ tục hành chính phải luân chuyển trong kỳ"
numerator_label = "Trong đó, số hồ sơ được luân chuyển bằng phương thức điện tử"
unit_kinds = ["phong_ban"]
[indicator.targets]
2025 = 80
2030 = 100

[[indicator]]
code = "8b"
target_no = 8
name = "Mức giảm chi trực tiếp từ ngân sách cho đơn vị sự nghiệp"
purpose = "Chỉ tiêu 8: giảm bình quân 15% đến năm 2030"
kind = "percent"
units = ["PNV"]
[indicator.targets]
2030 = 15

[[indicator]]
code = "20"
target_no = 20
name = "Số cuộc kiểm tra đã thực hiện"
purpose = "Số liệu phục vụ đánh giá chỉ tiêu 12"
kind = "count"
aggregate = "flow"
units = ["PNV"]
""" + "".join(  # the survey targets the shipped questionnaires feed (asked of no unit)
    f"""
[[indicator]]
code = "{code}"
target_no = {code}
name = "Mức độ hài lòng (chỉ tiêu {code})"
kind = "survey"
unit_kinds = []
"""
    for code in ("14", "15", "16")
)


@pytest.fixture
async def small(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Bot]:
    """The bot with three indicators for Phòng Nội vụ: a ratio, a percent and a count (and
    the survey targets, which no unit is asked)."""
    path = tmp_path / "indicators.toml"
    path.write_text(SMALL_CATALOGUE, encoding="utf-8")
    async with running_bot(tmp_path, clock, f'[org]\nindicators = "{path}"\n') as running:
        await settle(running)
        yield running


async def add_previous_round(bot: Bot, figures: dict[str, dict[str, float]]) -> None:
    """Quý III/2026, closed, in which Phòng Nội vụ sent ``figures``."""
    async with bot.runtime.ctx.sessions.begin() as session:
        past = Round(
            key="2026-Q3",
            kind="quarter",
            title="Quý III/2026",
            window_start=date(2026, 6, 15),
            window_end=date(2026, 9, 14),
            deadline=date(2026, 9, 14),
            opened_at=datetime(2026, 6, 15, tzinfo=UTC),
            closed_at=datetime(2026, 10, 15, tzinfo=UTC),
        )
        session.add(past)
        await session.flush()
        sent = Submission(
            round_id=past.id,
            unit_code="PNV",
            submitted_at=datetime(2026, 9, 10, tzinfo=UTC),
            submitted_by="Người tiền nhiệm",
        )
        session.add(sent)
        await session.flush()
        for code, figure in figures.items():
            session.add(SubmissionValue(submission_id=sent.id, indicator_code=code, **figure))


# --------------------------------------------------------------------------- 1. what is asked


async def test_questions_follow_the_catalogue_in_clerk_wording_with_progress(bot: Bot) -> None:
    await settle(bot)
    await join(bot, CUONG, "PTP")
    opened = texts(await bot.say(ADMIN, "/dotxuat Rà soát văn bản | 30/11/2026 | PTP | 1a 5c 4b"))
    assert "Đã mở đợt báo cáo DX-2026-1" in opened

    replies = await tell(bot, CUONG, "/baocao")
    intro = texts(replies)
    assert "Báo cáo Quý IV/2026 (cả năm) của Phòng Tư pháp" in intro and "Có 13 chỉ tiêu" in intro
    assert "DX-2026-1" in intro  # the other open round, and how to reach it
    first = replies[-1].body
    assert first.startswith("Chỉ tiêu 1/13 — 1a. Tỷ lệ văn bản QPPL ban hành đúng thẩm quyền")
    assert "(Chỉ tiêu 1 Kế hoạch 53/KH-UBND: 100% văn bản QPPL" in first  # what it is for
    assert "Tổng số văn bản quy phạm pháp luật đã ban hành trong kỳ" in first
    assert "Trong đó" not in first  # the denominator comes first

    second = (await tell(bot, CUONG, "12"))[-1].body
    assert second.startswith("Chỉ tiêu 1/13 — 1a.")
    assert "Trong đó, số văn bản ban hành đúng thẩm quyền" in second
    assert "không lớn hơn 12" in second
    third = (await tell(bot, CUONG, "12"))[-1].body
    assert third.startswith("Chỉ tiêu 2/13 — 1b.")
    assert "Tổng số văn bản quy phạm pháp luật phải xử lý sau rà soát trong kỳ" in third

    # The rest at once: the 1a typed above is kept, the summary lists exactly PTP's items.
    rest = quick(bot, "PTP", leave_out="1a")
    summary = (await tell(bot, CUONG, f"/baocao {rest}"))[-1]
    assert codes_in_summary(summary) == PTP_CODES
    assert "12/12 = 100%" in line(summary, "1a")

    # An ad-hoc round narrows the catalogue: 1a and 5c; 4b is a commune item, not asked here.
    adhoc = await tell(bot, CUONG, "/baocao DX-2026-1")
    assert "Đột xuất: Rà soát văn bản" in texts(adhoc) and "Có 2 chỉ tiêu" in texts(adhoc)
    assert adhoc[-1].body.startswith("Chỉ tiêu 1/2 — 1a.")
    adhoc_summary = (await tell(bot, CUONG, "/baocao DX-2026-1 1a=3/4 5c=1/2"))[-1]
    assert codes_in_summary(adhoc_summary) == ["1a", "5c"]
    await bot.say(ADMIN, "/dotxuat Chỉ Phòng Nội vụ | 30/11/2026 | PNV | 5c")
    refused = texts(await tell(bot, CUONG, "/baocao DX-2026-2"))
    assert refused == T.ROUND_NOT_OPEN_FOR_UNIT.format(key="DX-2026-2")


async def test_admin_enters_a_units_report_on_its_behalf(bot: Bot) -> None:
    await settle(bot)
    first = await bot.say(ADMIN, "/baocao PNV")
    assert "đang nhập thay cho Phòng Nội vụ" in texts(first)
    assert first[-1].body.startswith("Chỉ tiêu 1/11 — 2.")
    await bot.say(ADMIN, "150")
    resumed = await bot.say(ADMIN, "/baocao")  # no unit code: the report being entered
    assert "Tiếp tục báo cáo đang làm dở (chỉ tiêu 1/11)" in texts(resumed)
    assert "không lớn hơn 150" in resumed[-1].body

    summary = (await bot.say(ADMIN, f"/baocao PNV {quick(bot, 'PNV')}"))[-1]
    assert codes_in_summary(summary) == PNV_CODES
    stored = await bot.press(ADMIN, summary, "Gửi")
    assert "Đã ghi nhận báo cáo Quý IV/2026 (cả năm): 11 chỉ tiêu" in texts(stored)
    [submission] = await bot.scalars(select(Submission))
    assert submission.unit_code == "PNV" and submission.by_admin and submission.member_id is None
    revisions = await bot.scalars(select(ValueRevision))
    assert len(revisions) == 11 and all(r.by_admin and r.old is None for r in revisions)

    # A percent metric is asked as one number (Phòng Tài chính - Kế hoạch, 8b).
    all_but = quick(bot, "TCKH", leave_out="8b")
    asked = (await bot.say(ADMIN, f"/baocao TCKH {all_but}"))[-1].body
    assert asked.startswith("Chỉ tiêu 10/13 — 8b. Mức giảm bình quân chi trực tiếp")
    assert "Nhập tỷ lệ phần trăm" in asked and "Trong đó" not in asked
    summary = (await bot.say(ADMIN, "85,5%"))[-1]
    assert "85,5% (mục tiêu năm 2026: ≥ 15% — đạt)" in line(summary, "8b")
    assert "Đã hủy" in texts(await bot.press(ADMIN, summary, "Hủy"))
    assert await count(bot, Submission) == 1


# --------------------------------------------------------------------------- 3, 4: validation


async def test_typed_values_are_checked_then_summarised_against_the_years_target(
    small: Bot,
) -> None:
    bot = small
    await add_previous_round(bot, {"2": {"numerator": 50, "denominator": 100, "value": 50}})
    await join(bot, AN, "PNV")
    first = await tell(bot, AN, "/baocao")
    assert "Có 3 chỉ tiêu" in texts(first)
    assert first[-1].body.startswith("Chỉ tiêu 1/3 — 2.")
    await tell(bot, AN, "150")
    too_big = await tell(bot, AN, "151")
    assert too_big[0].body == T.NUMERATOR_TOO_BIG.format(num="151", den="150")
    assert "không lớn hơn 150" in too_big[-1].body  # the numerator again

    sure = await tell(bot, AN, "120")  # 80 %, after 50 % last quarter: +60 %
    assert "chênh lệch hơn 50% so với kỳ trước (50%)" in sure[-1].body
    assert "120/150 = 80%" in sure[-1].body
    again = await press(bot, AN, sure[-1], "Nhập lại")
    assert "Tổng số hồ sơ thủ tục hành chính phải luân chuyển trong kỳ" in again[-1].body
    await tell(bot, AN, "150")
    percent = await tell(bot, AN, "90")  # 60 %: +20 %, accepted at once
    assert percent[-1].body.startswith("Chỉ tiêu 2/3 — 8b.")

    out_of_range = await tell(bot, AN, "100,5")
    assert out_of_range[0].body == T.PERCENT_RANGE
    count_question = await tell(bot, AN, "85,5%")
    assert count_question[-1].body.startswith("Chỉ tiêu 3/3 — 20. Số cuộc kiểm tra")
    half = await tell(bot, AN, "12,5")
    assert half[0].body == T.COUNT_WHOLE
    assert half[-1].body.startswith("Chỉ tiêu 3/3")
    summary = (await tell(bot, AN, "12"))[-1]

    assert summary.body.startswith("TÓM TẮT BÁO CÁO Quý IV/2026 (cả năm) — Phòng Nội vụ")
    # 2030's target (100 %) is the one in force in 2026, not 2025's 80 %.
    assert "90/150 = 60% (mục tiêu năm 2026: ≥ 100% — chưa đạt)" in line(summary, "2")
    assert "85,5% (mục tiêu năm 2026: ≥ 15% — đạt)" in line(summary, "8b")
    assert line(summary, "20").endswith(": 12")
    assert [lbl for lbl, _ in summary.buttons()] == [
        T.SUMMARY_SEND,
        T.SUMMARY_EDIT,
        T.SUMMARY_CANCEL,
    ]
    assert await count(bot, Submission) == 1  # only last quarter's: nothing stored yet

    # Change one item: the count does not apply after all.
    pick = await press(bot, AN, summary, "Sửa một mục")
    editing = await press(bot, AN, pick[-1], "20")
    assert "Giá trị đang lưu: 12" in editing[-1].body
    reason = await press(bot, AN, editing[-1], "Không áp dụng")
    assert reason[-1].body == T.ASK_SKIP_REASON
    words = await tell(bot, AN, "0")
    assert words[0].body == T.SKIP_REASON_WORDS
    summary = (await tell(bot, AN, "Phòng không chủ trì cuộc kiểm tra nào"))[-1]
    assert "không áp dụng (lý do: Phòng không chủ trì cuộc kiểm tra nào)" in line(summary, "20")

    stored = await press(bot, AN, summary, "Gửi")
    assert "Đã ghi nhận báo cáo Quý IV/2026 (cả năm): 3 chỉ tiêu" in texts(stored)
    assert "nộp sau hạn" not in texts(stored)
    [submission] = await bot.scalars(select(Submission).where(Submission.submitted_by == AN.name))
    assert not submission.late and not submission.by_admin
    now = {
        v.indicator_code: v
        for v in await bot.scalars(
            select(SubmissionValue).where(SubmissionValue.submission_id == submission.id)
        )
    }
    assert (now["2"].numerator, now["2"].denominator, now["2"].value) == (90, 150, 60)
    assert now["8b"].value == 85.5 and now["8b"].numerator is None
    assert now["20"].skip_reason == "Phòng không chủ trì cuộc kiểm tra nào"
    assert now["20"].value is None
    assert await conversation(bot, AN) is None


async def test_quick_entry_gives_the_same_summary_and_names_what_is_wrong(small: Bot) -> None:
    bot = small
    await add_previous_round(bot, {"20": {"value": 10}})
    await join(bot, AN, "PNV")
    await tell(bot, AN, "/baocao")
    for typed in ("150", "120", "85,5%", "12"):
        replies = await tell(bot, AN, typed)
    typed_summary = replies[-1]
    assert typed_summary.body.startswith("TÓM TẮT BÁO CÁO")
    await press(bot, AN, typed_summary, "Hủy")
    assert await conversation(bot, AN) is None

    wrong = texts(await tell(bot, AN, "/baocao 2=120/150 99=1 8b=abc 20=12,5"))
    assert "Mã chỉ tiêu không có trong kỳ báo cáo của đơn vị: 99." in wrong
    assert "8b=abc (Đây không phải là một số.)" in wrong
    assert f"20=12,5 ({T.COUNT_WHOLE})" in wrong
    assert "Các mã chỉ tiêu của đơn vị trong kỳ này: 2, 8b, 20." in wrong
    assert await conversation(bot, AN) is None and await count(bot, Submission) == 1

    same = await tell(bot, AN, "/baocao 2=120/150 8b=85,5% 20=12")
    assert same[-1].body == typed_summary.body
    await press(bot, AN, same[-1], "Hủy")

    partial = await tell(bot, AN, "/baocao 2 = 120 / 150")
    assert "Còn thiếu: 8b, 20." in texts(partial)
    assert partial[-1].body.startswith("Chỉ tiêu 2/3 — 8b.")
    await tell(bot, AN, "85,5%")
    sure = await tell(bot, AN, "/baocao 20=16")  # after 10 last quarter: asked first
    assert "chênh lệch hơn 50% so với kỳ trước (10)" in sure[-1].body
    summary = (await press(bot, AN, sure[-1], "Đúng, giữ số này"))[-1]
    assert line(summary, "20").endswith(": 16 ⚠️")
    assert "120/150 = 80%" in line(summary, "2") and "85,5%" in line(summary, "8b")
    assert "Đã ghi nhận báo cáo" in texts(await tell(bot, AN, "gửi"))
    assert {c: v.value for c, v in (await values(bot, "PNV")).items()} == {
        "2": 80,
        "8b": 85.5,
        "20": 16,
    }


# --------------------------------------------------------------------------- 4, 5: sending


async def test_one_submission_shared_by_members_corrected_with_history_until_closed(
    bot: Bot,
) -> None:
    await settle(bot)
    await join(bot, AN, "PNV")
    await join(bot, BINH, "PNV")
    summary = (await tell(bot, AN, f"/baocao {quick(bot, 'PNV', i5c='300/520')}"))[-1]
    # 57,7 % is above 2025's 50 % but below 2030's 80 %, the target in force in 2026.
    assert "300/520 = 57,7% (mục tiêu năm 2026: ≥ 80% — chưa đạt)" in line(summary, "5c")
    await press(bot, AN, summary, "Gửi")

    second = await tell(bot, BINH, "/baocao")
    assert f"người gửi: {AN.name}, lúc 09:00 20/11/2026" in texts(second)
    assert second[-1].body.startswith("TÓM TẮT BÁO CÁO")
    pick = await press(bot, BINH, second[-1], "Sửa một mục")
    editing = await press(bot, BINH, pick[-1], "5c")
    assert "Giá trị đang lưu: 300/520 = 57,7%" in editing[-1].body
    await tell(bot, BINH, "520")
    corrected = (await tell(bot, BINH, "420"))[-1]
    assert "420/520 = 80,8% (mục tiêu năm 2026: ≥ 80% — đạt)" in line(corrected, "5c")
    done = await press(bot, BINH, corrected, "Gửi")
    assert "Đã ghi nhận 1 thay đổi cho báo cáo Quý IV/2026 (cả năm)" in texts(done)

    [submission] = await bot.scalars(select(Submission))
    assert submission.submitted_by == AN.name  # still the one who sent it first
    stored = await values(bot, "PNV")
    assert (stored["5c"].numerator, stored["5c"].denominator) == (420, 520)
    history = await bot.scalars(
        select(ValueRevision).where(ValueRevision.indicator_code == "5c").order_by(ValueRevision.id)
    )
    assert [(r.old, r.new, r.changed_by, r.by_admin) for r in history] == [
        (None, {"num": 300.0, "den": 520.0}, AN.name, False),
        ({"num": 300.0, "den": 520.0}, {"num": 420.0, "den": 520.0}, BINH.name, False),
    ]
    assert await count(bot, ValueRevision) == 12

    # Both open the sent report; An changes 7 and sends; Bình then sends without a change of
    # her own: nothing changes, and An's 7 is not put back to what Bình's summary showed.
    an_view = (await tell(bot, AN, "/baocao"))[-1]
    binh_view = (await tell(bot, BINH, "/baocao"))[-1]
    editing = await press(bot, AN, (await press(bot, AN, an_view, "Sửa một mục"))[-1], "7")
    await tell(bot, AN, "200")
    changed = (await tell(bot, AN, "100"))[-1]
    assert "Đã ghi nhận 1 thay đổi" in texts(await press(bot, AN, changed, "Gửi"))
    assert "150/200 = 75%" in line(binh_view, "7")
    assert "Không có số liệu nào thay đổi" in texts(await press(bot, BINH, binh_view, "Gửi"))
    stored = await values(bot, "PNV")
    assert (stored["7"].numerator, stored["7"].denominator) == (100, 200)
    assert (stored["5c"].numerator, stored["5c"].denominator) == (420, 520)
    assert editing[-1].body.startswith("Chỉ tiêu 8/11 — 7.")

    # Once the round is closed, no correction goes through.
    reopened = await tell(bot, AN, "/baocao")
    assert "Đã đóng đợt 2026-Q4" in texts(await bot.say(ADMIN, "/dotxuat dong 2026-Q4"))
    refused = await press(bot, AN, reopened[-1], "Sửa một mục")
    assert texts(refused) == T.ROUND_CLOSED
    assert texts(await tell(bot, AN, "/baocao")) == T.ROUND_CLOSED
    assert await count(bot, ValueRevision) == 13 and await conversation(bot, AN) is None


async def test_a_report_after_the_deadline_is_marked_late(bot: Bot, clock: FakeClock) -> None:
    await settle(bot)
    await join(bot, AN, "PNV")
    clock.set_local(datetime(2026, 12, 16, 9, 0))  # deadline 14/12; open 30 more days
    summary = (await tell(bot, AN, f"/baocao {quick(bot, 'PNV')}"))[-1]
    assert "TÓM TẮT BÁO CÁO Quý IV/2026 (cả năm)" in summary.body
    stored = await press(bot, AN, summary, "Gửi")
    assert "Đã ghi nhận báo cáo Quý IV/2026 (cả năm) (nộp sau hạn)" in texts(stored)
    [submission] = await bot.scalars(select(Submission))
    assert submission.late

    # Quý I/2027 has opened meanwhile: /baocao goes there and says how to correct Quý IV.
    nxt = texts(await tell(bot, AN, "/huy") + await tell(bot, AN, "/baocao"))
    assert "Báo cáo Quý I/2027 của Phòng Nội vụ" in nxt and "/baocao 2026-Q4" in nxt
    back = await tell(bot, AN, "/baocao 2026-q4")
    assert f"người gửi: {AN.name}" in texts(back)
    assert back[-1].body.startswith("TÓM TẮT BÁO CÁO Quý IV/2026 (cả năm)")


# --------------------------------------------------------------------------- 7: never stuck


async def test_cancel_resume_after_restart_and_one_gentle_nudge(bot: Bot, clock: FakeClock) -> None:
    await settle(bot)
    await join(bot, AN, "PNV")
    first = (await tell(bot, AN, "/baocao"))[-1]
    await tell(bot, AN, "150")
    assert texts(await tell(bot, AN, "/huy")) == T.CANCELLED
    assert await conversation(bot, AN) is None
    old = await press(bot, AN, first, "Không áp dụng")  # a button of the cancelled report
    assert texts(old) == T.BUTTON_EXPIRED
    assert await conversation(bot, AN) is None
    assert texts(await tell(bot, AN, "/cancel")) == T.NOTHING_TO_CANCEL

    await tell(bot, AN, "/report")
    await tell(bot, AN, "150")
    question = (await tell(bot, AN, "120"))[-1]
    assert question.body.startswith("Chỉ tiêu 2/11 — 3a.")
    await bot.restart()
    resumed = await tell(bot, AN, "/report")
    assert "Tiếp tục báo cáo đang làm dở (chỉ tiêu 2/11)" in texts(resumed)
    assert resumed[-1].body == question.body

    clock.advance(hours=2, minutes=5)  # Friday 11:05: idle for two hours, in working hours
    bot.tg.mark(AN.id)
    await scheduler_tick.tick(bot.runtime.ctx)
    assert bot.runtime.dispatcher is not None
    bot.runtime.dispatcher.wake()
    await bot.tg.wait_for(AN.id, predicate=lambda m: m.body == T.NUDGE)
    clock.advance(hours=3)
    await scheduler_tick.tick(bot.runtime.ctx)
    nudges = await bot.scalars(select(OutboxMessage).where(OutboxMessage.text == T.NUDGE))
    assert len(nudges) == 1  # one gentle nudge, not one per tick

    after = await tell(bot, AN, "/baocao")
    assert after[-1].body == question.body  # still where it was
    assert texts(await tell(bot, AN, "/cancel")) == T.CANCELLED


# --------------------------------------------------------------------------- 8: forged buttons


async def test_forged_and_stale_buttons_are_refused_and_change_nothing(bot: Bot) -> None:
    await settle(bot)
    await join(bot, AN, "PNV")
    await join(bot, BINH, "PNV")
    await join(bot, CUONG, "PTP")

    first = (await tell(bot, AN, "/baocao"))[-1]
    await tell(bot, AN, "150")
    current = (await tell(bot, AN, "120"))[-1]
    before = await conversation(bot, AN)
    assert before is not None and before.state["m"]["answers"] == {"2": {"num": 120, "den": 150}}

    # A button of an earlier question of the same report: refused, the current one again.
    stale = await press(bot, AN, first, "Không áp dụng")
    assert stale[0].body == T.BUTTON_STALE and stale[-1].body == current.body
    after = await conversation(bot, AN)
    assert after is not None and after.state["m"] == before.state["m"]

    # The head of another unit, with the other report's token: refused.
    summary = (await tell(bot, AN, f"/baocao {quick(bot, 'PNV')}"))[-1]
    token, seq = token_of(summary), summary.buttons()[0][1].split(":")[2].split(".")[0]
    forged = f"c:{token}:{seq}.send"
    own = (await tell(bot, CUONG, "/baocao"))[-1]
    for data in (forged, f"c:{token}:send"):
        refused = await press(bot, CUONG, own, data=data)
        assert texts(refused) == T.BUTTON_EXPIRED
    assert await count(bot, Submission) == 0
    theirs = await conversation(bot, CUONG)
    assert theirs is not None and theirs.state["unit"] == "PTP"
    assert theirs.state["m"]["stage"] == "ask" and theirs.state["m"]["answers"] == {}

    # Another member of the same unit, with no report of their own: refused as well.
    registered = bot.tg.last_to(BINH.id)
    assert texts(await press(bot, BINH, registered, data=forged)) == T.BUTTON_EXPIRED
    assert await count(bot, Submission) == 0 and await conversation(bot, BINH) is None

    # The real button works; pressed again after sending, it does nothing more.
    assert "Đã ghi nhận báo cáo" in texts(await press(bot, AN, summary, "Gửi"))
    assert texts(await press(bot, AN, summary, data=forged)) == T.BUTTON_EXPIRED
    assert await count(bot, Submission) == 1 and await count(bot, ValueRevision) == 11
    garbage = await press(bot, AN, summary, data="c:::")
    assert texts(garbage) == T.BUTTON_EXPIRED
