"""``cchc-bot db copy``: a filled SQLite deployment copied into an empty database (PostgreSQL
when CCHC_TEST_DATABASE_URL is set, else another SQLite file) keeps every row and id."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app.config import load_config
from bot.app.db_copy import CopyError, copy_database, parents_first, tables
from bot.app.demo import fill_demo
from bot.app.runtime import load_data, open_runtime
from db.migrate import upgrade
from db.models import (
    AdminChat,
    Conversation,
    Invitation,
    Member,
    OfficialSurveyFigure,
    OutboxMessage,
    QualitativeNote,
    Round,
    SurveyLink,
)
from db.session import make_engine, make_sessionmaker
from tests.support.harness import database_url

AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
# The tables that _fill puts rows in (the demo, and one row each in the tables it leaves empty).
FILLED = (
    "units",
    "members",
    "rounds",
    "submissions",
    "submission_values",
    "value_revisions",
    "survey_responses",
    "survey_daily_counts",
    "admin_chats",
    "conversations",
    "invitations",
    "survey_links",
    "outbox",
    "official_survey_figures",
    "qualitative_notes",
)


def test_parents_come_before_their_children() -> None:
    rows = [
        {"code": "A1", "parent_code": "B"},
        {"code": "B", "parent_code": "C"},
        {"code": "C", "parent_code": None},
        {"code": "D", "parent_code": "elsewhere"},
        {"code": "A2", "parent_code": "B"},
    ]
    ordered = [r["code"] for r in parents_first(rows, "parent_code", "code")]
    assert ordered == ["C", "B", "A1", "D", "A2"]
    assert sorted(ordered) == sorted(r["code"] for r in rows)


def test_tables_come_after_the_tables_they_refer_to() -> None:
    order = [t.name for t in tables()]
    for table in tables():
        for fk in table.foreign_keys:
            if fk.column.table is not table:
                assert order.index(fk.column.table.name) < order.index(table.name), table.name
    assert {"units", "members", "outbox", "submission_values", "survey_responses"} <= set(order)


async def _fill(path: Path) -> None:
    """A demo quarter through the bot's own code, plus a row in every table it leaves empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    config_path = path.parent / "config.toml"
    config_path.write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{path}"\n'
        '[survey]\nsecret = "a-test-secret-of-enough-length"\n',
        encoding="utf-8",
    )
    config = load_config(config_path, environ={})
    runtime = await open_runtime(config, load_data(config))
    try:
        await fill_demo(runtime.ctx)
        async with runtime.ctx.sessions.begin() as session:
            member = await session.scalar(select(Member).order_by(Member.id).limit(1))
            round_ = await session.scalar(select(Round).order_by(Round.id).limit(1))
            assert member is not None and round_ is not None
            session.add_all(
                [
                    AdminChat(
                        channel="telegram", chat_id="-100", registered_by="9001", registered_at=AT
                    ),
                    Conversation(
                        channel="telegram",
                        user_id="501",
                        kind="report",
                        state={"step": 3, "answers": {"1": [1, 2]}, "note": "Chỉ tiêu"},
                        updated_at=AT,
                    ),
                    Invitation(
                        token_hash="f" * 64,
                        unit_code=member.unit_code,
                        created_at=AT,
                        expires_at=AT,
                        used_at=AT,
                        used_by=member.id,
                    ),
                    SurveyLink(
                        token_hash="e" * 64,
                        point_code="mc-huyen",
                        record_code="HS-1",
                        created_at=AT,
                    ),
                    OutboxMessage(
                        dedupe_key="k:with-buttons",
                        channel="telegram",
                        chat_id=member.chat_id,
                        round_id=round_.id,
                        member_id=member.id,
                        step="-7",
                        text="Nhắc nộp báo cáo",
                        buttons=[[{"label": "Nhập báo cáo", "data": "r"}]],
                        status="sent",
                        attempts=1,
                        next_attempt_at=AT,
                        created_at=AT,
                        sent_at=AT,
                    ),
                    OutboxMessage(
                        dedupe_key="k:no-buttons",
                        channel="telegram",
                        chat_id="9001",
                        text="Không có nút",
                        status="pending",
                        attempts=0,
                        next_attempt_at=AT,
                        created_at=AT,
                    ),
                    OfficialSurveyFigure(
                        round_id=round_.id,
                        target="14",
                        value=87.5,
                        sample=400,
                        entered_by="Cán bộ",
                        entered_at=AT,
                    ),
                    QualitativeNote(
                        round_id=round_.id,
                        unit_code="XA-CK",
                        indicator_code="13",
                        text="Đã cử 2 công chức học đại học",
                        entered_by="Cán bộ",
                        entered_at=AT,
                    ),
                ]
            )
    finally:
        await runtime.stop()


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "source.sqlite3"
    asyncio.run(_fill(path))
    return path


