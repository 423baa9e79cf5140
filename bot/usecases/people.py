"""Who is talking: an admin of Phòng Nội vụ, a registered unit head, or a citizen."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context
from db import repo
from db.models import AdminChat, Member
from surveys import i18n
from surveys.catalogue import Unit
from surveys.messages import Inbound


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
    # (channel, user id) of the account a unit head registered with first, when this is
    # another account of theirs linked with /lienket (see ``conversation_key``)
    first_account: tuple[str, str] | None = None
    # the shipped language the person's app is set to (Telegram's language_code), if any
    platform_language: str | None = None
    # a citizen's keyed hash (``citizen_key``): their conversation is kept under it, so no
    # table holds a citizen's platform id (nor a web visitor's cookie); None for officials
    pseudonym: str | None = None

    @property
    def language(self) -> str:
        """What the bot answers in: officials always Vietnamese; a citizen their app's
        language where the citizens' catalogue has it (a survey keeps its own choice)."""
        if self.is_admin or self.member is not None:
            return i18n.SOURCE
        return self.platform_language or i18n.SOURCE

    def tr(self, message: str) -> str:
        """An ``N_`` sentence in this person's language."""
        return i18n.translate(self.language, message)

    @property
    def may_see_status(self) -> bool:
        return self.is_admin or self.in_admin_group

    @property
    def conversation_key(self) -> tuple[str, str]:
        """Where this person's conversation is kept: under their first account, so that a
        report begun on Telegram goes on on Zalo (and back) once the accounts are linked.

        A real account rather than a made-up "person" key, so that what reads conversations
        as chats (the scheduler's nudge, "busy reporting") keeps working."""
        if self.first_account is not None:
            return self.first_account
        return (self.channel, self.pseudonym or self.user_id)


def citizen_key(ctx: Context, channel: str, user_id: str) -> str:
    """The keyed hash (HMAC-SHA256 with ``[survey] secret``) that stands for a citizen;
    the raw id is never stored."""
    message = f"{channel}:{user_id}".encode()
    return hmac.digest(ctx.config.survey.secret.encode(), message, "sha256").hex()


async def identify(ctx: Context, session: AsyncSession, inbound: Inbound) -> Person:
    """Who sent ``inbound``. Most messages come from citizens in the middle of a survey:
    their member lookup also reads the conversation the core looks at next
    (``repo.member_and_conversation``), so that costs no query of its own."""
    is_admin = ctx.is_admin(inbound.channel, inbound.user_id)
    pseudonym = None if is_admin else citizen_key(ctx, inbound.channel, inbound.user_id)
    member = await repo.member_and_conversation(
        session, inbound.channel, inbound.user_id, pseudonym
    )
    if member is not None:
        pseudonym = None
    if member is not None and member.unreachable_at is not None:
        # They wrote to the bot, so it can reach them again: reminders resume.
        member.unreachable_at = None
    unit = ctx.catalogue.org.unit(member.unit_code) if member is not None else None
    first: tuple[str, str] | None = None
    if member is not None and member.person_id is not None and member.person_id != member.id:
        anchor = await session.get(Member, member.person_id)
        if anchor is not None:
            first = (anchor.channel, anchor.user_id)
    in_group = False
    if inbound.chat_type == "group":
        in_group = await session.get(AdminChat, (inbound.channel, inbound.chat_id)) is not None
    return Person(
        channel=inbound.channel,
        user_id=inbound.user_id,
        chat_id=inbound.chat_id,
        name=inbound.display_name or inbound.user_id,
        is_admin=is_admin,
        member=member,
        unit=unit,
        in_admin_group=in_group,
        first_account=first,
        platform_language=i18n.supported(inbound.language_code),
        pseudonym=pseudonym,
    )


class Role(Enum):
    """Who may use a chat command. The router checks it once, before the command runs
    (``bot.usecases.router.COMMANDS``)."""

    ANYONE = "anyone"
    STAFF = "staff"  # admins and registered unit heads
    MEMBER = "member"  # registered unit heads only (their own phone number, /sodienthoai)
    STATUS = "status"  # admins, and the admin groups they registered
    ADMIN = "admin"  # admins of Phòng Nội vụ ([access] admins)

    def allows(self, person: Person) -> bool:
        if self is Role.STAFF:
            return person.is_admin or person.member is not None
        if self is Role.MEMBER:
            return person.member is not None
        if self is Role.STATUS:
            return person.may_see_status
        if self is Role.ADMIN:
            return person.is_admin
        return True
