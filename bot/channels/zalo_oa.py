"""The Zalo Official Account (OA) adapter: the office's public Zalo page that citizens
follow. Webhook events in, consultation messages out, from the same core and database as
the other channels (``bot.channels.zalo_common`` holds what it shares with the Zalo Bot).

**Webhook.** Zalo POSTs every event to the address set in the Zalo app's settings. Each
POST's ``X-ZEvent-Signature`` must be sha256(app id + raw body + timestamp + OA secret key)
in hex (hainh.me "zalo-api-php-webhook-callback-official-account"; goclaw
``internal/channels/zalo/oa/webhook_signature.go``; chatwoot
``app/jobs/webhooks/zalo_events_job.rb`` compares it with a ``mac=`` prefix, goclaw without:
both forms are accepted), the timestamp being the body's ``timestamp`` as sent. A bad or
missing signature gets 403 and changes nothing. Zalo wants an answer within 2 seconds (and
retries for 12 hours, then disables the webhook): the POST is answered as soon as the event
is queued; the work follows. Events: ``user_send_text`` (``sender.id``, ``message.text``,
``message.msg_id``), ``follow`` / ``unfollow`` (``follower.id``); the OA's own
``oa_send_*`` echoes and anything else are ignored. A redelivered event (same name and
message id) is handled once (``seen_updates``).

**A follow** — a citizen scanning a poster's zalo.me/<OA> QR code and pressing "Quan tâm" —
is ``/start s-<follow_point>``: the survey's first question at once (Zalo's follow event
carries no payload of ours, so one OA has one such point; posters of other points show the
code to type, as on the Zalo Bot). Without ``follow_point`` it is ``/start`` (the welcome).

**Replies** go through the consultation message API (``/v3.0/oa/message/cs``). Zalo lets an
OA answer a person for free for a while after their last message (zalooa.freshdesk.com
article 64000261136: 8 replies within 48 hours, each carrying the person's message id, or
it counts as a paid message): the last message id and the replies since are kept per person
(``zalo_oa_windows``, under the keyed hash of their id), replies quote it while the window
is open, and a message beyond the window or the count is still sent (Zalo decides, and -230
says no) but logged as outside the free window. -230 (no interaction for 7 days) makes an
outbox row ``undeliverable`` and tells the admins once per member and round.

**Pictures and files**: with an https ``[web] public_url`` an Outbound's file is published
for an hour (``bot.usecases.published``): a chart or poster goes as the consultation
message with an image attachment (``template_type`` media, the image's URL; see
``zalo_oa_api``), a workbook or Word report as a text with its link and expiry; without
it, the caption with a note.

**Tokens** (``OaTokens``): the access token comes from the refresh token with the app id and
secret (OAuth v4), refreshed 5 minutes before ``expires_in`` runs out; the refresh token is
single use and rotates, so the new pair is written to ``zalo_oa_tokens`` in the refresh's
own transaction, which holds a lock (PostgreSQL's advisory lock; SQLite's single writer):
one process refreshes at a time and the others read the new pair. -216 (the access token
was refused) refreshes once and retries the call once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.typed import Buttons, flat, pressed
from bot.channels.zalo_common import (
    FileLink,
    Offers,
    Sightings,
    by_words,
    offer_after,
    photo_messages,
    publish_for,
    render,
    render_outbound,
    retrying,
)
from bot.channels.zalo_oa_api import (
    NOT_INTERACTED,
    RATE_LIMITED,
    REFRESH_DEAD,
    TOKEN_INVALID,
    ZNS_TOKEN_INVALID,
    ZaloOaApi,
    ZaloOaApiError,
    ZaloOaError,
    ZaloOaNetworkError,
)
from bot.channels.zalo_zns import ZnsSender
from bot.usecases.people import citizen_key
from bot.usecases.router import Core
from bot.usecases.settings import ConfigError, ZaloOaConfig
from db import repo
from db.models import ZaloOaToken, ZaloOaWindow
from scheduler.outbox import SendError
from surveys.messages import Inbound, Outbound

log = logging.getLogger(__name__)

CHANNEL = "zalo_oa"
SIGNATURE_HEADER = "X-ZEvent-Signature"
REFRESH_MARGIN = timedelta(minutes=5)
TOKEN_LOCK = "zalo_oa:tokens"
QUOTA_WAIT_CAP = 600.0


# --------------------------------------------------------------------------- pure parts


def signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """X-ZEvent-Signature's value: sha256(app id + body + timestamp + OA secret key)."""
    raw = app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()
    return hashlib.sha256(raw).hexdigest()


