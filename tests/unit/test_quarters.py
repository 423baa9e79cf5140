"""How indicators add up over the quarters of a six-month or yearly report
(reports.quarters.combine), against hand-computed figures."""

from __future__ import annotations

import pytest

from reports.quarters import QuarterValues, Value, combine


def q(
    label: str, asked: set[str], skipped: frozenset[str] | set[str] = frozenset(), **values: Value
) -> QuarterValues:
    return QuarterValues(label, frozenset(asked), dict(values), frozenset(skipped))


Q1 = q("Quý I/2026", {"A", "B"}, A=(10, 20, 50.0), B=(1, 1, 100.0))
Q2 = q("Quý II/2026", {"A", "B"}, A=(30, 40, 75.0), B=(0, 9, 0.0))


def test_a_flow_sums_numerators_and_denominators_over_quarters() -> None:
    c = combine("ratio", "flow", [Q1, Q2])
    # (10 + 1 + 30 + 0) / (20 + 1 + 40 + 9) = 41/70, not the mean of four percentages
    assert (c.numerator, c.denominator) == (41, 70)
    assert c.value == pytest.approx(100 * 41 / 70)
    assert c.quarters_used == ("Quý I/2026", "Quý II/2026") and c.gaps == ()
    assert c.units_reporting == 2


def test_a_stock_is_the_latest_quarter() -> None:
    c = combine("ratio", "stock", [Q1, Q2])
    assert (c.numerator, c.denominator) == (30, 49)
    assert c.quarters_used == ("Quý II/2026",)


def test_a_stock_without_data_in_the_last_quarter_takes_the_latest_with_data() -> None:
    empty = q("Quý III/2026", {"A", "B"})
    c = combine("ratio", "stock", [Q1, Q2, empty])
    assert c.quarters_used == ("Quý II/2026",) and (c.numerator, c.denominator) == (30, 49)


def test_a_unit_that_missed_one_quarter_is_shown_not_averaged_away() -> None:
    missed = q("Quý II/2026", {"A", "B"}, A=(30, 40, 75.0))  # B gave nothing in Q2
    flow = combine("ratio", "flow", [Q1, missed])
    # B's Q1 counts, its Q2 is missing and said so; nothing is filled in for it
    assert (flow.numerator, flow.denominator) == (41, 61)
    assert flow.gaps == (("B", "Quý II/2026"),)
    stock = combine("ratio", "stock", [Q1, missed])
    assert (stock.numerator, stock.denominator) == (30, 40)
    assert stock.gaps == (("B", "Quý II/2026"),) and stock.units_reporting == 1
    # a count's sum over the year is what was reported, the missing quarter named
    counts = combine(
        "count", "flow", [q("Q1", {"A", "B"}, A=(None, None, 3), B=(None, None, 4)),
                          q("Q2", {"A", "B"}, A=(None, None, 5))]
    )  # fmt: skip
    assert counts.value == 12 and counts.gaps == (("B", "Q2"),)


def test_a_unit_that_never_gave_the_indicator_is_not_its_gap() -> None:
    # C was asked but gave nothing in either quarter: the report lists it among the units
    # missing quarters, not under every indicator
    never = [q("Q1", {"A", "C"}, A=(1, 2, 50.0)), q("Q2", {"A", "C"}, A=(1, 2, 50.0))]
    assert combine("ratio", "flow", never).gaps == ()


def test_a_skip_with_a_reason_is_not_a_gap() -> None:
    skipped = q("Quý II/2026", {"A", "B"}, {"B"}, A=(30, 40, 75.0))
    assert combine("ratio", "flow", [Q1, skipped]).gaps == ()


def test_percentages_are_stocks_averaged_over_units() -> None:
    p = [q("Q1", {"A"}, A=(None, None, 10.0)), q("Q2", {"A", "B"}, A=(None, None, 12.0),
                                                    B=(None, None, 18.0))]  # fmt: skip
    c = combine("percent", "stock", p)
    assert c.value == 15 and c.numerator is None
    with pytest.raises(ValueError, match="stock"):
        combine("percent", "flow", p)


def test_one_quarter_is_the_quarter_itself_and_names_no_gap() -> None:
    alone = q("Quý IV/2026", {"A", "B"}, A=(1, 2, 50.0))  # B missing: listed elsewhere
    for aggregate in ("flow", "stock"):
        c = combine("ratio", aggregate, [alone])
        assert (c.numerator, c.denominator, c.gaps) == (1, 2, ())


def test_no_quarter_and_bad_arguments() -> None:
    assert combine("ratio", "flow", []).value is None
    with pytest.raises(ValueError):
        combine("survey", "flow", [Q1])
    with pytest.raises(ValueError):
        combine("ratio", "average", [Q1])
