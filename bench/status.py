"""How /status scales: 50 units x 20 rounds, and 10k, 100k and 1M survey responses.

    python -m bench.status                      # 10k, 100k and 1M responses
    python -m bench.status --sizes 10000,50000  # smaller runs

For each size a temporary SQLite file is migrated with ``db.migrate.upgrade`` and filled by
bulk inserts (``executemany`` in chunks): the organisation (the shipped sample plus extra
communes up to 50 reporting units), 20 quarterly rounds with every unit's values (the
current round 80 % submitted), the survey responses spread over the 20 rounds' windows, and
the ``survey_daily_counts`` rows exactly as the live code would have kept them (computed in
Python while the responses are generated: one row per day, point, field and target).

It then times ``reports.status.status_figures`` for the current round (the figures only,
not the chart), each run in a fresh session after a few warm-up runs, and prints per size:
the median and best wall time, the median CPU time of the process (steadier when other
work shares the machine), the peak Python memory of one computation (tracemalloc), and at
the end the process's peak resident memory (the data building dominates it). The goal: 1M
responses cost at most twice what 10k cost, because /status reads the aggregates and never
the responses; what still grows is the number of aggregate rows in the round's window
("in round"), which stops growing once every day, point and field has answers.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # python bench/status.py: the project's root, not bench/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.usecases.settings import OrgConfig
from db import repo
from db.migrate import upgrade
from db.models import Round, Submission, SubmissionValue, SurveyDailyCount, SurveyResponse
from db.session import make_engine, make_sessionmaker
from reports.status import status_figures
from scheduler.calendar import Period, period_from_key, previous_period
from surveys.catalogue import Catalogue, ServicePoint, load_catalogue
from surveys.survey_machine import field_of

SEED = 53
UNITS = 50
ROUNDS = 20
CURRENT = "2026-Q4"
TODAY = date(2026, 11, 20)  # inside the current round's window, 24 days before its deadline
CHUNK = 20_000
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
MIN_SAMPLE = 30
WARM_UP = 3  # runs before the timed ones: compiled statements cached, pages read once

# Aggregate key: (day, point, field, target) -> [level1..level5, respondents, fully_satisfied,
# Σm², Σy², Σy·m] (the sums the interval over respondents needs)
Counts = dict[tuple[date, str, str, str], list[int]]


def catalogue_with(units: int, folder: Path) -> Catalogue:
    """The shipped Long Phú catalogue, with extra communes until ``units`` units report."""
    org = OrgConfig()
    text = org.units.read_text(encoding="utf-8")
    shipped = load_catalogue(org.units, org.indicators, org.points, org.questionnaires)
    extra = units - len(shipped.org.reporting_units())
    for n in range(1, extra + 1):
        text += f'\n[[unit]]\ncode = "XA-B{n:02d}"\nname = "UBND xã Thử Nghiệm {n}"\n'
        text += 'kind = "xa"\nparent = "LP"\n'
    path = folder / "units.toml"
    path.write_text(text, encoding="utf-8")
    catalogue = load_catalogue(path, org.indicators, org.points, org.questionnaires)
    assert len(catalogue.org.reporting_units()) == units, "the sample changed: adjust the bench"
    return catalogue


def rounds_up_to(key: str, count: int) -> list[Period]:
    periods = [period_from_key(key)]
    while len(periods) < count:
        periods.append(previous_period(periods[-1]))
    return periods[::-1]


def chunks(rows: Sequence[dict[str, Any]], size: int = CHUNK) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def insert_rows(engine: AsyncEngine, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert: one executemany per chunk, one transaction per chunk."""
    for part in chunks(rows):
        async with engine.begin() as connection:
            await connection.execute(insert(table), list(part))


def _utc(day: date, seconds: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)


async def build_reports(
    engine: AsyncEngine, catalogue: Catalogue, periods: list[Period], rng: random.Random
) -> int:
    """Rounds and every unit's values (the current round 80 % submitted); returns the
    current round's id."""
    round_rows: list[dict[str, Any]] = []
    submission_rows: list[dict[str, Any]] = []
    value_rows: list[dict[str, Any]] = []
    units = catalogue.org.reporting_units()
    for round_id, period in enumerate(periods, start=1):
        current = period.key == CURRENT
        round_rows.append(
            {
                "id": round_id,
                "key": period.key,
                "kind": "quarter",
                "title": period.title,
                "window_start": period.window_start,
                "window_end": period.window_end,
                "deadline": period.deadline,
                "opened_at": _utc(period.window_start, 0),
                "closed_at": None if current else _utc(period.deadline + timedelta(days=31), 0),
            }
        )
        for unit in units:
            if current and rng.random() > 0.8:
                continue
            submission_id = len(submission_rows) + 1
            late = rng.random() < 0.1
            shift = rng.randint(1, 10) if late else -rng.randint(0, 20)
            day = period.deadline + timedelta(days=shift)
            submission_rows.append(
                {
                    "id": submission_id,
                    "round_id": round_id,
                    "unit_code": unit.code,
                    "submitted_at": _utc(min(day, TODAY), rng.randint(0, 36_000)),
                    "submitted_by": f"Thủ trưởng {unit.code}",
                    "member_id": None,
                    "late": late,
                    "by_admin": False,
                }
            )
            for indicator in catalogue.indicators.due_from(unit):
                row: dict[str, Any] = {
                    "submission_id": submission_id,
                    "indicator_code": indicator.code,
                    "numerator": None,
                    "denominator": None,
                    "value": None,
                    "skip_reason": None,
                }
                if indicator.kind == "ratio":
                    den = rng.randint(10, 800)
                    num = rng.randint(0, den)
                    row.update(numerator=float(num), denominator=float(den), value=100 * num / den)
                elif indicator.kind == "percent":
                    row["value"] = round(rng.uniform(0, 100), 1)
                else:
                    row["value"] = float(rng.randint(0, 50))
                value_rows.append(row)
    await insert_rows(engine, Round, round_rows)
    await insert_rows(engine, Submission, submission_rows)
    await insert_rows(engine, SubmissionValue, value_rows)
    return len(periods)