def timestamp_of(event: dict[str, Any]) -> str:
    """The body's ``timestamp`` as it was signed (Zalo sends a string of milliseconds)."""
    value = event.get("timestamp")
    if isinstance(value, bool) or value is None:
        return ""
    return str(value)


def signed(app_id: str, oa_secret_key: str, body: bytes, given: str) -> bool:
    """Whether ``given`` (the header, with or without ``mac=``) signs ``body``."""
    try:
        event = json.loads(body)
    except ValueError:
        return False
    if not isinstance(event, dict):
        return False
    expected = signature(app_id, body, timestamp_of(event), oa_secret_key)
    mac = given.strip().removeprefix("mac=")
    return hmac.compare_digest(mac.encode(), expected.encode())


def event_user(event: dict[str, Any]) -> str:
    """Who an event is about: the follower of a follow, else the sender."""
    for field in ("follower", "sender"):
        who = event.get(field)
        if isinstance(who, dict) and who.get("id"):
            return str(who["id"])
    return ""


def message_id_of(event: dict[str, Any]) -> str:
    message = event.get("message")
    if not isinstance(message, dict):
        return ""
    return str(message.get("msg_id") or message.get("message_id") or "")


def failure_of(exc: ZaloOaError, retry_after: float, paused_for: float) -> SendError:
    """What the outbox does about a failed OA send."""
    if not isinstance(exc, ZaloOaApiError):
        return SendError("transient", str(exc))
    detail = f"{exc.code} {exc.message}"
    if exc.code == NOT_INTERACTED:
        return SendError("undeliverable", detail)
    if exc.code == RATE_LIMITED:
        return SendError("retry_after", detail, retry_after)
    if exc.code in TOKEN_INVALID or exc.code in REFRESH_DEAD:
        return SendError("paused", detail, paused_for)
    if exc.status >= 500 or exc.code >= 500:
        return SendError("transient", detail)
    return SendError("permanent", detail)


def retryable_reply(exc: Exception) -> bool:
    if isinstance(exc, ZaloOaNetworkError):
        return not exc.timed_out
    if isinstance(exc, ZaloOaApiError):
        return exc.code == RATE_LIMITED or exc.status >= 500
    return False


# --------------------------------------------------------------------------- tokens


