"""The counter tablet (kiosk): its devices, and a visit's answer counted.

A device is registered with ``cchc-bot kiosk POINT``: the key in its link is random and
only its hash is kept; ``--revoke`` ends it. A kiosk counts visits, not people: each
finished answer is its own respondent (the keyed hash of the device and a random visit
nonce, so replaying the same finished form counts nothing more), and the device counts at
most one answer per ``kiosk_machine.DEVICE_GAP_SECONDS``: one UPDATE on the device row
decides it, so two tablets' taps or two processes cannot both pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context, new_token
from bot.usecases.people import citizen_key
from bot.usecases.registration import token_hash
from bot.usecases.surveying import aggregate_counted, forward_low_rating
from db import repo
from db.models import KioskDevice, SurveyResponse
from surveys import kiosk_machine, survey_machine
from surveys.catalogue import Questionnaire, ServicePoint

CHANNEL = "kiosk"
LABEL_MAX = 100

Outcome = Literal["counted", "repeat", "too_soon"]


@dataclass(frozen=True)
class Device:
    id: int
    point_code: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    last_counted_at: datetime | None


def _device(row: KioskDevice) -> Device:
    return Device(
        row.id, row.point_code, row.label, row.created_at, row.revoked_at, row.last_counted_at
    )


async def create_device(
    ctx: Context, session: AsyncSession, point: ServicePoint, label: str
) -> tuple[Device, str]:
    """A new device for ``point`` and the key its link carries (shown once, never stored)."""
    key = new_token(24)
    row = KioskDevice(
        point_code=point.code,
        label=label.strip()[:LABEL_MAX],
        key_hash=token_hash(key),
        created_at=ctx.now(),
    )
    session.add(row)
    await session.flush()
    return _device(row), key


async def devices(session: AsyncSession) -> list[Device]:
    rows = await session.scalars(select(KioskDevice).order_by(KioskDevice.id))
    return [_device(r) for r in rows]


async def revoke(ctx: Context, session: AsyncSession, device_id: int) -> Device | None:
    """Revoke a device (its pages are refused from now on); None if there is none."""
    row = await session.get(KioskDevice, device_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = ctx.now()
    return _device(row)


async def device_for_key(session: AsyncSession, key: str, point_code: str) -> Device | None:
    """The live device of ``point_code`` whose key this is; None for a wrong, revoked or
    another point's key."""
    if not key or len(key) > 64:
        return None
    row = await session.scalar(select(KioskDevice).where(KioskDevice.key_hash == token_hash(key)))
    if row is None or row.revoked_at is not None or row.point_code != point_code:
        return None
    return _device(row)


async def record_visit(
    ctx: Context,
    session: AsyncSession,
    device: Device,
    point: ServicePoint,
    questionnaire: Questionnaire,
    answers: dict[str, Any],
    nonce: str,
    language: str,
) -> Outcome:
    """Store one finished kiosk answer: counted, or kept uncounted as a ``repeat`` (this
    visit's form sent again) or ``too_soon`` (within the device's gap)."""
    now, today = ctx.now(), ctx.today()
    respondent = citizen_key(ctx, CHANNEL, f"{device.id}:{nonce}")
    values = {
        "point_code": point.code,
        "questionnaire": questionnaire.code,
        "respondent": respondent,
        "day": today,
        "language": language,
        "answers": {},
        "record_code": None,
        "started_at": now,
        "channel": CHANNEL,
        "kiosk_id": device.id,
    }
    completed = {
        "answers": answers,
        "field": survey_machine.field_of(questionnaire, point, answers),
        "day": today,
        "language": language,
        "completed_at": now,
    }
    history = await repo.respondent_history(session, respondent, point.code, today, now)
    if history.counted_here:
        return await _keep(session, values, completed, "repeat")
    gap = timedelta(seconds=kiosk_machine.DEVICE_GAP_SECONDS)
    spaced = await session.execute(
        update(KioskDevice)
        .where(
            KioskDevice.id == device.id,
            KioskDevice.revoked_at.is_(None),
            or_(KioskDevice.last_counted_at.is_(None), KioskDevice.last_counted_at <= now - gap),
        )
        .values(last_counted_at=now)
    )
    if getattr(spaced, "rowcount", 0) != 1:
        return await _keep(session, values, completed, "too_soon")
    response_id = await repo.open_response(session, values)
    response = await session.get(SurveyResponse, response_id)
    assert response is not None
    if await repo.complete_response(session, response, completed, count=True) != "counted":
        return "repeat"
    await aggregate_counted(session, questionnaire, point, response)
    await forward_low_rating(ctx, session, questionnaire, point, response)
    return "counted"


async def _keep(
    session: AsyncSession, values: dict[str, Any], completed: dict[str, Any], status: Outcome
) -> Outcome:
    """Keep an answer that does not count, marked with why (never silently dropped)."""
    response_id = await repo.open_response(session, values)
    response = await session.get(SurveyResponse, response_id)
    assert response is not None
    await repo.complete_response(session, response, completed, count=False)
    if status != "repeat":
        response.status = status
    return status
