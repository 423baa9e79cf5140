"""/trangthai (/status), its drill-downs and /xuat (/export) end to end, for Phòng Nội vụ."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from db.models import AdminChat, Round, Submission, SubmissionValue, SurveyDailyCount
from scheduler.calendar import period_from_key
from tests.e2e.flows import answer_until_summary, register
from tests.support.harness import ADMIN, Bot, FakeClock, running_bot, texts

PNV_HEAD = 501  # Phòng Nội vụ (phòng, ban)
TTLP_HEAD = 502  # Thị trấn Long Phú (UBND xã, thị trấn)
MEMBER = 777  # neither admin nor unit head
GROUP = -100500
OTHER_GROUP = -100600
MIN_SAMPLE = 3


@pytest.fixture
async def bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Bot]:
    # A small minimum sample, so that three citizens make 14 judged and two make 14a too few.
    async with running_bot(tmp_path, clock, f"min_sample = {MIN_SAMPLE}\n") as running:
        yield running


def quick_entry(bot: Bot, unit_code: str, chosen: dict[str, str]) -> str:
    """A /baocao quick entry for every indicator the unit owes: ``chosen`` ones as given,
    the others 150/200 (ratios), 90 (percentages) or 5 (counts)."""
    unit = bot.catalogue.org.unit(unit_code)
    assert unit is not None
    default = {"ratio": "150/200", "percent": "90", "count": "5"}
    return " ".join(
        f"{i.code}={chosen.get(i.code, default[i.kind])}"
        for i in bot.catalogue.indicators.due_from(unit)
    )


async def submit(bot: Bot, user: int, unit_code: str, chosen: dict[str, str]) -> None:
    """Report through the bot in one quick entry (``chosen``: ``{"5c": "1/1"}``), then send."""
    replies = await bot.say(user, f"/baocao {quick_entry(bot, unit_code, chosen)}")
    summary = await answer_until_summary(bot, user, replies[-1])
    stored = await bot.press(user, summary, "Gửi")
    assert "Đã ghi nhận báo cáo" in texts(stored)


async def survey(bot: Bot, citizen: int, field_choice: str, ratings: tuple[int, ...]) -> None:
    """One citizen at the district's one-stop counter (questionnaire tthc): field, SIPAS's
    four elements, "Không" (no feedback given, so the fifth is not asked), no comment."""
    replies = await bot.say(citizen, "/start s-mc-huyen")
    assert "Câu 1/" in replies[-1].body
    replies = await bot.say(citizen, field_choice)
    for rating in ratings:
        replies = await bot.say(citizen, str(rating))
    replies = await bot.press(citizen, replies[-1], "Không")
    replies = await bot.press(citizen, replies[-1], "Bỏ qua")
    assert "Cảm ơn" in texts(replies)


def line_of(text: str, start: str) -> str:
    found = [line for line in text.splitlines() if line.startswith(start)]
    assert len(found) == 1, f"no single line starting {start!r} in:\n{text}"
    return found[0]


async def fill_current_round(bot: Bot, *, surveys: bool = True) -> None:
    """Two units report 5c as 1/1 and 50/100: the district has 51/101 = 50,5 % (a mean of
    the two percentages would say 75 %); three citizens rate the district's counter."""
    await register(bot, PNV_HEAD, "PNV")
    await register(bot, TTLP_HEAD, "TT-LP")
    await submit(bot, PNV_HEAD, "PNV", {"5c": "1/1"})
    await submit(bot, TTLP_HEAD, "TT-LP", {"5c": "50/100"})
    if not surveys:
        return
    # 14: 12 answers, 8 at level 4 or 5; 14a (đất đai, xây dựng, đầu tư from 2026): 2 people.
    # SIPAS's four elements each (no feedback given), counting for 14 and for 15.
    await survey(bot, 801, "1", (5, 4, 2, 4))  # Đất đai
    await survey(bot, 802, "4", (5, 5, 5, 5))  # Hộ tịch
    await survey(bot, 803, "2", (1, 3, 4, 3))  # Xây dựng


