"""Query functions shared by the use cases. Each takes an open AsyncSession; the caller
owns the transaction (one per handled message)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    AdminChat,
    Conversation,
    Member,
    OutboxMessage,
    Round,
    Submission,
    SubmissionValue,
    SurveyDailyCount,
    Unit,
)

# One statement carries at most this many bound values: asyncpg allows 32767, SQLite 32766.
MAX_BOUND_VALUES = 30_000


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


async def insert_ignore(
    session: AsyncSession, model: type[Any], rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> int:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; returns rows inserted.

    Many rows go in several statements, each under the drivers' limit of bound values (a
    province's reminders can be tens of thousands of values)."""
    if not rows:
        return 0
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    per_statement = max(1, MAX_BOUND_VALUES // max(len(row) for row in rows))
    inserted = 0
    for start in range(0, len(rows), per_statement):
        chunk = list(rows[start : start + per_statement])
        stmt = insert(model).values(chunk).on_conflict_do_nothing(index_elements=list(keys))
        result = await session.execute(stmt)
        inserted += int(getattr(result, "rowcount", 0) or 0)
    return inserted


# --------------------------------------------------------------------------- locks
#
# Several bot processes share one PostgreSQL database. Work that must not run twice at once
# takes a transaction-level advisory lock named by a string; it is released when the
# transaction ends, also when the process dies. SQLite needs none of this: every write
# transaction starts with BEGIN IMMEDIATE, so writers already take turns.


async def lock(session: AsyncSession, name: str) -> None:
    """Wait for the lock ``name``, held until this transaction ends (PostgreSQL only)."""
    if dialect_of(session) == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
        )


async def try_lock(session: AsyncSession, name: str) -> bool:
    """Take the lock ``name`` until this transaction ends if nobody holds it; False if
    another transaction does (PostgreSQL). Always True on SQLite."""
    if dialect_of(session) != "postgresql":
        return True
    taken = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
    )
    return bool(taken)


async def lock_person(session: AsyncSession, channel: str, user_id: str) -> None:
    """Serialise the handling of one person's messages across processes.

    Several webhook processes may receive two messages of one person at once; without the
    lock both would read the same conversation state and the later commit would undo the
    earlier one."""
    await lock(session, f"conversation:{channel}:{user_id}")


# --------------------------------------------------------------------------- organisation


async def sync_units(session: AsyncSession, units: Iterable[Any]) -> None:
    """Mirror the organisation file into the units table (new, renamed, removed units).

    Processes starting together take turns (the lock), so none inserts a unit another has
    just inserted."""
    await lock(session, "sync_units")
    existing = {u.code: u for u in (await session.scalars(select(Unit))).all()}
    seen: set[str] = set()
    for unit in units:
        seen.add(unit.code)
        row = existing.get(unit.code)
        if row is None:
            row = Unit(code=unit.code)
            session.add(row)
        row.name, row.kind, row.parent_code = unit.name, unit.kind, unit.parent
        row.reports, row.active = unit.reports, True
        await session.flush()  # parents first: the organisation file lists them first
    for code, row in existing.items():
        if code not in seen:
            row.active = False


async def member_of(session: AsyncSession, channel: str, user_id: str) -> Member | None:
    return await session.scalar(
        select(Member).where(Member.channel == channel, Member.user_id == user_id)
    )


async def members_of_units(session: AsyncSession, codes: Iterable[str]) -> list[Member]:
    codes = list(codes)
    if not codes:
        return []
    return list(
        (
            await session.scalars(
                select(Member).where(Member.unit_code.in_(codes)).order_by(Member.id)
            )
        ).all()
    )


async def admin_chats(session: AsyncSession) -> list[AdminChat]:
    return list((await session.scalars(select(AdminChat))).all())


# --------------------------------------------------------------------------- rounds


async def round_by_key(session: AsyncSession, key: str) -> Round | None:
    return await session.scalar(select(Round).where(Round.key == key))


async def open_rounds(session: AsyncSession) -> list[Round]:
    return list(
        (
            await session.scalars(
                select(Round).where(Round.closed_at.is_(None)).order_by(Round.window_start)
            )
        ).all()
    )


async def latest_round(session: AsyncSession, today: date) -> Round | None:
    """The newest round that has opened by ``today``."""
    return await session.scalar(
        select(Round)
        .where(Round.window_start <= today)
        .order_by(Round.window_start.desc(), Round.id.desc())
        .limit(1)
    )


