"""How an indicator's figure adds up over the quarters of a report (pure, no I/O).

A quarterly report holds one quarter; a six-month or yearly report (Nghị định 09/2019/NĐ-CP,
Điều 12) joins the quarters of its window, each indicator as its ``aggregate`` says:

- ``flow`` (records handled, documents issued, inspections made in the period): the
  quarters' numerators and denominators are summed, so the year's 5c is every record handled
  online in the year over every record handled in the year — not a mean of four quarterly
  percentages. A count is the sum of the quarters.
- ``stock`` (the share of procedures offered online, officials meeting the standard): the
  value of the latest quarter with data, as at the end of the window.

Across units, a ratio is Σ numerators / Σ denominators, a percentage the mean of the units'
figures, a count the sum (as for one quarter).

A unit that gave the indicator in some quarter of the window and nothing in another quarter
that counts (every quarter for a flow, the quarter taken for a stock), though it was asked,
is listed in ``gaps``: the figure is what was reported, and the report says whose quarter is
missing, instead of averaging the hole away. (Units that gave nothing at all in the window
are the report's list of units missing quarters, not repeated for every indicator.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from surveys.scoring import aggregate_ratio

Value = tuple[float | None, float | None, float | None]  # numerator, denominator, value


@dataclass(frozen=True)
class QuarterValues:
    """One indicator in one quarter's round."""

    label: str  # "Quý I/2026"
    asked: frozenset[str]  # unit codes that owed it in that round
    values: Mapping[str, Value]  # unit code -> what it gave (not skipped)
    skipped: frozenset[str] = frozenset()  # gave "không áp dụng" with a reason


@dataclass(frozen=True)
class Combined:
    value: float | None
    numerator: float | None
    denominator: float | None
    units_reporting: int  # distinct units whose values went into the figure
    quarters_used: tuple[str, ...]  # labels of the quarters the figure holds
    gaps: tuple[tuple[str, str], ...] = ()  # (unit code, quarter label) asked, not given


def _across_units(kind: str, given: Sequence[Value]) -> tuple[float | None, float, float]:
    """(value, Σ numerators, Σ denominators) of one set of unit values."""
    if kind == "ratio":
        pairs = [(float(n or 0), float(d or 0)) for n, d, _ in given]
        return (
            aggregate_ratio(pairs) if pairs else None,
            sum(p[0] for p in pairs),
            sum(p[1] for p in pairs),
        )
    values = [float(v or 0) for *_, v in given]
    if not values:
        return None, 0.0, 0.0
    if kind == "percent":
        return sum(values) / len(values), 0.0, 0.0
    return sum(values), 0.0, 0.0


def _gaps(quarter: QuarterValues, known: set[str]) -> list[tuple[str, str]]:
    """Units of ``known`` (they gave the indicator some time in the window) that were asked
    in ``quarter`` and gave neither a value nor a reason for skipping it."""
    return [
        (code, quarter.label)
        for code in sorted(quarter.asked & known)
        if code not in quarter.values and code not in quarter.skipped
    ]


def combine(kind: str, aggregate: str, quarters: Sequence[QuarterValues]) -> Combined:
    """The figure of ``quarters`` (oldest first) for an indicator of ``kind`` (ratio,
    percent, count) adding up as ``aggregate`` (flow, stock)."""
    if kind not in ("ratio", "percent", "count"):
        raise ValueError(f"not a reported kind: {kind!r}")
    if aggregate not in ("flow", "stock"):
        raise ValueError(f"aggregate must be 'flow' or 'stock', not {aggregate!r}")
    if aggregate == "flow" and kind == "percent":
        raise ValueError("a percentage cannot be summed over quarters: it is a stock")
    if not quarters:
        return Combined(None, None, None, 0, ())
    known = {code for q in quarters for code in (*q.values, *q.skipped)}
    if aggregate == "stock":
        with_data = [q for q in quarters if q.values]
        chosen = with_data[-1] if with_data else quarters[-1]
        given = list(chosen.values.values())
        value, num, den = _across_units(kind, given)
        return Combined(
            value=value,
            numerator=num if given and kind == "ratio" else None,
            denominator=den if given and kind == "ratio" else None,
            units_reporting=len(chosen.values),
            quarters_used=(chosen.label,),
            gaps=tuple(_gaps(chosen, known)) if len(quarters) > 1 else (),
        )
    # flow: every quarter's values, pooled
    given = [v for q in quarters for v in q.values.values()]
    value, num, den = _across_units(kind, given)
    reporting = {code for q in quarters for code in q.values}
    return Combined(
        value=value,
        numerator=num if given and kind == "ratio" else None,
        denominator=den if given and kind == "ratio" else None,
        units_reporting=len(reporting),
        quarters_used=tuple(q.label for q in quarters),
        gaps=tuple(g for q in quarters for g in _gaps(q, known)) if len(quarters) > 1 else (),
    )


def for_unit(quarter: QuarterValues, code: str) -> QuarterValues:
    """``quarter`` as if unit ``code`` were the only one."""
    return QuarterValues(
        label=quarter.label,
        asked=quarter.asked & {code},
        values={c: v for c, v in quarter.values.items() if c == code},
        skipped=quarter.skipped & {code},
    )


def missed(quarters: Sequence[QuarterValues], code: str) -> tuple[str, ...]:
    """Labels of the ``quarters`` unit ``code`` was asked for and gave neither a value nor a
    reason for skipping."""
    return tuple(
        q.label
        for q in quarters
        if code in q.asked and code not in q.values and code not in q.skipped
    )


def unit_share(
    kind: str, aggregate: str, quarters: Sequence[QuarterValues], code: str
) -> Combined:
    """Unit ``code``'s part of ``combine(kind, aggregate, quarters)``: its values in the
    quarters that figure holds (every quarter for a flow; for a stock the latest quarter with
    any unit's data, so a unit that reported the stock only earlier has no part in it),
    added up the same way; ``gaps`` are the quarters of those it was asked for and gave
    nothing (whether or not it gave anything elsewhere in the window)."""
    whole = combine(kind, aggregate, quarters)
    used = [q for q in quarters if q.label in whole.quarters_used]
    mine = combine(kind, aggregate, [for_unit(q, code) for q in used])
    return replace(
        mine,
        quarters_used=whole.quarters_used,
        gaps=tuple((code, label) for label in missed(used, code)),
    )
