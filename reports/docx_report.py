"""The report upward as a Word draft (``cchc-bot report``, ``/baocaotonghop``).

What Phòng Nội vụ sends to the province is a written report (báo cáo kết quả thực hiện công
tác cải cách hành chính quý / 6 tháng / năm) in the administrative document format of
Nghị định 30/2020/NĐ-CP. This module drafts it in three steps:

* ``collect_report`` reads the round's figures with ``reports.status.status_figures`` — the
  very function ``/trangthai`` and the XLSX export use, so every number in the document is
  the number the chat shows — and, for a yearly report, each quarter's figures the same way;
* ``build_report`` (pure) turns them into ``ReportData``, a plain dataclass of strings
  formatted by the functions of ``reports.text`` that ``/trangthai`` formats with;
* ``render_docx`` fills a .docx template with it (docxtpl: Jinja2 inside Word), so that an
  office changes fonts, headings and wording in Word, not in Python. A template naming a
  field ``ReportData`` lacks, or holding a bad tag, stops with ``ReportTemplateError``: one
  Vietnamese line naming the field or the tag.
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from docx.opc.exceptions import PackageNotFoundError
from docxtpl import DocxTemplate
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.ext.asyncio import AsyncSession

from db import repo
from reports.figures import IndicatorFigure, SatisfactionFigure, StatusFigures
from reports.status import status_figures, trends
from reports.text import (
    channel_line,
    indicator_goal,
    indicator_value,
    satisfaction_interval,
    satisfaction_rate,
    satisfaction_sample,
)
from reports.trend import MIN_QUARTERS
from reports.trend import PREFIX as TREND_PREFIX
from scheduler.calendar import PeriodKind, period_from_key
from surveys import texts as T
from surveys.catalogue import Catalogue, Organisation
from surveys.numbers import format_percent

_ROMAN = ("I", "II", "III", "IV")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])", re.IGNORECASE)
_HALF_YEAR = re.compile(r"(\d{4})-H1", re.IGNORECASE)
_YEAR = re.compile(r"(\d{4})")

MET, NOT_MET, NO_VERDICT = "Đạt", "Chưa đạt", "—"
NOBODY = "không có"
NOT_IN_TREND = "—"
SUBJECT = "Kết quả thực hiện công tác cải cách hành chính"

# The issuing body is written in full in the heading (Nghị định 30/2020/NĐ-CP, Phụ lục I,
# mục II.3): the common abbreviations of the data files are spelt out.
_SPELT_OUT = (("UBND", "Ủy ban nhân dân"), ("HĐND", "Hội đồng nhân dân"))


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ReportPeriod:
    kind: str  # quarter | half_year | year | ad_hoc
    label: str  # "quý IV năm 2026", "6 tháng đầu năm 2026", "năm 2026", …
    yearly: bool  # the report of the whole year (a yearly key, or Q4, which doubles as it)


@dataclass(frozen=True)
class IndicatorRow:
    code: str
    name: str
    result: str  # "50,5% (51/101)", as /trangthai shows it
    target: str  # "≥ 80%"
    units: int  # units that gave a value
    verdict: str  # Đạt | Chưa đạt | —


@dataclass(frozen=True)
class SatisfactionRow:
    code: str
    name: str
    rate: str  # "66,7%" or "chưa đủ dữ liệu"
    sample: str  # "3 người, n=9 câu trả lời"
    respondents: int
    answers: int
    interval: str  # "35,4%–87,9%" ("—" without enough data)
    goal: str  # "≥ 95%"
    verdict: str
    official: str  # an official survey's figure entered for the round ("" when none)


@dataclass(frozen=True)
class MissingGroup:
    kind: str  # the unit kind's label
    names: str  # the units, comma-separated
    count: int


@dataclass(frozen=True)
class TrendRow:
    code: str
    name: str
    q1: str
    q2: str
    q3: str
    q4: str
    target: str
    trend: str = NOT_IN_TREND  # "đạt năm 2027", "chưa đạt trước 2030" (reports.trend)


@dataclass(frozen=True)
class Trend:
    shown: bool  # only in the yearly report
    note: str
    rows: tuple[TrendRow, ...] = ()


@dataclass(frozen=True)
class ReportData:
    """Every value the document shows, as text ready for the template (its fields are the
    template's fields: see README, "Báo cáo tổng hợp (Word)")."""

    issuer_lines: tuple[str, ...]  # the heading's issuing body, upper case, on its lines
    organisation: str  # as in the data files: "UBND huyện Long Phú"
    collecting_office: str  # "Phòng Nội vụ" ("" when the data files name none)
    round_key: str
    round_title: str
    period_kind: str
    period_label: str
    title: str  # the summary under "BÁO CÁO"
    year: int  # the year whose targets are in force
    window_start: str  # dd/mm/yyyy
    window_end: str
    deadline: str
    generated: str  # the day the draft was made
    units_total: int
    submitted: int
    on_time_count: int
    late_count: int
    missing_count: int
    on_time: str  # names, comma-separated, or "không có"
    late: str
    missing: tuple[MissingGroup, ...]
    indicators: tuple[IndicatorRow, ...]
    satisfaction: tuple[SatisfactionRow, ...]
    official: str  # official survey figures, "14: 87,5%; 15: 90%" ("" when none)
    channels: str  # "Kênh trả lời (340 phiếu): trang web 61,8%, …" ("" without answers)
    min_sample: int
    trend: Trend


# --------------------------------------------------------------------------- pure


def report_period(key: str, title: str) -> ReportPeriod:
    """What kind of report a round key makes, and how its title names the period."""
    if match := _QUARTER.fullmatch(key):
        year, quarter = int(match.group(1)), int(match.group(2))
        yearly = PeriodKind.YEAR in period_from_key(key).kinds
        return ReportPeriod("quarter", f"quý {_ROMAN[quarter - 1]} năm {year}", yearly)
    if match := _HALF_YEAR.fullmatch(key):
        return ReportPeriod("half_year", f"6 tháng đầu năm {match.group(1)}", False)
    if match := _YEAR.fullmatch(key):
        return ReportPeriod("year", f"năm {match.group(1)}", True)
    return ReportPeriod("ad_hoc", f"theo đợt báo cáo “{title}”", False)  # "Đột xuất: …"


def issuer_lines(name: str) -> tuple[str, ...]:
    """The issuing body as the heading writes it: in full, upper case, the kind of body on
    its own line ("UBND huyện Long Phú" → "ỦY BAN NHÂN DÂN", "HUYỆN LONG PHÚ")."""
    full = name.strip()
    for short, spelt in _SPELT_OUT:
        full = re.sub(rf"(?<!\w){short}(?!\w)", spelt, full)
    upper = full.upper()
    for _, spelt in _SPELT_OUT:
        head = spelt.upper()
        if upper.startswith(head + " "):
            return (head, upper[len(head) + 1 :])
    return (upper,)


def verdict(met: bool | None) -> str:
    return NO_VERDICT if met is None else MET if met else NOT_MET


def names_or_nobody(names: tuple[str, ...]) -> str:
    return ", ".join(names) if names else NOBODY


def indicator_row(f: IndicatorFigure) -> IndicatorRow:
    return IndicatorRow(
        code=f.code,
        name=f.name,
        result=indicator_value(f),
        target=indicator_goal(f) or NO_VERDICT,
        units=f.units_reporting,
        verdict=verdict(f.met),
    )


def satisfaction_row(f: SatisfactionFigure) -> SatisfactionRow:
    return SatisfactionRow(
        code=f.target,
        name=f.name,
        rate=satisfaction_rate(f),
        sample=satisfaction_sample(f),
        respondents=f.respondents,
        answers=f.n,
        interval=satisfaction_interval(f) or NO_VERDICT,
        goal=f"≥ {format_percent(f.goal, 0)}" if f.goal is not None else NO_VERDICT,
        verdict=verdict(f.met),
        official=format_percent(f.official) if f.official is not None else "",
    )


def quarter_keys(year: int) -> tuple[str, ...]:
    return tuple(f"{year:04d}-Q{q}" for q in range(1, 5))


def _indicator_in(q: StatusFigures, code: str) -> str:
    found = next((i for i in q.indicators if i.code == code), None)
    return NOT_IN_TREND if found is None else indicator_value(found, counts=False)


def _rate_in(q: StatusFigures, code: str) -> str:
    found = next((s for s in q.satisfaction if s.target == code), None)
    return NOT_IN_TREND if found is None else satisfaction_rate(found)


def build_trend(
    year: int,
    figures: StatusFigures,
    quarters: dict[str, StatusFigures],
    trends: Mapping[str, str] | None = None,
) -> Trend:
    """Each indicator and satisfaction target quarter by quarter over ``year``, from the
    quarters' own figures (``quarters``: key → figures, only the rounds there are), and
    where its line is heading (``trends``: code → "theo đà hiện tại: …", from
    ``reports.status.trends``)."""
    q1, q2, q3, q4 = (quarters.get(key) for key in quarter_keys(year))
    heading = trends or {}

    def row(
        code: str, name: str, shown: Callable[[StatusFigures, str], str], goal: str
    ) -> TrendRow:
        def cell(q: StatusFigures | None) -> str:
            return NOT_IN_TREND if q is None else shown(q, code)

        trend = heading.get(code, "").removeprefix(TREND_PREFIX) or NOT_IN_TREND
        return TrendRow(code, name, cell(q1), cell(q2), cell(q3), cell(q4), goal, trend)

    rows = [
        row(f.code, f.name, _indicator_in, indicator_goal(f) or NO_VERDICT)
        for f in figures.indicators
    ]
    rows += [
        row(
            s.target,
            s.name,
            _rate_in,
            f"≥ {format_percent(s.goal, 0)}" if s.goal is not None else NO_VERDICT,
        )
        for s in figures.satisfaction
    ]
    note = (
        f"Kết quả từng quý của năm {year}, tính như trong báo cáo quý; “{NOT_IN_TREND}”: "
        "quý chưa có đợt báo cáo. “Theo đà hiện tại”: năm mà đường thẳng bình phương tối "
        f"thiểu qua kết quả các quý (từ {MIN_QUARTERS} quý có số liệu trở lên, kể cả các năm "
        "trước; mức độ hài lòng chỉ tính quý đủ cỡ mẫu tối thiểu) đạt mục tiêu năm cuối của "
        "kế hoạch."
    )
    return Trend(shown=True, note=note, rows=tuple(rows))


NO_TREND = Trend(shown=False, note="")


def build_report(
    figures: StatusFigures,
    org: Organisation,
    min_sample: int,
    today: date,
    trend: Trend = NO_TREND,
) -> ReportData:
    """The document's values from /trangthai's figures (pure)."""
    period = report_period(figures.round_key, figures.round_title)
    office = org.unit(org.collecting_office) if org.collecting_office else None
    missing = tuple(
        MissingGroup(kind, ", ".join(names), len(names)) for kind, names in figures.missing.items()
    )
    official = "; ".join(
        f"{s.target}: {format_percent(s.official)}"
        for s in figures.satisfaction
        if s.official is not None
    )
    return ReportData(
        issuer_lines=issuer_lines(org.root.name),
        organisation=org.root.name,
        collecting_office=office.name if office is not None else "",
        round_key=figures.round_key,
        round_title=figures.round_title,
        period_kind=period.kind,
        period_label=period.label,
        title=f"{SUBJECT} {period.label}",
        year=figures.deadline.year,
        window_start=T.d(figures.window_start),
        window_end=T.d(figures.window_end),
        deadline=T.d(figures.deadline),
        generated=T.d(today),
        units_total=figures.units_total,
        submitted=figures.submitted,
        on_time_count=len(figures.on_time),
        late_count=len(figures.late),
        missing_count=sum(g.count for g in missing),
        on_time=names_or_nobody(figures.on_time),
        late=names_or_nobody(figures.late),
        missing=missing,
        indicators=tuple(indicator_row(f) for f in figures.indicators),
        satisfaction=tuple(satisfaction_row(f) for f in figures.satisfaction),
        official=official,
        channels=channel_line(figures.channels) if figures.channels else "",
        min_sample=min_sample,
        trend=trend,
    )


def template_fields(data: ReportData) -> dict[str, Any]:
    """The template's context: the dataclass as nested dicts and tuples."""
    return dataclasses.asdict(data)


# --------------------------------------------------------------------------- reading


async def collect_report(
    session: AsyncSession,
    catalogue: Catalogue,
    figures: StatusFigures,
    today: date,
    min_sample: int,
) -> ReportData:
    """The document's values from /trangthai's own figures of the round or window
    (``bot.usecases.status.scope_figures``); the yearly report adds each quarter's."""
    period = report_period(figures.round_key, figures.round_title)
    trend = NO_TREND
    if period.yearly:
        year = int(figures.round_key[:4])
        quarters: dict[str, StatusFigures] = {}
        for key in quarter_keys(year):
            if key == figures.round_key:
                quarters[key] = figures
                continue
            found = await repo.round_by_key(session, key)
            if found is not None:
                quarters[key] = await status_figures(session, catalogue, found, today, min_sample)
        heading = await trends(session, catalogue, figures.window_end, min_sample)
        trend = build_trend(year, figures, quarters, heading)
    return build_report(figures, catalogue.org, min_sample, today, trend)


# --------------------------------------------------------------------------- writing


class ReportTemplateError(Exception):
    """A template that cannot be filled: the message is one Vietnamese line naming it."""


# Sandboxed: whoever edits the template in Word cannot reach Python through it
# ({{ title.__class__ }} stops like an unknown field); unknown fields are errors, not blanks.
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
_UNDEFINED = (
    re.compile(r"'([^']+)' is undefined"),
    re.compile(r"has no attribute '([^']+)'"),
)


def _undefined_name(message: str) -> str:
    for pattern in _UNDEFINED:
        if found := pattern.search(message):
            return found.group(1)
    return message


def _syntax_problem(exc: TemplateSyntaxError) -> str:
    """A bad tag in Vietnamese: which tag, and the text of the document around it."""
    near = " ".join(" ".join(getattr(exc, "docx_context", ())).split())
    near = f" gần “{near[:120]}”" if near else ""
    if found := re.search(r"unknown tag '([^']+)'", exc.message or ""):
        return f"có thẻ “{found.group(1)}” không hợp lệ{near}"
    return f"có thẻ {{% … %}} hoặc {{{{ … }}}} sai cú pháp{near}"


def render_docx(data: ReportData, template: Path) -> bytes:
    """Fill ``template`` with ``data``; the .docx as bytes."""
    where = f"mẫu báo cáo '{template}'"
    if not template.is_file():
        raise ReportTemplateError(f"không tìm thấy {where}")
    try:
        doc = DocxTemplate(str(template))
        doc.render(template_fields(data), jinja_env=_ENV, autoescape=True)
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError):
        raise ReportTemplateError(f"{where} không phải tệp Word (.docx)") from None
    except UndefinedError as exc:
        field = _undefined_name(str(exc))
        raise ReportTemplateError(
            f"{where} dùng trường “{field}” không có trong số liệu báo cáo"
        ) from None
    except TemplateSyntaxError as exc:
        raise ReportTemplateError(f"{where} {_syntax_problem(exc)}") from None
    except SecurityError as exc:
        found = re.search(r"attribute '([^']+)'", str(exc))
        name = found.group(1) if found else str(exc)
        raise ReportTemplateError(f"{where} dùng thuộc tính “{name}” không được phép") from None
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def report_name(round_key: str) -> str:
    return f"bao-cao-cchc-{round_key}.docx"
