"""``/dotxuat`` (``/round``): admins open ad-hoc rounds, close and extend rounds.

/dotxuat                                   open rounds and how to use the command
/dotxuat Tiêu đề | 31/12/2026 | PNV xa | 2 5c
                                           open an ad-hoc round: title, deadline, the
                                           units asked (codes or unit kinds, "tất cả"),
                                           the indicators asked (codes, "tất cả")
/dotxuat dong KEY                          close a round (no more reports or corrections)
/dotxuat giahan KEY 20/12/2026             move a round's deadline
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context
from bot.usecases.people import Person
from bot.usecases.render import say
from db import repo
from db.models import Round
from surveys import texts as T
from surveys.conversation import fold
from surveys.messages import Outbound

ALL_WORDS = ("tat ca", "all", "*")
TITLE_MAX = 150


def parse_date(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), "%d/%m/%Y").date()
    except ValueError:
        return None


def _units(ctx: Context, text: str) -> tuple[list[str] | None, list[str]]:
    """(unit codes or None for every reporting unit, unknown words)."""
    words = text.split()
    if not words or fold(text) in ALL_WORDS:
        return None, []
    org = ctx.catalogue.org
    codes: list[str] = []
    unknown: list[str] = []
    for word in words:
        unit = org.unit(word)
        if unit is not None and unit.reports:
            codes.append(unit.code)
        elif word in org.kinds:
            codes += [u.code for u in org.reporting_units() if u.kind == word]
        else:
            unknown.append(word)
    return sorted(set(codes)), unknown


def _indicators(ctx: Context, text: str) -> tuple[list[str] | None, list[str]]:
    words = text.split()
    if not words or fold(text) in ALL_WORDS:
        return None, []
    codes: list[str] = []
    unknown: list[str] = []
    for word in words:
        indicator = ctx.catalogue.indicators.get(word)
        if indicator is not None and indicator.kind != "survey":
            codes.append(indicator.code)
        else:
            unknown.append(word)
    return codes, unknown


async def _listing(ctx: Context, session: AsyncSession) -> str:
    lines = [T.ROUND_USAGE, "", T.ROUNDS_OPEN_HEADER]
    for r in await repo.open_rounds(session):
        lines.append(f"• {r.key} — {r.title}, hạn nộp {T.d(r.deadline)}")
    return "\n".join(lines)


async def round_command(
    ctx: Context, session: AsyncSession, person: Person, args: str
) -> list[Outbound]:
    words = args.split()
    if not words:
        return say(person.chat_id, await _listing(ctx, session))
    verb = fold(words[0])
    if verb in ("dong", "close") and len(words) == 2:
        return say(person.chat_id, await _close(ctx, session, words[1]))
    if verb in ("giahan", "gia han", "extend") and len(words) == 3:
        return say(person.chat_id, await _extend(ctx, session, words[1], words[2]))
    return say(person.chat_id, await _open(ctx, session, args))


async def _close(ctx: Context, session: AsyncSession, key: str) -> str:
    round_ = await repo.round_by_key(session, key.upper())
    if round_ is None:
        return T.ROUND_UNKNOWN.format(key=key)
    if round_.closed_at is None:
        round_.closed_at = ctx.now()
    return T.ROUND_CLOSED_OK.format(key=round_.key, title=round_.title)


async def _extend(ctx: Context, session: AsyncSession, key: str, when: str) -> str:
    round_ = await repo.round_by_key(session, key.upper())
    if round_ is None:
        return T.ROUND_UNKNOWN.format(key=key)
    deadline = parse_date(when)
    if deadline is None:
        return T.ROUND_BAD_DATE.format(text=when)
    if deadline < ctx.today() or deadline < round_.window_start:
        return T.ROUND_PAST_DATE
    round_.deadline = deadline
    round_.window_end = (
        max(round_.window_end, deadline) if round_.kind == "ad_hoc" else round_.window_end
    )
    round_.closed_at = None
    return T.ROUND_EXTENDED.format(key=round_.key, deadline=T.d(deadline))


async def _open(ctx: Context, session: AsyncSession, args: str) -> str:
    parts = [p.strip() for p in args.split("|")]
    if len(parts) != 4:
        return T.ROUND_USAGE
    title, when, units_text, indicators_text = parts
    if not title or len(title) > TITLE_MAX:
        return T.ROUND_BAD_TITLE.format(limit=TITLE_MAX)
    deadline = parse_date(when)
    if deadline is None:
        return T.ROUND_BAD_DATE.format(text=when)
    today = ctx.today()
    if deadline < today:
        return T.ROUND_PAST_DATE
    units, bad_units = _units(ctx, units_text)
    indicators, bad_indicators = _indicators(ctx, indicators_text)
    if bad_units or bad_indicators or units == [] or indicators == []:
        return T.ROUND_BAD_CODES.format(codes=", ".join(bad_units + bad_indicators) or "—")
    count = await session.scalar(
        select(func.count()).select_from(Round).where(Round.kind == "ad_hoc")
    )
    key = f"DX-{today.year}-{(count or 0) + 1}"
    session.add(
        Round(
            key=key,
            kind="ad_hoc",
            title=f"Đột xuất: {title}",
            window_start=today,
            window_end=deadline,
            deadline=deadline,
            opened_at=ctx.now(),
            unit_codes=units,
            indicator_codes=indicators,
        )
    )
    asked_units = "tất cả đơn vị" if units is None else f"{len(units)} đơn vị"
    asked_indicators = "tất cả chỉ tiêu" if indicators is None else ", ".join(indicators)
    return T.ROUND_OPENED.format(
        key=key, title=title, deadline=T.d(deadline), units=asked_units, indicators=asked_indicators
    )
