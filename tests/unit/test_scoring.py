from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from surveys.scoring import (
    RATING_LABELS,
    aggregate_ratio,
    cluster_rate,
    fully_satisfied_share,
    is_met,
    portal_level,
    ratio_percent,
    satisfaction_rate,
    target_for_year,
    wilson_interval,
)


def test_rating_labels() -> None:
    assert RATING_LABELS == {
        1: "Rất không hài lòng",
        2: "Không hài lòng",
        3: "Bình thường",
        4: "Hài lòng",
        5: "Rất hài lòng",
    }


# --- Wilson interval -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (45, 50, 0.786398, 0.956524),  # ≈ (0.7864, 0.9565)
        (0, 10, 0.0, 0.277533),
        (10, 10, 0.722467, 1.0),
        (1, 1, 0.206549, 1.0),
        (0, 1, 0.0, 0.793451),
        (5, 10, 0.236593, 0.763407),
        (50, 100, 0.403832, 0.596168),
    ],
)
def test_wilson_hand_computed(k: int, n: int, low: float, high: float) -> None:
    # Expected values: roots of (k/n - p)² · n = z² · p(1 - p), solved separately.
    got_low, got_high = wilson_interval(k, n)
    assert got_low == pytest.approx(low, abs=1e-6)
    assert got_high == pytest.approx(high, abs=1e-6)


def test_wilson_extremes_are_exact() -> None:
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0


def test_wilson_other_z() -> None:
    # z = 1 with 1/2: centre 0.5, half = (1/3)·sqrt(0.125 + 0.0625)
    low, high = wilson_interval(1, 2, z=1.0)
    assert low == pytest.approx(0.5 - (0.1875**0.5) / 1.5)
    assert high == pytest.approx(0.5 + (0.1875**0.5) / 1.5)


@pytest.mark.parametrize(
    ("k", "n", "z"), [(-1, 5, 1.96), (1, -5, 1.96), (6, 5, 1.96), (0, 0, 1.96), (1, 5, 0.0)]
)
def test_wilson_rejects(k: int, n: int, z: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(k, n, z)


@st.composite
def k_and_n(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(min_value=1, max_value=10_000))
    return draw(st.integers(min_value=0, max_value=n)), n


@given(k_and_n())
def test_wilson_symmetric(kn: tuple[int, int]) -> None:
    k, n = kn
    low, high = wilson_interval(k, n)
    mirror_low, mirror_high = wilson_interval(n - k, n)
    assert low == pytest.approx(1 - mirror_high, abs=1e-12)
    assert high == pytest.approx(1 - mirror_low, abs=1e-12)


@given(k_and_n())
def test_wilson_contains_the_proportion(kn: tuple[int, int]) -> None:
    k, n = kn
    low, high = wilson_interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert low < high


@given(
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=2, max_value=50),
)
def test_wilson_shrinks_as_n_grows(k: int, n: int, scale: int, factor: int) -> None:
    assume(k <= n)
    # Same proportion k/n at a sample `factor` times larger.
    small = wilson_interval(k * scale, n * scale)
    large = wilson_interval(k * scale * factor, n * scale * factor)
    assert large[1] - large[0] < small[1] - small[0]


# --- satisfaction rate -----------------------------------------------------------------------


def test_satisfaction_rate_counts_levels_four_and_five() -> None:
    rate = satisfaction_rate({1: 2, 2: 3, 3: 5, 4: 20, 5: 10})
    assert (rate.satisfied, rate.n) == (30, 40)
    assert rate.rate == pytest.approx(75.0)
    low, high = wilson_interval(30, 40)
    assert rate.low == pytest.approx(100 * low)
    assert rate.high == pytest.approx(100 * high)
    assert rate.low is not None and rate.high is not None
    assert rate.low < 75.0 < rate.high
    assert rate.enough


def test_min_sample_boundary() -> None:
    assert not satisfaction_rate({4: 29}).enough
    assert satisfaction_rate({4: 30}).enough
    assert satisfaction_rate({4: 29}).rate == 100.0
    assert satisfaction_rate({4: 5}, min_sample=5).enough
    assert not satisfaction_rate({4: 4}, min_sample=5).enough


