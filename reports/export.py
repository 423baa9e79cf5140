"""The round's data as an Excel workbook for the office that collects the reports (/export).

``collect_export`` reads everything the workbook shows from the database into plain frozen
dataclasses; ``write_xlsx`` turns them into an .xlsx without further I/O. Numbers are kept
as numbers (percentages as fractions with a "0.0%" format) so that the office can go on
calculating in Excel, and times are local (Asia/Ho_Chi_Minh) tz-naive datetimes because
Excel has no time zones.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import repo
from db.models import Round, Submission, ValueRevision
from db.models import Unit as UnitRow
from reports.figures import StatusFigures
from reports.status import round_label
from reports.text import channel_label
from scheduler.calendar import format_date
from scheduler.rounds import missing_units
from surveys.catalogue import FIELD_LABELS, Catalogue
from surveys.numbers import format_number, format_percent

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

SHEET_SUMMARY = "Tổng hợp"
SHEET_UNITS = "Số liệu theo đơn vị"
SHEET_REVISIONS = "Lịch sử sửa đổi"
SHEET_SURVEY = "Khảo sát"

NOT_SUBMITTED = "Chưa nộp"
NO_FIELD = "(chưa phân lĩnh vực)"
YES, NO = "Có", "Không"

PERCENT_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.0##"
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"

BOLD = Font(bold=True)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ExportSheetRow:
    """One row of "Số liệu theo đơn vị": a unit's value of one indicator, or (when
    ``submitted_at`` is None) a unit that has not submitted, with no indicator."""

    unit_code: str
    unit_name: str
    unit_kind: str  # the kind's label
    indicator_code: str | None = None
    indicator_name: str | None = None
    indicator_kind: str | None = None  # ratio | percent | count
    numerator: float | None = None
    denominator: float | None = None
    value: float | None = None  # as stored: percent for ratio/percent, a count for count
    skip_reason: str | None = None
    submitted_at: datetime | None = None  # local, tz-naive
    late: bool = False
    by_admin: bool = False
    period: str = ""  # the round the row belongs to ("Quý II/2026"): a window has several

    @property
    def submitted(self) -> bool:
        return self.submitted_at is not None


@dataclass(frozen=True)
class RevisionRow:
    """One ``value_revisions`` row, old and new values as they read in a report."""

    changed_at: datetime  # local, tz-naive
    unit_code: str
    unit_name: str
    indicator_code: str
    indicator_name: str
    old: str | None  # None: the first value given
    new: str
    changed_by: str
    by_admin: bool


@dataclass(frozen=True)
class SurveyRow:
    """Answers at one service point, in one field, for one target, over the round's window."""

    point_code: str
    point_name: str
    field: str  # "" when the response had no field
    target: str
    levels: tuple[int, int, int, int, int]  # answers at levels 1..5
    channel: str = ""  # the channel the answers came by ("" before channels were kept)
    respondents: int = 0  # people who answered (one person may give several ratings)
    fully_satisfied: int = 0  # people whose every rating was 4 or 5 ("hài lòng toàn diện")

    @property
    def field_label(self) -> str:
        return FIELD_LABELS.get(self.field, self.field) if self.field else NO_FIELD

    @property
    def n(self) -> int:
        return sum(self.levels)

    @property
    def satisfied(self) -> int:
        return self.levels[3] + self.levels[4]

    @property
    def rate(self) -> float | None:
        """The satisfied share as a fraction (0..1); None without answers."""
        return self.satisfied / self.n if self.n else None


@dataclass(frozen=True)
class ExportData:
    figures: StatusFigures
    units: tuple[ExportSheetRow, ...]
    revisions: tuple[RevisionRow, ...]
    survey: tuple[SurveyRow, ...]


# --------------------------------------------------------------------------- collecting


