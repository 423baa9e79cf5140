"""Satisfaction rates, their confidence intervals, and targets.

The satisfaction rate follows the national practice (SIPAS, QĐ 1001/QĐ-BNV 2023; QĐ 56/QĐ-BYT
2024): the share of valid answers at level 4 (Hài lòng) or 5 (Rất hài lòng) on the five-level
scale. A mean score is never turned into a percentage. Every rate carries its sample size and
a 95 % interval, and is flagged as not enough data below a minimum sample, so that nobody
reads "100 %" from two answers.

The sampled unit is the respondent, not the answer: one person's ratings of four items are
not four independent draws. So the satisfaction rate of a target, Σy / Σm over respondents
(m answers each, y of them at 4–5), is a ratio estimator with respondents as clusters, and
its interval comes from the linearised variance of that ratio (``cluster_rate``; Cochran,
*Sampling Techniques*, 3rd ed. 1977, §6.4–6.5 and §9A.2; Kish, *Survey Sampling*, 1965,
§6.3): the Wilson interval with the effective sample size p(1 − p) / var(p) (Korn &
Graubard, "Confidence intervals for proportions with small expected number of positive
counts estimated from survey data", *Survey Methodology* 24(2), 1998). When every respondent
gives one answer it is exactly Wilson's interval on the answers; when each gives all their
answers alike it is Wilson's interval on the number of respondents.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from surveys.i18n import N_

# Marked for the citizens' catalogue (surveys/i18n.py): the survey shows them translated.
RATING_LABELS: dict[int, str] = {
    1: N_("Rất không hài lòng"),
    2: N_("Không hài lòng"),
    3: N_("Bình thường"),
    4: N_("Hài lòng"),
    5: N_("Rất hài lòng"),
}
LEVELS = range(1, 6)
SATISFIED_LEVELS = frozenset({4, 5})
DEFAULT_MIN_SAMPLE = 30
Z_95 = 1.959963984540054  # two-sided 95 % quantile of the standard normal
TOLERANCE = 1e-9

PORTAL_NOT_SATISFIED = "Không hài lòng"
PORTAL_SATISFIED = "Hài lòng"
PORTAL_VERY_SATISFIED = "Rất hài lòng"


@dataclass(frozen=True)
class Rate:
    """A share of respondents, in percent, with its 95 % Wilson interval.

    ``rate``, ``low`` and ``high`` are percentages (0..100), all None when ``n == 0``.
    ``enough`` is true when there is at least one answer and ``n >= min_sample``; below it a
    report says "chưa đủ dữ liệu" instead of judging the rate against a target.
    """

    satisfied: int
    n: int
    rate: float | None
    low: float | None
    high: float | None
    enough: bool


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``n``, as fractions 0..1.

    Unlike the normal ("Wald") interval it stays inside 0..1 and does not collapse to a
    single point at 0 % or 100 %: 10 out of 10 gives about 0.72..1, not 1..1.
    Raises ValueError for negative counts, ``successes > n``, ``n == 0`` (no data has no
    interval) or a non-positive ``z``.
    """
    if successes < 0 or n < 0:
        raise ValueError("counts must not be negative")
    if successes > n:
        raise ValueError(f"successes ({successes}) > n ({n})")
    if n == 0:
        raise ValueError("no interval without any answer (n == 0)")
    if not z > 0:
        raise ValueError("z must be positive")
    return _wilson(successes / n, n, z)


def _rate(satisfied: int, n: int, min_sample: int) -> Rate:
    if min_sample < 0:
        raise ValueError("min_sample must not be negative")
    if n == 0:
        return Rate(satisfied=0, n=0, rate=None, low=None, high=None, enough=False)
    low, high = wilson_interval(satisfied, n)
    return Rate(
        satisfied=satisfied,
        n=n,
        rate=100 * satisfied / n,
        low=100 * low,
        high=100 * high,
        enough=n >= min_sample,
    )


def cluster_rate(
    satisfied: int,
    answers: int,
    respondents: int,
    answers_sq: float,
    satisfied_sq: float,
    satisfied_answers: float,
    min_sample: int = DEFAULT_MIN_SAMPLE,
) -> Rate:
    """The satisfaction rate Σy / Σm with its 95 % interval over respondents.

    Arguments are sums over the respondents i of a target: ``satisfied`` Σy_i (answers at
    4–5), ``answers`` Σm_i, ``respondents`` their number n, and Σm_i², Σy_i², Σy_i·m_i. With
    p = Σy / Σm, the linearised variance is var(p) = Σ(y_i − p·m_i)² / (Σm)², expanded as
    (Σy² − 2p·Σym + p²·Σm²) / (Σm)² so that it adds up from daily aggregates. (The
    n / (n − 1) factor is left out, so that one answer each gives Wilson's interval exactly.)
    The interval is Wilson's on the effective sample size n_eff = p(1 − p) / var(p), kept
    between n and Σm; when p is 0 or 1 (no variance to measure) n_eff is n, the cautious
    choice. ``enough`` counts respondents against ``min_sample``.
    """
    if min(satisfied, answers, respondents) < 0 or satisfied > answers:
        raise ValueError("counts must satisfy 0 <= satisfied <= answers")
    if min_sample < 0:
        raise ValueError("min_sample must not be negative")
    if answers == 0 or respondents == 0:
        return Rate(satisfied=satisfied, n=answers, rate=None, low=None, high=None, enough=False)
    p = satisfied / answers
    spread = satisfied_sq - 2 * p * satisfied_answers + p * p * answers_sq
    variance = max(0.0, spread) / (answers * answers)
    effective = float(respondents)
    if variance > TOLERANCE**2 and 0 < p < 1:
        effective = min(float(answers), max(float(respondents), p * (1 - p) / variance))
    low, high = _wilson(p, effective)
    return Rate(
        satisfied=satisfied,
        n=answers,
        rate=100 * p,
        low=100 * low,
        high=100 * high,
        enough=respondents >= min_sample,
    )


