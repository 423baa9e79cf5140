"""``/qr POINT [RECORD]``: a survey poster in the chat, for staff.

Staff are admins and registered unit heads. Admins may make a poster for any point; a unit
head for the points of their own unit and of the units below it. With a record code (hồ sơ)
the link is single-use: whoever answers through it first is counted, the next is told the
link was used. The reply is one photo (the printable poster) whose caption holds the link.
"""

from __future__ import annotations

import asyncio
import re

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context
from bot.usecases.people import Person
from bot.usecases.render import say
from bot.usecases.surveying import (
    RECORD_MAX,
    create_record_link,
    point_payload,
    web_path,
    with_language,
)
from reports.fonts import FontMissing
from reports.poster import poster_png
from surveys import i18n, survey_machine
from surveys import texts as T
from surveys.catalogue import Organisation, ServicePoint
from surveys.messages import Outbound

RECORD_CODE = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._/-]{{0,{RECORD_MAX - 1}}}$")


def _within(org: Organisation, code: str | None, ancestor: str) -> bool:
    """Whether unit ``code`` is ``ancestor`` or one of the units below it."""
    seen: set[str] = set()
    while code is not None and code not in seen:
        if code == ancestor:
            return True
        seen.add(code)
        unit = org.unit(code)
        code = unit.parent if unit is not None else None
    return False


def points_for(ctx: Context, person: Person) -> tuple[ServicePoint, ...]:
    """The service points this person may print a poster for."""
    if person.is_admin:
        return ctx.catalogue.points
    if person.unit is None:
        return ()
    org = ctx.catalogue.org
    unit_code = person.unit.code
    return tuple(p for p in ctx.catalogue.points if _within(org, p.unit, unit_code))


async def qr_command(
    ctx: Context, session: AsyncSession, person: Person, args: str
) -> list[Outbound]:
    allowed = points_for(ctx, person)
    codes = ", ".join(p.code for p in allowed) or "—"
    words = args.split()
    # A last word naming a language (km, en) prints the poster in it: "/qr mc-xa-1 km".
    language = i18n.supported(words[-1]) if len(words) > 1 else None
    if language is not None and words[-1].lower() == language:
        words = words[:-1]
    language = language or i18n.SOURCE
    if not words or len(words) > 2:
        return say(person.chat_id, T.QR_USAGE.format(points=codes))
    point = next((p for p in allowed if p.code == words[0].lower()), None)
    if point is None:
        return say(person.chat_id, T.QR_UNKNOWN_POINT.format(code=words[0], points=codes))
    if language not in survey_machine.languages(ctx.catalogue.questionnaires[point.questionnaire]):
        return say(person.chat_id, T.QR_NO_LANGUAGE.format(point=point.code, language=language))
    record = words[1] if len(words) == 2 else None
    if record is not None and not RECORD_CODE.match(record):
        return say(person.chat_id, T.QR_BAD_RECORD.format(record=record[:80]))
    if record is None:
        payload = point_payload(point)
    else:
        payload = await create_record_link(ctx, session, point, record)
    payload = with_language(payload, language)
    web = ctx.config.web  # the web page once it is public (it works for everyone)
    if web.posters_open_the_web:
        link = web.base_url() + web_path(payload)
    else:
        link = ctx.deep_link(payload)
    note = i18n.translate(language, T.POSTER_RECORD).format(record=record) if record else None
    instruction = i18n.translate(language, T.POSTER_INSTRUCTION)
    try:
        png = await asyncio.to_thread(
            poster_png, link, point.name_in(language), note, instruction
        )
    except FontMissing as exc:
        return say(person.chat_id, str(exc))
    return [Outbound(person.chat_id, T.qr_caption(point.name, link, record), photo=png)]