@pytest.fixture
def source(demo_file: Path, tmp_path: Path) -> str:
    """A private copy of the filled SQLite database, made with SQLite's online backup."""
    path = tmp_path / "source.sqlite3"
    with closing(sqlite3.connect(demo_file)) as src, closing(sqlite3.connect(path)) as dst:
        src.backup(dst)
    return f"sqlite+aiosqlite:///{path}"


async def _rows(engine: AsyncEngine, table: Table) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        result = await connection.execute(select(table).order_by(*table.primary_key.columns))
        return [dict(row) for row in result.mappings()]


async def _sql_nulls(engine: AsyncEngine) -> tuple[int, int]:
    outbox, rounds = OutboxMessage.__table__, Round.__table__
    async with engine.connect() as connection:
        no_buttons = await connection.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.buttons.is_(None))
        )
        every_unit = await connection.scalar(
            select(func.count()).select_from(rounds).where(rounds.c.unit_codes.is_(None))
        )
    return int(no_buttons or 0), int(every_unit or 0)


async def test_copy_keeps_every_row_and_id(source: str, tmp_path: Path) -> None:
    target_url = database_url(tmp_path, "target")
    copied = await copy_database(source, target_url)
    assert [c.table for c in copied] == [t.name for t in tables()]
    counts = {c.table: c.rows for c in copied}
    assert all(counts[name] > 0 for name in FILLED), counts  # something to copy in each

    src, dst = make_engine(source), make_engine(target_url)
    try:
        for table in tables():
            assert await _rows(dst, table) == await _rows(src, table), table.name
        assert counts["survey_responses"] >= 1000
        assert await _sql_nulls(dst) == await _sql_nulls(src) != (0, 0)

        # The id sequences continue after the copied ids (PostgreSQL's setval).
        top = max(r["id"] for r in await _rows(src, Member.__table__))
        async with make_sessionmaker(dst).begin() as session:
            unit = (await session.scalars(select(Member.unit_code).limit(1))).one()
            member = Member(
                unit_code=unit, channel="telegram", user_id="new", chat_id="new", registered_at=AT
            )
            session.add(member)
            await session.flush()
            assert member.id == top + 1
    finally:
        await src.dispose()
        await dst.dispose()


async def test_copy_refuses_a_target_that_is_not_empty(source: str, tmp_path: Path) -> None:
    target_url = database_url(tmp_path, "target")
    await copy_database(source, target_url)
    dst = make_engine(target_url)
    try:
        before = await _rows(dst, Member.__table__)
        with pytest.raises(CopyError, match="không trống"):
            await copy_database(source, target_url)
        assert await _rows(dst, Member.__table__) == before
    finally:
        await dst.dispose()
    with pytest.raises(CopyError, match="cùng một"):
        await copy_database(source, source)


async def test_copy_into_an_empty_schema_only_creates_it(tmp_path: Path) -> None:
    empty = f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    engine = make_engine(empty)
    await upgrade(engine)
    await engine.dispose()
    copied = await copy_database(empty, database_url(tmp_path, "target"))
    assert {c.rows for c in copied} == {0}


def test_the_command_line_copies_and_then_refuses(source: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{source}"\n[survey]\nsecret = "a-test-secret-of-enough-length"\n',
        encoding="utf-8",
    )
    target = database_url(tmp_path, "target")

    def cchc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.app.cli", "--config", str(config), *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )

    first = cchc("db", "copy", "--to", target)
    assert first.returncode == 0, first.stderr
    counts = dict(line.split("\t") for line in first.stdout.splitlines() if "\t" in line)
    assert list(counts) == [t.name for t in tables()]
    assert int(counts["units"]) >= 30 and int(counts["submission_values"]) > 100
    assert "Đã chép xong" in first.stdout

    second = cchc("db", "copy", "--to", target)
    assert second.returncode == 1
    assert "không trống" in second.stderr and "Traceback" not in second.stderr

    bad = cchc("db", "copy", "--to", "mysql://x/y")
    assert bad.returncode == 2 and "--to" in bad.stderr
