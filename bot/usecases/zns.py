"""ZNS reminders by phone number: the unit head's number (``/sodienthoai``) and the way a
reminder the Zalo OA would not carry goes by ZNS instead.

**The number.** A registered unit head types ``/sodienthoai 0912 345 678`` (any of the forms
``surveys.phones`` accepts); it is kept, as "84" + 9 digits, on the member row of the account
they registered with first (so one number serves all their linked accounts) and shown back
masked, "091****678". ``/sodienthoai`` alone shows it (masked) and how to change it;
``/sodienthoai xoa`` removes it. Only registered unit heads may give one; it is never logged
in the clear (``bot.app.logs`` masks Vietnamese mobile numbers in every line).

**The other way** (``ZnsFallback``, handed to the outbox as its ``Fallback``): when the OA
refuses a reminder with -230 (the person has not written to the OA for 7 days), ZNS is on
(``[zalo_oa.zns] enabled``), the person gave a number and has no other registered account
still reachable (a reminder that reached them on Telegram is not paid for again), one row is
queued on ``ZNS_CHANNEL`` with the reminder's own key shape (``remind:<round>:zalo_zns:
m<member>:<step>``): a second -230 for the same step, a restart or a second process queue
nothing more (the outbox's unique key), and the row is skipped at claim time like any
reminder when the unit has reported meanwhile. Its chat id names the member, not the
number: the sender reads the number when it sends (a number removed meanwhile is not used),
and no outbox row, log line or error holds it. Its text is the template's data, built here
when it is queued (``template_data``) with its ``tracking_id``.

When the ZNS message fails for good (a refusal, or retries used up), the admins are told
once per member and round that the member could not be reached at all (``gave_up``); the
OA's own -230 notice is not sent while ZNS is trying.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.usecases.context import Context
from bot.usecases.people import Person
from bot.usecases.render import say
from bot.usecases.settings import ZnsConfig
from db import repo
from db.models import Member, OutboxMessage, Round, Unit
from scheduler.reminders import reminder_key
from surveys import phones
from surveys import texts as T
from surveys.messages import Outbound

log = logging.getLogger(__name__)

ZNS_CHANNEL = "zalo_zns"  # the outbox channel of ZNS messages
OA_CHANNEL = "zalo_oa"  # bot.channels.zalo_oa.CHANNEL
CHAT_PREFIX = "m"  # a ZNS row's chat id: "m<member id>"
REMINDER_PREFIX = "remind:"  # scheduler.reminders.reminder_key
REMOVE_WORDS = frozenset({"xoa", "xóa", "xoá", "huy", "hủy", "huỷ", "remove", "delete"})


# --------------------------------------------------------------------------- pure parts


@dataclass(frozen=True)
class ReminderFacts:
    """What a reminder says, for the template: the unit, the round, the day it is sent."""

    unit: str
    unit_code: str
    name: str
    period: str
    deadline: date  # the last day a report is on time (Round.deadline)
    today: date
    recipient: str


def field_values(facts: ReminderFacts) -> dict[str, str]:
    """Every field the bot can fill (``ZNS_FIELDS``), as text: dates dd/mm/yyyy, the
    deadline worded as the chat reminder words it ("trước ngày" the day after the last day
    on time, ``surveys.texts.reminder``)."""
    days_left = (facts.deadline - facts.today).days
    if days_left < 0:
        status = f"đã quá hạn {-days_left} ngày"
    elif days_left == 0:
        status = "hôm nay là ngày cuối"
    else:
        status = f"còn {days_left} ngày"
    return {
        "unit": facts.unit,
        "unit_code": facts.unit_code,
        "name": facts.name,
        "period": facts.period,
        "deadline": T.d(facts.deadline + timedelta(days=1)),
        "last_day": T.d(facts.deadline),
        "days_left": str(max(days_left, 0)),
        "status": status,
        "recipient": facts.recipient,
    }


def template_data(params: tuple[tuple[str, str], ...], facts: ReminderFacts) -> dict[str, str]:
    """The template's ``template_data``: each configured parameter name with the value of
    the field it is mapped to (``[zalo_oa.zns.params]``)."""
    values = field_values(facts)
    return {name: values[field] for name, field in params}


def tracking_id(dedupe_key: str) -> str:
    """The ``tracking_id`` of a ZNS row, from its key (the same reminder, the same id)."""
    return "cchc" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:28]


def encode_payload(tracking: str, data: dict[str, str]) -> str:
    """A ZNS row's text: its tracking id and template data, as JSON."""
    return json.dumps({"tracking_id": tracking, "template_data": data}, ensure_ascii=False)


def decode_payload(text: str) -> tuple[str, dict[str, str]]:
    """``encode_payload``'s (tracking id, template data); ValueError when it is not one."""
    payload = json.loads(text)
    if not isinstance(payload, dict):
        raise ValueError("not a ZNS payload")
    tracking, data = payload.get("tracking_id"), payload.get("template_data")
    if not isinstance(tracking, str) or not isinstance(data, dict):
        raise ValueError("not a ZNS payload")
    return tracking, {str(k): str(v) for k, v in data.items()}


def chat_of(member_id: int) -> str:
    return f"{CHAT_PREFIX}{member_id}"


def member_of(chat_id: str) -> int | None:
    """The member id a ZNS row's chat id names; None when it names none."""
    digits = chat_id.removeprefix(CHAT_PREFIX)
    return int(digits) if chat_id.startswith(CHAT_PREFIX) and digits.isdigit() else None


