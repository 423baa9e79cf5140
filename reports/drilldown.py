"""/status drill-downs: one unit across rounds, one indicator unit by unit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import repo
from db.models import Round, Submission, SubmissionValue
from scheduler.rounds import indicators_for, missing_units
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
