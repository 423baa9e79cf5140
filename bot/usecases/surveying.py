"""The survey use case: start from a deep link, run the pure survey, count once, aggregate.

Rules kept here (the questions themselves are in ``surveys.survey_machine``):

* a citizen is stored only as an HMAC of the platform and user id, keyed with
  ``[survey] secret``, never the id or the name;
* one person counts once per service point per day: a second start is thanked and told so
  at once, and a race that gets past that check is stopped by the partial unique index on
  counted responses (the answers are kept as ``repeat``, not counted);
* an unfinished response is ``open`` and never counted; it expires ``[survey]
  expire_minutes`` (30) after it started, or as soon as the same person starts another;
* a one-time link (``r-<token>``, tied to a record code) counts once, whoever uses it;
* someone starting more than ``[survey] max_starts_per_hour`` (20) surveys in an hour is
  told politely to come back later, and nothing is stored for those starts.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context, new_token
from bot.usecases.people import Person, citizen_key
from bot.usecases.registration import token_hash
from bot.usecases.render import outbound, say, say_in, tell
from db import repo
from db.models import SurveyLink, SurveyResponse
from surveys import i18n, survey_machine
from surveys import texts as T
from surveys.catalogue import Questionnaire, ServicePoint
from surveys.conversation import Input
from surveys.messages import Outbound

KIND = "survey"
POINT_PREFIX = "s-"
RECORD_PREFIX = "r-"
RECORD_MAX = 64

Outcome = Literal["counted", "repeat", "link_used"]


def respondent_key(ctx: Context, channel: str, user_id: str) -> str:
    """The keyed hash that stands for a citizen (``people.citizen_key``)."""
    return citizen_key(ctx, channel, user_id)


def point_payload(point: ServicePoint) -> str:
    return POINT_PREFIX + point.code


async def create_record_link(
    ctx: Context, session: AsyncSession, point: ServicePoint, record: str
) -> str:
    """A one-time survey payload tied to a record code (hồ sơ); only its hash is stored."""
    token = new_token(12)
    session.add(
        SurveyLink(
            token_hash=token_hash(token),
            point_code=point.code,
            record_code=record[:RECORD_MAX],
            created_at=ctx.now(),
        )
    )
    return RECORD_PREFIX + token


def with_language(payload: str, language: str | None) -> str:
    """A deep-link payload that opens the survey in ``language`` (``km-s-mc-huyen``);
    Vietnamese, the default, needs no prefix."""
    return payload if language in (None, i18n.SOURCE) else f"{language}-{payload}"


def split_language(payload: str) -> tuple[str | None, str]:
    """(language, payload) of ``km-s-mc-huyen`` (or ``KM-s-…`` typed); (None, payload)
    without a language."""
    head, dash, rest = payload.partition("-")
    if dash and len(head) == 2 and i18n.supported(head) == head.lower():
        return head.lower(), rest
    return None, payload


def web_path(payload: str) -> str:
    """The web page a deep-link payload opens: ``s-POINT`` → ``/s/POINT``, ``r-TOKEN`` →
    ``/r/TOKEN``, with ``?lang=km`` for a language prefix."""
    language, payload = split_language(payload)
    if payload.startswith(RECORD_PREFIX):
        path = f"/r/{payload[len(RECORD_PREFIX) :]}"
    else:
        path = f"/s/{payload.removeprefix(POINT_PREFIX)}"
    return f"{path}?lang={language}" if language else path


def is_survey_payload(payload: str) -> bool:
    return split_language(payload)[1].startswith((POINT_PREFIX, RECORD_PREFIX))


async def _resolve(
    ctx: Context, session: AsyncSession, payload: str
) -> tuple[ServicePoint, str | None, str | None] | str:
    """(point, record code, link hash) of a deep-link payload, or what to tell the person
    (an ``N_`` sentence)."""
    if payload.startswith(RECORD_PREFIX):
        link_hash = token_hash(payload[len(RECORD_PREFIX) :])
        link = await session.get(SurveyLink, link_hash)
        if link is None:
            return T.SURVEY_UNKNOWN
        if link.used_at is not None:
            return T.SURVEY_LINK_USED
        point = ctx.catalogue.point(link.point_code)
        return (point, link.record_code, link_hash) if point is not None else T.SURVEY_UNKNOWN
    if payload.startswith(POINT_PREFIX):
        point = ctx.catalogue.point(payload[len(POINT_PREFIX) :])
        return (point, None, None) if point is not None else T.SURVEY_UNKNOWN
    return T.SURVEY_UNKNOWN


async def begin(
    ctx: Context, session: AsyncSession, person: Person, payload: str
) -> list[Outbound]:
    """``/start s-POINT`` or ``/start r-TOKEN`` (``/start km-s-POINT`` in Khmer): the first
    question at once, in the link's language, else the app's, else Vietnamese."""
    link_language, payload = split_language(payload)
    found = await _resolve(ctx, session, payload)
    if isinstance(found, str):
        return tell(person, found)
    point, record, link_hash = found
    questionnaire = ctx.catalogue.questionnaires[point.questionnaire]
    lang = survey_machine.initial_language(questionnaire, link_language, person.platform_language)

    current = await repo.conversation(session, *person.conversation_key)
    if current is not None and current.kind != KIND:
        return say(person.chat_id, T.SURVEY_BUSY_REPORT)

    now, today = ctx.now(), ctx.today()
    respondent = respondent_key(ctx, person.channel, person.user_id)
    history = await repo.respondent_history(
        session, respondent, point.code, today, now - timedelta(hours=1)
    )
    if history.started_since >= ctx.config.survey.max_starts_per_hour:
        return say_in(person.chat_id, lang, T.SURVEY_TOO_MANY)
    if history.counted_here:
        return say_in(person.chat_id, lang, T.SURVEY_ALREADY_COUNTED, point=point.name_in(lang))
    if history.open:
        await repo.expire_open_responses(session, respondent)
    response_id = await repo.open_response(
        session,
        {
            "point_code": point.code,
            "questionnaire": questionnaire.code,
            "respondent": respondent,
            "day": today,
            "language": lang,
            "answers": {},
            "record_code": record,
            "started_at": now,
            "channel": person.channel,
            "kiosk_id": None,
        },
    )
    step = survey_machine.start(questionnaire, point, lang)
    token = new_token()
    state = {
        "token": token,
        "point": point.code,
        "rid": response_id,
        "link": link_hash,
        "t0": now.isoformat(),  # when it began: the page's state expires without the database
        "m": step.state,
    }
    await repo.save_conversation(session, *person.conversation_key, KIND, state, now)
    return holding(outbound(person.chat_id, step.replies, token, lang), state)


def holding(replies: list[Outbound], state: dict[str, Any]) -> list[Outbound]:
    """The replies with the conversation's state on the last one, for a channel that keeps
    it in the page (the web: ``advance_held``); the chat channels ignore it."""
    if not replies:
        return replies
    return [*replies[:-1], replace(replies[-1], held=copy.deepcopy(state))]


def advance_held(
    ctx: Context, chat_id: str, state: dict[str, Any], given: Input
) -> list[Outbound] | None:
    """The next question of a survey whose state the page holds, without the database: the
    same pure step as ``proceed``. None when the database must decide (``proceed`` with
    this state): the last answer (completing and counting), or a state too old or not
    this catalogue's.

    The web survey's intermediate answers cost no transaction this way (a hundred citizens
    answering at once queue for SQLite's single writer otherwise: bench/web.py); what is
    stored is what the chat stores: the response opened at the start, completed and
    counted at the end, in one transaction with the conversation's end."""
    point = ctx.catalogue.point(str(state.get("point", "")))
    questionnaire = ctx.catalogue.questionnaires.get(point.questionnaire) if point else None
    machine, began = state.get("m"), state.get("t0")
    if point is None or questionnaire is None or not isinstance(machine, dict):
        return None
    try:
        started = datetime.fromisoformat(str(began))
    except ValueError:
        return None
    expired = started <= ctx.now() - timedelta(minutes=ctx.config.survey.expire_minutes)
    if expired or machine.get("i", 0) >= len(survey_machine.questions(questionnaire, point)):
        return None
    step = survey_machine.step(questionnaire, point, machine, given)
    if step.done is not None or step.state is None:
        return None
    lang = survey_machine.language_of(step.state)
    replies = outbound(chat_id, step.replies, str(state["token"]), lang)
    return holding(replies, {**state, "m": step.state})


