from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db import repo
from db.migrate import upgrade
from db.models import Round, Submission, SubmissionValue, SurveyDailyCount, ValueRevision
from db.session import make_engine, make_sessionmaker
from reports.export import (
    SHEET_REVISIONS,
    SHEET_SUMMARY,
    SHEET_SURVEY,
    SHEET_UNITS,
    ExportData,
    SurveyRow,
    answer_text,
    collect_export,
    local_naive,
    write_xlsx,
)
from reports.figures import StatusFigures
from reports.status import status_figures
from surveys.catalogue import Catalogue, load_catalogue

UNITS = """
[kinds]
phong_ban = "Phòng, ban chuyên môn"
xa = "UBND xã, thị trấn"

[[unit]]
code = "PNV"
name = "Phòng Nội vụ"
kind = "phong_ban"

[[unit]]
code = "PTP"
name = "Phòng Tư pháp"
kind = "phong_ban"

[[unit]]
code = "XA1"
name = "UBND xã Long Đức"
kind = "xa"
"""

INDICATORS = """
[[indicator]]
code = "5c"
target_no = 5
name = "Hồ sơ xử lý trực tuyến trên tổng số hồ sơ"
kind = "ratio"
aggregate = "flow"
numerator_label = "Số hồ sơ trực tuyến"
denominator_label = "Tổng số hồ sơ"
unit_kinds = ["phong_ban", "xa"]
targets = { 2025 = 50, 2030 = 80 }

[[indicator]]
code = "8a"
target_no = 8
name = "Đơn vị sự nghiệp tự chủ chi thường xuyên"
kind = "percent"
unit_kinds = ["phong_ban"]
targets = { 2025 = 20 }

[[indicator]]
code = "13"
target_no = 13
name = "Số công chức cấp xã đạt chuẩn"
kind = "count"
aggregate = "stock"
unit_kinds = ["xa"]

[[indicator]]
code = "14"
target_no = 14
name = "Sự hài lòng về giải quyết TTHC"
kind = "survey"
targets = { 2025 = 90, 2030 = 95 }

[[indicator]]
code = "14a"
target_no = 14
name = "Trong đó lĩnh vực đất đai, xây dựng"
kind = "survey"
part_of = "14"
targets = { 2025 = 85, 2030 = 90 }
fields = { 2025 = ["dat_dai", "xay_dung"], 2030 = ["dat_dai", "xay_dung", "dau_tu"] }
"""

POINTS = """
[kinds]
mot_cua = "Bộ phận Một cửa"

[[point]]
code = "mc-huyen"
name = "Bộ phận Một cửa huyện"
kind = "mot_cua"
questionnaire = "tthc"
unit = "PNV"
"""

QUESTIONNAIRE = """
code = "tthc"
title = "Khảo sát hài lòng"

[[question]]
id = "q1"
kind = "rating"
text = "Ông/bà hài lòng với việc giải quyết hồ sơ?"
feeds = ["14"]
"""

MIN_SAMPLE = 10


def _catalogue(tmp: Path) -> Catalogue:
    (tmp / "q").mkdir()
    (tmp / "units.toml").write_text(UNITS, encoding="utf-8")
    (tmp / "indicators.toml").write_text(INDICATORS, encoding="utf-8")
    (tmp / "points.toml").write_text(POINTS, encoding="utf-8")
    (tmp / "q" / "tthc.toml").write_text(QUESTIONNAIRE, encoding="utf-8")
    return load_catalogue(
        tmp / "units.toml", tmp / "indicators.toml", tmp / "points.toml", tmp / "q"
    )


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    catalogue: Catalogue
    round_: Round
    figures: StatusFigures
    data: ExportData
    book: Any


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 't.sqlite3'}")
    await upgrade(engine)
    yield engine
    await engine.dispose()


def _counts(day: date, field: str, target: str, levels: tuple[int, ...]) -> SurveyDailyCount:
    return SurveyDailyCount(
        day=day,
        point_code="mc-huyen",
        field=field,
        target=target,
        level1=levels[0],
        level2=levels[1],
        level3=levels[2],
        level4=levels[3],
        level5=levels[4],
        respondents=sum(levels),
        fully_satisfied=levels[3] + levels[4],
    )


