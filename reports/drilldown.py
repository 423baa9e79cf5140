"""/status drill-downs: one unit across rounds, one indicator unit by unit; over one round,
or over a six-month or yearly window (``/trangthai PNV 2026-H1``, ``/trangthai 5c 2026``).

Over a window every figure is the window report's own (``reports.status.quarter_values``
and ``indicator_figures``, so ``combine``'s flows and stocks), a unit's being its part of
it (``reports.quarters.unit_share``); a quarter a unit was asked for and did not report is
named, never averaged away."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import repo
from db.models import Round, Submission, SubmissionValue
from reports.figures import IndicatorFigure
from reports.quarters import QuarterValues
from reports.status import WindowRounds, indicator_figures, quarter_values, round_label
from reports.text import indicator_line, indicator_target, indicator_value, over_quarters
from scheduler.rounds import indicators_for, missing_units, unit_is_asked
from surveys import texts as T
from surveys.catalogue import Catalogue, Indicator, Unit
from surveys.numbers import format_number, format_percent
from surveys.scoring import is_met, target_for_year

HISTORY = 4


def _shown(indicator: Indicator, value: SubmissionValue | None) -> str:
    if value is None:
        return "—"
    if value.skip_reason is not None:
        return "không áp dụng"
    if indicator.kind == "ratio":
        return (
            f"{format_percent(value.value)} ({format_number(value.numerator or 0)}/"
            f"{format_number(value.denominator or 0)})"
        )
    if indicator.kind == "percent":
        return format_percent(value.value)
    return format_number(value.value or 0)


def _mark(indicator: Indicator, value: SubmissionValue | None, year: int) -> str:
    if value is None or value.skip_reason is not None or indicator.kind == "count":
        return ""
    if not indicator.judged_in(year):  # 8b before its baseline period is over
        return ""
    met = is_met(value.value, target_for_year(indicator.targets, year), indicator.direction)
    return "" if met is None else (" ✅" if met else " ❌")


async def unit_lines(
    session: AsyncSession, catalogue: Catalogue, unit: Unit, round_: Round
) -> list[str]:
    """A unit's values in ``round_`` against targets, and its last four rounds."""
    rounds = list(
        (
            await session.scalars(
                select(Round)
                .where(Round.window_start <= round_.window_start)
                .order_by(Round.window_start.desc(), Round.id.desc())
                .limit(HISTORY)
            )
        ).all()
    )
    values: dict[int, dict[str, SubmissionValue]] = {}
    subs: dict[int, Submission] = {}
    for r in rounds:
        sub = await repo.submission_for(session, r.id, unit.code)
        if sub is not None:
            subs[r.id] = sub
            values[r.id] = {v.indicator_code: v for v in await repo.values_of(session, sub.id)}
    lines = [f"📋 {unit.name} ({unit.code}) — {round_.title}"]
    current = subs.get(round_.id)
    if current is None:
        lines.append("Chưa nộp báo cáo kỳ này.")
    else:
        late = " (trễ hạn)" if current.late else ""
        lines.append(f"Đã nộp{late}, người gửi: {current.submitted_by}.")
    year = round_.deadline.year
    for indicator in indicators_for(catalogue, round_, unit):
        target = target_for_year(indicator.targets, year)
        goal = f" — mục tiêu {format_percent(target, 0)}" if target is not None else ""
        value = values.get(round_.id, {}).get(indicator.code)
        lines.append(
            f"• {indicator.code}. {indicator.name}: {_shown(indicator, value)}{goal}"
            f"{_mark(indicator, value, year)}"
        )
    if len(rounds) > 1:
        lines += ["", f"{len(rounds)} kỳ gần nhất:"]
        for r in rounds:
            sub = subs.get(r.id)
            state = "chưa nộp" if sub is None else ("trễ hạn" if sub.late else "đúng hạn")
            shown = ", ".join(
                f"{code} {format_percent(v.value) if v.value is not None else '—'}"
                for code, v in sorted(values.get(r.id, {}).items())
                if v.skip_reason is None
            )
            lines.append(f"— {r.title}: {state}" + (f"; {shown}" if shown else ""))
    return lines


async def indicator_lines(
    session: AsyncSession, catalogue: Catalogue, indicator: Indicator, round_: Round
) -> list[str]:
    """One indicator, unit by unit, in ``round_`` (best first), then the units missing."""
    year = round_.deadline.year
    target = target_for_year(indicator.targets, year)
    goal = f" — mục tiêu {format_percent(target, 0)}" if target is not None else ""
    lines = [f"📌 {indicator.code}. {indicator.name} — {round_.title}{goal}"]
    names = {u.code: u.name for u in catalogue.org.units}
    rows = (
        await session.execute(
            select(Submission.unit_code, SubmissionValue)
            .join(SubmissionValue, SubmissionValue.submission_id == Submission.id)
            .where(
                Submission.round_id == round_.id,
                SubmissionValue.indicator_code == indicator.code,
            )
        )
    ).all()
    ranked = sorted(rows, key=lambda r: -(r[1].value if r[1].value is not None else -1))
    for code, value in ranked:
        lines.append(
            f"• {names.get(code, code)}: {_shown(indicator, value)}{_mark(indicator, value, year)}"
        )
    missing = [
        u.name
        for u in await missing_units(session, catalogue, round_)
        if indicator in indicators_for(catalogue, round_, u)
    ]
    if not rows:
        lines.append("Chưa có đơn vị nào báo cáo chỉ tiêu này.")
    if missing:
        lines.append(f"Chưa nộp ({len(missing)}): " + ", ".join(missing))
    return lines