def local_naive(moment: datetime, tz: ZoneInfo = LOCAL_TZ) -> datetime:
    """A tz-aware moment as local wall time without tzinfo (what Excel can hold)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the database keeps tz-aware UTC")
    return moment.astimezone(tz).replace(tzinfo=None)


def answer_text(answer: Mapping[str, Any] | None, kind: str | None) -> str | None:
    """A stored answer (``{"num", "den"}``, ``{"value"}`` or ``{"skip"}``) as it reads."""
    if answer is None:
        return None
    if "skip" in answer:
        return f"Không áp dụng: {answer['skip']}"
    if answer.get("den") is not None:
        num, den = float(answer.get("num") or 0), float(answer["den"])
        pair = f"{format_number(num)}/{format_number(den)}"
        return f"{pair} ({format_percent(100 * num / den)})" if den else pair
    value = answer.get("value")
    if value is None:
        return ""
    return format_percent(float(value)) if kind == "percent" else format_number(float(value))


async def _unit_rows(
    session: AsyncSession, catalogue: Catalogue, round_: Round, tz: ZoneInfo
) -> tuple[ExportSheetRow, ...]:
    period = round_label(round_)
    org = catalogue.org
    known = {u.code: (u.name, u.kind) for u in (await session.scalars(select(UnitRow))).all()}
    known.update({u.code: (u.name, u.kind) for u in org.units})
    order = {u.code: n for n, u in enumerate(org.units)}
    indicator_order = {i.code: n for n, i in enumerate(catalogue.indicators.indicators)}

    def who(code: str) -> tuple[str, str, str]:
        name, kind = known.get(code, (code, ""))
        return code, name, org.kind_label(kind) if kind else ""

    per_unit: dict[str, list[ExportSheetRow]] = {}
    for s in await repo.submissions_of(session, round_.id):
        code, name, kind = who(s.unit_code)
        values = sorted(
            await repo.values_of(session, s.id),
            key=lambda v: (
                indicator_order.get(v.indicator_code, len(indicator_order)),
                v.indicator_code,
            ),
        )
        when = local_naive(s.submitted_at, tz)
        rows = []
        for v in values:
            indicator = catalogue.indicators.get(v.indicator_code)
            rows.append(
                ExportSheetRow(
                    unit_code=code,
                    unit_name=name,
                    unit_kind=kind,
                    indicator_code=v.indicator_code,
                    indicator_name=indicator.name if indicator else v.indicator_code,
                    indicator_kind=indicator.kind if indicator else None,
                    numerator=v.numerator,
                    denominator=v.denominator,
                    value=v.value,
                    skip_reason=v.skip_reason,
                    submitted_at=when,
                    late=s.late,
                    by_admin=s.by_admin,
                    period=period,
                )
            )
        if not rows:  # a submission without values still shows that the unit submitted
            rows.append(
                ExportSheetRow(
                    code,
                    name,
                    kind,
                    submitted_at=when,
                    late=s.late,
                    by_admin=s.by_admin,
                    period=period,
                )
            )
        per_unit[code] = rows
    for unit in await missing_units(session, catalogue, round_):
        per_unit.setdefault(unit.code, [ExportSheetRow(*who(unit.code), period=period)])
    codes = sorted(per_unit, key=lambda c: (order.get(c, len(order)), c))
    return tuple(row for c in codes for row in per_unit[c])


async def _revision_rows(
    session: AsyncSession, catalogue: Catalogue, round_: Round, tz: ZoneInfo
) -> tuple[RevisionRow, ...]:
    names = {u.code: u.name for u in (await session.scalars(select(UnitRow))).all()}
    names.update({u.code: u.name for u in catalogue.org.units})
    result = await session.execute(
        select(ValueRevision, Submission.unit_code)
        .join(Submission, Submission.id == ValueRevision.submission_id)
        .where(Submission.round_id == round_.id)
        .order_by(ValueRevision.changed_at, ValueRevision.id)
    )
    rows = []
    for revision, unit_code in result:
        indicator = catalogue.indicators.get(revision.indicator_code)
        kind = indicator.kind if indicator else None
        rows.append(
            RevisionRow(
                changed_at=local_naive(revision.changed_at, tz),
                unit_code=unit_code,
                unit_name=names.get(unit_code, unit_code),
                indicator_code=revision.indicator_code,
                indicator_name=indicator.name if indicator else revision.indicator_code,
                old=answer_text(revision.old, kind),
                new=answer_text(revision.new, kind) or "",
                changed_by=revision.changed_by,
                by_admin=revision.by_admin,
            )
        )
    return tuple(rows)


async def _survey_rows(
    session: AsyncSession, catalogue: Catalogue, start: date, end: date
) -> tuple[SurveyRow, ...]:
    # level1..level5, respondents, fully_satisfied
    sums: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0] * 7)
    for row in await repo.daily_counts(session, start, end):
        bucket = sums[(row.point_code, row.field, row.target, row.channel)]
        for n in range(5):
            bucket[n] += getattr(row, f"level{n + 1}")
        bucket[5] += row.respondents
        bucket[6] += row.fully_satisfied
    point_order = {p.code: n for n, p in enumerate(catalogue.points)}
    field_order = {f: n for n, f in enumerate(FIELD_LABELS)}

    def key(k: tuple[str, str, str, str]) -> tuple[int, str, int, str, str, str]:
        point, field, target, channel = k
        return (
            point_order.get(point, len(point_order)),
            point,
            field_order.get(field, len(field_order)),
            field,
            target.zfill(4),
            channel,
        )

    out = []
    for point, field, target, channel in sorted(sums, key=key):
        totals = sums[(point, field, target, channel)]
        found = catalogue.point(point)
        out.append(
            SurveyRow(
                point_code=point,
                point_name=found.name if found else point,
                field=field,
                target=target,
                levels=(totals[0], totals[1], totals[2], totals[3], totals[4]),
                respondents=totals[5],
                fully_satisfied=totals[6],
                channel=channel,
            )
        )
    return tuple(out)


async def collect_export(
    session: AsyncSession,
    catalogue: Catalogue,
    rounds: Round | Sequence[Round],
    figures: StatusFigures,
    *,
    tz: ZoneInfo = LOCAL_TZ,
) -> ExportData:
    """Everything the workbook shows: ``figures`` (from ``reports.status.status_figures`` or
    ``window_figures``) for the summary, and from the database the values by unit and the
    revision history of ``rounds`` (one round, or the quarters of a six-month or yearly
    report, quarter by quarter), and the survey counts by service point and field within
    the figures' window."""
    chosen = (rounds,) if isinstance(rounds, Round) else tuple(rounds)
    units: list[ExportSheetRow] = []
    revisions: list[RevisionRow] = []
    for round_ in chosen:
        units += await _unit_rows(session, catalogue, round_, tz)
        revisions += await _revision_rows(session, catalogue, round_, tz)
    return ExportData(
        figures=figures,
        units=tuple(units),
        revisions=tuple(sorted(revisions, key=lambda r: r.changed_at)),
        survey=await _survey_rows(session, catalogue, figures.window_start, figures.window_end),
    )


