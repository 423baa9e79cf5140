"""``/khaosat_chinhthuc`` (``/official``): an admin enters a figure from an official survey.

    /khaosat_chinhthuc 14 87,5            target 14 scored 87,5 % in an official survey
    /khaosat_chinhthuc 16 91 1200         … with its sample size
    /khaosat_chinhthuc 15 88 400 2026-Q3  … for an earlier round

Official surveys (SIPAS of Bộ Nội vụ, the health ministry's survey) are run by others with
their own method, so their figure is stored apart (``official_survey_figures``) and shown
beside the bot's own rate, never pooled with it. A new entry for the same round and target
replaces the shown figure; earlier entries are kept.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context
from bot.usecases.people import Person
from bot.usecases.render import say
from bot.usecases.status import ROUND_KEY, current_round
from db import repo
from db.models import OfficialSurveyFigure
from surveys import texts as T
from surveys.messages import Outbound
from surveys.numbers import NumberError, format_percent, parse_number


def _sample(text: str) -> int | None:
    try:
        number = parse_number(text, allow_percent=False)
    except NumberError:
        return None
    if number != number.to_integral_value() or number <= 0:
        return None
    return int(number)


def _percent(text: str) -> Decimal | None:
    try:
        number = parse_number(text)
    except NumberError:
        return None
    return number if number <= 100 else None


async def official_command(
    ctx: Context, session: AsyncSession, person: Person, args: str
) -> list[Outbound]:
    targets = ctx.catalogue.indicators.survey_targets()
    codes = ", ".join(i.code for i in targets)
    words = args.split()
    round_key = words.pop() if len(words) > 2 and ROUND_KEY.match(words[-1]) else None
    if len(words) not in (2, 3):
        return say(person.chat_id, T.OFFICIAL_USAGE.format(codes=codes))
    indicator = next((i for i in targets if i.code == words[0].lower()), None)
    if indicator is None:
        return say(person.chat_id, T.OFFICIAL_BAD_TARGET.format(code=words[0], codes=codes))
    value = _percent(words[1])
    if value is None:
        return say(person.chat_id, T.OFFICIAL_BAD_VALUE.format(text=words[1]))
    sample = _sample(words[2]) if len(words) == 3 else None
    if len(words) == 3 and sample is None:
        return say(person.chat_id, T.OFFICIAL_BAD_SAMPLE.format(text=words[2]))
    if round_key is None:
        round_ = await current_round(ctx, session)
    else:
        found = await repo.round_by_key(session, round_key.upper())
        if found is None:
            return say(person.chat_id, T.ROUND_UNKNOWN.format(key=round_key))
        round_ = found
    session.add(
        OfficialSurveyFigure(
            round_id=round_.id,
            target=indicator.code,
            value=float(value),
            sample=sample,
            entered_by=person.name[:200],
            entered_at=ctx.now(),
        )
    )
    return say(
        person.chat_id,
        T.official_saved(
            indicator.code, indicator.name, format_percent(value), sample, round_.title
        ),
    )
