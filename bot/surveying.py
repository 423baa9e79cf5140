"""The survey use case: start from a deep link, run the pure survey, count once, aggregate."""

from __future__ import annotations

import copy
import hashlib
import hmac
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts as T
from bot.context import Context, new_token
from bot.messages import Outbound
from bot.people import Person
from bot.registration import token_hash
from bot.render import outbound, say
from db import repo
from db.models import Conversation, SurveyLink, SurveyResponse
from surveys import survey_flow
from surveys.catalogue import Questionnaire, ServicePoint
from surveys.conversation import Input, Reply

KIND = "survey"
POINT_PREFIX = "s-"
RECORD_PREFIX = "r-"


def respondent_key(ctx: Context, channel: str, user_id: str) -> str:
    """The keyed hash that stands for a citizen; the raw id is never stored."""
    message = f"{channel}:{user_id}".encode()
    return hmac.new(ctx.config.survey.secret.encode(), message, hashlib.sha256).hexdigest()


def point_payload(point: ServicePoint) -> str:
    return POINT_PREFIX + point.code


async def create_record_link(
    ctx: Context, session: AsyncSession, point: ServicePoint, record: str
) -> str:
    """A one-time survey payload tied to a record code (hồ sơ)."""
    token = new_token(12)
    session.add(
        SurveyLink(
            token_hash=token_hash(token),
            point_code=point.code,
            record_code=record[:64],
            created_at=ctx.now(),
        )
    )
    return RECORD_PREFIX + token


async def begin(
    ctx: Context, session: AsyncSession, person: Person, payload: str
) -> list[Outbound]:
    """``/start s-POINT`` or ``/start r-TOKEN``."""
    record: str | None = None
    link_hash: str | None = None
    if payload.startswith(RECORD_PREFIX):
        link_hash = token_hash(payload[len(RECORD_PREFIX) :])
        link = await session.get(SurveyLink, link_hash)
        if link is None:
            return say(person.chat_id, T.SURVEY_UNKNOWN)
        if link.used_at is not None:
            return say(person.chat_id, T.SURVEY_LINK_USED)
        point = ctx.catalogue.point(link.point_code)
        record = link.record_code
    else:
        point = ctx.catalogue.point(payload[len(POINT_PREFIX) :])
    if point is None:
        return say(person.chat_id, T.SURVEY_UNKNOWN)
    questionnaire = ctx.catalogue.questionnaires[point.questionnaire]

    now = ctx.now()
    respondent = respondent_key(ctx, person.channel, person.user_id)
    started = await session.scalar(
        select(func.count())
        .select_from(SurveyResponse)
        .where(
            SurveyResponse.respondent == respondent,
            SurveyResponse.started_at > now - timedelta(hours=1),
        )
    )
    if (started or 0) >= ctx.config.survey.max_starts_per_hour:
        return say(person.chat_id, T.SURVEY_TOO_MANY)

    response = SurveyResponse(
        point_code=point.code,
        questionnaire=questionnaire.code,
        respondent=respondent,
        day=ctx.today(),
        status="open",
        answers={},
        record_code=record,
        started_at=now,
    )
    session.add(response)
    await session.flush()
    step = survey_flow.start(questionnaire, point)
    token = new_token()
    state = {
        "token": token,
        "point": point.code,
        "rid": response.id,
        "link": link_hash,
        "m": step.state,
    }
    await repo.save_conversation(session, person.channel, person.user_id, KIND, state, now)
    return outbound(person.chat_id, step.replies, token)


async def proceed(
    ctx: Context, session: AsyncSession, person: Person, conv: Conversation, given: Input
) -> list[Outbound]:
    state = copy.deepcopy(conv.state)  # never mutate what the session loaded
    point = ctx.catalogue.point(state["point"])
    response = await session.get(SurveyResponse, state["rid"])
    now = ctx.now()
    expired = conv.updated_at < now - timedelta(minutes=ctx.config.survey.expire_minutes)
    if point is None or response is None or response.status != "open" or expired:
        if response is not None and response.status == "open":
            response.status = "expired"
        await repo.save_conversation(session, person.channel, person.user_id, KIND, None, now)
        return say(person.chat_id, T.SURVEY_EXPIRED)
    questionnaire = ctx.catalogue.questionnaires[point.questionnaire]
    step = survey_flow.step(questionnaire, point, state["m"], given)
    if step.done is None:
        state["m"] = step.state
        await repo.save_conversation(session, person.channel, person.user_id, KIND, state, now)
        return outbound(person.chat_id, step.replies, state["token"])
    await repo.save_conversation(session, person.channel, person.user_id, KIND, None, now)
    counted = await _finish(
        ctx, session, response, questionnaire, point, step.done, state.get("link")
    )
    replies = [Reply(questionnaire.thanks if counted else T.SURVEY_REPEAT)]
    return outbound(person.chat_id, replies)


async def _finish(
    ctx: Context,
    session: AsyncSession,
    response: SurveyResponse,
    questionnaire: Questionnaire,
    point: ServicePoint,
    answers: dict[str, Any],
    link_hash: str | None,
) -> bool:
    """Complete the response; count it unless this person already counted here today."""
    now = ctx.now()
    day = ctx.today()
    response.answers = answers
    response.field = survey_flow.field_of(questionnaire, point, answers)
    response.day = day
    response.completed_at = now
    if link_hash is not None:
        used = await session.execute(
            update(SurveyLink)
            .where(SurveyLink.token_hash == link_hash, SurveyLink.used_at.is_(None))
            .values(used_at=now)
        )
        if getattr(used, "rowcount", 0) != 1:
            response.status = "repeat"
            return False
    try:
        async with session.begin_nested():
            response.status = "counted"
            await session.flush()
    except IntegrityError:
        response.status = "repeat"
        return False
    await _aggregate(session, questionnaire, point, response)
    feedback = survey_flow.low_rating_comment(questionnaire, answers)
    if feedback is not None:
        await _forward_feedback(ctx, session, response, point, *feedback)
    return True


async def _aggregate(
    session: AsyncSession,
    questionnaire: Questionnaire,
    point: ServicePoint,
    response: SurveyResponse,
) -> None:
    by_target: dict[str, list[int]] = {}
    for q in questionnaire.questions:
        if q.kind == "rating" and q.id in response.answers:
            for target in q.feeds:
                by_target.setdefault(target, []).append(int(response.answers[q.id]))
    for target, levels in by_target.items():
        await repo.add_to_daily_counts(
            session,
            response.day,
            point.code,
            response.field or "",
            target,
            levels,
            fully_satisfied=all(level >= 4 for level in levels),
        )


async def _forward_feedback(
    ctx: Context,
    session: AsyncSession,
    response: SurveyResponse,
    point: ServicePoint,
    rating: int,
    comment: str,
) -> None:
    """Pass a low rating with a comment to the admins, without who sent it."""
    now = ctx.now()
    text = T.feedback_admin(point.name, rating, comment, response.day)
    recipients = [("telegram", str(a)) for a in sorted(ctx.admins.get("telegram", ()))]
    recipients += [(c.channel, c.chat_id) for c in await repo.admin_chats(session)]
    rows = [
        {
            "dedupe_key": f"feedback:{response.id}:{channel}:{chat}",
            "channel": channel,
            "chat_id": chat,
            "text": text,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for channel, chat in recipients
    ]
    await repo.enqueue(session, rows)