async def test_status_shows_hand_computed_figures_and_a_chart(bot: Bot) -> None:
    await fill_current_round(bot)
    replies = await bot.say(ADMIN, "/trangthai")
    photos = [m for m in replies if m.method == "sendPhoto"]
    assert len(photos) == 1 and replies[-1] is photos[0]
    text = texts([m for m in replies if m.method == "sendMessage"])

    assert "TÌNH HÌNH BÁO CÁO QUÝ IV/2026 (CẢ NĂM)" in text
    assert "Kỳ số liệu: 15/09/2026 – 14/12/2026" in text
    assert "Hạn nộp: 14/12/2026 (còn 24 ngày)" in text
    total = len(bot.catalogue.org.reporting_units())
    assert f"Đã nộp: 2/{total} đơn vị (đúng hạn 2, trễ hạn 0)" in text
    assert f"Chưa nộp ({total - 2}):" in text
    offices = line_of(text, "— Phòng, ban chuyên môn: ")
    assert "Phòng Tư pháp" in offices and "Phòng Nội vụ" not in offices
    communes = line_of(text, "— UBND xã, thị trấn: ")
    assert "UBND thị trấn Đại Ngãi" in communes and "thị trấn Long Phú" not in communes
    assert "Chi cục Thuế" in line_of(text, "— Cơ quan Trung ương đặt tại huyện: ")

    # Σ numerators / Σ denominators against the 2030 target (in force from 2026).
    assert line_of(text, "• 5c. ").endswith(": 50,5% (51/101) — mục tiêu ≥ 80% ❌")
    # Every other ratio was answered 150/200 by each unit that reports it. 2's 2030 target
    # is the 2025 level kept ("tiếp tục duy trì"), not a number of the plan's own.
    assert line_of(text, "• 2. ").endswith(": 75% (300/400) — mục tiêu ≥ 80% (duy trì) ❌")
    # The 4a/4b trajectory: 100 % from 2026 (4b reached 100 % only in 2026), derived steps.
    assert line_of(text, "• 4a. ").endswith(": 75% (150/200) — mục tiêu ≥ 100% (lộ trình) ❌")
    assert line_of(text, "• 4b. ").endswith(": 75% (150/200) — mục tiêu ≥ 100% (lộ trình) ❌")
    assert "chưa có số liệu" in line_of(text, "• 6. ")  # nobody reports it

    # Satisfaction: 8 of 12 answers at level 4 or 5; the 95 % interval over the 3 people
    # (surveys.scoring.cluster_rate) 31,8–89,6 %.
    sat14 = line_of(text, "• 14. ")
    assert "66,7%" in sat14 and "3 người, n=12" in sat14 and "31,8%–89,6%" in sat14
    assert "mục tiêu ≥ 95%" in sat14 and sat14.endswith("❌")
    # 14a counts đất đai and xây dựng (and đầu tư): 2 people, below the minimum sample.
    sat14a = line_of(text, "• 14a. ")
    assert "chưa đủ dữ liệu" in sat14a and "2 người, n=8" in sat14a
    assert "mục tiêu ≥ 90%" in sat14a
    # the one-stop counter's SIPAS ratings count for 15 too
    assert "66,7%" in line_of(text, "• 15. ") and "3 người, n=12" in line_of(text, "• 15. ")
    assert "• 16. " in text

    chart = photos[0]
    assert chart.file_bytes is not None and "Quý IV/2026" in (chart.caption or "")
    with Image.open(io.BytesIO(chart.file_bytes)) as image:
        assert image.format == "PNG" and image.width == 1080 and image.height > 600

    alias = await bot.say(ADMIN, "/status")
    assert texts(alias).count("50,5% (51/101)") == 1


async def test_status_counts_late_reports_and_days_past_the_deadline(bot: Bot) -> None:
    await register(bot, PNV_HEAD, "PNV")
    bot.clock.set_local(datetime(2026, 12, 17, 9, 0))  # three days after the deadline
    await submit(bot, PNV_HEAD, "PNV", {"5c": "3/4"})
    # From 15/12 the calendar's current round is Q1/2027, but while Q4 still has missing
    # units /trangthai follows the overdue round; the new one is asked by key.
    assert "QUÝ I/2027" in texts(await bot.say(ADMIN, "/trangthai 2027-Q1"))
    text = texts(await bot.say(ADMIN, "/trangthai"))
    assert text == texts(await bot.say(ADMIN, "/trangthai 2026-Q4"))
    assert "Hạn nộp: 14/12/2026 (quá hạn 3 ngày)" in text
    assert "(đúng hạn 0, trễ hạn 1)" in text
    assert line_of(text, "• 5c. ").endswith(": 75% (3/4) — mục tiêu ≥ 80% ❌")