async def _fill(session: AsyncSession, catalogue: Catalogue) -> Round:
    await repo.sync_units(session, catalogue.org.units)
    opened = _utc(2026, 9, 15, 1)
    earlier = Round(
        key="2026-Q3",
        kind="quarter",
        title="Quý III/2026",
        window_start=date(2026, 6, 15),
        window_end=date(2026, 9, 14),
        deadline=date(2026, 9, 14),
        opened_at=_utc(2026, 6, 15, 1),
    )
    round_ = Round(
        key="2026-Q4",
        kind="quarter",
        title="Quý IV/2026",
        window_start=date(2026, 9, 15),
        window_end=date(2026, 12, 14),
        deadline=date(2026, 12, 14),
        opened_at=opened,
    )
    session.add_all([earlier, round_])
    await session.flush()

    # Phòng Nội vụ: on time, 1/1 records online, 8a = 30 %.
    pnv = Submission(
        round_id=round_.id,
        unit_code="PNV",
        submitted_at=_utc(2026, 12, 1, 2, 30),  # 09:30 in Long Phú
        submitted_by="Nguyễn Văn A",
        late=False,
    )
    # Phòng Tư pháp: late, entered by Phòng Nội vụ, 50/100, 8a not applicable.
    ptp = Submission(
        round_id=round_.id,
        unit_code="PTP",
        submitted_at=_utc(2026, 12, 16, 3, 0),
        submitted_by="Phòng Nội vụ (nhập thay)",
        late=True,
        by_admin=True,
    )
    old = Submission(
        round_id=earlier.id,
        unit_code="PNV",
        submitted_at=_utc(2026, 9, 1, 2),
        submitted_by="Nguyễn Văn A",
    )
    session.add_all([pnv, ptp, old])
    await session.flush()
    session.add_all(
        [
            SubmissionValue(
                submission_id=pnv.id, indicator_code="5c", numerator=1, denominator=1, value=100
            ),
            SubmissionValue(submission_id=pnv.id, indicator_code="8a", value=30),
            SubmissionValue(
                submission_id=ptp.id, indicator_code="5c", numerator=50, denominator=100, value=50
            ),
            SubmissionValue(
                submission_id=ptp.id,
                indicator_code="8a",
                skip_reason="Không quản lý đơn vị sự nghiệp",
            ),
            SubmissionValue(
                submission_id=old.id, indicator_code="5c", numerator=9, denominator=10, value=90
            ),
            ValueRevision(
                submission_id=pnv.id,
                indicator_code="5c",
                old=None,
                new={"num": 1, "den": 1},
                changed_by="Nguyễn Văn A",
                changed_at=_utc(2026, 12, 1, 2, 30),
            ),
            ValueRevision(
                submission_id=ptp.id,
                indicator_code="5c",
                old={"num": 40, "den": 100},
                new={"num": 50, "den": 100},
                changed_by="Trần Thị B",
                by_admin=True,
                changed_at=_utc(2026, 12, 17, 8, 5),  # 15:05 local
            ),
            ValueRevision(
                submission_id=old.id,
                indicator_code="5c",
                old=None,
                new={"num": 9, "den": 10},
                changed_by="Nguyễn Văn A",
                changed_at=_utc(2026, 9, 1, 2),
            ),
            # Survey counts: two days of land records, one of civil status, one row
            # before the window that must be left out.
            _counts(date(2026, 10, 1), "dat_dai", "14", (0, 0, 1, 3, 6)),
            _counts(date(2026, 10, 5), "dat_dai", "14", (0, 1, 0, 1, 1)),
            _counts(date(2026, 10, 2), "ho_tich", "14", (1, 0, 0, 2, 2)),
            _counts(date(2026, 9, 14), "dat_dai", "14", (50, 0, 0, 0, 0)),
        ]
    )
    await session.flush()
    return round_


@pytest.fixture
async def world(engine: AsyncEngine, tmp_path: Path) -> World:
    catalogue = _catalogue(tmp_path)
    async with make_sessionmaker(engine)() as session, session.begin():
        round_ = await _fill(session, catalogue)
    async with make_sessionmaker(engine)() as session:
        figures = await status_figures(session, catalogue, round_, date(2026, 12, 20), MIN_SAMPLE)
        data = await collect_export(session, catalogue, round_, figures)
    book = load_workbook(io.BytesIO(write_xlsx(data)))
    return World(catalogue, round_, figures, data, book)


def _rows(ws: Worksheet, start: int = 2) -> list[tuple[Any, ...]]:
    return [tuple(c.value for c in row) for row in ws.iter_rows(min_row=start)]


def _header_row(ws: Worksheet, first: str) -> int:
    for row in ws.iter_rows(min_col=1, max_col=1):
        if row[0].value == first and row[0].font.bold:
            return int(row[0].row)
    raise AssertionError(f"no bold header starting with {first!r}")


def test_sheet_names(world: World) -> None:
    assert world.book.sheetnames == [SHEET_SUMMARY, SHEET_UNITS, SHEET_REVISIONS, SHEET_SURVEY]
    assert world.book.sheetnames == [
        "Tổng hợp",
        "Số liệu theo đơn vị",
        "Lịch sử sửa đổi",
        "Khảo sát",
    ]


