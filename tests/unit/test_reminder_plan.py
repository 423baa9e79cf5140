from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.calendar import quarter_period
from scheduler.reminder_plan import (
    DEFAULT_STEPS,
    ReminderStep,
    ScheduledReminder,
    WorkingHours,
    latest_due,
    parse_steps,
    plan_reminders,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
D = date
HOURS = WorkingHours()


def L(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """A local (Vietnam) moment."""
    return datetime(y, m, d, hh, mm, tzinfo=VN)


def names_and_times(plan: list[ScheduledReminder]) -> list[tuple[str, datetime]]:
    for item in plan:
        assert item.at.tzinfo is UTC
    return [(item.step.name, item.at) for item in plan]


# --------------------------------------------------------------------------- WorkingHours


def test_working_moment_bounds() -> None:
    assert HOURS.is_working_moment(L(2026, 3, 13, 7, 30))  # Friday, start included
    assert HOURS.is_working_moment(datetime(2026, 3, 13, 16, 59, 59, tzinfo=VN))
    assert not HOURS.is_working_moment(L(2026, 3, 13, 17, 0))  # end excluded
    assert not HOURS.is_working_moment(L(2026, 3, 13, 7, 29))
    assert not HOURS.is_working_moment(L(2026, 3, 14, 9, 0))  # Saturday
    holiday = WorkingHours(holidays=frozenset({D(2026, 4, 30)}))
    assert not holiday.is_working_moment(L(2026, 4, 30, 9, 0))
    assert holiday.is_working_moment(L(2026, 4, 29, 9, 0))


def test_working_moment_uses_the_given_wall_clock() -> None:
    # 02:00 UTC is 09:00 in Vietnam: the caller converts to local time first.
    assert not HOURS.is_working_moment(datetime(2026, 3, 13, 2, 0, tzinfo=UTC))
    assert HOURS.is_working_moment(datetime(2026, 3, 13, 2, 0, tzinfo=UTC).astimezone(VN))


def test_working_hours_validation() -> None:
    with pytest.raises(ValueError, match="naive"):
        HOURS.is_working_moment(datetime(2026, 3, 13, 9, 0))
    with pytest.raises(ValueError, match="after start"):
        WorkingHours(start=time(17, 0), end=time(7, 30))
    with pytest.raises(ValueError, match="after start"):
        WorkingHours(start=time(8, 0), end=time(8, 0))
    with pytest.raises(ValueError, match="weekdays"):
        WorkingHours(weekdays=frozenset())
    with pytest.raises(ValueError, match="weekdays"):
        WorkingHours(weekdays=frozenset({7}))


def test_last_call_is_half_an_hour_before_the_end_or_the_start() -> None:
    assert HOURS.last_call(D(2026, 3, 13)) == time(16, 30)
    short = WorkingHours(start=time(8, 0), end=time(8, 20))
    assert short.last_call(D(2026, 3, 13)) == time(8, 0)


# --------------------------------------------------------------------------- steps


def test_default_steps() -> None:
    assert [s.name for s in DEFAULT_STEPS] == [
        "open",
        "d-7",
        "d-3",
        "d-1",
        "d0",
        "overdue+1",
        "overdue+3",
    ]
    assert [s.offset_days for s in DEFAULT_STEPS] == [None, -7, -3, -1, 0, 1, 3]
    assert [s.overdue for s in DEFAULT_STEPS] == [False] * 5 + [True] * 2
    assert DEFAULT_STEPS[1] == ReminderStep("d-7", -7, False)


def test_parse_steps_orders_and_normalises() -> None:
    steps = parse_steps(["+3", "0", " OPEN ", "-10", "+1"])
    assert [s.name for s in steps] == ["open", "d-10", "d0", "overdue+1", "overdue+3"]
    assert parse_steps([]) == ()
    assert parse_steps(["-0"]) == (ReminderStep("d0", 0, False),)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (["7"], "needs a sign: '-7'"),
        (["abc"], "bad reminder step 'abc'"),
        ([""], "bad reminder step ''"),
        (["open2"], "bad reminder step"),
        (["-1.5"], "bad reminder step"),
        (["-3", "-3"], "listed twice"),
        (["0", "+0"], "listed twice"),
        (["open", "Open"], "listed twice"),
        (["+400"], "more than 366 days"),
        ("open", "not a single string"),
        ([7], "must be a string"),
    ],
)
def test_parse_steps_rejects(spec: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_steps(spec)


def test_reminder_step_must_be_consistent() -> None:
    assert ReminderStep.for_offset(-3) == ReminderStep("d-3", -3, False)
    assert ReminderStep.for_offset(2) == ReminderStep("overdue+2", 2, True)
    assert ReminderStep.for_offset(None) == ReminderStep("open", None, False)
    with pytest.raises(ValueError, match="inconsistent"):
        ReminderStep("week", -7, False)
    with pytest.raises(ValueError, match="inconsistent"):
        ReminderStep("d0", 0, True)
    with pytest.raises(ValueError, match="inconsistent"):
        ReminderStep("overdue+1", 1, False)


# --------------------------------------------------------------------------- plans


def test_q1_2026_deadline_on_saturday() -> None:
    p = quarter_period(2026, 1)
    assert p.deadline == D(2026, 3, 14) and p.deadline.weekday() == 5  # Saturday
    plan = plan_reminders(p.window_start, p.deadline, DEFAULT_STEPS, HOURS, VN)
    assert names_and_times(plan) == [
        ("open", L(2025, 12, 15, 8)),  # Monday
        ("d-7", L(2026, 3, 6, 16, 30)),  # Saturday 07/03 -> Friday afternoon
        ("d-3", L(2026, 3, 11, 8)),
        ("d-1", L(2026, 3, 13, 8)),
        ("d0", L(2026, 3, 13, 16, 30)),  # Saturday 14/03 -> Friday 13/03 16:30
        ("overdue+1", L(2026, 3, 16, 7, 30)),  # Sunday 15/03 -> Monday start
        ("overdue+3", L(2026, 3, 17, 8)),
    ]


def test_q2_2026_opens_on_sunday_and_d_minus_1_merges_into_d0() -> None:
    p = quarter_period(2026, 2)
    assert p.window_start.weekday() == 6 and p.deadline.weekday() == 6  # both Sundays
    plan = plan_reminders(p.window_start, p.deadline, DEFAULT_STEPS, HOURS, VN)
    assert names_and_times(plan) == [
        ("open", L(2026, 3, 16, 7, 30)),  # Sunday 15/03 -> Monday 07:30
        ("d-7", L(2026, 6, 5, 16, 30)),
        ("d-3", L(2026, 6, 11, 8)),
        # d-1 (Saturday 13/06) and d0 (Sunday 14/06) both land on Friday 12/06 16:30:
        # only the later step, d0, is kept.
        ("d0", L(2026, 6, 12, 16, 30)),
        ("overdue+1", L(2026, 6, 15, 8)),
        ("overdue+3", L(2026, 6, 17, 8)),
    ]


def test_dedupe_does_not_depend_on_the_order_of_steps() -> None:
    p = quarter_period(2026, 2)
    forward = plan_reminders(p.window_start, p.deadline, DEFAULT_STEPS, HOURS, VN)
    backward = plan_reminders(p.window_start, p.deadline, DEFAULT_STEPS[::-1], HOURS, VN)
    doubled = plan_reminders(p.window_start, p.deadline, DEFAULT_STEPS * 2, HOURS, VN)
    assert forward == backward == doubled


def test_overdue_on_holidays_moves_forward() -> None:
    hours = WorkingHours(holidays=frozenset({D(2026, 4, 30), D(2026, 5, 1)}))
    plan = plan_reminders(
        D(2026, 4, 20), D(2026, 4, 29), parse_steps(["0", "+1", "+3", "+7"]), hours, VN
    )
    assert names_and_times(plan) == [
        ("d0", L(2026, 4, 29, 8)),
        # +1 is Thursday 30/04 (holiday), then 01/05 (holiday) and a weekend: Monday 04/05.
        # +3 (Saturday 02/05) lands on the same moment; the later step is kept.
        ("overdue+3", L(2026, 5, 4, 7, 30)),
        ("overdue+7", L(2026, 5, 6, 8)),
    ]


def test_tet_holidays_move_pre_deadline_steps_before_tet() -> None:
    tet = frozenset(D(2026, 2, 14) + timedelta(days=i) for i in range(9))  # 14/02 - 22/02
    hours = WorkingHours(holidays=tet)
    plan = plan_reminders(D(2026, 2, 2), D(2026, 2, 20), DEFAULT_STEPS, hours, VN)
    assert names_and_times(plan) == [
        ("open", L(2026, 2, 2, 8)),
        ("d-7", L(2026, 2, 13, 8)),  # Friday before Tết, a working morning
        # d-3 (17/02), d-1 (19/02) and d0 (20/02) all fall back to Friday 13/02 16:30.
        ("d0", L(2026, 2, 13, 16, 30)),
        # +1 (21/02) moves to Monday 23/02 07:30; +3 is Monday 23/02 08:00 itself.
        ("overdue+1", L(2026, 2, 23, 7, 30)),
        ("overdue+3", L(2026, 2, 23, 8)),
    ]


def test_ad_hoc_round_of_two_days() -> None:
    plan = plan_reminders(D(2026, 3, 4), D(2026, 3, 5), DEFAULT_STEPS, HOURS, VN)
    assert names_and_times(plan) == [
        # d-7 and d-3 fall before the round opens: dropped. d-1 is the opening moment itself
        # and, being later than "open", replaces it.
        ("d-1", L(2026, 3, 4, 8)),
        ("d0", L(2026, 3, 5, 8)),
        ("overdue+1", L(2026, 3, 6, 8)),
        ("overdue+3", L(2026, 3, 9, 7, 30)),  # Sunday 08/03 -> Monday
    ]


def test_ad_hoc_round_over_a_weekend_keeps_no_pre_deadline_step() -> None:
    # Opens Saturday, due by Sunday: nothing can be sent before the deadline passes.
    plan = plan_reminders(D(2026, 3, 7), D(2026, 3, 8), DEFAULT_STEPS, HOURS, VN)
    assert names_and_times(plan) == [
        ("open", L(2026, 3, 9, 7, 30)),
        ("overdue+1", L(2026, 3, 9, 8)),
        ("overdue+3", L(2026, 3, 11, 8)),
    ]


def test_pre_deadline_step_never_goes_before_the_opening() -> None:
    # Opens Sunday 08/03: d-2 (also Sunday) cannot move back to Friday 06/03, so it waits
    # for the opening moment, Monday 07:30, and takes it over from "open".
    plan = plan_reminders(
        D(2026, 3, 8), D(2026, 3, 10), parse_steps(["open", "-2", "0"]), HOURS, VN
    )
    assert names_and_times(plan) == [
        ("d-2", L(2026, 3, 9, 7, 30)),
        ("d0", L(2026, 3, 10, 8)),
    ]


def test_send_time_after_end_of_day() -> None:
    # The round opens Friday 06/03 at 18:00, after hours: the opening moves to Monday 07:30.
    # d-4 (Saturday 07/03) would move back to Friday 16:30, before the round opened, so it
    # waits for the opening moment and takes it over. d-1 and d0 at 18:00 on working days
    # move back to 16:30 the same day; +1 (Thursday 18:00) moves on to Friday 07:30.
    plan = plan_reminders(
        D(2026, 3, 6),
        D(2026, 3, 11),
        parse_steps(["open", "-4", "-1", "0", "+1"]),
        HOURS,
        VN,
        send_time=time(18, 0),
    )
    assert names_and_times(plan) == [
        ("d-4", L(2026, 3, 9, 7, 30)),
        ("d-1", L(2026, 3, 10, 16, 30)),
        ("d0", L(2026, 3, 11, 16, 30)),
        ("overdue+1", L(2026, 3, 13, 7, 30)),
    ]


def test_send_time_before_start_of_day() -> None:
    # 07:00 is before the 07:30 start: the opening moves to 07:30 the same Monday, a
    # pre-deadline step to the previous working day's 16:30, an overdue one to 07:30.
    plan = plan_reminders(
        D(2026, 3, 9),
        D(2026, 3, 12),
        parse_steps(["open", "-1", "0", "+1"]),
        HOURS,
        VN,
        send_time=time(7, 0),
    )
    assert names_and_times(plan) == [
        ("open", L(2026, 3, 9, 7, 30)),
        ("d-1", L(2026, 3, 10, 16, 30)),
        ("d0", L(2026, 3, 11, 16, 30)),
        ("overdue+1", L(2026, 3, 13, 7, 30)),
    ]


def test_plan_rejects_deadline_before_opening() -> None:
    with pytest.raises(ValueError, match="before the round opens"):
        plan_reminders(D(2026, 3, 10), D(2026, 3, 9), DEFAULT_STEPS, HOURS, VN)


# --------------------------------------------------------------------------- latest_due


def _q1_plan() -> list[ScheduledReminder]:
    p = quarter_period(2026, 1)
    return plan_reminders(p.window_start, p.deadline, DEFAULT_STEPS, HOURS, VN)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (L(2025, 12, 15, 7, 59), None),
        (L(2025, 12, 1, 9, 0), None),
        (L(2025, 12, 15, 8, 0), "open"),
        (L(2026, 3, 6, 16, 29), "open"),
        (L(2026, 3, 6, 16, 30), "d-7"),
        (L(2026, 3, 12, 10, 0), "d-3"),
        # A bot down from 05/03 to Monday 16/03 09:00 sends one reminder: the latest.
        (L(2026, 3, 16, 9, 0), "overdue+1"),
        (L(2026, 3, 17, 8, 0), "overdue+3"),
        (L(2026, 12, 31, 23, 0), "overdue+3"),
        (datetime(2026, 3, 13, 9, 30, tzinfo=UTC), "d0"),  # 16:30 in Vietnam
    ],
)
def test_latest_due(now: datetime, expected: str | None) -> None:
    found = latest_due(_q1_plan(), now)
    assert (found.step.name if found else None) == expected