async def add_past_round(bot: Bot) -> None:
    """2026-Q3, closed: Phòng Nội vụ reported 5c as 30/60 on time, Xã Châu Khánh 10/40
    late; 40 answers at the district's counter, 38 of them satisfied."""
    period = period_from_key("2026-Q3")
    opened = datetime(2026, 6, 15, tzinfo=UTC)
    async with bot.runtime.ctx.sessions.begin() as session:
        past = Round(
            key=period.key,
            kind="quarter",
            title=period.title,
            window_start=period.window_start,
            window_end=period.window_end,
            deadline=period.deadline,
            opened_at=opened,
            closed_at=datetime(2026, 10, 20, tzinfo=UTC),
        )
        session.add(past)
        await session.flush()
        for unit, late, (num, den) in (("PNV", False, (30, 60)), ("XA-CK", True, (10, 40))):
            sub = Submission(
                round_id=past.id,
                unit_code=unit,
                submitted_at=datetime(2026, 9, 10, 3, 0, tzinfo=UTC),
                submitted_by="Cán bộ thử nghiệm",
                late=late,
            )
            session.add(sub)
            await session.flush()
            session.add(
                SubmissionValue(
                    submission_id=sub.id,
                    indicator_code="5c",
                    numerator=num,
                    denominator=den,
                    value=100 * num / den,
                )
            )
        session.add(
            SurveyDailyCount(
                day=date(2026, 8, 3),
                point_code="mc-huyen",
                field="ho_tich",
                target="14",
                level1=1,
                level2=0,
                level3=1,
                level4=8,
                level5=30,
                respondents=14,
                fully_satisfied=12,
            )
        )


async def test_drill_down_by_unit_indicator_and_past_round(bot: Bot) -> None:
    await fill_current_round(bot, surveys=False)
    await add_past_round(bot)

    unit = texts(await bot.say(ADMIN, "/trangthai PNV"))
    assert "Phòng Nội vụ (PNV) — Quý IV/2026" in unit
    assert "Đã nộp" in unit
    assert line_of(unit, "• 5c. ").endswith(": 100% (1/1) — mục tiêu 80% ✅")
    assert line_of(unit, "• 2. ").endswith(": 75% (150/200) — mục tiêu 80% ❌")
    assert "2 kỳ gần nhất:" in unit
    assert "5c 100%" in line_of(unit, "— Quý IV/2026")
    assert "đúng hạn" in line_of(unit, "— Quý III/2026") and "5c 50%" in unit

    indicator = texts(await bot.say(ADMIN, "/trangthai 5c"))
    assert "5c. Tỷ lệ hồ sơ giải quyết trực tuyến" in indicator
    lines = indicator.splitlines()
    pnv = lines.index(line_of(indicator, "• Phòng Nội vụ: "))
    ttlp = lines.index(line_of(indicator, "• UBND thị trấn Long Phú: "))
    assert pnv < ttlp  # best first
    assert lines[pnv].endswith("100% (1/1) ✅") and lines[ttlp].endswith("50% (50/100) ❌")
    assert "Phòng Tư pháp" in line_of(indicator, "Chưa nộp (")

    past = await bot.say(ADMIN, "/trangthai 2026-Q3")
    text = texts([m for m in past if m.method == "sendMessage"])
    assert "TÌNH HÌNH BÁO CÁO QUÝ III/2026" in text
    assert "Hạn nộp: 14/09/2026 (đã đóng)" in text
    assert "(đúng hạn 1, trễ hạn 1)" in text
    assert line_of(text, "• 5c. ").endswith(": 40% (40/100) — mục tiêu ≥ 80% ❌")
    sat14 = line_of(text, "• 14. ")  # 38 of 40 answers by 14 people; none of this quarter's
    assert "95%" in sat14 and "14 người, n=40" in sat14 and sat14.endswith("✅")
    assert [m.method for m in past][-1] == "sendPhoto"

    unknown = texts(await bot.say(ADMIN, "/trangthai khong-co"))
    assert "Không hiểu “khong-co”" in unknown and "/trangthai 2026-Q3" in unknown
    missing = texts(await bot.say(ADMIN, "/trangthai 2019-Q1"))
    assert "Không có đợt báo cáo mã “2019-Q1”" in missing


