"""``cchc-bot demo``: one realistic district quarter in a separate database.

The demo is built once for the module (as ``cchc-bot demo --out X`` does it) and then read:
the rounds, the values, the survey answers and their daily counts, what /trangthai and
/xuat make of them, and the README's way in — ``cchc-bot chat`` on the demo file.
"""

from __future__ import annotations

import io
import json
import sqlite3
import statistics
from collections import Counter, defaultdict
from contextlib import closing, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.app.cli import main
from bot.app.config import load_config
from bot.app.demo import SURVEYS, is_demo_database, prepare_file
from bot.app.runtime import load_data
from bot.channels.console import CONSOLE_BYE, CONSOLE_FILE, CONSOLE_PHOTO
from bot.usecases.settings import Config
from scheduler.calendar import CalendarRules, period_for_date, previous_period
from surveys import texts as T
from surveys.catalogue import Catalogue
from surveys.scoring import target_for_year
from tests.integration.test_chat_pty import Chat, saved_path, write_config

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class Demo:
    tmp: Path
    config_path: Path
    config: Config
    catalogue: Catalogue
    db: Path
    exit_code: int
    printed: str

    def query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        with closing(sqlite3.connect(self.db)) as db:
            return db.execute(sql, args).fetchall()

    def round_id(self, key: str) -> int:
        ((found,),) = self.query("SELECT id FROM rounds WHERE key = ?", key)
        assert isinstance(found, int)
        return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    tmp = tmp_path_factory.mktemp("demo")
    config_path = write_config(tmp, min_sample=30)  # the default: a real sample is needed
    out = tmp / "demo.sqlite3"
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = main(["--config", str(config_path), "demo", "--out", str(out)])
    config = load_config(config_path)
    return Demo(tmp, config_path, config, load_data(config), out, code, printed.getvalue())


def rounds() -> tuple[str, str]:
    """The keys of the current and the previous quarter, by today's date in Long Phú."""
    current = period_for_date(datetime.now(UTC).astimezone(VN).date(), CalendarRules())
    return current.key, previous_period(current).key


def test_it_says_where_it_wrote_and_how_to_open_it(demo: Demo) -> None:
    assert demo.exit_code == 0
    assert str(demo.db.resolve()) in demo.printed
    assert f"chat --db {demo.db} --as admin" in demo.printed
    assert f"--config {demo.config_path}" in demo.printed  # not ./config.toml: it is needed
    _, previous = rounds()
    assert "kỳ hiện tại" in demo.printed and f"/trangthai {previous}" in demo.printed
    assert f"{SURVEYS:,} phiếu khảo sát".replace(",", ".") in demo.printed
    assert is_demo_database(demo.db)


def test_the_previous_quarter_is_complete_a_few_late_a_few_missing(demo: Demo) -> None:
    _, previous = rounds()
    asked = len(demo.catalogue.org.reporting_units())
    rows = demo.query(
        "SELECT s.late, s.submitted_at, r.deadline FROM submissions s "
        "JOIN rounds r ON r.id = s.round_id WHERE r.key = ?",
        previous,
    )
    late = [r for r in rows if r[0]]
    assert 2 <= len(late) <= 5
    assert 2 <= asked - len(rows) <= 5  # missing
    assert len(rows) - len(late) >= 0.8 * asked  # most on time
    for is_late, submitted, deadline in rows:
        local_day = datetime.fromisoformat(str(submitted)).replace(tzinfo=UTC).astimezone(VN)
        assert (local_day.date() > date.fromisoformat(str(deadline))) == bool(is_late)


def test_the_current_quarter_is_under_way_most_reported(demo: Demo) -> None:
    current, _ = rounds()
    asked = len(demo.catalogue.org.reporting_units())
    rows = demo.query(
        "SELECT s.late, s.submitted_at FROM submissions s JOIN rounds r ON r.id = s.round_id "
        "WHERE r.key = ?",
        current,
    )
    assert not any(late for late, _ in rows)  # the deadline has not come yet
    assert 0.75 * asked <= len(rows) <= asked - 3
    now = datetime.now(UTC)
    assert all(datetime.fromisoformat(str(s)).replace(tzinfo=UTC) <= now for _, s in rows)


def test_values_are_valid_and_scatter_around_the_targets(demo: Demo) -> None:
    current, _ = rounds()
    values = demo.query(
        "SELECT v.indicator_code, v.numerator, v.denominator, v.value, v.skip_reason "
        "FROM submission_values v JOIN submissions s ON s.id = v.submission_id"
    )
    assert len(values) > 500
    kinds = {i.code: i.kind for i in demo.catalogue.indicators.indicators}
    for code, num, den, value, skip in values:
        if skip is not None:
            assert num is None and den is None and value is None
        elif kinds[code] == "ratio":
            assert isinstance(num, float) and isinstance(den, float)
            assert 0 <= num <= den and num.is_integer() and den.is_integer()
            assert value == pytest.approx(100 * num / den) if den else value is None
        else:
            assert isinstance(value, float) and 0 <= value <= 100

    ((deadline,),) = demo.query("SELECT deadline FROM rounds WHERE key = ?", current)
    year = date.fromisoformat(str(deadline)).year
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    percents: dict[str, list[float]] = defaultdict(list)
    for code, num, den, value, _ in demo.query(
        "SELECT v.indicator_code, v.numerator, v.denominator, v.value, v.skip_reason "
        "FROM submission_values v JOIN submissions s ON s.id = v.submission_id "
        "JOIN rounds r ON r.id = s.round_id WHERE r.key = ? AND v.skip_reason IS NULL",
        current,
    ):
        if den is not None:
            sums[code][0] += float(num)  # type: ignore[arg-type]
            sums[code][1] += float(den)
        else:
            percents[code].append(float(value))  # type: ignore[arg-type]
    figures = {code: 100 * n / d for code, (n, d) in sums.items() if d >= 20}
    figures |= {code: statistics.fmean(v) for code, v in percents.items()}
    assert len(figures) >= 15
    met = off = 0
    gaps = []
    for code, figure in figures.items():
        indicator = demo.catalogue.indicators.get(code)
        assert indicator is not None
        target = target_for_year(indicator.targets, year)
        assert target is not None
        gaps.append(abs(figure - target))
        assert abs(figure - target) <= 25, (code, figure, target)
        met += figure >= target - 1e-9
        off += figure < target - 1e-9
    assert met >= 3 and off >= 3  # some targets met district-wide, some not
    assert statistics.median(gaps) <= 8
    assert 0 < figures["8b"] <= 35  # a cut in budget spending, around the plan's 15 %