class OaTokens:
    """The access token, refreshed before it expires; the rotating refresh token in the
    database (see the module docstring)."""

    def __init__(
        self,
        config: ZaloOaConfig,
        api: ZaloOaApi,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
    ) -> None:
        self.app_id, self.app_secret, _ = config.require()
        self.seed = config.refresh_token
        self.api = api
        self.sessions = sessions
        self.clock = clock
        self._lock = asyncio.Lock()  # one refresh at a time in this process
        self._cached: tuple[str, datetime, int] | None = None  # token, expiry, generation
        self.refreshes = 0  # refreshes this process made

    async def access(self) -> str:
        cached = self._cached
        if cached is not None and cached[1] - REFRESH_MARGIN > self.clock():
            return cached[0]
        return await self._refresh(stale_generation=None)

    async def refused(self) -> str:
        """The access token was refused (-216): refresh unless another did meanwhile."""
        generation = self._cached[2] if self._cached is not None else None
        self._cached = None
        return await self._refresh(stale_generation=generation)

    async def _refresh(self, stale_generation: int | None) -> str:
        async with self._lock, self.sessions.begin() as session:
            await repo.lock(session, TOKEN_LOCK)
            row = await session.scalar(select(ZaloOaToken).where(ZaloOaToken.app_id == self.app_id))
            now = self.clock()
            if row is None:
                if not self.seed:
                    raise ConfigError(
                        "[zalo_oa] refresh_token",
                        "thiếu (hoặc đặt biến môi trường CCHC_ZALO_OA_REFRESH_TOKEN)",
                    )
                row = ZaloOaToken(app_id=self.app_id, refresh_token=self.seed, generation=0)
                session.add(row)
            fresh = (
                row.access_token
                and row.access_expires_at is not None
                and row.access_expires_at - REFRESH_MARGIN > now
                and row.generation != stale_generation
            )
            if not fresh:
                tokens = await self.api.refresh(self.app_id, self.app_secret, row.refresh_token)
                row.access_token = tokens.access_token
                row.refresh_token = tokens.refresh_token  # single use: keep the new one
                row.access_expires_at = now + timedelta(seconds=tokens.expires_in)
                row.refreshed_at = now
                row.generation += 1
                self.refreshes += 1
                log.info(
                    "zalo_oa: access token refreshed (valid %.0f s)",
                    tokens.expires_in,
                    extra={"event": "oa_token_refreshed"},
                )
            assert row.access_token is not None and row.access_expires_at is not None
            self._cached = (row.access_token, row.access_expires_at, row.generation)
            return row.access_token


# --------------------------------------------------------------------------- windows