# --------------------------------------------------------------------------- over a window


def _window_heading(scope: WindowRounds) -> str:
    window = scope.window
    return f"Kỳ số liệu: {T.d(window.window_start)} – {T.d(window.window_end)}"


def _verdict(f: IndicatorFigure) -> str:
    return "" if f.met is None else (" ✅" if f.met else " ❌")


async def unit_window_lines(
    session: AsyncSession, catalogue: Catalogue, unit: Unit, scope: WindowRounds
) -> list[str]:
    """A unit over a six-month or yearly window: each quarter's report (a quarter it did
    not send is said so), then each indicator's figure over the window as the window report
    adds it up, the unit's part of it."""
    lines = [f"📋 {unit.name} ({unit.code}) — {scope.title}", _window_heading(scope)]
    missed_quarters: list[str] = []
    wanted: set[str] = set()
    per_quarter: list[dict[str, QuarterValues]] = []
    for round_ in scope.rounds:
        label = round_label(round_)
        per_quarter.append(await quarter_values(session, catalogue, round_))
        if not unit_is_asked(round_, unit):
            lines.append(f"— {label}: không phải báo cáo")
            continue
        wanted |= {i.code for i in indicators_for(catalogue, round_, unit)}
        sub = await repo.submission_for(session, round_.id, unit.code)
        if sub is None:
            missed_quarters.append(label)
            lines.append(f"— {label}: chưa nộp")
        else:
            state = "trễ hạn" if sub.late else "đúng hạn"
            lines.append(f"— {label}: đã nộp ({state}), người gửi: {sub.submitted_by}")
    if missed_quarters:
        lines.append(f"Thiếu báo cáo quý: {', '.join(missed_quarters)}")
    figures = indicator_figures(
        catalogue, per_quarter, scope.window.year, wanted, unit=unit.code
    )
    if figures:
        lines += ["", "CHỈ TIÊU (cộng các quý với chỉ tiêu cộng dồn, quý gần nhất với chỉ tiêu "
                      "thời điểm):"]  # fmt: skip
        lines += [indicator_line(f, window=True) for f in figures]
    if scope.rounds:
        example = scope.rounds[0].key
        lines += ["", f"Từng quý: /trangthai {unit.code} {example}"]
    return lines


async def indicator_window_lines(
    session: AsyncSession, catalogue: Catalogue, indicator: Indicator, scope: WindowRounds
) -> list[str]:
    """One indicator over a six-month or yearly window: the figure of the whole organisation
    as the window report gives it, then each unit's part of it (best first), the units that
    said it does not apply, and those with nothing in a quarter that counts."""
    per_quarter = [await quarter_values(session, catalogue, r) for r in scope.rounds]
    year = scope.window.year
    [whole] = indicator_figures(catalogue, per_quarter, year, {indicator.code})
    goal = indicator_target(whole)
    goal = f" — mục tiêu {goal}" if goal else ""
    lines = [
        f"📌 {indicator.code}. {indicator.name} — {scope.title}{goal}",
        _window_heading(scope),
        f"Số liệu {catalogue.org.words.whole}: {indicator_value(whole)}{_verdict(whole)}"
        + over_quarters(whole),
    ]
    quarters = [q[indicator.code] for q in per_quarter if indicator.code in q]
    used = [q for q in quarters if q.label in whole.quarters_used]
    asked = {code for q in quarters for code in q.asked}
    shown: list[tuple[float, str]] = []
    not_applicable: list[str] = []
    nothing: list[str] = []
    for unit in catalogue.org.reporting_units():
        if unit.code not in asked:
            continue
        [mine] = indicator_figures(catalogue, per_quarter, year, {indicator.code}, unit=unit.code)
        if mine.value is not None:
            gaps = f" [thiếu: {', '.join(mine.gaps)}]" if mine.gaps else ""
            shown.append(
                (mine.value, f"• {unit.name}: {indicator_value(mine)}{_verdict(mine)}{gaps}")
            )
        elif mine.gaps:
            nothing.append(f"{unit.name} ({', '.join(mine.gaps)})")
        elif any(unit.code in q.skipped for q in used):
            not_applicable.append(unit.name)
    lines += [line for _, line in sorted(shown, key=lambda vl: -vl[0])]
    if not shown:
        lines.append("Chưa có đơn vị nào báo cáo chỉ tiêu này.")
    if not_applicable:
        lines.append(f"Không áp dụng ({len(not_applicable)}): " + ", ".join(not_applicable))
    if nothing:
        lines.append(f"Chưa có số liệu ({len(nothing)}): " + ", ".join(nothing))
    return lines