def test_about_2000_survey_answers_spread_over_points_fields_and_days(demo: Demo) -> None:
    current, _ = rounds()
    ((start, end),) = demo.query(
        "SELECT window_start, window_end FROM rounds WHERE key = ?", current
    )
    answers = demo.query(
        "SELECT point_code, field, day, answers, questionnaire FROM survey_responses "
        "WHERE status = 'counted' AND day BETWEEN ? AND ?",
        start,
        end,
    )
    assert len(answers) == SURVEYS
    by_point = Counter(a[0] for a in answers)
    assert set(by_point) == {p.code for p in demo.catalogue.points}
    assert min(by_point.values()) >= 20
    assert by_point.most_common(1)[0][0] == "mc-huyen"  # the district one-stop desk is busiest
    fields = Counter(a[1] for a in answers)
    assert len([f for f in fields if f]) >= 5
    today = datetime.now(UTC).astimezone(VN).date()
    first = date.fromisoformat(str(start))
    weekdays = [
        day
        for day in (first + timedelta(days=n) for n in range((today - first).days))
        if day.weekday() < 5
    ]
    assert len({a[2] for a in answers}) >= min(20, len(weekdays))  # spread over the days

    # The daily counts (what /trangthai reads) are the sums of these answers.
    expected: dict[str, Counter[int]] = defaultdict(Counter)
    people: Counter[str] = Counter()
    for _, _, _, raw, code in answers:
        given = json.loads(str(raw))
        fed: set[str] = set()
        for q in demo.catalogue.questionnaires[str(code)].questions:
            if q.kind == "rating" and q.id in given:
                for target in q.feeds:
                    expected[target][int(given[q.id])] += 1
                    fed.add(target)
        people.update(fed)
    counted = demo.query(
        "SELECT target, sum(level1), sum(level2), sum(level3), sum(level4), sum(level5), "
        "sum(respondents) FROM survey_daily_counts WHERE day BETWEEN ? AND ? GROUP BY target",
        start,
        end,
    )
    assert {row[0] for row in counted} == set(expected)
    for target, *levels, respondents in counted:
        assert levels == [expected[str(target)][n] for n in range(1, 6)]
        assert respondents == people[str(target)] >= demo.config.survey.min_sample


def test_status_chart_and_export_in_the_chat_read_like_a_real_quarter(demo: Demo) -> None:
    """The README's way in: ``cchc-bot chat --db <demo> --as admin``, then /trangthai."""
    current, previous = rounds()
    asked = len(demo.catalogue.org.reporting_units())
    sent = len(demo.query("SELECT 1 FROM submissions WHERE round_id = ?", demo.round_id(current)))
    ((late,),) = demo.query(
        "SELECT count(*) FROM submissions WHERE round_id = ? AND late", demo.round_id(previous)
    )
    chat = Chat(demo.tmp, demo.config_path, "--db", str(demo.db), "--as", "admin")
    chat.ready()

    status = chat.say("/trangthai")
    assert f"Đã nộp: {sent}/{asked} đơn vị (đúng hạn {sent}, trễ hạn 0)" in status
    assert f"Chưa nộp ({asked - sent})" in status
    assert T.NOT_ENOUGH_DATA not in status  # every satisfaction target has its sample
    assert saved_path(status, CONSOLE_PHOTO).read_bytes().startswith(b"\x89PNG")

    before = chat.say(f"/trangthai {previous}")
    assert f"trễ hạn {late})" in before and isinstance(late, int) and late >= 2

    export = saved_path(chat.say("/xuat"), CONSOLE_FILE)
    book = openpyxl.load_workbook(export, read_only=True)
    cells = {
        str(cell)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
    }
    assert any("Châu Khánh" in cell for cell in cells)

    chat.child.sendintr()  # Ctrl-C at the prompt ends the session as cleanly as Ctrl-D
    assert CONSOLE_BYE in chat.end()
    assert chat.child.exitstatus == 0
    assert "Traceback" not in chat.transcript and "WARNING" not in chat.transcript


def test_it_replaces_an_earlier_demo_but_nothing_else(tmp_path: Path, demo: Demo) -> None:
    other = tmp_path / "real.sqlite3"
    with closing(sqlite3.connect(other)) as db, db:
        db.execute("CREATE TABLE members (channel TEXT)")
        db.execute("INSERT INTO members VALUES ('telegram')")
    before = other.read_bytes()
    assert main(["--config", str(demo.config_path), "demo", "--out", str(other)]) == 2
    assert other.read_bytes() == before

    copy = tmp_path / "old-demo.sqlite3"
    copy.write_bytes(demo.db.read_bytes())
    assert is_demo_database(copy)
    prepare_file(copy)
    assert not copy.exists()
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    prepare_file(empty)  # nothing to lose
    assert not empty.exists()