class Windows:
    """Zalo's free-reply window per person (``zalo_oa_windows``)."""

    def __init__(
        self,
        config: ZaloOaConfig,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        key: Callable[[str], str],
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.clock = clock
        self.key = key

    async def wrote(self, user_id: str, message_id: str) -> None:
        """The person wrote (or followed): the window opens again."""
        async with self.sessions.begin() as session:
            row = await session.get(ZaloOaWindow, self.key(user_id))
            if row is None:
                session.add(
                    ZaloOaWindow(
                        user_key=self.key(user_id),
                        last_message_id=message_id or None,
                        last_at=self.clock(),
                        replies=0,
                    )
                )
            else:
                row.last_message_id = message_id or None
                row.last_at, row.replies = self.clock(), 0

    async def quote_for(self, user_id: str) -> str | None:
        """The message id to quote in the next reply, counting it; None outside the free
        window (the reply then goes as an ordinary consultation message)."""
        async with self.sessions.begin() as session:
            row = await session.get(ZaloOaWindow, self.key(user_id))
            if row is None:
                return None
            window = timedelta(hours=self.config.reply_window_hours)
            row.replies += 1
            inside = self.clock() - row.last_at <= window
            if not inside or row.replies > self.config.free_replies:
                log.info(
                    "zalo_oa: a message outside the free reply window (reply %d, %s)",
                    row.replies,
                    "in time" if inside else "late",
                    extra={"event": "oa_outside_window"},
                )
                return None
            return row.last_message_id


# --------------------------------------------------------------------------- sending


class OaClient:
    """Sends texts with a valid access token: -216 refreshes and retries once."""

    def __init__(self, api: ZaloOaApi, tokens: OaTokens, windows: Windows) -> None:
        self.api = api
        self.tokens = tokens
        self.windows = windows

    async def send(self, user_id: str, text: str, quote: str | None) -> str:
        return await self._with_token(lambda token: self.api.send_text(token, user_id, text, quote))

    async def send_image(self, user_id: str, url: str, caption: str, quote: str | None) -> str:
        return await self._with_token(
            lambda token: self.api.send_image(token, user_id, url, caption, quote)
        )

    async def _with_token(
        self, call: Callable[[str], Awaitable[str]], refused: frozenset[int] = TOKEN_INVALID
    ) -> str:
        """``call`` with a valid access token: an answer in ``refused`` (the token was not
        accepted) refreshes it once and calls again once."""
        token = await self.tokens.access()
        try:
            return await call(token)
        except ZaloOaApiError as exc:
            if exc.code not in refused:
                raise
        token = await self.tokens.refused()
        return await call(token)

    async def send_template(
        self,
        phone: str,
        template_id: str,
        template_data: dict[str, str],
        tracking_id: str,
        development: bool,
    ) -> str:
        """A ZNS template message with the OA's token (-124 / -216 refresh once)."""
        return await self._with_token(
            lambda token: self.api.send_template(
                token, phone, template_id, template_data, tracking_id, development
            ),
            ZNS_TOKEN_INVALID,
        )

    async def send_all(self, user_id: str, chunks: list[str]) -> None:
        for n, chunk in enumerate(chunks):
            quote = await self.windows.quote_for(user_id) if n == 0 else None
            await self.send(user_id, chunk, quote)


class ZaloOaSender:
    """The outbox's way to send on the OA (errors mapped by ``failure_of``)."""

    def __init__(self, client: OaClient, offers: Offers, config: ZaloOaConfig) -> None:
        self.client = client
        self.offers = offers
        self.config = config
        self.quota_streak = 0

    async def send(self, chat_id: str, text: str, buttons: Buttons) -> None:
        try:
            await self.client.send_all(chat_id, render(text, buttons) or [text or " "])
        except ZaloOaError as exc:
            wait = self.config.retry_after_seconds
            if isinstance(exc, ZaloOaApiError) and exc.code == RATE_LIMITED:
                self.quota_streak += 1
                wait = min(QUOTA_WAIT_CAP, wait * 2.0 ** (self.quota_streak - 1))
            raise failure_of(exc, wait, self.config.paused_retry_seconds) from exc
        except ConfigError as exc:  # no refresh token at all
            raise SendError("paused", str(exc), self.config.paused_retry_seconds) from exc
        self.quota_streak = 0
        if buttons:
            choices = flat(buttons)
            await self.offers.save(chat_id, choices, by_words(choices, False))


# --------------------------------------------------------------------------- the channel


class ZaloOaChannel:
    """Serves the OA's webhook, hands events to the core, sends the replies."""

    def __init__(
        self,
        config: ZaloOaConfig,
        core: Core,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        reply_pause: float = 0.5,
    ) -> None:
        self.config = config
        self.app_id, _, self.oa_secret_key = config.require()
        self.core = core
        ctx = core.ctx
        if config.follow_point and ctx.catalogue.point(config.follow_point) is None:
            raise ConfigError("[zalo_oa] follow_point", f"không có điểm '{config.follow_point}'")
        self.api = ZaloOaApi(config.oauth_url, config.api_url, zns_url=config.zns.url)
        self.tokens = OaTokens(config, self.api, sessions, clock)
        self.windows = Windows(
            config, sessions, clock, lambda u: citizen_key(ctx, "zalo_oa-window", u)
        )
        self.client = OaClient(self.api, self.tokens, self.windows)
        self.offers = Offers(
            CHANNEL, sessions, clock, lambda chat: citizen_key(core.ctx, f"{CHANNEL}-offer", chat)
        )
        self.seen = Sightings(CHANNEL, sessions, clock)
        self.sender = ZaloOaSender(self.client, self.offers, config)
        # ZNS by phone number: the outbox's sender for ZNS_CHANNEL rows (bot.channels.zalo_zns)
        self.zns_sender = ZnsSender(self.client, config, sessions)
        self.reply_pause = reply_pause
        self.rejected = 0  # POSTs refused for their signature
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        core.typed_payloads.add(CHANNEL)  # codes are typed, as on the Zalo Bot

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/" + self.config.webhook_path, self._on_post)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.webhook_listen, self.config.webhook_port)
        await site.start()
        self._tasks.append(asyncio.get_running_loop().create_task(self._work()))
        log.info(
            "zalo_oa: webhook on %s:%d/%s",
            self.config.webhook_listen,
            self.config.webhook_port,
            self.config.webhook_path,
        )

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.api.close()

    # -------------------------------------------------------------- receiving

    async def _on_post(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if not signed(
            self.app_id, self.oa_secret_key, raw, request.headers.get(SIGNATURE_HEADER, "")
        ):
            self.rejected += 1
            log.warning("zalo_oa: a webhook POST with a bad signature was refused")
            return web.json_response({"error": 403, "message": "Forbidden"}, status=403)
        event = json.loads(raw)
        self._queue.put_nowait(event)  # answered at once (Zalo wants it within 2 s)
        return web.json_response({"error": 0, "message": "Success"})

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self.handle(event)
            except Exception:
                log.exception("zalo_oa: handling an event failed")

    async def handle(self, event: dict[str, Any]) -> None:
        name = str(event.get("event_name") or "")
        user = event_user(event)
        if not user or (self.config.oa_id and user == self.config.oa_id):
            return
        if name == "user_send_text":
            message = event.get("message")
            text = message.get("text") if isinstance(message, dict) else None
            if not isinstance(text, str):
                return
            message_id = message_id_of(event)
        elif name == "follow":
            message_id = ""
            point = self.config.follow_point
            text = f"/start s-{point}" if point else "/start"
        else:  # unfollow, the OA's own echoes (oa_send_*), receipts: nothing to answer
            log.debug("zalo_oa: %s ignored", name or "an event")
            return
        key = f"{name}:{message_id or timestamp_of(event)}:{user if not message_id else ''}"
        if not await self.seen.first(key):
            return
        await self.windows.wrote(user, message_id)
        sender = event.get("sender")
        display = str(sender.get("display_name") or "") if isinstance(sender, dict) else ""
        inbound = Inbound(
            channel=CHANNEL, chat_id=user, user_id=user, display_name=display, text=text
        )
        if name == "user_send_text":
            buttons, free_text = await self.offers.load(user)
            button = pressed(text, buttons, free_text)
            if button is not None:
                inbound = replace(inbound, text=None, button=button.data)
        replies = await self.core.handle(inbound)
        offer = offer_after(replies)
        if offer is not None:
            await self.offers.save(user, *offer)
        for n, out in enumerate(replies):
            try:
                await self.reply(out)
            except (ZaloOaError, ConfigError) as exc:
                log.error(
                    "zalo_oa: reply not delivered (%s); %d of %d replies affected",
                    exc,
                    len(replies) - n,
                    len(replies),
                    extra={"event": "reply_failed", "channel": CHANNEL},
                )
                return

    async def reply(self, out: Outbound) -> None:
        """Send one Outbound (its file published first, when it has one and the web has an
        https public_url: a picture as the OA's image message, a file as its link)."""
        link = await publish_for(self.core, out, CHANNEL)
        if link is not None and link.is_photo:
            await self._photo(out, link)
            return
        await self._texts(out.chat_id, render_outbound(out, link))

    async def _texts(self, user_id: str, chunks: Sequence[str]) -> None:
        for n, chunk in enumerate(chunks):
            quote = await self.windows.quote_for(user_id) if n == 0 else None
            await retrying(
                lambda chunk=chunk, quote=quote: self.client.send(user_id, chunk, quote),  # type: ignore[misc]
                retryable_reply,
                self.reply_pause,
            )

    async def _photo(self, out: Outbound, link: FileLink) -> None:
        """The image message with the published URL; if Zalo refuses it, the link goes as
        text, so the chart is not lost."""
        before, caption = photo_messages(out)
        await self._texts(out.chat_id, before)
        quote = await self.windows.quote_for(out.chat_id) if not before else None
        try:
            await retrying(
                lambda: self.client.send_image(out.chat_id, link.url, caption, quote),
                retryable_reply,
                self.reply_pause,
            )
        except ZaloOaApiError as exc:
            if retryable_reply(exc) or exc.code == NOT_INTERACTED:
                raise
            log.warning(
                "zalo_oa: the image message was refused (%s); its link goes as text",
                exc,
                extra={"event": "photo_refused", "channel": CHANNEL},
            )
            await self._texts(out.chat_id, render(f"{caption}\n{link.line()}".strip(), ()))