def test_headers_are_bold_and_frozen(world: World) -> None:
    for name in (SHEET_UNITS, SHEET_REVISIONS, SHEET_SURVEY):
        ws = world.book[name]
        assert ws.freeze_panes == "A2", name
        header = ws[1]
        assert all(c.font.bold for c in header), name
        assert all(isinstance(c.value, str) and c.value for c in header), name
        widths = [ws.column_dimensions[c.column_letter].width for c in header]
        assert min(widths) >= 8 and max(widths) >= 30, name
    summary = world.book[SHEET_SUMMARY]
    row = _header_row(summary, "Mã")
    assert summary.freeze_panes == f"A{row + 1}"
    assert all(c.font.bold for c in summary[row] if c.value)


def test_summary_header_block(world: World) -> None:
    ws = world.book[SHEET_SUMMARY]
    assert ws["A1"].value == "Tình hình CCHC — Quý IV/2026"
    block = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2) for r in range(2, 11)}
    assert block["Kỳ số liệu từ ngày"].value == datetime(2026, 9, 15)
    assert block["Kỳ số liệu từ ngày"].number_format == "dd/mm/yyyy"
    assert block["Đến ngày"].value == datetime(2026, 12, 14)
    assert block["Hạn nộp"].value == datetime(2026, 12, 14)
    assert block["Số đơn vị đã nộp"].value == 2
    assert block["Số đơn vị phải nộp"].value == 3
    assert block["Trong đó nộp trễ hạn"].value == 1


def test_ratio_is_pooled_from_counts_and_stored_as_a_percent_number(world: World) -> None:
    ws = world.book[SHEET_SUMMARY]
    start = _header_row(ws, "Mã")
    rows = {r[0]: r for r in _rows(ws, start + 1) if r[0]}
    result, num, den, target, verdict, reporting = rows["5c"][2:8]
    assert isinstance(result, float)
    assert result == pytest.approx(51 / 101)  # 0.50495, not the 0.75 of a mean of rates
    assert (num, den) == (51, 101)
    assert target == pytest.approx(0.8)  # the 2030 target applies in 2026
    assert verdict == "Chưa đạt"
    assert reporting == 2
    result_cell = ws.cell(row=start + 1 + list(rows).index("5c"), column=3)
    assert result_cell.value == result
    assert result_cell.number_format == "0.0%"
    # 8a: only Phòng Nội vụ gave a figure (Tư pháp skipped), 30 % ≥ 20 %.
    assert rows["8a"][2] == pytest.approx(0.3)
    assert rows["8a"][6] == "Đạt"
    assert rows["8a"][7] == 1
    assert rows["13"][6] == "Chưa có số liệu"


def test_summary_satisfaction_rows(world: World) -> None:
    ws = world.book[SHEET_SUMMARY]
    start = _header_row(ws, "Mã")
    second = _header_row_after(ws, start)
    rows = {r[0]: r for r in _rows(ws, second + 1) if r[0]}
    # 14: land 13 answers (11 satisfied) + civil status 5 (4 satisfied); the row before the
    # window is left out.
    assert rows["14"][2] == pytest.approx(15 / 18)
    assert rows["14"][3:5] == (15, 18)
    assert rows["14"][5] == pytest.approx(0.95)
    assert rows["14"][6] == "Chưa đạt"
    low, high = rows["14"][7:9]
    assert 0 < low < 15 / 18 < high <= 1
    assert rows["14"][9] == 18
    # 14a counts only land and construction.
    assert rows["14a"][3:5] == (11, 13)
    assert ws.cell(row=second + 1, column=3).number_format == "0.0%"


def _header_row_after(ws: Worksheet, after: int) -> int:
    for row in ws.iter_rows(min_row=after + 1, min_col=1, max_col=1):
        if row[0].value == "Mã" and row[0].font.bold:
            return int(row[0].row)
    raise AssertionError("no satisfaction header")


async def test_not_enough_sample_hides_the_rate(engine: AsyncEngine, tmp_path: Path) -> None:
    catalogue = _catalogue(tmp_path)
    async with make_sessionmaker(engine)() as session, session.begin():
        round_ = await _fill(session, catalogue)
    async with make_sessionmaker(engine)() as session:
        figures = await status_figures(session, catalogue, round_, date(2026, 12, 20), 100)
        data = await collect_export(session, catalogue, round_, figures)
    ws = load_workbook(io.BytesIO(write_xlsx(data)))[SHEET_SUMMARY]
    second = _header_row_after(ws, _header_row(ws, "Mã"))
    rows = {r[0]: r for r in _rows(ws, second + 1) if r[0]}
    assert rows["14"][2] is None
    assert rows["14"][6] == "Chưa đủ dữ liệu"
    assert rows["14"][4] == 18


