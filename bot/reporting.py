"""The report use case: build what a unit owes, run the pure conversation, store the result."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts as T
from bot.context import Context, new_token
from bot.messages import Outbound
from bot.people import Person
from bot.render import outbound, say
from db import repo
from db.models import Conversation, Round, Submission, SubmissionValue, ValueRevision
from scheduler.rounds import indicators_for, is_late, round_for_unit
from surveys import reporting
from surveys.catalogue import Unit
from surveys.conversation import Input, State
from surveys.reporting import Answer, Item, Sheet
from surveys.scoring import target_for_year

KIND = "report"


def answer_of(value: SubmissionValue) -> Answer:
    if value.skip_reason is not None:
        return {"skip": value.skip_reason}
    if value.denominator is not None:
        return {"num": value.numerator, "den": value.denominator}
    return {"value": value.value}


def _figure(value: SubmissionValue) -> float | None:
    return None if value.skip_reason is not None else value.value


async def build_sheet(ctx: Context, session: AsyncSession, round_: Round, unit: Unit) -> Sheet:
    previous = await repo.previous_values(session, unit.code, round_.window_start)
    stored: dict[str, Answer] = {}
    submission = await repo.submission_for(session, round_.id, unit.code)
    if submission is not None:
        stored = {
            v.indicator_code: answer_of(v) for v in await repo.values_of(session, submission.id)
        }
    year = round_.deadline.year
    items = tuple(
        Item(
            code=i.code,
            kind=i.kind,  # type: ignore[arg-type]  # survey indicators are never due
            name=i.name,
            purpose=i.purpose,
            numerator_label=i.numerator_label,
            denominator_label=i.denominator_label,
            target=target_for_year(i.targets, year),
            direction=i.direction,
            previous=_figure(previous[i.code]) if i.code in previous else None,
        )
        for i in indicators_for(ctx.catalogue, round_, unit)
    )
    return Sheet(unit_name=unit.name, period=round_.title, items=items, stored=stored)


async def begin(
    ctx: Context, session: AsyncSession, person: Person, unit: Unit, args: str, by_admin: bool
) -> list[Outbound]:
    """``/baocao [quick entry]``: start, resume or correct the unit's report."""
    round_ = await round_for_unit(session, ctx.catalogue, unit)
    if round_ is None:
        return say(person.chat_id, T.NO_OPEN_ROUND)
    sheet = await build_sheet(ctx, session, round_, unit)
    if not sheet.items:
        return say(person.chat_id, T.NOTHING_DUE)
    conv = await repo.conversation(session, person.channel, person.user_id)
    if (
        conv is not None
        and conv.kind == KIND
        and conv.state["round_id"] == round_.id
        and conv.state["unit"] == unit.code
        and not args
    ):
        m = copy.deepcopy(conv.state["m"])
        notice = T.report_resume(m["i"] + 1, len(sheet.items))
        step = reporting.resume(sheet, m)
        return say(person.chat_id, notice) + outbound(
            person.chat_id, step.replies, conv.state["token"]
        )

    notices: list[str] = []
    if by_admin:
        notices.append(T.ADMIN_ENTERING.format(unit=unit.name))
    submission = await repo.submission_for(session, round_.id, unit.code)
    if submission is not None:
        notices.append(T.already_submitted(submission.submitted_by, _when(ctx, submission)))
    else:
        notices.append(T.report_intro(unit.name, round_.title, round_.deadline, len(sheet.items)))
    quick: dict[str, Answer] = {}
    if args:
        parsed = reporting.parse_quick(sheet, args)
        problems = []
        if parsed.unknown:
            problems.append(T.QUICK_UNKNOWN.format(codes=", ".join(parsed.unknown)))
        if parsed.malformed:
            problems.append(T.QUICK_BAD.format(parts="; ".join(parsed.malformed)))
        if problems:
            return say(person.chat_id, "\n".join(problems))
        quick = parsed.answers
        missing = [
            i.code for i in sheet.items if i.code not in quick and i.code not in sheet.stored
        ]
        if missing:
            notices.append(T.QUICK_MISSING.format(codes=", ".join(missing)))
    step = reporting.start(sheet, quick)
    token = new_token()
    state: State = {
        "token": token,
        "round_id": round_.id,
        "unit": unit.code,
        "by_admin": by_admin,
        "m": step.state,
    }
    await repo.save_conversation(session, person.channel, person.user_id, KIND, state, ctx.now())
    return say(person.chat_id, *notices) + outbound(person.chat_id, step.replies, token)


