"""``cchc-bot demo``: a separate database holding one realistic district quarter.

What it holds, on the real calendar of the day it is made:

- the **current quarter** (the round ``/trangthai`` shows): most units have reported, a few
  have not; nobody is late, because the deadline has not come yet;
- the **previous quarter**, complete: most units on time, a few late, a few missing (see it
  with ``/trangthai <key>`` and ``/xuat <key>``);
- about 2,000 citizens' survey answers in each quarter, spread over the service points (the
  district one-stop desk busiest), the fields (land and civil status most asked about) and
  the working days, so every satisfaction target has its sample;
- a registered head for every unit (channel ``demo``: nobody can ever be messaged), so that
  ``/nhacnho`` has someone to remind.

Values scatter around each indicator's target for the round's year — some indicators are met
district-wide, some not, none far off (draws are cut at two spreads) — with per-quarter sizes
of a district of Long Phú's size (a commune issues a document or two a quarter and has about
twenty civil servants; the one-stop desks handle hundreds of files). Every answer passes the
same validation as a typed one. A fixed seed makes the demo the same every time it is made
on the same day.

Why the real calendar and not a fixed "demo today": the round a date belongs to is the one
whose data window holds it, and every window ends on its deadline, so the round ``/trangthai``
shows has never passed its deadline; a demo clock moved past it would show the next, empty
round. Late reports are therefore shown where they really appear: in the previous round.
"""

from __future__ import annotations

import random
import shlex
import sqlite3
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context
from bot.usecases.surveying import respondent_key
from db import repo
from db.models import (
    Member,
    Round,
    Submission,
    SubmissionValue,
    SurveyDailyCount,
    SurveyResponse,
    ValueRevision,
)
from scheduler.calendar import Period, period_for_date, previous_period
from scheduler.rounds import ensure_periodic_round, indicators_for, open_period_round, rules_of
from surveys import survey_machine
from surveys.catalogue import Indicator, Question, ServicePoint, Unit
from surveys.report_machine import Answer, Item, figure, problem
from surveys.scoring import target_for_year
from surveys.texts import d

# --------------------------------------------------------------------------- sentences
# What only this module says (the rest is in surveys/texts.py).

DEMO_SKIP_REASON = "Đơn vị không giải quyết thủ tục hành chính thuộc loại này"

def demo_not_overwritten(path: str) -> str:
    return f"“{path}” đã có và không phải bản demo: không ghi đè. Chọn tệp khác bằng --out."

def demo_round(
    title: str, deadline: date, current: bool, asked: int, on_time: int, late: int, surveys: int
) -> str:
    when = "kỳ hiện tại" if current else "kỳ trước"
    sent = on_time + late
    count = f"{surveys:,}".replace(",", ".")
    return (
        f"• {title} — {when}, hạn nộp {d(deadline)}: {sent}/{asked} đơn vị đã nộp "
        f"(đúng hạn {on_time}, trễ hạn {late}), {asked - sent} chưa nộp; {count} phiếu khảo sát"
    )

def demo_made(path: str, rounds: list[str], open_command: str, tries: list[str]) -> str:
    return "\n".join(
        [
            f"Đã tạo dữ liệu demo tại {path}:",
            *rounds,
            f"Mở bằng: {open_command}",
            "Rồi thử: " + " · ".join(tries),
        ]
    )


SEED = 53  # Kế hoạch 53/KH-UBND
SURVEYS = 2000  # counted answers in the current quarter
SURVEYS_BEFORE = 1800  # and in the previous one
CHANNEL = "demo"  # the demo's unit heads: no adapter sends on this channel
# The channels the demo's citizens answer by, about as a rural one-stop counter would see
# them: the web page from the poster first, Zalo next, few on Telegram (README, Web survey)
DEMO_CHANNELS = ("web", "zalo", "kiosk", "telegram")
DEMO_CHANNEL_WEIGHTS = (50, 30, 15, 5)

