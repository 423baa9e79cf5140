"""db.prepared and the citizen's prepared read in db.repo, on the test database (SQLite, or
PostgreSQL with CCHC_TEST_DATABASE_URL): a prepared statement stores and reads exactly what
SQLAlchemy's own execution does, runs inside the session's transaction, and falls back to
``session.execute`` where it cannot run raw."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import prepared, repo
from db.migrate import upgrade
from db.models import Conversation, Member, SurveyResponse
from db.prepared import Prepared
from db.session import make_engine, make_sessionmaker
from tests.support.harness import database_url

RESPONSES = cast(Table, SurveyResponse.__table__)
INSERT_RESPONSE = Prepared(insert(RESPONSES).returning(RESPONSES.c.id))
READ_RESPONSE = Prepared(
    select(RESPONSES.c.answers, RESPONSES.c.day, RESPONSES.c.started_at).where(
        RESPONSES.c.id == bindparam("rid")
    )
)
NOW = datetime(2026, 11, 20, 2, 30, 15, 123456, tzinfo=UTC)


def response_values(respondent: str, **changes: Any) -> dict[str, Any]:
    values = {
        "point_code": "mc-huyen",
        "questionnaire": "sipas",
        "respondent": respondent,
        "day": date(2026, 11, 20),
        "field": None,
        "language": "km",
        "status": "open",
        "answers": {"q1": 4, "note": "Tốt lắm ☺", "list": [1, None]},
        "record_code": None,
        "started_at": NOW,
        "completed_at": None,
        "channel": "web",
        "kiosk_id": None,
    }
    return {**values, **changes}


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url(tmp_path))
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


def on_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


async def test_a_prepared_insert_stores_what_the_orm_stores(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    async with sessions.begin() as session:
        ((prepared_id,),) = await INSERT_RESPONSE.rows(session, response_values("a"))
        session.add(SurveyResponse(**response_values("b")))
    async with engine.connect() as conn:
        stored = {
            row.respondent: row
            for row in (
                await conn.exec_driver_sql(
                    "SELECT id, respondent, day, started_at, answers FROM survey_responses"
                )
            ).all()
        }
    assert stored["a"].id == prepared_id
    # byte for byte: the same text for the date, the datetime and the JSON
    assert stored["a"][2:] == stored["b"][2:]


async def test_prepared_rows_are_what_sqlalchemy_returns(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        ((rid,),) = await INSERT_RESPONSE.rows(session, response_values("a"))
        ours = await READ_RESPONSE.rows(session, {"rid": rid})
        theirs = (await session.execute(READ_RESPONSE.statement, {"rid": rid})).all()
    assert ours == [tuple(theirs[0])]
    answers, day, started_at = ours[0]
    assert answers["note"] == "Tốt lắm ☺" and day == date(2026, 11, 20)
    assert started_at == NOW


async def test_a_prepared_statement_is_part_of_the_session_transaction(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    complete = Prepared(
        update(RESPONSES).where(RESPONSES.c.id == bindparam("rid")).values(status="counted")
    )
    with pytest.raises(RuntimeError, match="undo"):
        async with sessions.begin() as session:
            ((rid,),) = await INSERT_RESPONSE.rows(session, response_values("a"))
            assert await complete.run(session, {"rid": rid}) == 1
            raise RuntimeError("undo")
    async with sessions.begin() as session:
        ((kept,),) = await INSERT_RESPONSE.rows(session, response_values("b"))
        assert await complete.run(session, {"rid": kept}) == 1
        assert await complete.run(session, {"rid": kept + 1000}) == 0
    async with engine.connect() as conn:
        rows = (await conn.exec_driver_sql("SELECT respondent, status FROM survey_responses")).all()
    assert [tuple(row) for row in rows] == [("b", "counted")]


async def test_raw_only_on_sqlite_and_only_in_the_transaction(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    async with sessions.begin() as session:
        await INSERT_RESPONSE.rows(session, response_values("a"))
        held = session.info.get(prepared._SQLITE)
        assert (held is not None) == on_sqlite(engine)
        if held is not None:
            assert held.in_transaction
    assert prepared._SQLITE not in session.info  # forgotten with the transaction


async def test_a_column_left_to_its_python_default_goes_through_sqlalchemy(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """``language``, ``status`` and ``answers`` have Python-side defaults: without them the
    statement cannot run raw, and SQLAlchemy fills them in."""
    values = response_values("a")
    for name in ("language", "status", "answers"):
        del values[name]
    async with sessions.begin() as session:
        ((rid,),) = await INSERT_RESPONSE.rows(session, values)
        row = await session.get(SurveyResponse, rid)
        assert row is not None
        assert (row.language, row.status, row.answers) == ("vi", "open", {})


async def test_run_many_adds_one_row_per_parameter_set(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await repo.add_to_daily_counts(
            session, date(2026, 11, 20), "mc-huyen", "", {"14": [4, 5], "15": [3]}, "web"
        )
        await repo.add_to_daily_counts(
            session, date(2026, 11, 20), "mc-huyen", "", {"14": [1]}, "web"
        )
        counts = {row.target: row for row in await repo.daily_counts(session)}
    assert (counts["14"].respondents, counts["14"].level4, counts["14"].level1) == (2, 1, 1)
    assert (counts["15"].respondents, counts["15"].level3) == (1, 1)
    assert counts["14"].answers_sq == 4.0 + 1.0


async def test_a_citizens_read_gives_the_objects_the_orm_query_gives(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """member_and_conversation for a citizen in the middle of a survey: on SQLite its rows are
    read raw and made ORM objects by hand; they must behave as loaded ones."""
    async with sessions.begin() as session:
        ((rid,),) = await INSERT_RESPONSE.rows(session, response_values("pseudo"))
        state = {"token": "t", "rid": rid, "m": {"i": 2}}
        await repo.save_conversation(session, "web", "pseudo", "survey", state, NOW)
    async with sessions.begin() as session:
        member = await repo.member_and_conversation(session, "web", "cookie", "pseudo")
        assert member is None
        conv = await repo.conversation(session, "web", "pseudo")
        assert conv is not None and conv.state == state and conv.updated_at == NOW
        state_of = inspect(conv)
        assert state_of.persistent and not state_of.modified
        response = await session.get(SurveyResponse, rid)  # the one already in the session
        assert response is not None and inspect(response).persistent
        assert response.answers["note"] == "Tốt lắm ☺" and response.started_at == NOW
        assert response is await session.get(SurveyResponse, rid)
        response.status = "expired"  # a change made on it is flushed as on a loaded row
        await repo.save_conversation(session, "web", "pseudo", "survey", None, NOW)
    async with sessions.begin() as session:
        reread = await session.get(SurveyResponse, rid)
        assert reread is not None and reread.status == "expired"
        assert await session.get(Conversation, ("web", "pseudo")) is None


async def test_a_citizens_read_of_nobody_known_and_of_a_member(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        assert await repo.member_and_conversation(session, "web", "new", "pseudo-new") is None
        assert await repo.conversation(session, "web", "pseudo-new") is None
        unit = SimpleNamespace(
            code="PNV", name="Phòng Nội vụ", kind="office", parent=None, reports=True
        )
        await repo.sync_units(session, [unit])
        repo.add_member(session, "PNV", "telegram", "42", "Chị Lan", NOW)
    async with sessions.begin() as session:
        # a unit head's account is a member's, whatever pseudonym the caller computed
        member = await repo.member_and_conversation(session, "telegram", "42", "pseudo-42")
        assert isinstance(member, Member) and member.display_name == "Chị Lan"


async def test_an_expired_object_in_the_session_is_loaded_from_the_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        ((rid,),) = await INSERT_RESPONSE.rows(session, response_values("pseudo"))
        state = {"token": "t", "rid": rid, "m": {"i": 2}}
        await repo.save_conversation(session, "web", "pseudo", "survey", state, NOW)
    async with sessions.begin() as session:
        response = await session.get(SurveyResponse, rid)
        assert response is not None
        session.expire(response)
        await repo.member_and_conversation(session, "web", "cookie", "pseudo")
        assert not inspect(response).expired_attributes
        # read without a lazy load (which would fail here, outside SQLAlchemy's greenlet)
        assert (response.status, response.answers["q1"]) == ("open", 4)