def test_values_by_unit(world: World) -> None:
    ws = world.book[SHEET_UNITS]
    headers = [c.value for c in ws[1]]
    assert headers[:5] == ["Mã đơn vị", "Tên đơn vị", "Loại", "Mã chỉ tiêu", "Tên chỉ tiêu"]
    rows = _rows(ws)
    by_key = {(r[0], r[3]): r for r in rows}
    pnv = by_key[("PNV", "5c")]
    assert pnv[1:3] == ("Phòng Nội vụ", "Phòng, ban chuyên môn")
    assert pnv[5:8] == (1, 1, 1.0)
    assert pnv[9] == datetime(2026, 12, 1, 9, 30)  # local time, tz-naive
    assert pnv[10:12] == ("Không", "Không")
    ptp = by_key[("PTP", "5c")]
    assert ptp[5:8] == (50, 100, 0.5)
    assert ptp[10:12] == ("Có", "Có")
    assert by_key[("PTP", "8a")][8] == "Không quản lý đơn vị sự nghiệp"
    assert by_key[("PTP", "8a")][7] is None
    assert by_key[("XA1", None)][9] == "Chưa nộp"
    assert [r[0] for r in rows] == ["PNV", "PNV", "PTP", "PTP", "XA1"]  # organisation order
    # Formats on the cells themselves.
    row = 2 + rows.index(ptp)
    assert ws.cell(row=row, column=8).number_format == "0.0%"
    assert ws.cell(row=row, column=6).number_format == "#,##0"
    assert "dd/mm/yyyy" in ws.cell(row=row, column=10).number_format


def test_revision_history_of_the_round_only(world: World) -> None:
    ws = world.book[SHEET_REVISIONS]
    rows = _rows(ws)
    assert len(rows) == 2  # the Q3 revision is not part of this round
    first, second = rows
    assert first[0] == datetime(2026, 12, 1, 9, 30)
    assert first[1:4] == ("PNV", "Phòng Nội vụ", "5c")
    assert first[5] is None
    assert first[6] == "1/1 (100%)"
    assert second[0] == datetime(2026, 12, 17, 15, 5)
    assert second[5] == "40/100 (40%)"
    assert second[6] == "50/100 (50%)"
    assert second[7:9] == ("Trần Thị B", "Có")
    assert "dd/mm/yyyy" in ws["A2"].number_format


def test_survey_sheet_by_point_and_field(world: World) -> None:
    ws = world.book[SHEET_SURVEY]
    rows = _rows(ws)
    assert len(rows) == 2
    land, civil = rows
    assert land[:4] == ("mc-huyen", "Bộ phận Một cửa huyện", "Đất đai", "14")
    assert land[4:7] == (13, 11, pytest.approx(11 / 13))
    assert land[7:12] == (0, 1, 1, 4, 7)
    assert land[12:14] == (13, 11)
    assert civil[2] == "Hộ tịch"
    assert civil[4:6] == (5, 4)
    assert ws["G2"].number_format == "0.0%"
    assert ws["E2"].number_format == "#,##0"


def test_empty_round_writes_a_workbook() -> None:
    figures = StatusFigures(
        round_key="DX-1",
        round_title="Báo cáo đột xuất",
        window_start=date(2026, 1, 1),
        window_end=date(2026, 1, 31),
        deadline=date(2026, 2, 5),
        today=date(2026, 1, 10),
        closed=False,
        units_total=0,
        on_time=(),
        late=(),
    )
    book = load_workbook(io.BytesIO(write_xlsx(ExportData(figures, (), (), ()))))
    assert book.sheetnames == [SHEET_SUMMARY, SHEET_UNITS, SHEET_REVISIONS, SHEET_SURVEY]
    assert book[SHEET_SURVEY].max_row == 1


def test_answer_text() -> None:
    assert answer_text(None, "ratio") is None
    assert answer_text({"num": 1234, "den": 2000}, "ratio") == "1.234/2.000 (61,7%)"
    assert answer_text({"num": 0, "den": 0}, "ratio") == "0/0"
    assert answer_text({"value": 85.5}, "percent") == "85,5%"
    assert answer_text({"value": 1234}, "count") == "1.234"
    assert answer_text({"skip": "Không có hồ sơ"}, "ratio") == "Không áp dụng: Không có hồ sơ"


def test_survey_row_without_answers_has_no_rate() -> None:
    row = SurveyRow("p", "Điểm", "", "15", (0, 0, 0, 0, 0))
    assert row.rate is None
    assert row.field_label == "(chưa phân lĩnh vực)"


def test_local_naive_refuses_naive_input() -> None:
    assert local_naive(_utc(2026, 1, 1, 17)) == datetime(2026, 1, 2, 0, 0)
    with pytest.raises(ValueError):
        local_naive(datetime(2026, 1, 1))