# Per-quarter sizes (denominators) by indicator and unit kind, for a district like Long Phú.
# A catalogue of another district falls back to DEFAULT_SIZE.
SIZES: dict[str, dict[str, tuple[int, int]]] = {
    "1a": {"phong_ban": (2, 6), "xa": (0, 2)},
    "1b": {"phong_ban": (1, 8), "xa": (0, 3)},
    "2": {"phong_ban": (15, 160), "trung_uong": (40, 300), "xa": (10, 90)},
    "3a": {"phong_ban": (3, 25), "xa": (5, 18)},
    "3b": {"phong_ban": (10, 220), "xa": (15, 160)},
    "4a": {"phong_ban": (150, 1500)},
    "4b": {"xa": (200, 1400)},
    "5a": {"phong_ban": (10, 70), "xa": (40, 95)},
    "5b": {"phong_ban": (8, 60), "xa": (35, 90)},
    "5c": {"phong_ban": (40, 700), "xa": (120, 900)},
    "6": {"phong_ban": (25, 45)},
    "7": {"phong_ban": (40, 700), "trung_uong": (150, 1500), "xa": (120, 900)},
    "8a": {"phong_ban": (68, 72)},
    "9": {"phong_ban": (20, 400), "xa": (60, 600)},
    "10": {"phong_ban": (9, 16)},
    "11a": {"phong_ban": (150, 900), "su_nghiep": (40, 350)},
    "11b": {"xa": (250, 900)},
    "12": {"phong_ban": (1, 10)},
    "13": {"xa": (19, 23)},
}
DEFAULT_SIZE = (20, 400)
# Counts of things that exist (procedures, systems, staff) rather than of a quarter's work:
# they barely move from one quarter to the next.
STOCKS = frozenset({"3a", "4a", "4b", "5a", "5b", "6", "8a", "10", "13"})
# Indicators about administrative procedures (TTHC): an office without any says so.
TTHC = frozenset({"2", "3a", "3b", "5a", "5b", "5c", "7", "9"})
SKIP_SHARE = 0.08  # of offices (phong_ban) answering "không áp dụng" to a TTHC indicator

POINT_WEIGHT = {"mot_cua_huyen": 6.0, "mot_cua_xa": 2.0, "co_quan": 1.5, "y_te": 3.0}
FIELD_WEIGHT = {
    "mot_cua_huyen": {"dat_dai": 35, "xay_dung": 12, "dau_tu": 5, "ho_tich": 10,
                      "chung_thuc": 15, "khac": 23},
    "mot_cua_xa": {"dat_dai": 15, "xay_dung": 3, "dau_tu": 1, "ho_tich": 35,
                   "chung_thuc": 30, "khac": 16},
}  # fmt: skip
HARD_FIELDS = frozenset({"dat_dai", "xay_dung", "dau_tu"})  # a little less satisfied

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Dương", "Lý", "Thạch", "Lâm", "Trương", "Sơn", "Kim")  # fmt: skip
MIDDLE_M = ("Văn", "Minh", "Hoàng", "Quốc", "Hữu", "Thanh", "Công")
MIDDLE_F = ("Thị", "Ngọc", "Thanh", "Kim", "Thu", "Mỹ")
GIVEN_M = ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phúc",
           "Quang", "Sơn", "Tâm", "Trung", "Tuấn", "Vinh")  # fmt: skip
GIVEN_F = ("Hà", "Hạnh", "Lan", "Linh", "Mai", "Nga", "Phương", "Thảo", "Trang", "Vy", "Yến")

PRAISE = (
    "Cán bộ hướng dẫn tận tình, dễ hiểu.",
    "Trả kết quả đúng hẹn, cảm ơn.",
    "Thủ tục nhanh gọn hơn trước nhiều.",
    "Nhân viên vui vẻ, lịch sự.",
)
COMPLAINTS = (
    "Phải chờ khá lâu mới tới lượt.",
    "Phải đi lại nhiều lần mới bổ sung đủ giấy tờ.",
    "Nên có thêm ghế ngồi và nước uống cho người chờ.",
    "Hướng dẫn chưa rõ, mỗi người nói một kiểu.",
    "Trả kết quả trễ hẹn mà không báo trước.",
)


@dataclass(frozen=True)
class RoundSummary:
    key: str
    title: str
    deadline: date
    asked: int
    on_time: int
    late: int
    missing: tuple[str, ...]  # unit codes, in organisation order
    surveys: int


@dataclass(frozen=True)
class DemoSummary:
    current: RoundSummary
    previous: RoundSummary


class DemoFileError(ValueError):
    """The output path holds something that is not an earlier demo (nothing was touched)."""


# --------------------------------------------------------------------------- the file


