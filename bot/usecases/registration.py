"""Invitations: random, single-use, expiring links that register a unit head."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context
from bot.usecases.people import Person
from db import repo
from db.models import AdminChat, Invitation
from surveys import texts as T

INVITE_PREFIX = "i-"
INVITE_BYTES = 24  # 192 bits of randomness; the payload stays under Telegram's 64 characters


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_invitation(ctx: Context, session: AsyncSession, unit_code: str) -> str:
    """A new invitation for ``unit_code``; returns the deep-link payload (kept nowhere)."""
    token = secrets.token_urlsafe(INVITE_BYTES)
    now = ctx.now()
    session.add(
        Invitation(
            token_hash=token_hash(token),
            unit_code=unit_code,
            created_at=now,
            expires_at=now + timedelta(days=ctx.config.delivery.invite_days),
        )
    )
    return INVITE_PREFIX + token


async def accept_invitation(ctx: Context, session: AsyncSession, person: Person, token: str) -> str:
    """Register ``person`` for the invitation's unit; the answer to show them."""
    if person.member is not None and person.unit is not None:
        return T.INVITE_ALREADY.format(unit=person.unit.name)
    now = ctx.now()
    invitation = await session.get(Invitation, token_hash(token))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        return T.INVITE_INVALID.format(**ctx.catalogue.org.words.values())
    unit = ctx.catalogue.org.unit(invitation.unit_code)
    if unit is None:
        return T.INVITE_INVALID.format(**ctx.catalogue.org.words.values())
    member = repo.add_member(
        session, unit.code, person.channel, person.user_id, person.name, now, chat_id=person.chat_id
    )
    await session.flush()
    # Claim the invitation only if nobody claimed it meanwhile (single use, even when racing).
    claimed = await session.execute(
        update(Invitation)
        .where(Invitation.token_hash == invitation.token_hash, Invitation.used_at.is_(None))
        .values(used_at=now, used_by=member.id)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        await session.delete(member)
        return T.INVITE_INVALID.format(**ctx.catalogue.org.words.values())
    return T.INVITE_OK.format(unit=unit.name)


async def register_group(ctx: Context, session: AsyncSession, person: Person) -> str:
    if not person.is_admin:
        return T.ADMIN_ONLY.format(**ctx.catalogue.org.words.values())
    if await session.get(AdminChat, (person.channel, person.chat_id)) is None:
        session.add(
            AdminChat(
                channel=person.channel,
                chat_id=person.chat_id,
                registered_by=person.user_id,
                registered_at=ctx.now(),
            )
        )
    return T.GROUP_REGISTERED.format(**ctx.catalogue.org.words.values())