async def proceed(
    ctx: Context, session: AsyncSession, person: Person, held: dict[str, Any], given: Input
) -> list[Outbound]:
    """The answer ``given`` to the survey in ``held``: the conversation's stored state, or
    the one the page held (the web), checked by the caller to be this conversation's."""
    state = copy.deepcopy(held)  # never mutate what the session loaded
    point = ctx.catalogue.point(state["point"])
    response = await session.get(SurveyResponse, state["rid"])
    now = ctx.now()
    minutes = ctx.config.survey.expire_minutes
    questionnaire = ctx.catalogue.questionnaires.get(point.questionnaire) if point else None
    if (
        point is None
        or questionnaire is None
        or response is None
        or response.status != "open"
        or response.started_at <= now - timedelta(minutes=minutes)
        or state["m"]["i"] >= len(survey_machine.questions(questionnaire, point))
    ):
        if response is not None and response.status == "open":
            response.status = "expired"
        await repo.save_conversation(session, *person.conversation_key, KIND, None, now)
        lang = survey_machine.language_of(state["m"])
        return say_in(person.chat_id, lang, T.SURVEY_EXPIRED, minutes=minutes)
    step = survey_machine.step(questionnaire, point, state["m"], given)
    lang = survey_machine.language_of(step.state or state["m"])
    if step.done is None:
        state["m"] = step.state
        await repo.save_conversation(session, *person.conversation_key, KIND, state, now)
        return holding(outbound(person.chat_id, step.replies, state["token"], lang), state)
    await repo.save_conversation(session, *person.conversation_key, KIND, None, now)
    outcome = await _finish(
        ctx, session, response, questionnaire, point, step.done, state.get("link"), lang
    )
    if outcome == "counted" and questionnaire.thanks is not None:
        text = questionnaire.thanks(lang)
    else:
        sentence = {"counted": T.SURVEY_THANKS, "link_used": T.SURVEY_LINK_USED}
        text = i18n.translate(lang, sentence.get(outcome, T.SURVEY_REPEAT))
    return say(person.chat_id, text, language=lang)


