"""How indicators add up over the quarters of a six-month or yearly report
(reports.quarters.combine), against hand-computed figures."""

from __future__ import annotations

import pytest

from reports.quarters import QuarterValues, Value, combine, missed, unit_share


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


# --------------------------------------------------------------------------- one unit's part


def test_a_unit_s_part_of_a_flow_is_its_own_quarters_summed() -> None:
    a = unit_share("ratio", "flow", [Q1, Q2], "A")
    assert (a.numerator, a.denominator, a.units_reporting) == (40, 60, 1)  # 10 + 30 / 20 + 40
    assert a.quarters_used == ("Quý I/2026", "Quý II/2026") and a.gaps == ()
    # B missed Q2: its Q1 counts and Q2 is named, as in the whole figure
    gap = q("Quý II/2026", {"A", "B"}, A=(30, 40, 75.0))
    b = unit_share("ratio", "flow", [Q1, gap], "B")
    assert (b.numerator, b.denominator, b.gaps) == (1, 1, (("B", "Quý II/2026"),))
    # the parts add up to the whole
    whole = combine("ratio", "flow", [Q1, gap])
    parts = [unit_share("ratio", "flow", [Q1, gap], c) for c in ("A", "B")]
    assert sum(p.numerator or 0 for p in parts) == whole.numerator
    assert sum(p.denominator or 0 for p in parts) == whole.denominator


def test_a_unit_s_part_of_a_stock_is_in_the_quarter_the_whole_figure_takes() -> None:
    # the stock is Q2's; B reported it in Q1 only, so it has no part in it, Q2 named
    gap = q("Quý II/2026", {"A", "B"}, A=(30, 40, 75.0))
    b = unit_share("ratio", "stock", [Q1, gap], "B")
    assert b.value is None and b.units_reporting == 0
    assert b.quarters_used == ("Quý II/2026",) and b.gaps == (("B", "Quý II/2026"),)
    a = unit_share("ratio", "stock", [Q1, gap], "A")
    assert (a.numerator, a.denominator, a.gaps) == (30, 40, ())


def test_a_unit_that_never_reported_has_every_quarter_named() -> None:
    # unlike the whole figure's gaps (test above), a unit's own page names them all
    never = [q("Q1", {"A", "C"}, A=(1, 2, 50.0)), q("Q2", {"A", "C"}, A=(1, 2, 50.0))]
    c = unit_share("ratio", "flow", never, "C")
    assert c.value is None and c.gaps == (("C", "Q1"), ("C", "Q2"))
    assert missed(never, "C") == ("Q1", "Q2") and missed(never, "A") == ()
    # a skip with a reason, or a quarter it was not asked for, is no gap
    skipped = [q("Q1", {"C"}, {"C"}), q("Q2", {"A"}, A=(1, 2, 50.0))]
    assert unit_share("ratio", "flow", skipped, "C").gaps == ()


def test_a_unit_s_percentage_and_count() -> None:
    p = [q("Q1", {"A", "B"}, A=(None, None, 10.0), B=(None, None, 20.0))]
    assert unit_share("percent", "stock", p, "B").value == 20
    counts = [q("Q1", {"A", "B"}, A=(None, None, 3), B=(None, None, 4)),
              q("Q2", {"A", "B"}, A=(None, None, 5))]  # fmt: skip
    assert unit_share("count", "flow", counts, "A").value == 8
    assert unit_share("count", "flow", counts, "B").gaps == (("B", "Q2"),)