def is_demo_database(path: Path) -> bool:
    """Whether ``path`` is a database made by ``cchc-bot demo`` (its heads are on ``demo``)."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT 1 FROM members WHERE channel = ? LIMIT 1", (CHANNEL,))
            return row.fetchone() is not None
    except sqlite3.Error:
        return False


def prepare_file(path: Path) -> None:
    """Remove an earlier demo at ``path``; refuse to touch any other non-empty file, so that
    ``--out`` pointed at the real database by mistake destroys nothing."""
    if path.exists() and (path.is_dir() or path.stat().st_size > 0) and not is_demo_database(path):
        raise DemoFileError(demo_not_overwritten(str(path)))
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --------------------------------------------------------------------------- values


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


@dataclass(frozen=True)
class Tendency:
    """How the district does on one indicator in one quarter."""

    mean: float  # the district-wide percent values scatter around
    full: bool  # a 100 % target: whether every unit reaches it this quarter


def _scatter(rng: random.Random, mean: float, spread: float) -> float:
    """A normal draw cut at two spreads: a demo has no freak values."""
    return mean + _clamp(rng.gauss(0.0, spread), -2 * spread, 2 * spread)


def tendency(rng: random.Random, indicator: Indicator, year: int) -> Tendency:
    """Around the year's target, a little better on average: about half the indicators are
    met district-wide. A 100 % target is met only if every unit reaches it."""
    target = target_for_year(indicator.targets, year)
    goal = 70.0 if target is None else target
    sign = 1.0 if indicator.direction == "min" else -1.0
    spread = _clamp(0.25 * min(goal, 100 - goal), 2.0, 5.0)
    mean = _clamp(goal + sign * _scatter(rng, 1.0, spread), 1.0, 99.5)
    return Tendency(mean=mean, full=goal >= 100 and rng.random() < 0.4)


def unit_share(rng: random.Random, trend: Tendency, goal: float | None) -> float:
    """One unit's percent: near the district's tendency, within 0–100. Against a 100 %
    target most units reach it and the others fall a little short."""
    if goal is not None and goal >= 100:
        if trend.full or rng.random() < 0.7:
            return 100.0
        return _clamp(100 - abs(rng.gauss(0, 4)) - 0.5, 80.0, 99.9)
    spread = _clamp(0.25 * min(trend.mean, 100 - trend.mean), 1.0, 5.0)
    return _clamp(_scatter(rng, trend.mean, spread), 0.0, 100.0)


def size_range(indicator: Indicator, unit: Unit) -> tuple[int, int]:
    by_kind = SIZES.get(indicator.code, {})
    if unit.kind in by_kind:
        return by_kind[unit.kind]
    return next(iter(by_kind.values()), DEFAULT_SIZE)


def item_of(indicator: Indicator) -> Item:
    kind = indicator.kind if indicator.kind in ("ratio", "percent") else "count"
    return Item(code=indicator.code, kind=kind, name=indicator.name)


@dataclass
class UnitProfile:
    """What stays from one quarter to the next for one unit and indicator."""

    size: int
    skips: bool


def answer_for(
    rng: random.Random,
    indicator: Indicator,
    profile: UnitProfile,
    trend: Tendency,
    year: int,
) -> Answer:
    """A plausible answer of one unit, valid by the same rule as a typed one."""
    if profile.skips:
        return {"skip": DEMO_SKIP_REASON}
    goal = target_for_year(indicator.targets, year)
    share = unit_share(rng, trend, goal)
    wobble = 0.03 if indicator.code in STOCKS else 0.15
    size = max(0, round(profile.size * rng.uniform(1 - wobble, 1 + wobble)))
    if indicator.kind == "ratio":
        num = min(size, round(size * share / 100))
        if share < 100 and num == size and size >= 5 and goal is not None and goal >= 100:
            num = size - 1  # a unit short of a 100 % target is short by a whole file
        answer: Answer = {"num": float(num), "den": float(size)}
    elif indicator.kind == "percent":
        answer = {"value": round(share, 1)}
    else:
        answer = {"value": float(size)}
    assert problem(item_of(indicator), answer) is None, (indicator.code, answer)
    return answer


# --------------------------------------------------------------------------- time


def _local(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tz)


def office_moment(rng: random.Random, day: date, tz: ZoneInfo, latest: datetime) -> datetime:
    """A moment in office hours on ``day``; never after ``latest`` (UTC), and then still on
    ``day`` when ``day`` has begun by ``latest``."""
    moment = _local(day, rng.randint(7, 16), rng.randint(0, 59), tz).astimezone(UTC)
    if moment <= latest:
        return moment
    earlier = latest - timedelta(minutes=rng.randint(1, 90))
    start = _local(day, 0, 0, tz).astimezone(UTC)
    return max(start, earlier) if start <= latest else earlier


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _working_days(first: date, last: date) -> list[date]:
    days = [d for d in _days(first, last) if d.weekday() < 5]
    return days or _days(first, last)


def survey_days(first: date, last: date) -> tuple[list[date], list[float]]:
    """The days surveys were answered, with weights: one-stop desks open Monday to Friday
    and Saturday morning; clinics also on Sunday."""
    days = _days(first, last)
    return days, [{5: 0.3, 6: 0.05}.get(d.weekday(), 1.0) for d in days]


# --------------------------------------------------------------------------- people


def person_name(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"


async def _heads(
    ctx: Context, session: AsyncSession, rng: random.Random, since: datetime
) -> dict[str, Member]:
    heads: dict[str, Member] = {}
    for unit in ctx.catalogue.org.reporting_units():
        user_id = f"{CHANNEL}-{unit.code}"
        heads[unit.code] = repo.add_member(
            session, unit.code, CHANNEL, user_id, person_name(rng), since
        )
    await session.flush()
    return heads


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class Plan:
    """Which units report in a round, and which of them late."""

    missing: frozenset[str]
    late: frozenset[str]


def plan_round(
    rng: random.Random, units: list[Unit], missing_share: float, late_share: float
) -> Plan:
    """A few missing and (when late is possible) a few late, at least two of each."""
    codes = [u.code for u in units]
    n_missing = max(2, round(missing_share * len(codes))) if len(codes) > 4 else 0
    missing = set(rng.sample(codes, n_missing))
    rest = [c for c in codes if c not in missing]
    n_late = max(2, round(late_share * len(codes))) if late_share and len(rest) > 4 else 0
    return Plan(frozenset(missing), frozenset(rng.sample(rest, n_late)))


async def _fill_round(
    ctx: Context,
    session: AsyncSession,
    rng: random.Random,
    round_: Round,
    plan: Plan,
    heads: dict[str, Member],
    profiles: dict[tuple[str, str], UnitProfile],
    trends: dict[str, Tendency],
) -> RoundSummary:
    tz = ctx.config.timezone
    now = ctx.now()
    year = round_.deadline.year
    units = list(ctx.catalogue.org.reporting_units())
    # On-time reports come in the last four weeks before the deadline, late ones within a
    # week after it; none after now.
    today = ctx.today()
    last = min(round_.deadline, today)
    first = max(round_.window_start, round_.deadline - timedelta(days=27))
    on_time_days = _working_days(first if first <= last else round_.window_start, last)
    late_days = _working_days(
        round_.deadline + timedelta(days=1), min(round_.deadline + timedelta(days=7), today)
    )
    on_time = late = 0
    for unit in units:
        if unit.code in plan.missing:
            continue
        is_late = unit.code in plan.late
        day = rng.choice(late_days if is_late else on_time_days)
        moment = office_moment(rng, day, tz, now)
        head = heads[unit.code]
        submission = Submission(
            round_id=round_.id,
            unit_code=unit.code,
            submitted_at=moment,
            submitted_by=head.display_name,
            member_id=head.id,
            late=moment.astimezone(tz).date() > round_.deadline,
        )
        session.add(submission)
        await session.flush()
        late += submission.late
        on_time += not submission.late
        for indicator in indicators_for(ctx.catalogue, round_, unit):
            profile = profiles[(unit.code, indicator.code)]
            answer = answer_for(rng, indicator, profile, trends[indicator.code], year)
            session.add(
                SubmissionValue(
                    submission_id=submission.id,
                    indicator_code=indicator.code,
                    numerator=answer.get("num"),
                    denominator=answer.get("den"),
                    value=None if "skip" in answer else figure(item_of(indicator), answer),
                    skip_reason=answer.get("skip"),
                )
            )
            session.add(
                ValueRevision(
                    submission_id=submission.id,
                    indicator_code=indicator.code,
                    old=None,
                    new=answer,
                    changed_by=head.display_name,
                    member_id=head.id,
                    changed_at=moment,
                )
            )
    return RoundSummary(
        key=round_.key,
        title=round_.title,
        deadline=round_.deadline,
        asked=len(units),
        on_time=on_time,
        late=late,
        missing=tuple(u.code for u in units if u.code in plan.missing),
        surveys=0,
    )


# --------------------------------------------------------------------------- surveys


def _field_choice(rng: random.Random, q: Question, point: ServicePoint) -> str:
    weights = FIELD_WEIGHT.get(point.kind, {})
    values = [o.value for o in q.options]
    return rng.choices(values, [weights.get(v, 1) for v in values])[0]


def _ratings(rng: random.Random, satisfied: bool, count: int) -> list[int]:
    """One person's ratings: mostly alike (a satisfied person rarely gives a 2)."""
    if satisfied:
        levels = [5 if rng.random() < 0.45 else 4 for _ in range(count)]
        if count and rng.random() < 0.08:
            levels[rng.randrange(count)] = 3
        return levels
    return [rng.choice((1, 2, 2, 3, 3, 3, 4)) for _ in range(count)]


