"""Who is talking: an admin of Phòng Nội vụ, a registered unit head, or a citizen."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Context
from bot.messages import Inbound
from db import repo
from db.models import AdminChat, Member
from surveys.catalogue import Unit


@dataclass(frozen=True)
class Person:
    channel: str
    user_id: str
    chat_id: str
    name: str
    is_admin: bool
    member: Member | None
    unit: Unit | None
    in_admin_group: bool = False

    @property
    def may_see_status(self) -> bool:
        return self.is_admin or self.in_admin_group


async def identify(ctx: Context, session: AsyncSession, inbound: Inbound) -> Person:
    member = await repo.member_of(session, inbound.channel, inbound.user_id)
    unit = ctx.catalogue.org.unit(member.unit_code) if member is not None else None
    in_group = False
    if inbound.chat_type == "group":
        in_group = await session.get(AdminChat, (inbound.channel, inbound.chat_id)) is not None
    return Person(
        channel=inbound.channel,
        user_id=inbound.user_id,
        chat_id=inbound.chat_id,
        name=inbound.display_name or inbound.user_id,
        is_admin=ctx.is_admin(inbound.channel, inbound.user_id),
        member=member,
        unit=unit,
        in_admin_group=in_group,
    )
