"""The report use case: build what a unit owes, run the pure conversation, store the result.

The conversation state kept in the database (``conversations.state``) is::

    {"token": random, "round_id": …, "unit": "PNV", "by_admin": bool,
     "base": {code: answer} (the unit's stored values when the conversation began),
     "seq": n (bumped with every answer), "m": the pure machine's state}

Buttons carry ``c:<token>:<seq>.<choice>``: the token ties a button to this conversation
(a button of another person, unit, round, or of a cancelled or finished conversation is
refused by the router), the sequence number to the question it was shown with, so an old
button of the same conversation (say "Không áp dụng" under an earlier item) cannot act on
the current question.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context, new_token
from bot.usecases.people import Person
from bot.usecases.render import outbound, say
from db import repo
from db.models import Conversation, Round, Submission, SubmissionValue, ValueRevision
from scheduler.reminders import DESK_BUTTON_DATA
from scheduler.rounds import indicators_for, is_late, round_for_unit, unit_is_asked
from surveys import report_machine
from surveys import texts as T
from surveys.catalogue import Unit
from surveys.conversation import Input, Pressed, Reply, State
from surveys.messages import Button, Outbound
from surveys.report_machine import Answer, Item, Sheet
from surveys.scoring import target_for_year

KIND = "report"
SEQ_SEP = "."


def answer_of(value: SubmissionValue) -> Answer:
    if value.skip_reason is not None:
        return {"skip": value.skip_reason}
    if value.denominator is not None:
        return {"num": value.numerator, "den": value.denominator}
    return {"value": value.value}


def _figure(value: SubmissionValue) -> float | None:
    return None if value.skip_reason is not None else value.value


async def build_sheet(ctx: Context, session: AsyncSession, round_: Round, unit: Unit) -> Sheet:
    """What the unit owes in this round: the catalogue's indicators for the unit's kind (and
    the units named in the catalogue), narrowed by the round; with the targets of the
    round's year, the unit's previous-round figures and the values it already sent."""
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
    return Sheet(unit_name=unit.name, period=round_.title, items=items, stored=stored, year=year)


# --------------------------------------------------------------------------- buttons


def _tagged(replies: list[Reply], seq: int) -> list[Reply]:
    """The replies with every button choice prefixed by the question's sequence number."""
    return [
        Reply(
            r.text,
            tuple(tuple((label, f"{seq}{SEQ_SEP}{c}") for label, c in row) for row in r.choices),
            r.free_text,
        )
        for r in replies
    ]


def _untag(given: Input, seq: int) -> Input | None:
    """The press without its sequence number; None when it belongs to an older question."""
    if not isinstance(given, Pressed):
        return given
    number, sep, choice = given.choice.partition(SEQ_SEP)
    if not sep or not (number.isascii() and number.isdigit()) or int(number) != seq or not choice:
        return None
    return Pressed(choice)


def _send(person: Person, replies: list[Reply], state: State) -> list[Outbound]:
    return outbound(person.chat_id, _tagged(replies, state.get("seq", 0)), state["token"])


def _with_desk(ctx: Context, replies: list[Outbound]) -> list[Outbound]:
    """/baocao's answer with "Mở trên máy tính" under its last message when the desk is on
    (the last, so that on Zalo, where a typed digit presses the last message's choices, it
    is one of the choices offered)."""
    if not ctx.config.web.enabled or not replies:
        return replies
    last = replies[-1]
    desk_row = (Button(T.DESK_BUTTON, DESK_BUTTON_DATA),)
    return [*replies[:-1], dataclasses.replace(last, buttons=(*last.buttons, desk_row))]


# --------------------------------------------------------------------------- starting


async def _asked_rounds(session: AsyncSession, unit: Unit) -> list[Round]:
    return [r for r in await repo.open_rounds(session) if unit_is_asked(r, unit)]