def test_never_a_mean_score() -> None:
    # 20 answers: half "Bình thường", half satisfied. Mean score (30 + 8 + 40) / 20 = 3.9.
    counts = {3: 10, 4: 2, 5: 8}
    mean = sum(level * c for level, c in counts.items()) / sum(counts.values())
    assert mean == pytest.approx(3.9)
    rate = satisfaction_rate(counts)
    assert rate.rate == pytest.approx(50.0)
    assert rate.rate != pytest.approx(mean / 5 * 100)  # 78 % would be the mean-score fallacy


def test_empty_counts() -> None:
    rate = satisfaction_rate({})
    assert rate == satisfaction_rate({1: 0, 5: 0})
    assert (rate.satisfied, rate.n, rate.rate, rate.low, rate.high) == (0, 0, None, None, None)
    assert not rate.enough
    assert not satisfaction_rate({}, min_sample=0).enough


@pytest.mark.parametrize("counts", [{0: 1}, {6: 1}, {4: -1}, {1: 3, 10: 2}])
def test_satisfaction_rate_rejects(counts: dict[int, int]) -> None:
    with pytest.raises(ValueError):
        satisfaction_rate(counts)


def test_negative_min_sample_rejected() -> None:
    with pytest.raises(ValueError):
        satisfaction_rate({4: 1}, min_sample=-1)


def test_fully_satisfied_share() -> None:
    responses = [[4, 5, 5], [5, 5, 3], [4, 4, 4], [1, 5, 5], [], [5]]
    rate = fully_satisfied_share(responses, min_sample=5)
    assert (rate.satisfied, rate.n) == (3, 5)  # the empty respondent is left out
    assert rate.rate == pytest.approx(60.0)
    assert rate.enough
    assert not fully_satisfied_share(responses).enough


def test_fully_satisfied_share_is_below_item_rate() -> None:
    # Every item is 80 % satisfied, but nobody is satisfied with everything.
    responses = [
        [1, 5, 5, 5, 5],
        [5, 1, 5, 5, 5],
        [5, 5, 1, 5, 5],
        [5, 5, 5, 1, 5],
        [5, 5, 5, 5, 1],
    ]
    assert fully_satisfied_share(responses).rate == 0.0
    assert fully_satisfied_share([]).n == 0


def test_fully_satisfied_share_rejects_bad_rating() -> None:
    with pytest.raises(ValueError):
        fully_satisfied_share([[4, 6]])
    with pytest.raises(ValueError):
        fully_satisfied_share([[0]])


@pytest.mark.parametrize(
    ("rating", "level"),
    [
        (1, "Không hài lòng"),
        (2, "Không hài lòng"),
        (3, "Hài lòng"),
        (4, "Hài lòng"),
        (5, "Rất hài lòng"),
    ],
)
def test_portal_level(rating: int, level: str) -> None:
    assert portal_level(rating) == level


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_portal_level_rejects(rating: int) -> None:
    with pytest.raises(ValueError):
        portal_level(rating)


# --- targets ---------------------------------------------------------------------------------

TRAJECTORY_4A = {2021: 20.0, 2022: 40.0, 2023: 60.0, 2024: 80.0, 2025: 100.0, 2030: 100.0}


@pytest.mark.parametrize(
    ("year", "target"),
    [
        (2020, 20.0),
        (2021, 20.0),
        (2022, 40.0),
        (2023, 60.0),
        (2024, 80.0),
        (2025, 100.0),
        (2027, 100.0),
        (2035, 100.0),
    ],
)
def test_target_for_year_trajectory(year: int, target: float) -> None:
    assert target_for_year(TRAJECTORY_4A, year) == target


@pytest.mark.parametrize(
    ("year", "target"),
    [(2024, 90.0), (2025, 90.0), (2026, 95.0), (2030, 95.0), (2031, 95.0)],
)
def test_target_for_year_milestones(year: int, target: float) -> None:
    assert target_for_year({2030: 95, 2025: 90}, year) == target


def test_target_for_year_empty() -> None:
    assert target_for_year({}, 2025) is None


@pytest.mark.parametrize(
    ("value", "target", "direction", "expected"),
    [
        (90.0, 90.0, "min", True),
        (89.9, 90.0, "min", False),
        (90.1, 90.0, "min", True),
        (90.0 - 1e-12, 90.0, "min", True),  # rounding noise is not a miss
        (90.0 - 1e-6, 90.0, "min", False),
        (5.0, 5.0, "max", True),
        (4.0, 5.0, "max", True),
        (5.1, 5.0, "max", False),
        (5.0 + 1e-12, 5.0, "max", True),
        (None, 90.0, "min", None),
        (90.0, None, "min", None),
        (None, None, "max", None),
    ],
)
def test_is_met(
    value: float | None, target: float | None, direction: str, expected: bool | None
) -> None:
    assert is_met(value, target, direction) is expected


