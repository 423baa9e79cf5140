"""/baocaotonghop end to end (issue 20): the report upward as a Word document, sent by the
real bot to the fake Telegram server, with the figures of /trangthai; on Zalo, which
cannot send files, a message saying where to get it."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from docx import Document

from db.models import Round, SurveyDailyCount
from scheduler.calendar import period_from_key
from tests.e2e.test_status import GROUP, MEMBER, fill_current_round, line_of
from tests.support.harness import ADMIN, ZALO_ADMIN, Bot, FakeClock, running_bot, texts


@pytest.fixture
async def bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Bot]:
    # Three citizens make 14 judged (the sample of test_status.fill_current_round).
    async with running_bot(tmp_path, clock, "min_sample = 3\n", zalo=True) as running:
        yield running


def rows_of(doc: object, *headers: str) -> dict[str, list[str]]:
    """The rows, by their first cell, of the table whose header row starts with ``headers``."""
    for table in doc.tables:  # type: ignore[attr-defined]
        cells = [[" ".join(c.text.split()) for c in row.cells] for row in table.rows]
        if tuple(cells[0][: len(headers)]) == headers:
            return {row[0]: row for row in cells[1:]}
    raise AssertionError(f"no table headed {headers}")


async def test_an_admin_gets_the_draft_with_trangthai_s_figures(bot: Bot) -> None:
    await fill_current_round(bot)
    status = texts([m for m in await bot.say(ADMIN, "/trangthai") if m.method == "sendMessage"])

    replies = await bot.say(ADMIN, "/baocaotonghop")
    [document] = replies
    assert document.method == "sendDocument"
    assert document.file_name == "bao-cao-cchc-2026-Q4.docx" and document.file_bytes
    assert "Quý IV/2026" in (document.caption or "") and "Word" in (document.caption or "")
    doc = Document(io.BytesIO(document.file_bytes))
    paragraphs = [" ".join(p.text.split()) for p in doc.paragraphs]
    assert "Kết quả thực hiện công tác cải cách hành chính quý IV năm 2026" in paragraphs
    assert any("từ ngày 15/09/2026 đến ngày 14/12/2026" in p for p in paragraphs)
    total = len(bot.catalogue.org.reporting_units())
    assert f"Đã nộp: 2/{total} đơn vị (đúng hạn 2, trễ hạn 0)" in status
    assert any(
        p.startswith(f"Tổng số cơ quan, đơn vị phải báo cáo: {total}; đã gửi: 2 (đúng hạn 2")
        for p in paragraphs
    )

    # 5c: Σ numerators / Σ denominators, 51/101, as /trangthai says it.
    assert line_of(status, "• 5c. ").endswith(": 50,5% (51/101) — mục tiêu ≥ 80% ❌")
    indicators = rows_of(doc, "Mã", "Chỉ tiêu", "Kết quả")
    assert indicators["5c"][2:] == ["50,5% (51/101)", "≥ 80%", "2", "Chưa đạt"]
    assert indicators["6"][2] == "chưa có số liệu" and indicators["6"][5] == "—"

    satisfaction = rows_of(doc, "Mã", "Nội dung", "Tỷ lệ hài lòng")
    rate, sample, interval, goal, verdict = satisfaction["14"][2:]
    line = line_of(status, "• 14. ")
    assert f": {rate} ({sample}, KTC 95%: {interval}, mục tiêu {goal})" in line
    assert sample == "3 người, n=12 câu trả lời" and verdict == "Chưa đạt"  # 4 SIPAS ratings each
    assert satisfaction["14a"][2] == "chưa đủ dữ liệu"  # 2 people < min_sample 3

    # Q4 doubles as the yearly report: the trend quarter by quarter, this quarter's figure.
    trend = rows_of(doc, "Mã", "Chỉ tiêu", "Quý I", "Quý II", "Quý III", "Quý IV")
    # no earlier round here, so no "theo đà hiện tại" either (four quarters are needed)
    assert trend["5c"][2:] == ["—", "—", "—", "50,5%", "≥ 80%", "—"]
    assert trend["14"][5] == rate

    past = await bot.say(ADMIN, "/baocaotonghop 2026-q4")
    assert [m.file_name for m in past] == ["bao-cao-cchc-2026-Q4.docx"]
    unknown = await bot.say(ADMIN, "/baocaotonghop 2019-Q1")
    assert "Không có đợt báo cáo mã “2019-Q1”" in texts(unknown)


async def test_only_admins_get_it_not_even_an_admin_group(bot: Bot) -> None:
    await bot.say(ADMIN, "/start", chat_id=GROUP, chat_type="group")  # an admin group
    assert "/baocaotonghop" in texts(await bot.say(ADMIN, "/help"))
    for user, chat, kind in ((MEMBER, MEMBER, "private"), (MEMBER, GROUP, "group")):
        replies = await bot.say(user, "/baocaotonghop", chat_id=chat, chat_type=kind)
        assert [m.method for m in replies] == ["sendMessage"]
        assert "chỉ dành cho cán bộ Phòng Nội vụ" in texts(replies)


async def test_on_zalo_it_says_where_to_get_the_file(bot: Bot) -> None:
    replies = await bot.zsay(ZALO_ADMIN, "/baocaotonghop")
    said = "\n".join(m.text for m in replies)
    assert "không gửi được qua Zalo" in said
    assert "cchc-bot report --round 2026-Q4 --out bao-cao-cchc-2026-Q4.docx" in said


async def test_an_ad_hoc_round_is_drafted_under_its_own_title(bot: Bot) -> None:
    opened = texts(await bot.say(ADMIN, "/dotxuat Rà soát TTHC | 30/11/2026 | PNV PTP | 2 5c"))
    assert "Đã mở đợt báo cáo DX-2026-1" in opened
    [document] = await bot.say(ADMIN, "/baocaotonghop dx-2026-1")
    assert document.file_name == "bao-cao-cchc-DX-2026-1.docx" and document.file_bytes
    doc = Document(io.BytesIO(document.file_bytes))
    paragraphs = [" ".join(p.text.split()) for p in doc.paragraphs]
    assert (
        "Kết quả thực hiện công tác cải cách hành chính theo đợt báo cáo “Đột xuất: Rà soát TTHC”"
        in paragraphs
    )
    # Only the round's two units and two indicators; no yearly trend.
    assert any(p.startswith("Tổng số cơ quan, đơn vị phải báo cáo: 2;") for p in paragraphs)
    assert set(rows_of(doc, "Mã", "Chỉ tiêu", "Kết quả")) == {"2", "5c"}
    assert not any("DIỄN BIẾN" in p for p in paragraphs)


async def add_quarter_survey(
    bot: Bot, key: str, day: date, respondents: int, satisfied: int, answers: int
) -> None:
    """A closed quarter round ``key`` (unless the bot opened it) and, on ``day``, ``answers``
    ratings for 14 by ``respondents`` people at the district's counter, ``satisfied`` of them
    at level 5, the rest at 3."""
    period = period_from_key(key)
    async with bot.runtime.ctx.sessions.begin() as session:
        if key != "2026-Q4":  # the current quarter: the bot's own round
            session.add(
                Round(
                    key=period.key, kind="quarter", title=period.title,
                    window_start=period.window_start, window_end=period.window_end,
                    deadline=period.deadline, opened_at=datetime(2025, 9, 15, tzinfo=UTC),
                    closed_at=datetime(2026, 1, 5, tzinfo=UTC),
                )
            )  # fmt: skip
        session.add(
            SurveyDailyCount(
                day=day, point_code="mc-huyen", field="ho_tich", target="14",
                level1=0, level2=0, level3=answers - satisfied, level4=0, level5=satisfied,
                respondents=respondents, fully_satisfied=0,
            )
        )  # fmt: skip


async def test_the_year_says_when_satisfaction_s_trend_reaches_2030s_target(bot: Bot) -> None:
    """14's rate quarter by quarter: 80 %, 82 %, 84 %, 86 % (each 50 answers by 20 people),
    +2 points a quarter: 2030's 95 % is reached in Q1/2028 (86 + 2·5 = 96; Q4/2027 has 94).
    Q4/2025's two people (below min_sample 3, all unsatisfied) are not a point of the line."""
    await bot.say(ADMIN, "/trangthai")  # the bot opens the current quarter's round
    await add_quarter_survey(bot, "2025-Q4", date(2025, 11, 1), 2, 0, 8)
    for key, day, satisfied in (
        ("2026-Q1", date(2026, 2, 1), 40),
        ("2026-Q2", date(2026, 5, 1), 41),
        ("2026-Q3", date(2026, 8, 1), 42),
        ("2026-Q4", date(2026, 11, 1), 43),
    ):
        await add_quarter_survey(bot, key, day, 20, satisfied, 50)
    replies = await bot.say(ADMIN, "/trangthai 2026")
    status = texts([m for m in replies if m.method == "sendMessage"])
    fourteen = line_of(status, "• 14. ")
    # the year pools its four quarters: 166 of 200
    assert ": 83% (80 người, n=200 câu trả lời" in fourteen
    assert fourteen.endswith(" — theo đà hiện tại: đạt năm 2028")
    assert " — theo đà hiện tại" not in line_of(status, "• 15. ")  # no answers for 15
    # a quarter report says nothing of trends
    quarter = await bot.say(ADMIN, "/trangthai 2026-Q4")
    assert "theo đà hiện tại" not in texts([m for m in quarter if m.method == "sendMessage"])

    for key in ("2026", "2026-Q4"):  # the yearly report, and Q4's, which doubles as it
        [document] = await bot.say(ADMIN, f"/baocaotonghop {key}")
        assert document.file_bytes
        doc = Document(io.BytesIO(document.file_bytes))
        headers = ("Mã", "Chỉ tiêu", "Quý I", "Quý II", "Quý III", "Quý IV", "Mục tiêu")
        rows = rows_of(doc, *headers, "Theo đà hiện tại")
        assert rows["14"][2:] == ["80%", "82%", "84%", "86%", "≥ 95%", "đạt năm 2028"], key
        assert rows["15"][-1] == "—" and rows["5c"][-1] == "—"
        paragraphs = " ".join(" ".join(p.text.split()) for p in doc.paragraphs)
        assert "bình phương tối thiểu" in paragraphs