async def _finish(
    ctx: Context,
    session: AsyncSession,
    response: SurveyResponse,
    questionnaire: Questionnaire,
    point: ServicePoint,
    answers: dict[str, Any],
    link_hash: str | None,
    language: str,
) -> Outcome:
    """Complete the response (in ``language``, the one it was finished in); count it unless
    this person already counted here today (or the one-time link was used meanwhile)."""
    now = ctx.now()
    completed = {
        "answers": answers,
        "field": survey_machine.field_of(questionnaire, point, answers),
        "day": ctx.today(),
        "language": language,
        "completed_at": now,
    }
    if link_hash is not None:
        used = await session.execute(
            update(SurveyLink)
            .where(SurveyLink.token_hash == link_hash, SurveyLink.used_at.is_(None))
            .values(used_at=now)
        )
        if getattr(used, "rowcount", 0) != 1:
            await repo.complete_response(session, response, completed, count=False)
            return "link_used"
    if await repo.complete_response(session, response, completed, count=True) != "counted":
        return "repeat"
    await aggregate_counted(session, questionnaire, point, response)
    await forward_low_rating(ctx, session, questionnaire, point, response)
    return "counted"


async def aggregate_counted(
    session: AsyncSession,
    questionnaire: Questionnaire,
    point: ServicePoint,
    response: SurveyResponse,
) -> None:
    by_target = survey_machine.ratings_by_target(questionnaire, response.answers)
    await repo.add_to_daily_counts(
        session, response.day, point.code, response.field or "", by_target, response.channel or ""
    )


async def forward_low_rating(
    ctx: Context,
    session: AsyncSession,
    questionnaire: Questionnaire,
    point: ServicePoint,
    response: SurveyResponse,
) -> None:
    """Queue a counted low rating that came with a comment for every admin and admin group,
    without who sent it: the text names the point, the day, the rating and the comment."""
    feedback = survey_machine.low_rating_comment(questionnaire, response.answers)
    if feedback is None:
        return
    rating, comment = feedback
    now = ctx.now()
    text = T.feedback_admin(point.name, rating, comment, response.day)
    recipients = ctx.admin_accounts()
    recipients += [(c.channel, c.chat_id) for c in await repo.admin_chats(session)]
    rows = [
        repo.outbox_row(f"feedback:{response.id}:{channel}:{chat}", channel, chat, text, now)
        for channel, chat in recipients
    ]
    await repo.enqueue(session, rows)