def survey_answers(
    rng: random.Random, point: ServicePoint, questions: tuple[Question, ...], mood: float
) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    field = point.field
    opening = {q.only_if.question: q.only_if.answer for q in questions if q.only_if}
    for q in questions:
        if q.kind == "choice":
            if q.sets_field:
                answers[q.id] = field = _field_choice(rng, q, point)
            elif q.id in opening:  # "Ông/Bà có phản ánh, kiến nghị không?": few say yes
                others = [o.value for o in q.options if o.value != opening[q.id]]
                answers[q.id] = opening[q.id] if rng.random() < 0.15 else rng.choice(others)
            else:
                answers[q.id] = q.options[0].value
    satisfied = rng.random() < mood - (0.04 if field in HARD_FIELDS else 0.0)
    rated = [q for q in questions if q.kind == "rating" and q.asked_given(answers)]
    for q, level in zip(rated, _ratings(rng, satisfied, len(rated)), strict=True):
        answers[q.id] = level
    for q in questions:
        if q.kind == "text" and rng.random() < 0.12:
            answers[q.id] = rng.choice(PRAISE if satisfied else COMPLAINTS)
    return answers


@dataclass
class DailyTally:
    """The ``survey_daily_counts`` rows of many responses, added up in memory (the same sums
    ``repo.add_to_daily_counts`` keeps one response at a time) and written in one go."""

    rows: dict[tuple[date, str, str, str, str], dict[str, Any]]

    def add(
        self, day: date, point: str, field: str, target: str, levels: list[int], channel: str
    ) -> None:
        share = repo.daily_count_row(day, point, field, target, levels, channel)
        row = self.rows.setdefault((day, point, field, target, channel), share)
        if row is not share:
            for name in repo.DAILY_COUNTERS:
                row[name] += share[name]