async def submission_for(session: AsyncSession, round_id: int, unit_code: str) -> Submission | None:
    return await session.scalar(
        select(Submission).where(Submission.round_id == round_id, Submission.unit_code == unit_code)
    )


async def submissions_of(session: AsyncSession, round_id: int) -> list[Submission]:
    return list(
        (await session.scalars(select(Submission).where(Submission.round_id == round_id))).all()
    )


async def values_of(session: AsyncSession, submission_id: int) -> list[SubmissionValue]:
    return list(
        (
            await session.scalars(
                select(SubmissionValue).where(SubmissionValue.submission_id == submission_id)
            )
        ).all()
    )


async def previous_values(
    session: AsyncSession, unit_code: str, before: date
) -> dict[str, SubmissionValue]:
    """The unit's values in its latest submitted round that opened before ``before``."""
    sub = await session.scalar(
        select(Submission)
        .join(Round, Round.id == Submission.round_id)
        .where(Submission.unit_code == unit_code, Round.window_start < before)
        .order_by(Round.window_start.desc())
        .limit(1)
    )
    if sub is None:
        return {}
    return {v.indicator_code: v for v in await values_of(session, sub.id)}


# --------------------------------------------------------------------------- conversations


async def conversation(session: AsyncSession, channel: str, user_id: str) -> Conversation | None:
    """The person's conversation, read after taking the person's lock (``lock_person``), so
    what this transaction then writes is based on the latest committed state."""
    await lock_person(session, channel, user_id)
    return await session.get(Conversation, (channel, user_id))


async def save_conversation(
    session: AsyncSession,
    channel: str,
    user_id: str,
    kind: str,
    state: dict[str, Any] | None,
    now: datetime,
) -> None:
    await lock_person(session, channel, user_id)
    row = await session.get(Conversation, (channel, user_id))
    if state is None:
        if row is not None:
            await session.delete(row)
        return
    if row is None:
        session.add(
            Conversation(channel=channel, user_id=user_id, kind=kind, state=state, updated_at=now)
        )
    else:
        row.kind, row.updated_at, row.nudged_at = kind, now, None
        row.state = copy.deepcopy(state)  # a new object, so the JSON column is seen as changed


# --------------------------------------------------------------------------- surveys


async def add_to_daily_counts(
    session: AsyncSession,
    day: date,
    point: str,
    field: str,
    target: str,
    levels: Sequence[int],
    fully_satisfied: bool,
) -> None:
    """Add one respondent's ratings for one target to the day's aggregate row."""
    await insert_ignore(
        session,
        SurveyDailyCount,
        [{"day": day, "point_code": point, "field": field, "target": target}],
        ["day", "point_code", "field", "target"],
    )
    increments: dict[str, Any] = {
        f"level{n}": getattr(SurveyDailyCount, f"level{n}") + levels.count(n)
        for n in range(1, 6)
        if levels.count(n)
    }
    increments["respondents"] = SurveyDailyCount.respondents + 1
    increments["fully_satisfied"] = SurveyDailyCount.fully_satisfied + int(fully_satisfied)
    await session.execute(
        update(SurveyDailyCount)
        .where(
            and_(
                SurveyDailyCount.day == day,
                SurveyDailyCount.point_code == point,
                SurveyDailyCount.field == field,
                SurveyDailyCount.target == target,
            )
        )
        .values(**increments)
    )


async def daily_counts(
    session: AsyncSession, start: date | None = None, end: date | None = None
) -> list[SurveyDailyCount]:
    query = select(SurveyDailyCount)
    if start is not None:
        query = query.where(SurveyDailyCount.day >= start)
    if end is not None:
        query = query.where(SurveyDailyCount.day <= end)
    return list((await session.scalars(query)).all())


# --------------------------------------------------------------------------- outbox


QUEUED = "outbox_queued"  # session.info key: this transaction queued outbox rows


async def enqueue(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Queue messages; a row whose dedupe_key is already queued is silently skipped.

    Marks the session (``session.info[QUEUED]``), so that whoever commits it wakes the
    outbox dispatcher only when there is something new to send."""
    inserted = await insert_ignore(session, OutboxMessage, rows, ["dedupe_key"])
    if inserted:
        session.info[QUEUED] = True
    return inserted


async def pending_count(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_(("pending", "sending")))
        )
        or 0
    )