@dataclass(frozen=True)
class PointPlan:
    """What a response at one point looks like: its questionnaire, field choices, ratings."""

    point: ServicePoint
    questionnaire: str
    field_question: str | None
    fields: tuple[str, ...]
    ratings: tuple[tuple[str, tuple[str, ...]], ...]  # (question id, targets it feeds)


def plans(catalogue: Catalogue) -> list[PointPlan]:
    out = []
    for point in catalogue.points:
        q = catalogue.questionnaires[point.questionnaire]
        asked = q.questions_for(point)
        field_q = next((x for x in asked if x.sets_field), None)
        out.append(
            PointPlan(
                point=point,
                questionnaire=q.code,
                field_question=field_q.id if field_q else None,
                fields=tuple(o.value for o in field_q.options) if field_q else (),
                ratings=tuple((x.id, x.feeds) for x in asked if x.kind == "rating"),
            )
        )
    return out


def _rating(rng: random.Random) -> int:
    # Mostly satisfied, as counters usually are: 4 % 1, 6 % 2, 12 % 3, 38 % 4, 40 % 5.
    r = rng.random()
    return 1 if r < 0.04 else 2 if r < 0.10 else 3 if r < 0.22 else 4 if r < 0.60 else 5


def response_rows(
    catalogue: Catalogue, size: int, first: date, last: date, rng: random.Random, counts: Counts
) -> Iterator[list[dict[str, Any]]]:
    """``size`` responses in chunks, adding every counted one to ``counts`` the way
    ``bot.usecases.surveying._aggregate`` does (one respondent per target, their levels)."""
    by_point = plans(catalogue)
    days = (last - first).days + 1
    questionnaires = catalogue.questionnaires
    chunk: list[dict[str, Any]] = []
    for n in range(size):
        plan = by_point[rng.randrange(len(by_point))]
        day = first + timedelta(days=rng.randrange(days))
        answers: dict[str, Any] = {}
        if plan.field_question is not None:
            answers[plan.field_question] = plan.fields[rng.randrange(len(plan.fields))]
        for question, _ in plan.ratings:
            answers[question] = _rating(rng)
        status = "counted" if rng.random() < 0.95 else "repeat"
        field = field_of(questionnaires[plan.questionnaire], plan.point, answers) or ""
        if status == "counted":
            by_target: dict[str, list[int]] = {}
            for question, feeds in plan.ratings:
                for target in feeds:
                    by_target.setdefault(target, []).append(answers[question])
            for target, levels in by_target.items():
                bucket = counts[(day, plan.point.code, field, target)]
                for level in levels:
                    bucket[level - 1] += 1
                bucket[5] += 1
                bucket[6] += all(level >= 4 for level in levels)
                m, y = len(levels), sum(level >= 4 for level in levels)
                bucket[7] += m * m
                bucket[8] += y * y
                bucket[9] += y * m
        started = _utc(day, 3600 + rng.randrange(30_000))
        chunk.append(
            {
                "point_code": plan.point.code,
                "questionnaire": plan.questionnaire,
                "respondent": format(n, "064x"),  # an HMAC's length; unique, so never a repeat
                "day": day,
                "field": field or None,
                "language": "vi",
                "status": status,
                "answers": answers,
                "record_code": None,
                "started_at": started,
                "completed_at": started + timedelta(seconds=40),
            }
        )
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def build_surveys(
    engine: AsyncEngine, catalogue: Catalogue, size: int, first: date, rng: random.Random
) -> int:
    """The responses and their daily aggregate rows; returns the number of aggregate rows."""
    counts: Counts = defaultdict(lambda: [0] * 10)
    for part in response_rows(catalogue, size, first, TODAY, rng, counts):
        async with engine.begin() as connection:
            await connection.execute(insert(SurveyResponse), part)
    rows = [
        {
            "day": day,
            "point_code": point,
            "field": field,
            "target": target,
            **{f"level{n + 1}": bucket[n] for n in range(5)},
            "respondents": bucket[5],
            "fully_satisfied": bucket[6],
            "answers_sq": bucket[7],
            "satisfied_sq": bucket[8],
            "satisfied_answers": bucket[9],
        }
        # Day by day, as the live code creates them: a round's rows lie together on disk.
        for (day, point, field, target), bucket in sorted(counts.items())
    ]
    await insert_rows(engine, SurveyDailyCount, rows)
    return len(rows)