# --------------------------------------------------------------------------- writing


def _number(value: float | None) -> float | int | None:
    """Whole floats as ints, so Excel shows 51 rather than 51.0."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


def _fraction(percent: float | None) -> float | None:
    return None if percent is None else percent / 100


def _count_format(value: float | None) -> str:
    return COUNT_FORMAT if value is None or float(value).is_integer() else DECIMAL_FORMAT


def _yes_no(flag: bool) -> str:
    return YES if flag else NO


def _put(ws: Worksheet, row: int, col: int, value: Any, number_format: str | None = None) -> None:
    cell = ws.cell(row=row, column=col, value=value)
    if number_format is not None and value is not None:
        cell.number_format = number_format


def _header(ws: Worksheet, row: int, titles: Sequence[str]) -> None:
    for col, title in enumerate(titles, start=1):
        cell = ws.cell(row=row, column=col, value=title)
        cell.font = BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.row_dimensions[row].height = 32  # room for a header that wraps onto two lines


def _widths(ws: Worksheet, widths: Iterable[float]) -> None:
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def aggregate_text(aggregate: str, quarters: Sequence[str]) -> str:
    """How the figure adds up over quarters: "Cộng dồn Quý I/2026, Quý II/2026" or "Số liệu
    Quý II/2026" (a stock, as at the latest quarter)."""
    if not quarters:
        return ""
    if aggregate == "flow":
        return "Cộng dồn " + ", ".join(quarters) if len(quarters) > 1 else quarters[0]
    return f"Số liệu {quarters[-1]}"