async def _choose_round(
    ctx: Context,
    session: AsyncSession,
    unit: Unit,
    args: str,
    mine: Conversation | None,
) -> tuple[Round | None, str, str | None]:
    """(the round to report for, the rest of the arguments, or a refusal to say).

    ``/baocao 2026-Q4 …`` names a round; otherwise the round of the unit's unfinished
    report, else the oldest open round the unit still owes, else the newest (corrections).
    """
    asked = await _asked_rounds(session, unit)
    first, _, rest = args.strip().partition(" ")
    if first and "=" not in first:
        key = first.upper()
        named = next((r for r in asked if r.key == key), None)
        if named is not None:
            return named, rest.strip(), None
        if await repo.round_by_key(session, key) is not None:
            return None, "", T.ROUND_NOT_OPEN_FOR_UNIT.format(key=key)
    if mine is not None:
        ongoing = next((r for r in asked if r.id == mine.state.get("round_id")), None)
        if ongoing is not None:
            return ongoing, args.strip(), None
    chosen = await round_for_unit(session, ctx.catalogue, unit)
    if chosen is not None:
        return chosen, args.strip(), None
    latest = await repo.latest_round(session, ctx.today())
    if latest is not None and latest.closed_at is not None and unit_is_asked(latest, unit):
        return None, "", T.ROUND_CLOSED
    return None, "", T.NO_OPEN_ROUND


def _own_report(conv: Conversation | None, unit: Unit) -> Conversation | None:
    if conv is not None and conv.kind == KIND and conv.state.get("unit") == unit.code:
        return conv
    return None


async def begin(
    ctx: Context, session: AsyncSession, person: Person, unit: Unit, args: str, by_admin: bool
) -> list[Outbound]:
    """``/baocao [MÃ_ĐỢT] [quick entry]``: start, resume or correct the unit's report."""
    mine = _own_report(await repo.conversation(session, *person.conversation_key), unit)
    round_, args, refusal = await _choose_round(ctx, session, unit, args, mine)
    if round_ is None:
        return say(person.chat_id, refusal or T.NO_OPEN_ROUND)
    sheet = await build_sheet(ctx, session, round_, unit)
    if not sheet.items:
        return say(person.chat_id, T.NOTHING_DUE)
    same = mine is not None and mine.state.get("round_id") == round_.id
    if same and not args:
        assert mine is not None
        kept = copy.deepcopy(mine.state)
        again = report_machine.resume(sheet, kept["m"])
        kept["m"] = again.state
        await repo.save_conversation(session, *person.conversation_key, KIND, kept, ctx.now())
        notice = T.report_resume(report_machine.position(kept["m"]), len(sheet.items))
        return _with_desk(ctx, say(person.chat_id, notice) + _send(person, again.replies, kept))

    notices: list[str] = []
    if by_admin:
        notices.append(
            T.ADMIN_ENTERING.format(unit=unit.name, office=ctx.catalogue.org.words.office)
        )
    submission = await repo.submission_for(session, round_.id, unit.code)
    if submission is not None:
        notices.append(T.already_submitted(submission.submitted_by, _when(ctx, submission)))
    else:
        intro = T.report_intro(unit.name, round_.title, round_.deadline, len(sheet.items))
        notices.append(intro)
    others = [(r.key, r.title) for r in await _asked_rounds(session, unit) if r.id != round_.id]
    if others:
        notices.append(T.other_rounds(others))
    accepted: dict[str, Answer] = {}
    base: dict[str, Answer] = dict(sheet.stored)
    if same:
        assert mine is not None
        accepted = dict(mine.state["m"].get("answers") or {})
        base = dict(mine.state.get("base") or {})
    quick: dict[str, Answer] = {}
    if args:
        parsed = report_machine.parse_quick(sheet, args)
        problems = []
        if parsed.unknown:
            problems.append(T.QUICK_UNKNOWN.format(codes=", ".join(parsed.unknown)))
        if parsed.malformed:
            problems.append(T.QUICK_BAD.format(parts="; ".join(parsed.malformed)))
        if problems:
            codes = ", ".join(i.code for i in sheet.items)
            return say(person.chat_id, "\n".join([*problems, T.QUICK_CODES.format(codes=codes)]))
        quick = parsed.answers
        known = {**sheet.stored, **accepted, **quick}
        missing = [i.code for i in sheet.items if i.code not in known]
        if missing:
            notices.append(T.QUICK_MISSING.format(codes=", ".join(missing)))
    step = report_machine.start(sheet, quick, accepted=accepted)
    state: State = {
        "token": new_token(),
        "round_id": round_.id,
        "unit": unit.code,
        "by_admin": by_admin,
        "base": base,
        "seq": 0,
        "m": step.state,
    }
    await repo.save_conversation(session, *person.conversation_key, KIND, state, ctx.now())
    return _with_desk(ctx, say(person.chat_id, *notices) + _send(person, step.replies, state))


