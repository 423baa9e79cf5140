"""Files published for Zalo users at an unguessable URL that expires after an hour.

Zalo cannot take an upload from the bot: the Zalo Bot API's ``sendPhoto`` takes the photo's
**URL**, and the Official Account sends an image from a URL too (its files need uploads the
bot does not make). So when ``[web] public_url`` is HTTPS (``WebConfig.publishes_files``), a
chart, poster, workbook or Word report meant for a Zalo user is stored here
(``published_files``) and served by the web channel at ``{public_url}/tep/TOKEN``
(``bot.channels.web.files``): the token is random (256 bits) and only its SHA-256 is kept,
as for the desk's login links, so the database does not hold the address; the file is
served for ``TTL`` (one hour) after it was published, then the address says it has expired
(410) until the row is purged — on every scheduler tick and every publication — after
which it is unknown (404).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context
from bot.usecases.settings import WebConfig
from db.models import PublishedFile
from surveys.messages import Outbound

PATH = "/tep/"
TTL = timedelta(hours=1)
TOKEN_BYTES = 32
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,100}")
PHOTO_NAME = "anh-cchc.png"  # an Outbound's photo has no name of its own
MEDIA_TYPES = {
    ".png": "image/png",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pdf": "application/pdf",
}
FALLBACK_MEDIA_TYPE = "application/octet-stream"


def digest(token: str) -> str:
    """What is stored of a token: its SHA-256, as for the desk's login links
    (``bot.usecases.desk.digest``; a 256-bit random value needs no slow hash)."""
    return hashlib.sha256(token.encode(errors="replace")).hexdigest()


def can_publish(web: WebConfig) -> bool:
    return web.publishes_files


def media_type_of(name: str) -> str:
    """The media type a file is served with, from its name's extension."""
    _, dot, extension = name.rpartition(".")
    return MEDIA_TYPES.get(f".{extension.lower()}", FALLBACK_MEDIA_TYPE) if dot else (
        FALLBACK_MEDIA_TYPE
    )


@dataclass(frozen=True)
class Attachment:
    """The file an Outbound carries."""

    name: str
    content: bytes
    is_photo: bool


def attachment_of(out: Outbound) -> Attachment | None:
    if out.photo is not None:
        return Attachment(PHOTO_NAME, out.photo, True)
    if out.document is not None:
        name, content = out.document
        return Attachment(name, content, False)
    return None


@dataclass(frozen=True)
class Published:
    url: str
    name: str
    media_type: str
    expires_at: datetime
    until: str  # expires_at in local time, "HH:MM dd/mm/yyyy"


async def purge(session: AsyncSession, now: datetime) -> int:
    """Delete every published file that has expired; how many."""
    result = await session.execute(delete(PublishedFile).where(PublishedFile.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


async def publish(
    ctx: Context, session: AsyncSession, name: str, content: bytes
) -> Published:
    """Store the file and return its public address (purging the expired ones first).
    Only for a deployment whose ``public_url`` is HTTPS (``can_publish``)."""
    web = ctx.config.web
    if not can_publish(web):
        raise ValueError("files are published only under an https:// [web] public_url")
    now = ctx.now()
    await purge(session, now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    media_type = media_type_of(name)
    expires = now + TTL
    session.add(
        PublishedFile(
            token_hash=digest(token),
            file_name=name[:200],
            media_type=media_type,
            content=content,
            created_at=now,
            expires_at=expires,
        )
    )
    return Published(
        url=f"{web.base_url()}{PATH}{token}",
        name=name,
        media_type=media_type,
        expires_at=expires,
        until=ctx.local(expires).strftime("%H:%M %d/%m/%Y"),
    )


@dataclass(frozen=True)
class Served:
    name: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class NotServed:
    status: int  # 404 unknown or malformed, 410 expired


async def fetch(ctx: Context, session: AsyncSession, token: str) -> Served | NotServed:
    """The file a token stands for, while it has not expired."""
    if not TOKEN_SHAPE.fullmatch(token):
        return NotServed(404)
    row = await session.get(PublishedFile, digest(token))
    if row is None:
        return NotServed(404)
    if row.expires_at <= ctx.now():
        return NotServed(410)
    return Served(row.file_name, row.media_type, bytes(row.content))