def _verdict(met: bool | None) -> str:
    return "" if met is None else ("Đạt" if met else "Chưa đạt")


SUMMARY_HEADERS = (
    "Mã",
    "Chỉ tiêu",
    "Kết quả {whole}",
    "Tử số",
    "Mẫu số",
    "Mục tiêu",
    "Đạt/chưa đạt",
    "Số đơn vị báo cáo",
    "Cách tổng hợp các quý",
    "Đơn vị thiếu số liệu",
    "Nguồn mục tiêu",
    "Theo đà hiện tại",
)
TARGET_SOURCES = {
    "plan": "Kế hoạch",
    "duy_tri": "Suy ra: duy trì mức năm 2025 đến 2030",
    "lo_trinh": "Suy ra: bước của lộ trình tăng hằng năm",
}
SATISFACTION_HEADERS = (
    "Mã",
    "Mức độ hài lòng",
    "Tỷ lệ hài lòng",
    "Số hài lòng (mức 4+5)",
    "Số câu trả lời (n)",
    "Mục tiêu",
    "Đạt/chưa đạt",
    "KTC 95% thấp",
    "KTC 95% cao",
    "Số người trả lời",
    "Số liệu điều tra chính thức",
    "Theo đà hiện tại",
)


def _summary(ws: Worksheet, f: StatusFigures) -> None:
    ws.title = SHEET_SUMMARY
    title = ws.cell(row=1, column=1, value=f"Tình hình CCHC — {f.round_title}")
    # the window in words beside the title: "Kỳ số liệu: 15/12/2025 – 14/06/2026"
    ws.cell(
        row=1,
        column=3,
        value=f"Kỳ số liệu: {format_date(f.window_start)} – {format_date(f.window_end)}",
    )
    title.font = Font(bold=True, size=14)
    block: list[tuple[str, Any, str | None]] = [
        ("Kỳ số liệu từ ngày", f.window_start, DATE_FORMAT),
        ("Đến ngày", f.window_end, DATE_FORMAT),
        ("Hạn nộp", f.deadline, DATE_FORMAT),
        ("Số đơn vị đã nộp", f.submitted, COUNT_FORMAT),
        ("Số đơn vị phải nộp", f.units_total, COUNT_FORMAT),
        ("Trong đó nộp trễ hạn", len(f.late), COUNT_FORMAT),
        ("Tình trạng kỳ báo cáo", "Đã đóng" if f.closed else "Đang mở", None),
        ("Ngày lập", f.today, DATE_FORMAT),
    ]
    for q in f.quarters:  # a six-month or yearly report: each quarter's round
        state = f"đã nộp {q.submitted}/{q.units_total} đơn vị, trễ hạn {q.late}"
        block.append((q.title, state, None))
    for n, (label, value, fmt) in enumerate(block, start=2):
        ws.cell(row=n, column=1, value=label).font = BOLD
        _put(ws, n, 2, value, fmt)
    header_row = len(block) + 3
    _header(ws, header_row, [h.format(whole=f.whole) for h in SUMMARY_HEADERS])
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1).coordinate
    r = header_row + 1
    for i in f.indicators:
        count = i.kind == "count"
        _put(ws, r, 1, i.code)
        _put(ws, r, 2, i.name)
        if count:
            _put(ws, r, 3, _number(i.value), _count_format(i.value))
            _put(ws, r, 6, _number(i.target), _count_format(i.target))
        else:
            _put(ws, r, 3, _fraction(i.value), PERCENT_FORMAT)
            _put(ws, r, 6, _fraction(i.target), PERCENT_FORMAT)
        _put(ws, r, 4, _number(i.numerator), _count_format(i.numerator))
        _put(ws, r, 5, _number(i.denominator), _count_format(i.denominator))
        if i.value is None:
            verdict = "Chưa có số liệu"
        else:
            verdict = "Chưa đánh giá" if i.not_judged else _verdict(i.met)
        _put(ws, r, 7, verdict)
        _put(ws, r, 8, i.units_reporting, COUNT_FORMAT)
        _put(ws, r, 9, aggregate_text(i.aggregate, i.quarters_used))
        _put(ws, r, 10, "; ".join(i.gaps) or None)
        if i.target is not None:
            _put(ws, r, 11, TARGET_SOURCES.get(i.target_source, i.target_source))
        _put(ws, r, 12, i.trend or None)
        r += 1
    qualitative = [i for i in f.indicators if i.qualitative]
    if qualitative:  # the parts of targets that are no number, listed as such
        r += 1
        _header(ws, r, ("Mã", "Phần định tính của mục tiêu", "Đơn vị ghi nhận"))
        r += 1
        for i in qualitative:
            _put(ws, r, 1, i.code)
            _put(ws, r, 2, i.qualitative)
            _put(ws, r, 3, "\n".join(i.notes) or "Chưa đơn vị nào ghi nhận")
            r += 1
    if f.satisfaction:
        r += 1
        _header(ws, r, SATISFACTION_HEADERS)
        r += 1
        for s in f.satisfaction:
            enough = s.enough and s.rate is not None
            _put(ws, r, 1, s.target)
            _put(ws, r, 2, s.name)
            # Below the minimum sample the rate is not shown: 100 % from two answers misleads.
            _put(ws, r, 3, _fraction(s.rate) if enough else None, PERCENT_FORMAT)
            _put(ws, r, 4, s.satisfied, COUNT_FORMAT)
            _put(ws, r, 5, s.n, COUNT_FORMAT)
            _put(ws, r, 6, _fraction(s.goal), PERCENT_FORMAT)
            _put(ws, r, 7, _verdict(s.met) if enough else "Chưa đủ dữ liệu")
            _put(ws, r, 8, _fraction(s.low) if enough else None, PERCENT_FORMAT)
            _put(ws, r, 9, _fraction(s.high) if enough else None, PERCENT_FORMAT)
            _put(ws, r, 10, s.respondents, COUNT_FORMAT)
            _put(ws, r, 11, _fraction(s.official), PERCENT_FORMAT)
            _put(ws, r, 12, s.trend or None)
            r += 1
    _widths(ws, (24, 60, 16, 12, 12, 11, 16, 12, 22, 30, 30, 30))