async def test_export_sends_a_workbook(bot: Bot) -> None:
    await fill_current_round(bot)
    replies = await bot.say(ADMIN, "/xuat")
    [document] = [m for m in replies if m.method == "sendDocument"]
    assert document.file_name == "cchc-2026-Q4.xlsx" and document.file_bytes is not None
    assert "Quý IV/2026" in (document.caption or "")
    book = load_workbook(io.BytesIO(document.file_bytes))
    assert book.sheetnames == ["Tổng hợp", "Số liệu theo đơn vị", "Lịch sử sửa đổi", "Khảo sát"]
    summary = book["Tổng hợp"]
    [row] = [r for r in summary.iter_rows() if r[0].value == "5c"]
    assert row[2].value == pytest.approx(51 / 101) and row[2].number_format == "0.0%"
    assert (row[3].value, row[4].value) == (51, 101)
    assert row[6].value == "Chưa đạt"

    # The citizens' answers by service point and field: Đất đai at the district counter.
    survey = [tuple(c.value for c in r) for r in book["Khảo sát"].iter_rows(min_row=2)]
    [land] = [r for r in survey if r[0] == "mc-huyen" and r[2] == "Đất đai" and r[3] == "14"]
    assert land[4:12] == (4, 3, pytest.approx(3 / 4), 0, 1, 0, 2, 1)
    assert book["Khảo sát"].freeze_panes == "A2"

    past = await bot.say(ADMIN, "/export 2026-Q4")
    assert [m.file_name for m in past if m.method == "sendDocument"] == ["cchc-2026-Q4.xlsx"]


async def test_group_registered_by_an_admin_sees_status(bot: Bot) -> None:
    refused = await bot.say(MEMBER, "/start", chat_id=GROUP, chat_type="group")
    assert "chỉ dành cho cán bộ Phòng Nội vụ" in texts(refused)
    assert await bot.scalars(select(AdminChat)) == []
    before = await bot.say(MEMBER, "/trangthai", chat_id=GROUP, chat_type="group")
    assert "chỉ dành cho cán bộ Phòng Nội vụ" in texts(before)

    registered = await bot.say(ADMIN, "/start", chat_id=GROUP, chat_type="group")
    assert "Đã đăng ký nhóm này" in texts(registered)
    [row] = await bot.scalars(select(AdminChat))
    assert (row.chat_id, row.registered_by) == (str(GROUP), str(ADMIN))

    answered = await bot.say(MEMBER, "/trangthai", chat_id=GROUP, chat_type="group")
    assert "TÌNH HÌNH BÁO CÁO" in texts(answered)
    assert answered[-1].method == "sendPhoto"
    exported = await bot.say(MEMBER, "/xuat", chat_id=GROUP, chat_type="group")
    assert [m.method for m in exported] == ["sendDocument"]

    other = await bot.say(MEMBER, "/trangthai", chat_id=OTHER_GROUP, chat_type="group")
    assert "chỉ dành cho cán bộ Phòng Nội vụ" in texts(other)
    assert "TÌNH HÌNH" not in texts(other)


async def test_admin_help_names_status_drill_downs_and_export(bot: Bot) -> None:
    help_text = texts(await bot.say(ADMIN, "/help"))
    assert "/trangthai 5c" in help_text and "/xuat" in help_text


async def test_non_admin_in_private_is_refused(bot: Bot) -> None:
    await register(bot, PNV_HEAD, "PNV")
    for user in (PNV_HEAD, MEMBER):
        for command in ("/trangthai", "/status 5c", "/xuat", "/export 2026-Q4"):
            replies = await bot.say(user, command)
            assert [m.method for m in replies] == ["sendMessage"]
            assert "chỉ dành cho cán bộ Phòng Nội vụ" in texts(replies)


