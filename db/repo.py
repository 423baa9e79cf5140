"""Query functions shared by the use cases. Each takes an open AsyncSession; the caller
owns the transaction (one per handled message)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Table,
    bindparam,
    case,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from db.models import (
    AdminChat,
    Conversation,
    Member,
    OutboxMessage,
    Round,
    Submission,
    SubmissionValue,
    SurveyDailyCount,
    SurveyResponse,
    Unit,
)
from db.prepared import Prepared

M = TypeVar("M")  # a mapped class

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


# session.info keys for what the current transaction already knows: the locks it holds,
# and the conversations it has read (key -> row, or None when there is none). Forgotten when
# the transaction or a savepoint ends (a savepoint rolled back gives back locks and rows).
_LOCKS = "locks_held"
_CONVERSATIONS_READ = "conversations_read"
_HELD = "rows_held"  # rows read ahead, kept alive for session.get to find


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None or transaction.nested:  # not a flush's own inner one
        session.info.pop(_LOCKS, None)
        session.info.pop(_CONVERSATIONS_READ, None)
        session.info.pop(_HELD, None)


def _locks(session: AsyncSession) -> set[str]:
    held: set[str] = session.info.setdefault(_LOCKS, set())
    return held


def _conversations_read(session: AsyncSession) -> dict[tuple[str, str], Conversation | None]:
    read: dict[tuple[str, str], Conversation | None] = session.info.setdefault(
        _CONVERSATIONS_READ, {}
    )
    return read


async def lock(session: AsyncSession, name: str) -> None:
    """Wait for the lock ``name``, held until this transaction ends (PostgreSQL only).
    Taking it again in the same transaction costs nothing."""
    if dialect_of(session) == "postgresql" and name not in _locks(session):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
        )
        _locks(session).add(name)


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


# The tables, for plain statements (no ORM unit of work): see save_conversation.
_MEMBERS = cast(Table, Member.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)
_RESPONSES = cast(Table, SurveyResponse.__table__)

# Built once: building a statement and its cache key costs more CPU than running it.
_MEMBER_AND_CONVERSATION = (
    select(Member, Conversation, SurveyResponse)
    .select_from(select(literal_column("1").label("one")).subquery("me"))
    .outerjoin(
        Member,
        (Member.channel == bindparam("channel")) & (Member.user_id == bindparam("user_id")),
    )
    .outerjoin(
        Conversation,
        (Conversation.channel == bindparam("channel"))
        & (
            Conversation.user_id
            == case((Member.id.is_(None), bindparam("pseudonym")), else_=bindparam("user_id"))
        ),
    )
    .outerjoin(SurveyResponse, SurveyResponse.id == Conversation.state["rid"].as_integer())
)
# The same for a citizen, on SQLite (see member_and_conversation): whether the account is a
# member's after all, then the conversation's and the response's columns (NULL: none).
_CITIZEN_READ = Prepared(
    select(
        exists()
        .where(_MEMBERS.c.channel == bindparam("channel"))
        .where(_MEMBERS.c.user_id == bindparam("user_id")),
        *_CONVERSATIONS.c,
        *_RESPONSES.c,
    )
    .select_from(select(literal_column("1").label("one")).subquery("me"))
    .outerjoin(
        _CONVERSATIONS,
        (_CONVERSATIONS.c.channel == bindparam("channel"))
        & (_CONVERSATIONS.c.user_id == bindparam("pseudonym")),
    )
    .outerjoin(
        _RESPONSES,
        _RESPONSES.c.id == _CONVERSATIONS.c.state["rid"].as_integer(),
    )
)
_CONVERSATION_COLUMNS = len(_CONVERSATIONS.c)


def _persistent(session: AsyncSession, model: type[M], values: Sequence[Any]) -> M:
    """The ORM object of a row read by a prepared statement (``values``: its table's
    columns in order), in the session as a query would have loaded it, without SQL
    (``make_transient_to_detached``, SQLAlchemy's way of doing this): unchanged, so nothing
    is written unless it is changed. As with a query, the object already in the session is
    the one returned, its expired attributes (if any) loaded from the row."""
    mapper = inspect(model)
    table = cast(Table, mapper.local_table)
    loaded = {
        mapper.get_property_by_column(column).key: value
        for column, value in zip(table.c, values, strict=True)
    }
    identity = mapper.identity_key_from_primary_key(
        [loaded[mapper.get_property_by_column(column).key] for column in mapper.primary_key]
    )
    found = session.sync_session.identity_map.get(identity)
    if found is not None:
        for key in inspect(found).expired_attributes & loaded.keys():
            set_committed_value(found, key, loaded[key])
        return cast(M, found)
    instance = cast(M, mapper.class_manager.new_instance())
    instance_dict(instance).update(loaded)  # as the ORM's loading does: loaded, no history
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


async def member_and_conversation(
    session: AsyncSession, channel: str, user_id: str, pseudonym: str | None = None
) -> Member | None:
    """``member_of``, reading in the same query what the core reads next for a citizen in
    the middle of a survey: the conversation kept under this account and the survey
    response it is filling in (``rid`` in a survey's state).

    The conversation (or that there is none) is kept in the session's info, where
    ``conversation`` finds it without a query; the response is held there too, so that
    ``session.get`` finds it in the session. A survey answer costs one query here instead
    of three. The person's lock is taken first, as ``conversation`` does.

    A citizen's conversation is kept under their ``pseudonym`` (the keyed hash), an
    official's (a member, or no pseudonym given) under the account's id.

    On SQLite, a citizen's rows are read with a prepared statement (``db.prepared``) and
    made ORM objects by hand (``_persistent``): the ORM's query costs several times more
    CPU, and under load that is every other citizen's waiting time (bench/web.py). A
    member's account, found that way, is read again with the ORM query. On PostgreSQL the
    ORM query runs for everyone (the server's round trip dominates there).
    """
    params = {"channel": channel, "user_id": user_id, "pseudonym": pseudonym or user_id}
    # Lock what the conversation is kept under; a member with a pseudonym given has their
    # conversation under the id, which ``conversation`` locks when it reads it.
    await lock_person(session, channel, params["pseudonym"])
    if pseudonym is not None and dialect_of(session) == "sqlite":
        ((a_member, *columns),) = await _CITIZEN_READ.rows(session, params)
        if not a_member:
            conv_values = columns[:_CONVERSATION_COLUMNS]
            response_values = columns[_CONVERSATION_COLUMNS:]
            conv, response = None, None
            if conv_values[0] is not None:
                conv = _persistent(session, Conversation, conv_values)
            if response_values[0] is not None:
                response = _persistent(session, SurveyResponse, response_values)
            _hold(session, channel, pseudonym, conv, response)
            return None
    member, conv, response = (await session.execute(_MEMBER_AND_CONVERSATION, params)).one()
    _hold(session, channel, user_id if member is not None else params["pseudonym"], conv, response)
    return member


def _hold(
    session: AsyncSession,
    channel: str,
    key: str,
    conv: Conversation | None,
    response: SurveyResponse | None,
) -> None:
    """Keep what ``member_and_conversation`` read for this transaction."""
    _conversations_read(session)[channel, key] = conv
    if response is not None:  # the session holds its rows weakly
        session.info.setdefault(_HELD, []).append(response)


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


_THE_CONVERSATION = (_CONVERSATIONS.c.channel == bindparam("key_channel")) & (
    _CONVERSATIONS.c.user_id == bindparam("key_user_id")
)
_INSERT_CONVERSATION = Prepared(insert(_CONVERSATIONS))
_UPDATE_CONVERSATION = Prepared(update(_CONVERSATIONS).where(_THE_CONVERSATION))
_DELETE_CONVERSATION = Prepared(delete(_CONVERSATIONS).where(_THE_CONVERSATION))


async def conversation(session: AsyncSession, channel: str, user_id: str) -> Conversation | None:
    """The person's conversation, read after taking the person's lock (``lock_person``), so
    what this transaction then writes is based on the latest committed state.

    Read once per transaction: the row (or that there is none) is kept in the session's
    info, and ``save_conversation`` keeps it up to date there."""
    await lock_person(session, channel, user_id)
    read = _conversations_read(session)
    key = (channel, user_id)
    if key not in read:
        read[key] = await session.get(Conversation, key)
    return read[key]


async def save_conversation(
    session: AsyncSession,
    channel: str,
    user_id: str,
    kind: str,
    state: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Store (or with ``state`` None, end) the person's conversation.

    One plain INSERT, UPDATE or DELETE, run at once rather than at the next flush: the
    ORM's unit of work costs more CPU than the statement (a conversation is saved on every
    message). The row in the session is kept as written."""
    row = await conversation(session, channel, user_id)
    key = {"key_channel": channel, "key_user_id": user_id}
    if state is None:
        if row is not None:
            await _DELETE_CONVERSATION.run(session, key)
            session.expunge(row)
            _conversations_read(session)[channel, user_id] = None
        return
    state = copy.deepcopy(state)  # the caller's dict may change after this
    values = {"kind": kind, "state": state, "updated_at": now, "nudged_at": None}
    if row is None:
        await _INSERT_CONVERSATION.run(session, {"channel": channel, "user_id": user_id, **values})
        _conversations_read(session).pop((channel, user_id), None)  # read it back if asked
        return
    await _UPDATE_CONVERSATION.run(session, {**key, **values})
    for name, value in values.items():
        set_committed_value(row, name, value)


# --------------------------------------------------------------------------- surveys


_COUNTED_BEFORE = _RESPONSES.alias("counted_before")
_COMPLETED = {  # what completing a response sets: column -> the parameter new_<column>
    name: bindparam(f"new_{name}", type_=_RESPONSES.c[name].type)
    for name in ("status", "answers", "field", "day", "language", "completed_at")
}
_COMPLETE = update(_RESPONSES).where(_RESPONSES.c.id == bindparam("rid")).values(_COMPLETED)
_COMPLETE_RESPONSE = Prepared(_COMPLETE)
_COUNT_RESPONSE = Prepared(
    _COMPLETE.where(
        ~select(_COUNTED_BEFORE.c.id)
        .where(
            _COUNTED_BEFORE.c.point_code == _RESPONSES.c.point_code,
            _COUNTED_BEFORE.c.respondent == _RESPONSES.c.respondent,
            _COUNTED_BEFORE.c.day == _COMPLETED["day"],
            _COUNTED_BEFORE.c.status == "counted",
        )
        .exists()
    )
)
_RESPONDENT_HISTORY = Prepared(
    select(
        func.count().filter(_RESPONSES.c.started_at > bindparam("since")),
        func.count().filter(
            _RESPONSES.c.point_code == bindparam("point"),
            _RESPONSES.c.day == bindparam("day"),
            _RESPONSES.c.status == "counted",
        ),
        func.count().filter(_RESPONSES.c.status == "open"),
    ).where(_RESPONSES.c.respondent == bindparam("respondent"))
)
_EXPIRE_OPEN = Prepared(
    update(_RESPONSES)
    .where(_RESPONSES.c.respondent == bindparam("b_respondent"), _RESPONSES.c.status == "open")
    .values(status="expired")
)
_OPEN_RESPONSE = Prepared(insert(_RESPONSES).returning(_RESPONSES.c.id))


@dataclass(frozen=True)
class RespondentHistory:
    """What a new survey needs to know of the respondent's earlier ones."""

    started_since: int  # surveys they started after ``since``
    counted_here: bool  # a response of theirs at this point on this day was counted
    open: bool  # they left a survey unfinished


async def respondent_history(
    session: AsyncSession, respondent: str, point: str, day: date, since: datetime
) -> RespondentHistory:
    """One query, on the index by respondent (a person has a few responses at most)."""
    params = {"respondent": respondent, "point": point, "day": day, "since": since}
    ((started, counted, unfinished),) = await _RESPONDENT_HISTORY.rows(session, params)
    return RespondentHistory(int(started), counted > 0, unfinished > 0)


async def open_response(session: AsyncSession, values: dict[str, Any]) -> int:
    """Insert a new open response (``values``: its columns); its id."""
    ((response_id,),) = await _OPEN_RESPONSE.rows(session, {**values, "status": "open"})
    return int(response_id)


async def expire_open_responses(session: AsyncSession, respondent: str) -> None:
    """An unfinished survey is abandoned when its respondent starts another: never counted."""
    await _EXPIRE_OPEN.run(session, {"b_respondent": respondent})


async def complete_response(
    session: AsyncSession, response: SurveyResponse, completed: dict[str, Any], count: bool
) -> str:
    """Complete an open response with ``completed`` (answers, field, day, language,
    completed_at); its status becomes "counted" when ``count`` and this respondent has no
    counted response at this point on that day, else "repeat" (returned).

    One plain UPDATE, no savepoint: the person's lock is held, and the unique index
    ``uq_survey_counted_once`` stays the last guard."""
    params = {f"new_{name}": value for name, value in completed.items()}
    status = "repeat"
    if count:
        params["new_status"] = "counted"
        if await _COUNT_RESPONSE.run(session, {"rid": response.id, **params}) == 1:
            status = "counted"
    if status == "repeat":
        params["new_status"] = status
        await _COMPLETE_RESPONSE.run(session, {"rid": response.id, **params})
    for name, value in {**completed, "status": status}.items():
        set_committed_value(response, name, value)
    return status


_DAILY_COUNTS = cast(Table, SurveyDailyCount.__table__)
DAILY_COUNTERS = (
    *(f"level{n}" for n in range(1, 6)),
    "respondents",
    "fully_satisfied",
    "answers_sq",
    "satisfied_sq",
    "satisfied_answers",
)


def daily_count_row(
    day: date, point: str, field: str, target: str, levels: Sequence[int], channel: str = ""
) -> dict[str, Any]:
    """One respondent's share of a target's row in the day's aggregates: a count per rating
    level, one respondent, fully satisfied when every rating for the target is 4 or 5, and
    their squares for the interval over respondents (``surveys.scoring.cluster_rate``)."""
    answers = len(levels)
    satisfied = sum(1 for level in levels if level >= 4)
    return {
        "day": day,
        "point_code": point,
        "field": field,
        "target": target,
        "channel": channel,
        **{f"level{n}": levels.count(n) for n in range(1, 6)},
        "respondents": 1,
        "fully_satisfied": int(all(level >= 4 for level in levels)),
        "answers_sq": float(answers * answers),
        "satisfied_sq": float(satisfied * satisfied),
        "satisfied_answers": float(satisfied * answers),
    }


def _add_to_daily_counts(insert: Any) -> Any:
    """INSERT the day's row for a target, or add to its counters when it is there."""
    stmt = insert(_DAILY_COUNTS)
    return stmt.on_conflict_do_update(
        index_elements=["day", "point_code", "field", "target", "channel"],
        set_={name: _DAILY_COUNTS.c[name] + stmt.excluded[name] for name in DAILY_COUNTERS},
    )


# Built once per dialect (see _MEMBER_AND_CONVERSATION): one statement for every target.
_ADD_TO_DAILY_COUNTS = {
    "sqlite": Prepared(_add_to_daily_counts(sqlite_insert)),
    "postgresql": Prepared(_add_to_daily_counts(pg_insert)),
}


async def add_to_daily_counts(
    session: AsyncSession,
    day: date,
    point: str,
    field: str,
    levels_by_target: Mapping[str, Sequence[int]],
    channel: str = "",
) -> None:
    """Add one respondent's ratings to the day's aggregate row of each target they feed
    (``{"14": [4, 5, 3]}``) for the channel they came by, in one statement."""
    rows = [
        daily_count_row(day, point, field, target, levels, channel)
        for target, levels in levels_by_target.items()
    ]
    if rows:
        await _ADD_TO_DAILY_COUNTS[dialect_of(session)].run_many(session, rows)


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


def add_member(
    session: AsyncSession,
    unit_code: str,
    channel: str,
    user_id: str,
    name: str,
    now: datetime,
    *,
    chat_id: str | None = None,
    person_id: int | None = None,
) -> Member:
    """Register a unit head's account (``chat_id``: their private chat, the user id by
    default; ``person_id``: the first account of a person who linked a second one)."""
    member = Member(
        unit_code=unit_code,
        channel=channel,
        user_id=user_id,
        chat_id=chat_id if chat_id is not None else user_id,
        display_name=name,
        registered_at=now,
        person_id=person_id,
    )
    session.add(member)
    return member


def outbox_row(
    dedupe_key: str,
    channel: str,
    chat_id: str,
    text: str,
    now: datetime,
    *,
    round_id: int | None = None,
    member_id: int | None = None,
    step: str | None = None,
    buttons: list[list[dict[str, str]]] | None = None,
) -> dict[str, Any]:
    """One outbox row as every producer queues it: pending, due ``now``, never tried.

    ``dedupe_key`` names what the message is about (``remind:…``, ``overdue:…``,
    ``feedback:…``), so that queueing it a second time is a no-op (``enqueue``)."""
    return {
        "dedupe_key": dedupe_key,
        "channel": channel,
        "chat_id": chat_id,
        "round_id": round_id,
        "member_id": member_id,
        "step": step,
        "text": text,
        "buttons": buttons,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


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
