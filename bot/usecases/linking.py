"""One unit head, two platforms: ``/lienket`` (``/link``) links a second account.

A registered member asks for a code with ``/lienket`` and sends ``/lienket CODE`` (or the
code alone) from the other account within ten minutes. The other account is then registered
for the same unit as the same person (``members.person_id`` names the first account), so
reminders reach both and the conversation is shared (``Person.conversation_key``).

A code is six random digits, single use, valid ten minutes; only its SHA-256 is kept. Six
digits are few, so guessing is bounded: every wrong code tried counts against *all* codes
valid at that moment, and a code that has seen ``MAX_FAILURES`` wrong tries is dead (its
owner simply asks for a new one). With a handful of valid codes an attacker's chance stays
around one in ten thousand.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context
from bot.usecases.people import Person
from db import repo
from db.models import LinkCode, Member
from surveys import texts as T

CODE_DIGITS = 6
VALID_MINUTES = 10
MAX_FAILURES = 20
_CODE = re.compile(rf"\d{{{CODE_DIGITS}}}")


def is_code(text: str) -> bool:
    return _CODE.fullmatch(text.strip()) is not None


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def link_command(ctx: Context, session: AsyncSession, person: Person, args: str) -> str:
    """``/lienket``: a new code for a member; ``/lienket CODE``: link this account."""
    code = "".join(args.split())
    if not code:
        return await new_code(ctx, session, person)
    if not is_code(code):
        return T.LINK_USAGE
    return await use_code(ctx, session, person, code)


async def new_code(ctx: Context, session: AsyncSession, person: Person) -> str:
    if person.member is None or person.unit is None:
        return T.LINK_MEMBER_ONLY
    now = ctx.now()
    # A new code replaces the member's earlier ones.
    await session.execute(
        update(LinkCode)
        .where(
            LinkCode.member_id == person.member.id,
            LinkCode.used_at.is_(None),
            LinkCode.expires_at > now,
        )
        .values(expires_at=now)
    )
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if await _valid(session, code, ctx) is None:  # never two valid codes alike
            break
    session.add(
        LinkCode(
            code_hash=_hash(code),
            member_id=person.member.id,
            created_at=now,
            expires_at=now + timedelta(minutes=VALID_MINUTES),
            failures=0,
        )
    )
    return T.link_code(code, VALID_MINUTES)


async def _valid(session: AsyncSession, code: str, ctx: Context) -> LinkCode | None:
    return await session.scalar(
        select(LinkCode).where(
            LinkCode.code_hash == _hash(code),
            LinkCode.used_at.is_(None),
            LinkCode.expires_at > ctx.now(),
            LinkCode.failures < MAX_FAILURES,
        )
    )


async def use_code(ctx: Context, session: AsyncSession, person: Person, code: str) -> str:
    """Register this account as another account of the code's member."""
    code = code.strip()
    now = ctx.now()
    found = await _valid(session, code, ctx)
    if found is None:
        await session.execute(
            update(LinkCode)
            .where(LinkCode.used_at.is_(None), LinkCode.expires_at > now)
            .values(failures=LinkCode.failures + 1)
        )
        return T.LINK_INVALID
    source = await session.get(Member, found.member_id)
    unit = ctx.catalogue.org.unit(source.unit_code) if source is not None else None
    if source is None or unit is None:
        return T.LINK_INVALID
    first_id = source.person_id or source.id
    if person.member is not None:
        mine = person.member.person_id or person.member.id
        if mine == first_id:
            return T.LINK_SAME
        own = person.unit.name if person.unit is not None else unit.name
        return T.LINK_ALREADY.format(unit=own)
    claimed = await session.execute(
        update(LinkCode)
        .where(LinkCode.id == found.id, LinkCode.used_at.is_(None))
        .values(used_at=now)
    )
    if getattr(claimed, "rowcount", 0) != 1:  # used by someone else a moment ago
        return T.LINK_INVALID
    source.person_id = first_id
    repo.add_member(
        session,
        source.unit_code,
        person.channel,
        person.user_id,
        person.name,
        now,
        chat_id=person.chat_id,
        person_id=first_id,
    )
    # Whatever this account was doing alone (a survey) ends: from now on it shares the
    # conversation of the first account.
    await repo.save_conversation(session, person.channel, person.user_id, "", None, now)
    return T.LINK_OK.format(unit=unit.name)
