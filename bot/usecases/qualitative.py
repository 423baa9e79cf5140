"""``/dinhtinh`` (``/qualitative``): a unit's short text on the qualitative part of a target.

    /dinhtinh 13 Đã cử 2 công chức học đại học      a unit head, for their unit's round
    /dinhtinh XA-CK 13 …                             an admin, on the unit's behalf

Targets 10 and 13 of the plan have parts that are no number (``qualitative`` in
indicators.toml); reports list them as such, with the units' texts, instead of dropping them.
The latest text per round, unit and indicator is shown; every one is kept.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context
from bot.usecases.people import Person
from bot.usecases.render import say
from db.models import QualitativeNote
from scheduler.rounds import round_for_unit
from surveys import texts as T
from surveys.messages import Outbound

TEXT_LIMIT = 500


async def qualitative_command(
    ctx: Context, session: AsyncSession, person: Person, args: str
) -> list[Outbound]:
    catalogue = ctx.catalogue
    with_parts = [i for i in catalogue.indicators.indicators if i.qualitative]
    codes = ", ".join(i.code for i in with_parts) or "—"
    words = args.split(maxsplit=2)
    unit = person.unit
    if person.is_admin and len(words) == 3 and catalogue.org.unit(words[0]) is not None:
        unit = catalogue.org.unit(words[0])
        words = words[1:]
    else:
        words = args.split(maxsplit=1)
    if unit is None or len(words) != 2 or not words[1].strip():
        return say(
            person.chat_id,
            T.QUALITATIVE_USAGE.format(
                limit=TEXT_LIMIT, codes=codes, office=catalogue.org.words.office
            ),
        )
    indicator = catalogue.indicators.get(words[0])
    if indicator is None or not indicator.qualitative:
        return say(person.chat_id, T.QUALITATIVE_BAD_INDICATOR.format(code=words[0], codes=codes))
    if not indicator.applies_to(unit):
        return say(
            person.chat_id, T.QUALITATIVE_NOT_DUE.format(unit=unit.name, code=indicator.code)
        )
    text = " ".join(words[1].split())
    if len(text) > TEXT_LIMIT:
        return say(
            person.chat_id, T.QUALITATIVE_TOO_LONG.format(length=len(text), limit=TEXT_LIMIT)
        )
    round_ = await round_for_unit(session, catalogue, unit)
    if round_ is None:
        return say(person.chat_id, T.QUALITATIVE_NO_ROUND.format(unit=unit.name))
    session.add(
        QualitativeNote(
            round_id=round_.id,
            unit_code=unit.code,
            indicator_code=indicator.code,
            text=text,
            entered_by=person.name[:200],
            entered_at=ctx.now(),
        )
    )
    return say(
        person.chat_id,
        T.QUALITATIVE_SAVED.format(
            code=indicator.code, unit=unit.name, period=round_.title, text=text
        ),
    )