def test_is_met_exact_ratio() -> None:
    # 100·7/10 is 70.00000000000001 in floating point, 100·0.7 is 70.0: both meet 70.
    assert is_met(ratio_percent(7, 10), 70.0) is True
    assert is_met(ratio_percent(0.7, 1), 70.0, "max") is True


def test_is_met_rejects_unknown_direction() -> None:
    with pytest.raises(ValueError):
        is_met(1.0, 1.0, "up")


def test_ratio_percent() -> None:
    assert ratio_percent(120, 150) == pytest.approx(80.0)
    assert ratio_percent(0, 5) == 0.0
    assert ratio_percent(5, 0) is None
    assert ratio_percent(0, 0) is None


def test_aggregate_ratio_is_pooled_not_a_mean() -> None:
    got = aggregate_ratio([(1, 1), (50, 100)])
    assert got == pytest.approx(51 / 101 * 100)
    assert got != pytest.approx(75.0)


def test_aggregate_ratio_edge_cases() -> None:
    assert aggregate_ratio([]) is None
    assert aggregate_ratio([(0, 0), (0, 0)]) is None
    assert aggregate_ratio([(0, 0), (3, 4)]) == pytest.approx(75.0)
    assert aggregate_ratio(iter([(1, 2), (1, 2)])) == pytest.approx(50.0)


# --------------------------------------------------------------------------- over respondents


def _sums(respondents: list[list[int]]) -> dict[str, float]:
    """cluster_rate's arguments for these respondents' ratings (one list each)."""
    ys = [sum(r >= 4 for r in ratings) for ratings in respondents]
    ms = [len(ratings) for ratings in respondents]
    return {
        "satisfied": sum(ys),
        "answers": sum(ms),
        "respondents": len(respondents),
        "answers_sq": float(sum(m * m for m in ms)),
        "satisfied_sq": float(sum(y * y for y in ys)),
        "satisfied_answers": float(sum(y * m for y, m in zip(ys, ms, strict=True))),
    }


def test_one_answer_each_gives_wilson_on_the_answers() -> None:
    people = [[5]] * 37 + [[2]] * 13
    rate = cluster_rate(**_sums(people))
    low, high = wilson_interval(37, 50)
    assert rate.rate == pytest.approx(74.0)
    assert (rate.low, rate.high) == (pytest.approx(100 * low), pytest.approx(100 * high))


def test_alike_answers_give_wilson_on_the_respondents() -> None:
    people = [[5, 4, 5, 4]] * 37 + [[2, 3, 1, 2]] * 13  # 200 answers, 50 people
    rate = cluster_rate(**_sums(people))
    on_people = wilson_interval(37, 50)
    on_answers = wilson_interval(148, 200)
    assert rate.n == 200 and rate.rate == pytest.approx(74.0)
    assert (rate.low, rate.high) == (
        pytest.approx(100 * on_people[0]),
        pytest.approx(100 * on_people[1]),
    )
    assert rate.high - rate.low > 100 * (on_answers[1] - on_answers[0]) * 1.9  # about √4 wider


def test_mixed_answers_fall_between_and_the_minimum_sample_counts_people() -> None:
    people = [[5, 4, 2], [4, 4, 4], [1, 5, 3], [5, 5, 5], [2, 2, 4]] * 8  # 40 people
    rate = cluster_rate(**_sums(people), min_sample=41)
    satisfied = sum(r >= 4 for p in people for r in p)
    on_answers = wilson_interval(satisfied, 120)
    on_people = wilson_interval(round(satisfied / 3), 40)
    assert rate.low is not None and rate.high is not None
    assert on_people[0] * 100 - 1 < rate.low < on_answers[0] * 100
    assert not rate.enough  # 40 respondents < 41, however many answers


def test_all_satisfied_is_judged_on_the_respondents() -> None:
    rate = cluster_rate(**_sums([[5, 5, 5]] * 10))
    assert rate.rate == 100 and rate.high == 100
    assert rate.low == pytest.approx(100 * wilson_interval(10, 10)[0])
    assert cluster_rate(0, 0, 0, 0, 0, 0).rate is None