UNIT_HEADERS = (
    "Mã đơn vị",
    "Tên đơn vị",
    "Loại",
    "Mã chỉ tiêu",
    "Tên chỉ tiêu",
    "Tử số",
    "Mẫu số",
    "Giá trị",
    "Lý do không áp dụng",
    "Nộp lúc",
    "Trễ hạn",
    "{office} nhập thay",
    "Kỳ báo cáo",
)


def _units(ws: Worksheet, rows: Sequence[ExportSheetRow], office: str) -> None:
    _header(ws, 1, [h.format(office=office) for h in UNIT_HEADERS])
    ws.freeze_panes = "A2"
    for r, row in enumerate(rows, start=2):
        _put(ws, r, 1, row.unit_code)
        _put(ws, r, 2, row.unit_name)
        _put(ws, r, 3, row.unit_kind)
        _put(ws, r, 13, row.period or None)
        if not row.submitted:
            _put(ws, r, 10, NOT_SUBMITTED)
            continue
        _put(ws, r, 4, row.indicator_code)
        _put(ws, r, 5, row.indicator_name)
        _put(ws, r, 6, _number(row.numerator), _count_format(row.numerator))
        _put(ws, r, 7, _number(row.denominator), _count_format(row.denominator))
        if row.indicator_kind == "count":
            _put(ws, r, 8, _number(row.value), _count_format(row.value))
        else:
            _put(ws, r, 8, _fraction(row.value), PERCENT_FORMAT)
        _put(ws, r, 9, row.skip_reason)
        _put(ws, r, 10, row.submitted_at, DATETIME_FORMAT)
        _put(ws, r, 11, _yes_no(row.late))
        _put(ws, r, 12, _yes_no(row.by_admin))
    ws.auto_filter.ref = f"A1:{get_column_letter(len(UNIT_HEADERS))}{max(len(rows) + 1, 2)}"
    _widths(ws, (11, 34, 24, 8, 50, 10, 10, 10, 30, 17, 9, 12, 14))