async def _surveys(
    ctx: Context,
    session: AsyncSession,
    rng: random.Random,
    first: date,
    last: date,
    count: int,
    tag: str,
) -> int:
    """``count`` counted responses answered between ``first`` and ``last``, with their daily
    aggregate rows."""
    points = list(ctx.catalogue.points)
    if not points:
        return 0
    weights = [POINT_WEIGHT.get(p.kind, 2.0) for p in points]
    moods = {p.code: rng.uniform(0.9, 0.99) for p in points}
    days, day_weights = survey_days(first, last)
    tz = ctx.config.timezone
    now = ctx.now()
    responses: list[dict[str, Any]] = []
    tally = DailyTally({})
    for n in range(count):
        point = rng.choices(points, weights)[0]
        questionnaire = ctx.catalogue.questionnaires[point.questionnaire]
        questions = survey_machine.questions(questionnaire, point)
        answers = survey_answers(rng, point, questions, moods[point.code])
        day = rng.choices(days, day_weights)[0]
        started = office_moment(rng, day, tz, now - timedelta(minutes=2))
        day = started.astimezone(tz).date()
        field = survey_machine.field_of(questionnaire, point, answers)
        channel = rng.choices(DEMO_CHANNELS, DEMO_CHANNEL_WEIGHTS)[0]
        responses.append(
            {
                "point_code": point.code,
                "questionnaire": questionnaire.code,
                "respondent": respondent_key(ctx, CHANNEL, f"{tag}-{n}"),
                "day": day,
                "field": field,
                "language": "vi",
                "status": "counted",
                "answers": answers,
                "record_code": None,
                "started_at": started,
                "completed_at": started + timedelta(seconds=rng.randint(25, 90)),
                "channel": channel,
            }
        )
        for target, levels in survey_machine.ratings_by_target(questionnaire, answers).items():
            tally.add(day, point.code, field or "", target, levels, channel)
    await session.execute(insert(SurveyResponse), responses)
    await session.execute(insert(SurveyDailyCount), list(tally.rows.values()))
    return count