def _when(ctx: Context, submission: Submission) -> str:
    return ctx.local(submission.submitted_at).strftime("%H:%M %d/%m/%Y")


async def proceed(
    ctx: Context, session: AsyncSession, person: Person, conv: Conversation, given: Input
) -> list[Outbound]:
    state = copy.deepcopy(conv.state)  # never mutate what the session loaded
    round_ = await session.get(Round, state["round_id"])
    unit = ctx.catalogue.org.unit(state["unit"])
    if round_ is None or unit is None:
        await repo.save_conversation(session, person.channel, person.user_id, KIND, None, ctx.now())
        return say(person.chat_id, T.NO_OPEN_ROUND)
    if round_.closed_at is not None:
        await repo.save_conversation(session, person.channel, person.user_id, KIND, None, ctx.now())
        return say(person.chat_id, T.ROUND_CLOSED)
    sheet = await build_sheet(ctx, session, round_, unit)
    step = reporting.step(sheet, state["m"], given)
    if step.submit is not None:
        text = await store(
            ctx, session, person, round_, unit, sheet, step.submit, state["by_admin"]
        )
        await repo.save_conversation(session, person.channel, person.user_id, KIND, None, ctx.now())
        return say(person.chat_id, text)
    state["m"] = step.state
    await repo.save_conversation(
        session, person.channel, person.user_id, KIND, state if step.state else None, ctx.now()
    )
    return outbound(person.chat_id, step.replies, state["token"])


def _apply(value: SubmissionValue, answer: Answer, item: Item) -> None:
    value.skip_reason = answer.get("skip")
    value.numerator = answer.get("num")
    value.denominator = answer.get("den")
    value.value = reporting.figure(item, answer)


async def store(
    ctx: Context,
    session: AsyncSession,
    person: Person,
    round_: Round,
    unit: Unit,
    sheet: Sheet,
    answers: dict[str, Answer],
    by_admin: bool,
) -> str:
    """Store a confirmed report (or the changes to a sent one) with its revision history."""
    now = ctx.now()
    submission = await repo.submission_for(session, round_.id, unit.code)
    first = submission is None
    if submission is None:
        submission = Submission(
            round_id=round_.id,
            unit_code=unit.code,
            submitted_at=now,
            submitted_by=person.name,
            member_id=person.member.id if person.member else None,
            late=is_late(round_, ctx.today()),
            by_admin=by_admin,
        )
        session.add(submission)
        await session.flush()
    current = {v.indicator_code: v for v in await repo.values_of(session, submission.id)}
    changes = 0
    for item in sheet.items:
        answer = answers[item.code]
        row = current.get(item.code)
        old: dict[str, Any] | None = answer_of(row) if row is not None else None
        if old == answer:
            continue
        if row is None:
            row = SubmissionValue(submission_id=submission.id, indicator_code=item.code)
            session.add(row)
        _apply(row, answer, item)
        session.add(
            ValueRevision(
                submission_id=submission.id,
                indicator_code=item.code,
                old=old,
                new=answer,
                changed_by=person.name,
                member_id=person.member.id if person.member else None,
                by_admin=by_admin,
                changed_at=now,
            )
        )
        changes += 1
    if first:
        return T.report_stored(round_.title, submission.late, len(sheet.items))
    return T.report_corrected(round_.title, changes) if changes else T.NO_CHANGES