REVISION_HEADERS = (
    "Thời điểm",
    "Mã đơn vị",
    "Đơn vị",
    "Mã chỉ tiêu",
    "Chỉ tiêu",
    "Giá trị cũ",
    "Giá trị mới",
    "Người sửa",
    "{office} nhập thay",
)


def _revisions(ws: Worksheet, rows: Sequence[RevisionRow], office: str) -> None:
    _header(ws, 1, [h.format(office=office) for h in REVISION_HEADERS])
    ws.freeze_panes = "A2"
    for r, row in enumerate(rows, start=2):
        _put(ws, r, 1, row.changed_at, DATETIME_FORMAT)
        _put(ws, r, 2, row.unit_code)
        _put(ws, r, 3, row.unit_name)
        _put(ws, r, 4, row.indicator_code)
        _put(ws, r, 5, row.indicator_name)
        _put(ws, r, 6, row.old)
        _put(ws, r, 7, row.new)
        _put(ws, r, 8, row.changed_by)
        _put(ws, r, 9, _yes_no(row.by_admin))
    ws.auto_filter.ref = f"A1:{get_column_letter(len(REVISION_HEADERS))}{max(len(rows) + 1, 2)}"
    _widths(ws, (17, 11, 34, 8, 50, 24, 24, 26, 12))


SURVEY_HEADERS = (
    "Mã điểm",
    "Tên điểm",
    "Lĩnh vực",
    "Chỉ tiêu",
    "Số câu trả lời (n)",
    "Số hài lòng (4+5)",
    "Tỷ lệ hài lòng",
    "Mức 1",
    "Mức 2",
    "Mức 3",
    "Mức 4",
    "Mức 5",
    "Số người trả lời",
    "Hài lòng toàn diện (số người)",
    "Kênh",
)


def _survey(ws: Worksheet, rows: Sequence[SurveyRow]) -> None:
    _header(ws, 1, SURVEY_HEADERS)
    ws.freeze_panes = "A2"
    for r, row in enumerate(rows, start=2):
        _put(ws, r, 1, row.point_code)
        _put(ws, r, 2, row.point_name)
        _put(ws, r, 3, row.field_label)
        _put(ws, r, 4, row.target)
        _put(ws, r, 5, row.n, COUNT_FORMAT)
        _put(ws, r, 6, row.satisfied, COUNT_FORMAT)
        _put(ws, r, 7, row.rate, PERCENT_FORMAT)
        for level, count in enumerate(row.levels):
            _put(ws, r, 8 + level, count, COUNT_FORMAT)
        _put(ws, r, 13, row.respondents, COUNT_FORMAT)
        _put(ws, r, 14, row.fully_satisfied, COUNT_FORMAT)
        _put(ws, r, 15, channel_label(row.channel))
    ws.auto_filter.ref = f"A1:{get_column_letter(len(SURVEY_HEADERS))}{max(len(rows) + 1, 2)}"
    _widths(ws, (16, 36, 20, 9, 12, 14, 13, 8, 8, 8, 8, 8, 12, 14, 14))


def write_xlsx(data: ExportData) -> bytes:
    """The workbook as .xlsx bytes: "Tổng hợp", "Số liệu theo đơn vị", "Lịch sử sửa đổi",
    "Khảo sát"."""
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    _summary(summary, data.figures)
    office = data.figures.office or "Cơ quan thu nhận"
    _units(wb.create_sheet(SHEET_UNITS), data.units, office)
    _revisions(wb.create_sheet(SHEET_REVISIONS), data.revisions, office)
    _survey(wb.create_sheet(SHEET_SURVEY), data.survey)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