def _wilson(p: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson's interval for a share ``p`` of ``n`` draws (``n`` may be an effective size)."""
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low = 0.0 if p <= 0 else max(0.0, centre - half)
    high = 1.0 if p >= 1 else min(1.0, centre + half)
    return low, high


def satisfaction_rate(
    level_counts: Mapping[int, int], min_sample: int = DEFAULT_MIN_SAMPLE
) -> Rate:
    """The satisfaction rate from the number of answers at each level 1..5.

    ``satisfied`` is the count at levels 4 and 5, ``n`` the count at all five levels; missing
    levels count as zero. Keys outside 1..5 or negative counts raise ValueError: a stray key
    is a bug upstream (a 0-10 scale, a "không trả lời" bucket), not something to drop quietly.
    """
    for level, count in level_counts.items():
        if level not in LEVELS:
            raise ValueError(f"rating level {level!r} is outside 1..5")
        if count < 0:
            raise ValueError(f"negative count {count} at level {level}")
    n = sum(level_counts.get(level, 0) for level in LEVELS)
    satisfied = sum(level_counts.get(level, 0) for level in SATISFIED_LEVELS)
    return _rate(satisfied, n, min_sample)


def fully_satisfied_share(
    responses: Iterable[Sequence[int]], min_sample: int = DEFAULT_MIN_SAMPLE
) -> Rate:
    """The "hài lòng toàn diện" share: respondents whose every rating is 4 or 5.

    Each element is one respondent's ratings. A respondent with no rating at all is left out
    of ``n`` (otherwise ``all([])`` would count them as fully satisfied). A rating outside
    1..5 raises ValueError.
    """
    satisfied = n = 0
    for ratings in responses:
        for rating in ratings:
            if rating not in LEVELS:
                raise ValueError(f"rating {rating!r} is outside 1..5")
        if not ratings:
            continue
        n += 1
        if all(rating in SATISFIED_LEVELS for rating in ratings):
            satisfied += 1
    return _rate(satisfied, n, min_sample)


def portal_level(rating: int) -> str:
    """Map a five-level rating onto the three levels of the National Public Service Portal.

    1 and 2 -> "Không hài lòng"; 3 and 4 -> "Hài lòng"; 5 -> "Rất hài lòng". The portal has
    no neutral level, and "Bình thường" (3) means the citizen accepted the service without a
    complaint, so it goes with "Hài lòng" rather than "Không hài lòng"; 5 keeps its own level
    because the portal has it. Consequence: a "hài lòng trở lên" share computed on portal
    levels is higher than the SIPAS satisfaction rate (which counts only 4 and 5) for the same
    answers, so :func:`satisfaction_rate` stays the figure judged against targets and this
    mapping is only for lining figures up with QĐ 766/QĐ-TTg reporting.
    """
    if rating not in LEVELS:
        raise ValueError(f"rating {rating!r} is outside 1..5")
    if rating <= 2:
        return PORTAL_NOT_SATISFIED
    if rating <= 4:
        return PORTAL_SATISFIED
    return PORTAL_VERY_SATISFIED


def target_year(targets: Mapping[int, object], year: int) -> int | None:
    """The year whose target is in force in ``year`` (see :func:`target_for_year`)."""
    if not targets:
        return None
    later = [y for y in targets if y >= year]
    return min(later) if later else max(targets)


def target_for_year(targets: Mapping[int, float], year: int) -> float | None:
    """The target in force in ``year``.

    A target set for year Y applies to every year up to Y not covered by an earlier target:
    with ``{2025: 90, 2030: 95}`` the goal is 90 until 2025 and 95 from 2026 to 2030. For a
    yearly trajectory (``{2021: 20, 2022: 40, ...}``) that is the year's own value. After the
    last year the last value still applies; no targets gives None.
    """
    chosen = target_year(targets, year)
    return None if chosen is None else float(targets[chosen])


def is_met(value: float | None, target: float | None, direction: str = "min") -> bool | None:
    """Whether ``value`` reaches ``target``: ``"min"`` means at least, ``"max"`` at most.

    None when either is unknown. A tolerance of 1e-9 keeps 100·x/y rounding noise from failing
    a target reached exactly.
    """
    if direction not in ("min", "max"):
        raise ValueError(f"direction must be 'min' or 'max', not {direction!r}")
    if value is None or target is None:
        return None
    if direction == "min":
        return value >= target - TOLERANCE
    return value <= target + TOLERANCE


def ratio_percent(numerator: float, denominator: float) -> float | None:
    """``100 · numerator / denominator``; None when the denominator is 0."""
    if denominator == 0:
        return None
    return 100 * numerator / denominator


def aggregate_ratio(pairs: Iterable[tuple[float, float]]) -> float | None:
    """The pooled percentage Σ numerators / Σ denominators · 100 over several units.

    Not the mean of the units' percentages: the indicator counts records across the whole
    district (e.g. on-time records / all records), so a unit that handled 100 records must
    weigh a hundred times more than one that handled 1. With (1, 1) and (50, 100) the
    district handled 51 of 101 records on time — 50.5 %, not the 75 % a mean would claim.
    None when the denominators sum to 0 (including no pairs at all).
    """
    total_num = total_den = 0.0
    for numerator, denominator in pairs:
        total_num += numerator
        total_den += denominator
    return ratio_percent(total_num, total_den)