@dataclass(frozen=True)
class Result:
    size: int
    build_seconds: float
    daily_rows: int
    window_rows: int
    median_ms: float
    best_ms: float
    cpu_ms: float  # median CPU time of the process (all threads): steadier on a busy machine
    peak_kib: float
    satisfied_14: str


async def measure(size: int, repeat: int, folder: Path) -> Result:
    rng = random.Random(SEED)
    folder = Path(tempfile.mkdtemp(prefix=f"{size}-", dir=folder))  # a size may come twice
    catalogue = catalogue_with(UNITS, folder)
    engine = make_engine(f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}")
    try:
        started = time.perf_counter()
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        async with sessions.begin() as session:
            await repo.sync_units(session, catalogue.org.units)
        periods = rounds_up_to(CURRENT, ROUNDS)
        current_id = await build_reports(engine, catalogue, periods, rng)
        daily_rows = await build_surveys(engine, catalogue, size, periods[0].window_start, rng)
        build_seconds = time.perf_counter() - started

        async with sessions() as session:
            round_ = await session.get(Round, current_id)
            assert round_ is not None
            responses = await session.scalar(select(func.count()).select_from(SurveyResponse))
            assert responses == size
            window_rows = await session.scalar(
                select(func.count())
                .select_from(SurveyDailyCount)
                .where(SurveyDailyCount.day.between(round_.window_start, round_.window_end))
            )
        timings, cpu = [], []
        figures = None
        for run in range(-WARM_UP, repeat):  # the warm-up runs (run < 0) are not counted
            async with sessions() as session:  # a fresh session: nothing cached between runs
                round_ = await session.get(Round, current_id)
                assert round_ is not None
                begin, begin_cpu = time.perf_counter(), time.process_time()
                figures = await status_figures(session, catalogue, round_, TODAY, MIN_SAMPLE)
                if run >= 0:
                    timings.append(time.perf_counter() - begin)
                    cpu.append(time.process_time() - begin_cpu)
        tracemalloc.start()
        async with sessions() as session:
            round_ = await session.get(Round, current_id)
            assert round_ is not None
            tracemalloc.reset_peak()
            await status_figures(session, catalogue, round_, TODAY, MIN_SAMPLE)
            _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert figures is not None
        fourteen = next(s for s in figures.satisfaction if s.target == "14")
        return Result(
            size=size,
            build_seconds=build_seconds,
            daily_rows=daily_rows,
            window_rows=int(window_rows or 0),
            median_ms=1000 * statistics.median(timings),
            best_ms=1000 * min(timings),
            cpu_ms=1000 * statistics.median(cpu),
            peak_kib=peak / 1024,
            satisfied_14=f"{fourteen.rate:.1f}% n={fourteen.n}" if fourteen.rate else "-",
        )
    finally:
        await engine.dispose()


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.status", description=__doc__.split("\n")[0])
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=list(DEFAULT_SIZES),
        help="survey responses per run, comma-separated (default 10000,100000,1000000)",
    )
    p.add_argument("--repeat", type=int, default=11, help="timed runs per size (default 11)")
    return p


async def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    print(
        f"/status figures (reports.status.status_figures): {UNITS} units x {ROUNDS} rounds, "
        f"median of {args.repeat} runs after {WARM_UP} warm-up runs; "
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}"
    )
    header = (
        f"{'responses':>10} {'build s':>8} {'daily rows':>10} {'in round':>9} "
        f"{'median ms':>10} {'best ms':>8} {'cpu ms':>7} {'peak KiB':>9}  14 (check)"
    )
    print(header)
    results = []
    with tempfile.TemporaryDirectory(prefix="cchc-bench-") as tmp:
        for size in args.sizes:
            r = await measure(size, args.repeat, Path(tmp))
            results.append(r)
            print(
                f"{r.size:>10,} {r.build_seconds:>8.1f} {r.daily_rows:>10,} {r.window_rows:>9,} "
                f"{r.median_ms:>10.1f} {r.best_ms:>8.1f} {r.cpu_ms:>7.1f} {r.peak_kib:>9,.0f}  "
                f"{r.satisfied_14}",
                flush=True,
            )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux -> MiB
    print(f"peak resident memory of the whole run (building included): {rss:,.0f} MiB")
    if len(results) > 1:
        small, large = results[0], results[-1]
        ratio = large.median_ms / small.median_ms
        cpu_ratio = large.cpu_ms / small.cpu_ms
        verdict = "ok" if ratio <= 2 else "OVER the goal of 2"
        print(
            f"{large.size:,} vs {small.size:,} responses: x{ratio:.2f} median time ({verdict}), "
            f"x{cpu_ratio:.2f} CPU time"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