async def test_cli_export_writes_the_workbook(bot: Bot, tmp_path: Path) -> None:
    await fill_current_round(bot, surveys=False)
    out = tmp_path / "bao-cao" / "q4.xlsx"
    result = await asyncio.to_thread(  # the bot keeps polling meanwhile
        subprocess.run,
        [
            sys.executable,
            "-m",
            "bot.app.cli",
            "--config",
            str(tmp_path / "config.toml"),
            "export",
            "--round",
            "2026-Q4",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    assert "Quý IV/2026" in result.stdout
    book = load_workbook(out)
    units = book["Số liệu theo đơn vị"]
    rows = [tuple(c.value for c in r) for r in units.iter_rows(min_row=2)]
    assert rows[[r[0] for r in rows].index("TT-LP")][:2] == ("TT-LP", "UBND thị trấn Long Phú")
    [value] = [r for r in rows if r[0] == "TT-LP" and r[3] == "5c"]
    assert (value[5], value[6], value[7]) == (50, 100, pytest.approx(0.5))


async def test_the_year_and_six_months_over_their_legal_windows(
    bot: Bot, tmp_path: Path
) -> None:
    """/trangthai 2026, /xuat 2026 and cchc-bot export --round 2026 join the quarters of
    15/12/2025 – 14/12/2026 that have rounds (here Q3 and Q4): 5c, a flow, is
    (30 + 10 + 1 + 50) / (60 + 40 + 1 + 100); the survey counts every day of the window."""
    await fill_current_round(bot)
    await add_past_round(bot)
    replies = await bot.say(ADMIN, "/trangthai 2026")
    assert replies[-1].method == "sendPhoto"
    text = texts([m for m in replies if m.method == "sendMessage"])
    assert "TÌNH HÌNH BÁO CÁO NĂM 2026" in text
    assert "Kỳ số liệu: 15/12/2025 – 14/12/2026" in text
    assert "Quý III/2026: đã nộp 2/" in text and "Quý IV/2026: đã nộp 2/" in text
    five_c = line_of(text, "• 5c. ")
    assert ": 45,3% (91/201) — mục tiêu ≥ 80% ❌ [cộng 2 quý; thiếu: " in five_c
    # Xã Châu Khánh gave 5c in Q3, nothing in Q4; the thị trấn the other way round
    assert "UBND thị trấn Long Phú (Quý III/2026)" in five_c
    assert "(Quý IV/2026)" in five_c
    # 14 over the whole year: Q3's 38 of 40 and Q4's 8 of 12
    assert line_of(text, "• 14. ").startswith(
        "• 14. Mức độ hài lòng về giải quyết thủ tục hành chính: 88,5% (17 người, n=52"
    )
    assert "Chỉ có Quý III/2026" not in text
    # the chart's caption names the window
    assert "Năm 2026" in (replies[-1].caption or "")

    six = await bot.say(ADMIN, "/trangthai 2026-H1")  # no round of Q1, Q2 was ever opened
    assert [m.method for m in six] == ["sendMessage"] and "2026-H1" in texts(six)

    exported = await bot.say(ADMIN, "/xuat 2026")
    [document] = [m for m in exported if m.method == "sendDocument"]
    assert document.file_name == "cchc-2026.xlsx" and document.file_bytes is not None
    book = load_workbook(io.BytesIO(document.file_bytes))
    summary = book["Tổng hợp"]
    assert summary["A1"].value == "Tình hình CCHC — Năm 2026"
    assert summary["C1"].value == "Kỳ số liệu: 15/12/2025 – 14/12/2026"
    units = [tuple(c.value for c in r) for r in book["Số liệu theo đơn vị"].iter_rows(min_row=2)]
    periods = {(r[0], r[12]) for r in units if r[3] == "5c"}
    assert {("PNV", "Quý III/2026"), ("PNV", "Quý IV/2026"), ("XA-CK", "Quý III/2026")} <= periods

    out = tmp_path / "nam-2026.xlsx"
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.app.cli", "--config", str(tmp_path / "config.toml"),
         "export", "--round", "2026", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Năm 2026" in result.stdout and out.exists()


async def test_drill_downs_over_the_year_and_six_months(bot: Bot) -> None:
    """/trangthai 5c 2026 and /trangthai MÃ 2026 (either order): Q3 (Phòng Nội vụ 30/60,
    Xã Châu Khánh 10/40) and Q4 (Phòng Nội vụ 1/1, the thị trấn 50/100) added up as the
    yearly report adds them; each unit's part of it; a quarter a unit missed, named."""
    await fill_current_round(bot, surveys=False)
    await add_past_round(bot)
    year = texts(await bot.say(ADMIN, "/trangthai 2026"))

    one = texts(await bot.say(ADMIN, "/trangthai 5c 2026"))
    lines = one.splitlines()
    assert lines[0].startswith("📌 5c. Tỷ lệ hồ sơ giải quyết trực tuyến")
    assert lines[0].endswith(" — Năm 2026 — mục tiêu ≥ 80%")
    assert lines[1] == "Kỳ số liệu: 15/12/2025 – 14/12/2026"
    # the whole figure is the yearly report's own, word for word
    whole = line_of(one, "Số liệu toàn huyện: ")
    assert whole.startswith("Số liệu toàn huyện: 45,3% (91/201) ❌ [cộng 2 quý; thiếu: ")
    shown, over = whole.removeprefix("Số liệu toàn huyện: ").split(" ❌ ")
    assert line_of(year, "• 5c. ").endswith(f": {shown} — mục tiêu ≥ 80% ❌ {over}")
    pnv = line_of(one, "• Phòng Nội vụ: ")
    ttlp = line_of(one, "• UBND thị trấn Long Phú: ")
    ck = line_of(one, "• UBND xã Châu Khánh: ")
    assert pnv == "• Phòng Nội vụ: 50,8% (31/61) ❌"  # (30 + 1) / (60 + 1): both quarters
    assert ttlp == "• UBND thị trấn Long Phú: 50% (50/100) ❌ [thiếu: Quý III/2026]"
    assert ck == "• UBND xã Châu Khánh: 25% (10/40) ❌ [thiếu: Quý IV/2026]"
    assert lines.index(pnv) < lines.index(ttlp) < lines.index(ck)  # best first
    nothing = line_of(one, "Chưa có số liệu (")
    assert "Phòng Tư pháp (Quý III/2026, Quý IV/2026)" in nothing
    assert texts(await bot.say(ADMIN, "/trangthai 2026 5c")) == one  # either order

    unit = texts(await bot.say(ADMIN, "/trangthai XA-CK 2026"))
    assert unit.splitlines()[:2] == [
        "📋 UBND xã Châu Khánh (XA-CK) — Năm 2026",
        "Kỳ số liệu: 15/12/2025 – 14/12/2026",
    ]
    assert line_of(unit, "— Quý III/2026: ") == (
        "— Quý III/2026: đã nộp (trễ hạn), người gửi: Cán bộ thử nghiệm"
    )
    assert line_of(unit, "— Quý IV/2026: ") == "— Quý IV/2026: chưa nộp"
    assert line_of(unit, "Thiếu báo cáo quý: ") == "Thiếu báo cáo quý: Quý IV/2026"
    assert line_of(unit, "• 5c. ").endswith(
        ": 25% (10/40) — mục tiêu ≥ 80% ❌ [cộng 2 quý; thiếu: Quý IV/2026]"
    )
    assert "/trangthai XA-CK 2026-Q3" in unit  # each quarter on its own

    pnv_year = texts(await bot.say(ADMIN, "/trangthai 2026 PNV"))
    assert line_of(pnv_year, "• 5c. ").endswith(": 50,8% (31/61) — mục tiêu ≥ 80% ❌ [cộng 2 quý]")
    # 2 (a flow): given in Q4 only, so Q3 is named; 5a (a stock): Q4's value, as of the year's end
    assert line_of(pnv_year, "• 2. ").endswith(
        ": 75% (150/200) — mục tiêu ≥ 80% (duy trì) ❌ [cộng 2 quý; thiếu: Quý III/2026]"
    )
    assert line_of(pnv_year, "• 5a. ").endswith(
        ": 75% (150/200) — mục tiêu ≥ 90% ❌ [số liệu Quý IV/2026]"
    )

    # the same unit over the six months: no quarter of 2026-H1 has a round here
    half = texts(await bot.say(ADMIN, "/trangthai PNV 2026-H1"))
    assert "Không có đợt báo cáo mã “2026-H1”" in half
    # one round still works both ways, and nonsense gets the usage
    q3 = texts(await bot.say(ADMIN, "/trangthai 2026-Q3 PNV"))
    assert "Phòng Nội vụ (PNV) — Quý III/2026" in q3
    for wrong in ("/trangthai PNV 5c", "/trangthai PNV 2026 thêm", "/trangthai 2026 2026-Q3"):
        assert "Dùng: /trangthai" in texts(await bot.say(ADMIN, wrong)), wrong


async def test_qualitative_parts_are_listed_with_what_units_wrote(bot: Bot) -> None:
    """/dinhtinh: a commune writes on target 13's qualitative part; /trangthai lists it under
    the indicator, and the workbook shows it, with where each target comes from."""
    await register(bot, TTLP_HEAD, "TT-LP")
    usage = texts(await bot.say(TTLP_HEAD, "/dinhtinh"))
    assert "Chỉ tiêu có phần định tính: 10, 13." in usage
    assert "không có phần định tính" in texts(await bot.say(TTLP_HEAD, "/dinhtinh 5c Tốt"))
    # 10 is reported by Phòng Văn hóa và Thông tin only
    assert "không báo cáo chỉ tiêu 10" in texts(await bot.say(TTLP_HEAD, "/dinhtinh 10 Có"))
    assert "tối đa 500" in texts(await bot.say(TTLP_HEAD, "/dinhtinh 13 " + "dài " * 200))
    saved = texts(await bot.say(TTLP_HEAD, "/dinhtinh 13 Đã cử 2 công chức học đại học"))
    assert "Đã ghi phần định tính của chỉ tiêu 13 cho UBND thị trấn Long Phú" in saved
    # an admin writes on a unit's behalf; the latest text per unit is the one shown
    await bot.say(ADMIN, "/dinhtinh XA-CK 13 Chưa có")
    await bot.say(ADMIN, "/dinhtinh XA-CK 13 Cử 1 công chức học lý luận chính trị")
    assert "dành cho thủ trưởng" in texts(await bot.say(MEMBER, "/dinhtinh 13 Có"))

    text = texts([m for m in await bot.say(ADMIN, "/trangthai") if m.method == "sendMessage"])
    lines = text.splitlines()
    at = lines.index(line_of(text, "• 13. "))
    assert lines[at + 1].startswith("  Phần định tính (không tính tỷ lệ): Đội ngũ")
    assert lines[at + 2 : at + 4] == [  # in the organisation's order
        "  — UBND thị trấn Long Phú: Đã cử 2 công chức học đại học",
        "  — UBND xã Châu Khánh: Cử 1 công chức học lý luận chính trị",
    ]

    exported = await bot.say(ADMIN, "/xuat")
    [document] = [m for m in exported if m.method == "sendDocument"]
    assert document.file_bytes is not None
    rows = [
        tuple(c.value for c in r)
        for r in load_workbook(io.BytesIO(document.file_bytes))["Tổng hợp"].iter_rows()
    ]
    header = next(r for r in rows if r[0] == "Mã" and r[1] == "Chỉ tiêu")
    source = header.index("Nguồn mục tiêu")
    by_code = {r[0]: r for r in rows}
    assert by_code["5c"][source] == "Kế hoạch"
    assert by_code["2"][source] == "Suy ra: duy trì mức năm 2025 đến 2030"
    assert by_code["4b"][source] == "Suy ra: bước của lộ trình tăng hằng năm"
    [qualitative] = [r for r in rows if r[0] == "13" and r[1] and str(r[1]).startswith("Đội")]
    assert "Đã cử 2 công chức học đại học" in str(qualitative[2])