# --------------------------------------------------------------------------- the number


def _anchor_id(member: Member) -> int:
    """The member row of the account the person registered with first."""
    return member.person_id or member.id


async def phone_of(sessions: async_sessionmaker[AsyncSession], member_id: int) -> str | None:
    """The number ZNS goes to for ``member_id`` (their person's), when they gave one."""
    async with sessions() as session:
        member = await session.get(Member, member_id)
        if member is None:
            return None
        anchor = await session.get(Member, _anchor_id(member))
        return anchor.phone if anchor is not None else None


async def phone_command(
    ctx: Context, session: AsyncSession, person: Person, args: str
) -> list[Outbound]:
    """``/sodienthoai [số | xoa]`` (see the module docstring); registered unit heads only
    (the command table's role)."""
    member = person.member
    if member is None:  # the command table lets only unit heads in
        return say(person.chat_id, T.MEMBER_ONLY.format(**ctx.catalogue.org.words.values()))
    anchor = await session.get(Member, _anchor_id(member)) or member
    typed = args.strip()
    zns_on = ctx.config.zalo_oa.zns.enabled
    if not typed:
        text = T.phone_shown(phones.masked(anchor.phone)) if anchor.phone else T.PHONE_NONE
        return say(person.chat_id, text + ("" if zns_on else "\n" + T.PHONE_ZNS_OFF))
    if typed.lower() in REMOVE_WORDS:
        had = anchor.phone is not None
        anchor.phone = None
        log.info(
            "zns: a unit head removed their phone number",
            extra={"event": "phone_removed", "unit": member.unit_code, "member": anchor.id},
        )
        return say(person.chat_id, T.PHONE_REMOVED if had else T.PHONE_NONE)
    try:
        phone = phones.normalise(typed)
    except phones.PhoneError as exc:
        return say(person.chat_id, T.phone_invalid(str(exc)))
    anchor.phone = phone
    log.info(
        "zns: a unit head set their phone number (%s)",
        phones.masked(phone),
        extra={"event": "phone_set", "unit": member.unit_code, "member": anchor.id},
    )
    text = T.phone_saved(phones.masked(phone))
    return say(person.chat_id, text + ("" if zns_on else "\n" + T.PHONE_ZNS_OFF))


# --------------------------------------------------------------------------- the other way


class ZnsFallback:
    """The outbox's ``Fallback``: -230 reminders go by ZNS (see the module docstring)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.config: ZnsConfig = ctx.config.zalo_oa.zns

    async def instead(
        self, session: AsyncSession, row: OutboxMessage, member: Member, now: datetime
    ) -> bool:
        if (
            not self.config.enabled
            or row.channel != OA_CHANNEL
            or not row.dedupe_key.startswith(REMINDER_PREFIX)
            or row.round_id is None
            or not row.step
        ):
            return False
        anchor = await session.get(Member, _anchor_id(member))
        if anchor is None or not anchor.phone:
            return False
        if await self._reached_elsewhere(session, member):
            return False
        round_ = await session.get(Round, row.round_id)
        unit = await session.get(Unit, member.unit_code)
        if round_ is None:
            return False
        facts = ReminderFacts(
            unit=unit.name if unit is not None else member.unit_code,
            unit_code=member.unit_code,
            name=member.display_name or "",
            period=round_.title,
            deadline=round_.deadline,
            today=self.ctx.today(),
            recipient=self.ctx.catalogue.org.recipient(),
        )
        key = reminder_key(row.round_id, ZNS_CHANNEL, chat_of(member.id), row.step)
        data = template_data(self.config.params, facts)
        queued = await repo.enqueue(
            session,
            [
                repo.outbox_row(
                    key,
                    ZNS_CHANNEL,
                    chat_of(member.id),
                    encode_payload(tracking_id(key), data),
                    now,
                    round_id=row.round_id,
                    member_id=member.id,
                    step=row.step,
                )
            ],
        )
        log.info(
            "zns: outbox id=%s could not go by the OA (-230); %s by ZNS",
            row.id,
            "queued" if queued else "already queued",
            extra={
                "event": "zns_queued",
                "outbox": row.id,
                "round": row.round_id,
                "unit": member.unit_code,
                "step": row.step,
            },
        )
        return True

    async def _reached_elsewhere(self, session: AsyncSession, member: Member) -> bool:
        """Whether the person has another registered account, on another platform, that
        reminders still reach (then they got this one there)."""
        anchor = _anchor_id(member)
        others = await session.scalars(
            select(Member).where(
                (Member.id == anchor) | (Member.person_id == anchor),
                Member.id != member.id,
                Member.channel != OA_CHANNEL,
                Member.unreachable_at.is_(None),
            )
        )
        return others.first() is not None

    async def gave_up(
        self, session: AsyncSession, row: OutboxMessage, member: Member, error: str
    ) -> str | None:
        if row.channel != ZNS_CHANNEL:
            return None
        unit = await session.get(Unit, member.unit_code)
        return T.unreached_admin(
            member.display_name or member.user_id,
            unit.name if unit is not None else member.unit_code,
            reason_of(error),
        )


def reason_of(error: str) -> str:
    """The admins' words for why ZNS gave up, from the row's ``last_error``
    ("permanent: ZNS -108 …" → the part after the kind)."""
    _, _, detail = error.partition(": ")
    return (detail or error)[:200]