async def resume_admin(
    ctx: Context, session: AsyncSession, person: Person
) -> list[Outbound] | None:
    """``/baocao`` without a unit code by an admin: resume the report being entered, if any."""
    conv = await repo.conversation(session, *person.conversation_key)
    if conv is None or conv.kind != KIND:
        return None
    unit = ctx.catalogue.org.unit(str(conv.state.get("unit", "")))
    if unit is None:
        return None
    return await begin(ctx, session, person, unit, "", by_admin=True)


def _when(ctx: Context, submission: Submission) -> str:
    return ctx.local(submission.submitted_at).strftime("%H:%M %d/%m/%Y")


# --------------------------------------------------------------------------- answering


async def proceed(
    ctx: Context, session: AsyncSession, person: Person, conv: Conversation, given: Input
) -> list[Outbound]:
    state = copy.deepcopy(conv.state)  # never mutate what the session loaded
    round_ = await session.get(Round, state["round_id"])
    unit = ctx.catalogue.org.unit(state["unit"])
    if round_ is None or unit is None:
        await repo.save_conversation(session, *person.conversation_key, KIND, None, ctx.now())
        return say(person.chat_id, T.NO_OPEN_ROUND)
    if round_.closed_at is not None:
        await repo.save_conversation(session, *person.conversation_key, KIND, None, ctx.now())
        return say(person.chat_id, T.ROUND_CLOSED)
    sheet = await build_sheet(ctx, session, round_, unit)
    pressed = _untag(given, state.get("seq", 0))
    if pressed is None:  # a button of an earlier question: change nothing, show the current
        again = report_machine.resume(sheet, state["m"])
        return say(person.chat_id, T.BUTTON_STALE) + _send(person, again.replies, state)
    step = report_machine.step(sheet, state["m"], pressed)
    if step.submit is not None:
        text = await store(ctx, session, person, round_, unit, sheet, step.submit, state)
        await repo.save_conversation(session, *person.conversation_key, KIND, None, ctx.now())
        return say(person.chat_id, text)
    if step.state is None:  # cancelled from the summary
        await repo.save_conversation(session, *person.conversation_key, KIND, None, ctx.now())
        return outbound(person.chat_id, step.replies)
    state["m"] = step.state
    state["seq"] = state.get("seq", 0) + 1
    await repo.save_conversation(session, *person.conversation_key, KIND, state, ctx.now())
    return _send(person, step.replies, state)


def _apply(value: SubmissionValue, answer: Answer, item: Item) -> None:
    value.skip_reason = answer.get("skip")
    value.numerator = answer.get("num")
    value.denominator = answer.get("den")
    value.value = report_machine.figure(item, answer)


async def store(
    ctx: Context,
    session: AsyncSession,
    person: Person,
    round_: Round,
    unit: Unit,
    sheet: Sheet,
    answers: dict[str, Answer],
    state: State,
) -> str:
    """Store a confirmed report, or the changes made to a sent one, with the history.

    One submission per unit and round (members of a unit share it). A correction stores only
    what this conversation changed from the values it started with (``base``), so two
    members correcting different items do not undo each other. Every change, the first
    sending included, is a ``value_revisions`` row: who, when, old, new, and by an admin.
    """
    now = ctx.now()
    by_admin = bool(state.get("by_admin"))
    base: dict[str, Any] = state.get("base") or {}
    submission = await repo.submission_for(session, round_.id, unit.code)
    first = submission is None
    prefix = ""
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
        wanted = answers
    else:
        if not base:  # begun before anyone had sent: someone else sent in the meantime
            prefix = T.submitted_meanwhile(submission.submitted_by, _when(ctx, submission)) + "\n"
        wanted = {code: a for code, a in answers.items() if a != base.get(code)}
    current = {v.indicator_code: v for v in await repo.values_of(session, submission.id)}
    changes = 0
    for item in sheet.items:
        answer = wanted.get(item.code)
        if answer is None:
            continue
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
    return prefix + (T.report_corrected(round_.title, changes) if changes else T.NO_CHANGES)