# --------------------------------------------------------------------------- the quarter


async def _round_of(ctx: Context, session: AsyncSession, period: Period) -> Round:
    opened = _local(period.window_start, 0, 0, ctx.config.timezone)
    return await open_period_round(session, period, opened)


async def fill_demo(ctx: Context) -> DemoSummary:
    """Fill a new, migrated demo database (see the module docstring)."""
    rng = random.Random(SEED)
    cal = ctx.config.calendar
    rules = rules_of(cal.window_start_day, cal.deadline_day)
    today = ctx.today()
    now = ctx.now()
    this = period_for_date(today, rules)
    before = previous_period(this, rules)
    async with ctx.sessions.begin() as session:
        old = await _round_of(ctx, session, before)
        current = await ensure_periodic_round(session, today, rules, now)  # closes ``old`` when due
        assert current.key == this.key
        heads = await _heads(ctx, session, rng, _local(old.window_start, 8, 0, ctx.config.timezone))
        units = list(ctx.catalogue.org.reporting_units())
        profiles = {
            (u.code, i.code): UnitProfile(
                size=rng.randint(*size_range(i, u)),
                skips=u.kind == "phong_ban" and i.code in TTHC and rng.random() < SKIP_SHARE,
            )
            for u in units
            for i in ctx.catalogue.indicators.due_from(u)
        }
        now_trends = {
            i.code: tendency(rng, i, current.deadline.year)
            for i in ctx.catalogue.indicators.indicators
        }
        # A quarter earlier the district did slightly worse: it is improving.
        old_trends = {
            code: Tendency(max(0.0, t.mean - rng.uniform(0.0, 3.0)), t.full and rng.random() < 0.5)
            for code, t in now_trends.items()
        }
        old_plan = plan_round(rng, units, missing_share=0.06, late_share=0.1)
        now_plan = plan_round(rng, units, missing_share=0.15, late_share=0.0)
        previous = await _fill_round(ctx, session, rng, old, old_plan, heads, profiles, old_trends)
        latest = await _fill_round(
            ctx, session, rng, current, now_plan, heads, profiles, now_trends
        )
        old_surveys = await _surveys(
            ctx, session, rng, old.window_start, old.window_end, SURVEYS_BEFORE, old.key
        )
        last = today - timedelta(days=1) if today > current.window_start else today
        new_surveys = await _surveys(
            ctx, session, rng, current.window_start, last, SURVEYS, current.key
        )
    return DemoSummary(
        current=replace(latest, surveys=new_surveys),
        previous=replace(previous, surveys=old_surveys),
    )


def describe(summary: DemoSummary, out: Path, config_path: Path | None, first_point: str) -> str:
    """What ``cchc-bot demo`` prints: what it made and how to open it."""
    config = ""
    if config_path is not None and config_path.resolve() != (Path.cwd() / "config.toml").resolve():
        config = f" --config {shlex.quote(str(config_path))}"
    command = f"cchc-bot{config} chat --db {shlex.quote(str(out))} --as admin"
    rounds = [
        demo_round(r.title, r.deadline, r is summary.current, r.asked, r.on_time, r.late,
                     r.surveys)
        for r in (summary.current, summary.previous)
    ]  # fmt: skip
    tries = ["/trangthai", f"/trangthai {summary.previous.key}", "/xuat"]
    if summary.current.missing:
        tries.append(f"/as unit {summary.current.missing[0]} → /baocao")
    if first_point:
        tries.append(f"/as citizen → /start {first_point}")
    return demo_made(str(out.resolve()), rounds, command, tries)