def test_latest_due_edge_cases() -> None:
    assert latest_due([], L(2026, 3, 16, 9, 0)) is None
    plan = _q1_plan()
    assert latest_due(plan[::-1], L(2026, 3, 12, 10, 0)) == plan[2]  # order does not matter
    with pytest.raises(ValueError, match="naive"):
        latest_due(plan, datetime(2026, 3, 16, 9, 0))


# --------------------------------------------------------------------------- properties

OFFSETS = st.lists(st.integers(-30, 30), max_size=8)


@st.composite
def hours_strategy(draw: st.DrawFn, around: date) -> WorkingHours:
    start = draw(st.times(min_value=time(5, 0), max_value=time(10, 0)))
    end = draw(st.times(min_value=time(10, 1), max_value=time(20, 0)))
    weekdays = draw(st.frozensets(st.integers(0, 6), min_size=1))
    holidays = draw(
        st.frozensets(
            st.dates(min_value=around - timedelta(days=60), max_value=around + timedelta(days=60)),
            max_size=25,
        )
    )
    return WorkingHours(start=start, end=end, weekdays=weekdays, holidays=holidays)


@st.composite
def rounds(draw: st.DrawFn) -> tuple[date, date, tuple[ReminderStep, ...], WorkingHours, time]:
    opens = draw(st.dates(min_value=D(2020, 1, 1), max_value=D(2035, 12, 31)))
    deadline = opens + timedelta(days=draw(st.integers(0, 100)))
    spec = [f"{o:+d}" if o else "0" for o in sorted(set(draw(OFFSETS)))]
    if draw(st.booleans()):
        spec.append("open")
    hours = draw(hours_strategy(deadline))
    send_time = draw(st.times())
    return opens, deadline, parse_steps(spec), hours, send_time


