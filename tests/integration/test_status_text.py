"""/status as text (reports.text) and its figures (reports.status), against hand-computed
values: ratios pooled from counts, the target in force for the round's year, the split of a
long status into Telegram-sized messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.usecases.settings import OrgConfig
from db import repo
from db.migrate import upgrade
from db.models import Round, Submission, SubmissionValue, SurveyDailyCount
from db.session import make_engine, make_sessionmaker
from reports.figures import IndicatorFigure, SatisfactionFigure, StatusFigures
from reports.status import WindowRounds, status_figures, window_figures
from reports.text import TELEGRAM_LIMIT, render_status, split_message, status_lines
from scheduler.calendar import period_from_key, window_from_key
from surveys.catalogue import Catalogue, load_catalogue

# --------------------------------------------------------------------------- text


def _figures(**overrides: object) -> StatusFigures:
    base: dict[str, object] = {
        "round_key": "2026-Q4",
        "round_title": "Quý IV/2026 (cả năm)",
        "window_start": date(2026, 9, 15),
        "window_end": date(2026, 12, 14),
        "deadline": date(2026, 12, 14),
        "today": date(2026, 11, 20),
        "closed": False,
        "units_total": 3,
        "on_time": ("Phòng Nội vụ",),
        "late": ("UBND xã Long Đức",),
        "missing": {"Phòng, ban chuyên môn": ("Phòng Tư pháp",)},
    }
    base.update(overrides)
    return StatusFigures(**base)  # type: ignore[arg-type]


def _ratio(code: str, num: float, den: float, target: float, met: bool) -> IndicatorFigure:
    return IndicatorFigure(
        code=code,
        name=f"Chỉ tiêu {code}",
        kind="ratio",
        value=100 * num / den,
        numerator=num,
        denominator=den,
        target=target,
        direction="min",
        met=met,
        units_reporting=2,
    )


def test_header_gives_the_period_the_deadline_and_the_days_left() -> None:
    lines = status_lines(_figures())
    assert lines[0] == "📊 TÌNH HÌNH BÁO CÁO QUÝ IV/2026 (CẢ NĂM)"
    assert "Kỳ số liệu: 15/09/2026 – 14/12/2026" in lines
    assert "Hạn nộp: 14/12/2026 (còn 24 ngày)" in lines
    assert "Đã nộp: 2/3 đơn vị (đúng hạn 1, trễ hạn 1)" in lines
    assert "— Phòng, ban chuyên môn: Phòng Tư pháp" in lines
    overdue = status_lines(_figures(today=date(2026, 12, 20)))
    assert "Hạn nộp: 14/12/2026 (quá hạn 6 ngày)" in overdue
    closed = status_lines(_figures(today=date(2027, 2, 1), closed=True))
    assert "Hạn nộp: 14/12/2026 (đã đóng)" in closed


def test_indicator_lines_show_the_pooled_counts_and_the_verdict() -> None:
    figures = _figures(
        indicators=(
            _ratio("5c", 51, 101, 80, False),
            _ratio("2", 90, 100, 80, True),
            IndicatorFigure("8b", "Giảm chi", "percent", 12.25, None, None, 15, "min", False, 1),
            IndicatorFigure("6", "Công bố TTHC", "ratio", None, None, None, 90, "min", None, 0),
        )
    )
    lines = status_lines(figures)
    assert "• 5c. Chỉ tiêu 5c: 50,5% (51/101) — mục tiêu ≥ 80% ❌" in lines
    assert "• 2. Chỉ tiêu 2: 90% (90/100) — mục tiêu ≥ 80% ✅" in lines
    assert "• 8b. Giảm chi: 12,3% — mục tiêu ≥ 15% ❌" in lines
    assert "• 6. Công bố TTHC: chưa có số liệu — mục tiêu ≥ 90%" in lines


def test_satisfaction_lines_give_n_the_interval_and_the_target() -> None:
    enough = SatisfactionFigure("14", "TTHC", 6, 9, 3, 200 / 3, 35.42, 87.94, True, 95, False)
    few = SatisfactionFigure("14a", "Đất đai", 3, 6, 2, 50.0, 18.8, 81.2, False, 90, None)
    lines = status_lines(_figures(satisfaction=(enough, few)))
    [line14] = [line for line in lines if line.startswith("• 14. ")]
    assert "66,7%" in line14 and "3 người, n=9" in line14 and "35,4%–87,9%" in line14
    assert "mục tiêu ≥ 95%" in line14 and line14.endswith("❌")
    [line14a] = [line for line in lines if line.startswith("• 14a. ")]
    assert "chưa đủ dữ liệu" in line14a and "50%" not in line14a and "✅" not in line14a


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _many_missing() -> StatusFigures:
    """300 units missing: 250 communes (one line of about 7,000 characters) and 50 offices."""
    communes = tuple(f"UBND xã Thử Nghiệm Số {n:03d}" for n in range(250))
    offices = tuple(f"Phòng chuyên môn {n:02d}" for n in range(50))
    return _figures(
        units_total=302,
        missing={"Phòng, ban chuyên môn": offices, "UBND xã, thị trấn": communes},
        indicators=tuple(_ratio(f"{n}", n, 100, 80, n >= 80) for n in range(1, 40)),
    )


def test_a_long_status_is_split_into_messages_telegram_accepts_losing_nothing() -> None:
    figures = _many_missing()
    lines = status_lines(figures)
    assert _utf16("\n".join(lines)) > 2 * TELEGRAM_LIMIT
    chunks = render_status(figures)
    assert len(chunks) >= 3
    assert all(0 < _utf16(chunk) <= TELEGRAM_LIMIT for chunk in chunks)
    # Every line short enough to fit is kept whole, in one message, in order.
    kept = [line for chunk in chunks for line in chunk.split("\n")]
    short = [line for line in lines if line and _utf16(line) <= TELEGRAM_LIMIT]
    assert [line for line in kept if line in short] == short
    # The one line too long is broken after a comma: every unit name survives whole, in order.
    names = [name for group in figures.missing.values() for name in group]
    found = [part.strip() for line in kept for part in line.split(",")]
    pieces = [part.split(": ")[-1] for part in found]
    assert [p for p in pieces if p in names] == names


def test_split_counts_utf16_units_as_telegram_does() -> None:
    # 📊 is one Python character but two UTF-16 units: 1,500 lines of "📊 ab" are 7,500
    # characters and 9,000 units; a split by characters would overflow Telegram's limit.
    lines = ["📊 ab"] * 1500
    chunks = split_message(lines)
    assert all(_utf16(c) <= TELEGRAM_LIMIT for c in chunks)
    assert sum(c.count("📊 ab") for c in chunks) == 1500
    assert len(chunks) == 3


def test_a_word_longer_than_the_limit_is_cut_and_kept() -> None:
    word = "x" * 10_000
    chunks = split_message(["đầu", word, "cuối"], limit=4096)
    assert chunks[0] == "đầu"
    assert "".join(chunks[1:-1]) + chunks[-1].removesuffix("\ncuối") == word
    assert chunks[-1].endswith("cuối") and all(len(c) <= 4096 for c in chunks)


def test_no_message_starts_or_ends_with_a_blank_line() -> None:
    chunks = split_message(["a" * 4000, "", "b" * 100, "", "c"])
    assert chunks == ["a" * 4000, "b" * 100 + "\n\nc"]
    [single] = render_status(_figures())
    assert single.startswith("📊") and single == single.strip()


# --------------------------------------------------------------------------- figures


@pytest.fixture
def catalogue() -> Catalogue:
    org = OrgConfig()
    return load_catalogue(org.units, org.indicators, org.points, org.questionnaires)


@pytest.fixture
async def engine(tmp_path: Path, catalogue: Catalogue) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'status.sqlite3'}")
    await upgrade(engine)
    async with make_sessionmaker(engine).begin() as session:
        await repo.sync_units(session, catalogue.org.units)
    yield engine
    await engine.dispose()


def _round(key: str) -> Round:
    period = period_from_key(key)
    return Round(
        key=period.key,
        kind="quarter",
        title=period.title,
        window_start=period.window_start,
        window_end=period.window_end,
        deadline=period.deadline,
        opened_at=datetime(period.window_start.year, period.window_start.month, 15, tzinfo=UTC),
    )


Value = tuple[str, float | None, float | None, float | None, str | None]


async def _figures_of(
    engine: AsyncEngine,
    catalogue: Catalogue,
    key: str,
    reports: dict[str, list[Value]],
    counts: list[SurveyDailyCount] = [],  # noqa: B006 - never mutated
    late: frozenset[str] = frozenset(),
) -> StatusFigures:
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        round_ = _round(key)
        session.add(round_)
        await session.flush()
        for unit, values in reports.items():
            sub = Submission(
                round_id=round_.id,
                unit_code=unit,
                submitted_at=datetime(2026, 1, 1, tzinfo=UTC),
                submitted_by="Cán bộ",
                late=unit in late,
            )
            session.add(sub)
            await session.flush()
            for code, num, den, value, skip in values:
                session.add(
                    SubmissionValue(
                        submission_id=sub.id,
                        indicator_code=code,
                        numerator=num,
                        denominator=den,
                        value=value,
                        skip_reason=skip,
                    )
                )
        session.add_all(counts)
        await session.flush()
        return await status_figures(session, catalogue, round_, round_.window_start, 3)


def _by_code(figures: StatusFigures) -> dict[str, IndicatorFigure]:
    return {f.code: f for f in figures.indicators}


async def test_ratios_are_pooled_percentages_averaged_and_skips_left_out(
    engine: AsyncEngine, catalogue: Catalogue
) -> None:
    figures = await _figures_of(
        engine,
        catalogue,
        "2026-Q4",
        {
            "PNV": [("5c", 1, 1, 100.0, None), ("2", 9, 10, 90.0, None)],
            "TT-LP": [("5c", 50, 100, 50.0, None), ("2", None, None, None, "Không phát sinh")],
            "TCKH": [("8b", None, None, 12.0, None)],
            "XA-CK": [("8b", None, None, 17.0, None)],
        },
        late=frozenset({"XA-CK"}),
    )
    by_code = _by_code(figures)
    five_c = by_code["5c"]
    # 51/101 = 50.495… %, not the 75 % a mean of 100 % and 50 % would claim.
    assert (five_c.numerator, five_c.denominator) == (51, 101)
    assert five_c.value == pytest.approx(5100 / 101) and five_c.units_reporting == 2
    assert five_c.target == 80 and five_c.met is False
    assert (by_code["2"].numerator, by_code["2"].denominator, by_code["2"].units_reporting) == (
        9,
        10,
        1,
    )
    assert by_code["8b"].value == pytest.approx(14.5) and by_code["8b"].met is False
    assert by_code["6"].value is None and by_code["6"].met is None
    assert figures.submitted == 4 and figures.late == ("UBND xã Châu Khánh",)
    assert figures.units_total == len(catalogue.org.reporting_units())
    assert "Phòng Tư pháp" in figures.missing["Phòng, ban chuyên môn"]
    assert "Phòng Nội vụ" not in figures.missing["Phòng, ban chuyên môn"]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        # 4a/4b follow the yearly trajectory; the others take 2025's value until 2025, then 2030's.
        ("2024-Q3", {"4a": 80, "4b": 75, "5c": 50, "3b": 30, "8a": 20, "8b": 15}),
        ("2025-Q4", {"4a": 100, "4b": 95, "5c": 50, "3b": 30, "8a": 20, "8b": 15}),
        ("2026-Q1", {"4a": 100, "4b": 100, "5c": 80, "3b": 50, "8a": 20, "8b": 15}),
    ],
)
async def test_the_target_in_force_follows_the_rounds_year(
    engine: AsyncEngine, catalogue: Catalogue, key: str, expected: dict[str, float]
) -> None:
    figures = await _figures_of(engine, catalogue, key, {})
    targets = {code: f.target for code, f in _by_code(figures).items() if code in expected}
    assert targets == expected
    satisfaction = {s.target: s.goal for s in figures.satisfaction}
    year = int(key[:4])
    assert satisfaction == (
        {"14": 90, "14a": 85, "15": 90, "16": 85}
        if year <= 2025
        else {"14": 95, "14a": 90, "15": 95, "16": 90}
    )


def _count(day: date, field: str, target: str, *respondents: list[int]) -> SurveyDailyCount:
    """The day's aggregate row of these respondents' ratings, summed as the bot sums them."""
    row: dict[str, Any] = {}
    for levels in respondents:
        share = repo.daily_count_row(day, "mc-huyen", field, target, levels)
        for name in repo.DAILY_COUNTERS:
            row[name] = row.get(name, 0) + share[name]
    return SurveyDailyCount(day=day, point_code="mc-huyen", field=field, target=target, **row)


@pytest.mark.parametrize(
    ("key", "day"), [("2025-Q4", date(2025, 10, 1)), ("2026-Q4", date(2026, 10, 1))]
)
async def test_satisfaction_sums_the_daily_counts_of_the_window(
    engine: AsyncEngine, catalogue: Catalogue, key: str, day: date
) -> None:
    counts = [
        _count(day, "dat_dai", "14", [5, 5, 4], [4, 5, 2]),  # 5 of 6 satisfied
        _count(day, "dau_tu", "14", [1, 2], [3, 4]),  # 1 of 4: in 14a from 2026 only
        _count(day, "ho_tich", "14", [5, 5, 5], [5, 5, 5], [5, 5], [5, 5]),
        _count(day, "", "15", [3, 4, 5]),  # one person, below the minimum of 3
        _count(date(2020, 1, 1), "dat_dai", "14", *([1] for _ in range(50))),  # outside
    ]
    figures = await _figures_of(engine, catalogue, key, {}, counts)
    by_target = {s.target: s for s in figures.satisfaction}
    fourteen = by_target["14"]
    assert (fourteen.satisfied, fourteen.n, fourteen.respondents) == (16, 20, 8)
    assert fourteen.rate == pytest.approx(80) and fourteen.enough and fourteen.met is False
    # Over the 8 respondents (y satisfied of m answers): Σ(y − 0.8·m)² = 4.48, so
    # var = 4.48 / 20² = 0.0112 and n_eff = 0.8 · 0.2 / 0.0112 ≈ 14.3: Wilson on 14.3 draws,
    # wider than on the 20 answers (58.40–91.93), narrower than on 8 people (45.49–95.04).
    assert fourteen.low == pytest.approx(54.16, abs=0.01)
    assert fourteen.high == pytest.approx(93.12, abs=0.01)
    fourteen_a = by_target["14a"]
    if key.startswith("2025"):  # đất đai and xây dựng only
        assert (fourteen_a.satisfied, fourteen_a.n, fourteen_a.respondents) == (5, 6, 2)
        assert not fourteen_a.enough and fourteen_a.met is None
    else:  # đầu tư counts too
        assert (fourteen_a.satisfied, fourteen_a.n, fourteen_a.respondents) == (6, 10, 4)
        assert fourteen_a.rate == pytest.approx(60) and fourteen_a.met is False
    fifteen = by_target["15"]
    assert (fifteen.n, fifteen.respondents, fifteen.enough, fifteen.met) == (3, 1, False, None)
    assert by_target["16"].n == 0 and by_target["16"].rate is None


# --------------------------------------------------------------------------- 6-month, year


async def _add_round(session: Any, key: str, reports: dict[str, list[Value]]) -> Round:
    round_ = _round(key)
    session.add(round_)
    await session.flush()
    for unit, values in reports.items():
        sub = Submission(
            round_id=round_.id,
            unit_code=unit,
            submitted_at=datetime(2026, 1, 1, tzinfo=UTC),
            submitted_by="Cán bộ",
            late=False,
        )
        session.add(sub)
        await session.flush()
        for code, num, den, value, skip in values:
            session.add(
                SubmissionValue(
                    submission_id=sub.id,
                    indicator_code=code,
                    numerator=num,
                    denominator=den,
                    value=value,
                    skip_reason=skip,
                )
            )
    return round_


async def _window_of(
    engine: AsyncEngine,
    catalogue: Catalogue,
    key: str,
    quarters: dict[str, dict[str, list[Value]]],
    counts: list[SurveyDailyCount] = [],  # noqa: B006 - never mutated
) -> StatusFigures:
    async with make_sessionmaker(engine).begin() as session:
        rounds = [await _add_round(session, k, reports) for k, reports in quarters.items()]
        session.add_all(counts)
        await session.flush()
        scope = WindowRounds(window_from_key(key), tuple(rounds))
        return await window_figures(session, catalogue, scope, date(2026, 6, 20), 3)


async def test_six_months_sum_flows_keep_stocks_and_show_the_missing_quarter(
    engine: AsyncEngine, catalogue: Catalogue
) -> None:
    figures = await _window_of(
        engine,
        catalogue,
        "2026-H1",
        {
            "2026-Q1": {
                "PNV": [("5c", 10, 20, 50.0, None), ("5a", 8, 10, 80.0, None)],
                "TT-LP": [("5c", 1, 10, 10.0, None), ("5a", 1, 10, 10.0, None)],
            },
            # Thị trấn Long Phú sends nothing for Q2
            "2026-Q2": {"PNV": [("5c", 30, 40, 75.0, None), ("5a", 9, 10, 90.0, None)]},
        },
        [
            _count(date(2025, 12, 14), "", "15", *([1] for _ in range(9))),  # before: out
            _count(date(2025, 12, 15), "", "15", [5], [5]),  # the first day: in
            _count(date(2026, 6, 14), "", "15", [4], [2]),  # the last day: in
            _count(date(2026, 6, 15), "", "15", *([1] for _ in range(9))),  # Q3: out
        ],
    )
    assert (figures.round_key, figures.round_title, figures.scope) == (
        "2026-H1",
        "6 tháng đầu năm 2026",
        "half_year",
    )
    assert (figures.window_start, figures.window_end) == (date(2025, 12, 15), date(2026, 6, 14))
    by_code = _by_code(figures)
    five_c = by_code["5c"]  # a flow: (10 + 1 + 30) / (20 + 10 + 40)
    assert (five_c.numerator, five_c.denominator, five_c.aggregate) == (41, 70, "flow")
    assert five_c.quarters_used == ("Quý I/2026", "Quý II/2026")
    # only the unit that gave 5c once and then nothing is its gap (the others never gave it:
    # they are in the list of units missing quarters)
    assert five_c.gaps == ("UBND thị trấn Long Phú (Quý II/2026)",)
    five_a = by_code["5a"]  # a stock: Q2's value, the thị trấn's Q1 figure not carried on
    assert (five_a.numerator, five_a.denominator, five_a.aggregate) == (9, 10, "stock")
    assert five_a.quarters_used == ("Quý II/2026",)
    assert five_a.gaps == ("UBND thị trấn Long Phú (Quý II/2026)",)
    gaps = dict(figures.unit_gaps)
    assert gaps["UBND thị trấn Long Phú"] == ("Quý II/2026",)
    assert "Phòng Nội vụ" not in gaps
    assert [(q.key, q.submitted) for q in figures.quarters] == [("2026-Q1", 2), ("2026-Q2", 1)]
    # the survey covers every day of 15/12/2025 – 14/06/2026, and nothing outside it
    fifteen = {s.target: s for s in figures.satisfaction}["15"]
    assert (fifteen.respondents, fifteen.n, fifteen.satisfied) == (4, 4, 3)
    text = "\n".join(render_status(figures))
    assert "📊 TÌNH HÌNH BÁO CÁO 6 THÁNG ĐẦU NĂM 2026" in text
    assert "Kỳ số liệu: 15/12/2025 – 14/06/2026" in text
    assert "Quý II/2026: đã nộp 1/" in text
    assert "— UBND thị trấn Long Phú: Quý II/2026" in text
    lines = {ln[: ln.index(".")]: ln for ln in text.splitlines() if ln.startswith("• ")}
    assert lines["• 5c"].endswith("[cộng 2 quý; thiếu: UBND thị trấn Long Phú (Quý II/2026)]")
    assert "58,6% (41/70)" in lines["• 5c"]
    assert lines["• 5a"].endswith(
        "[số liệu Quý II/2026; thiếu: UBND thị trấn Long Phú (Quý II/2026)]"
    )


async def test_the_year_holds_the_quarters_opened_so_far(
    engine: AsyncEngine, catalogue: Catalogue
) -> None:
    figures = await _window_of(
        engine,
        catalogue,
        "2026",
        {
            "2026-Q1": {"PNV": [("5c", 1, 2, 50.0, None)]},
            "2026-Q2": {"PNV": [("5c", 3, 4, 75.0, None)]},
        },
        [_count(date(2026, 12, 14), "", "15", [5]), _count(date(2026, 12, 15), "", "15", [1])],
    )
    assert (figures.window_start, figures.window_end) == (date(2025, 12, 15), date(2026, 12, 14))
    assert figures.round_title == "Năm 2026" and not figures.closed
    assert (_by_code(figures)["5c"].numerator, _by_code(figures)["5c"].denominator) == (4, 6)
    fifteen = {s.target: s for s in figures.satisfaction}["15"]
    assert fifteen.respondents == 1  # 14/12/2026 in, 15/12/2026 belongs to 2027
    assert "Kỳ số liệu: 15/12/2025 – 14/12/2026" in "\n".join(render_status(figures))


async def test_8b_is_not_judged_before_its_baseline_period_is_over(
    engine: AsyncEngine, catalogue: Catalogue
) -> None:
    # 8b compares with 2021–2025: in 2025 there is nothing whole to compare with yet
    before = _by_code(
        await _figures_of(engine, catalogue, "2025-Q4", {"TCKH": [("8b", None, None, 20.0, None)]})
    )["8b"]
    assert before.met is None and before.value == 20
    assert before.not_judged == "chưa đánh giá: giai đoạn so sánh 2021–2025 chưa kết thúc"
    after = _by_code(
        await _figures_of(engine, catalogue, "2026-Q4", {"TCKH": [("8b", None, None, 20.0, None)]})
    )["8b"]
    assert after.met is True and after.not_judged == ""
    assert (after.target, after.target_source) == (15, "plan")


async def test_targets_say_whether_the_plan_states_them(
    engine: AsyncEngine, catalogue: Catalogue
) -> None:
    by_code = _by_code(await _figures_of(engine, catalogue, "2026-Q2", {}))
    assert by_code["5c"].target_source == "plan"  # 80 % in 2030: the plan's own
    assert by_code["2"].target_source == "duy_tri"  # 2025's 80 % kept to 2030
    assert by_code["4b"].target_source == "lo_trinh"  # 2026's 100 %: a trajectory step
    assert "không phải cung cấp lại" in by_code["10"].qualitative
    assert "lý luận chính trị" in by_code["13"].qualitative  # the 2030 wording from 2026
    lines = status_lines(await _figures_of(engine, catalogue, "2026-Q3", {}))
    at = lines.index(next(ln for ln in lines if ln.startswith("• 13. ")))
    assert lines[at + 1].startswith("  Phần định tính (không tính tỷ lệ): Đội ngũ")
    assert lines[at + 2] == "  — chưa đơn vị nào ghi nhận (/dinhtinh)"


async def test_the_yearly_report_says_when_the_trend_reaches_2030s_target(
    engine: AsyncEngine, catalogue: Catalogue
) -> None:
    # 5c district-wide: 50, 55, 60, 65 % in the four quarters to Q2/2026; +5 a quarter, the
    # line reaches 2030's 80 % in Q1/2027. 5a has only two quarters: no trend.
    quarters = {
        key: {"PNV": [("5c", share, 100, float(share), None)]}
        for key, share in (("2025-Q3", 50), ("2025-Q4", 55), ("2026-Q1", 60), ("2026-Q2", 65))
    }
    quarters["2026-Q1"]["PNV"].append(("5a", 5, 10, 50.0, None))
    quarters["2026-Q2"]["PNV"].append(("5a", 6, 10, 60.0, None))
    async with make_sessionmaker(engine).begin() as session:
        rounds = [await _add_round(session, k, reports) for k, reports in quarters.items()]
        year = await window_figures(
            session, catalogue, WindowRounds(window_from_key("2026"), tuple(rounds[2:])),
            date(2026, 6, 20), 3,
        )  # fmt: skip
        half = await window_figures(
            session, catalogue, WindowRounds(window_from_key("2026-H1"), tuple(rounds[2:])),
            date(2026, 6, 20), 3,
        )  # fmt: skip
    by_code = _by_code(year)
    assert by_code["5c"].trend == "theo đà hiện tại: đạt năm 2027"
    assert by_code["5a"].trend == ""
    assert line_of_status(year, "• 5c. ").endswith(" — theo đà hiện tại: đạt năm 2027")
    assert all(f.trend == "" for f in half.indicators)  # only the yearly report says it


def line_of_status(figures: StatusFigures, start: str) -> str:
    [line] = [ln for ln in status_lines(figures) if ln.startswith(start)]
    return line