def _first_working_moment_from(moment: datetime, hours: WorkingHours) -> datetime:
    """The earliest working moment at or after ``moment``, found day by day."""
    day = moment.date()
    while True:
        if hours.is_working_day(day):
            candidate = max(moment, datetime.combine(day, hours.start, tzinfo=moment.tzinfo))
            if hours.is_working_moment(candidate):
                return candidate
        day += timedelta(days=1)


@given(rounds())
def test_plan_properties(
    case: tuple[date, date, tuple[ReminderStep, ...], WorkingHours, time],
) -> None:
    opens, deadline, steps, hours, send_time = case
    plan = plan_reminders(opens, deadline, steps, hours, VN, send_time)
    moments = [item.at for item in plan]
    assert moments == sorted(moments)
    assert len(set(moments)) == len(moments)
    assert len({item.step.name for item in plan}) == len(plan)
    assert {item.step for item in plan} <= set(steps)
    open_moment = _first_working_moment_from(datetime.combine(opens, send_time, tzinfo=VN), hours)
    for item in plan:
        assert item.at.tzinfo is UTC
        local = item.at.astimezone(VN)
        assert hours.is_working_moment(local)
        assert local >= open_moment  # nothing before the round opens
        if item.step.overdue:
            assert item.step.offset_days is not None
            assert local >= datetime.combine(
                deadline + timedelta(days=item.step.offset_days), send_time, tzinfo=VN
            )
        elif item.step.offset_days is not None:
            # Pre-deadline and deadline-day steps arrive by the end of the deadline day.
            assert local < datetime.combine(deadline + timedelta(days=1), time(0), tzinfo=VN)
            assert local <= max(
                datetime.combine(
                    deadline + timedelta(days=item.step.offset_days), send_time, tzinfo=VN
                ),
                open_moment,
            )
    if any(s.offset_days is None for s in steps):
        # The opening (or a later step that took its moment) is the first reminder, and it
        # is the first working moment from the nominal opening on.
        assert plan[0].at == open_moment


@given(rounds(), st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2036, 12, 31)))
def test_latest_due_property(
    case: tuple[date, date, tuple[ReminderStep, ...], WorkingHours, time], naive_now: datetime
) -> None:
    opens, deadline, steps, hours, send_time = case
    plan = plan_reminders(opens, deadline, steps, hours, VN, send_time)
    now = naive_now.replace(tzinfo=UTC)
    found = latest_due(plan, now)
    due = [item for item in plan if item.at <= now]
    if not due:
        assert found is None
    else:
        assert found == due[-1]
