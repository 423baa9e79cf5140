"""The Zalo Bot adapter: Zalo Bot API updates in, Outbound messages out, as plain text.

Like the Telegram adapter it knows nothing of reports or surveys: it turns an update into an
``Inbound``, asks the core, and sends what comes back; it also sends for the outbox. What it
shares with the Official Account channel (choices typed as numbers, the offers stored per
chat, updates seen once, retried replies) is in ``bot.channels.zalo_common``.

**Updates** come by long polling (``getUpdates``: one update or a list per call, 408 when
the poll timed out) or, in webhook mode, as POSTs checked against the secret header
(compared in constant time; 403 otherwise). The body of a POST may be the update itself
(what openclaw/openclaw ``extensions/zalo/src/monitor.webhook.ts`` and
``inbound-parsing.ts`` receive from the platform) or wrapped as ``{"ok", "result"}`` like a
``getUpdates`` answer: both are read. Either way they go through one queue, handled in order.
The bot's own messages, which Zalo redelivers (nextlevelbuilder/goclaw
``internal/channels/zalo/bot/poll.go``: ``from.id`` equal to ``getMe``'s id), are dropped,
and an update seen before (same ``event_name`` and ``message_id``, in ``seen_updates``) is
handled once.

**Start-up never blocks the other channels.** ``start`` returns at once; ``getMe`` is tried
in the background with a growing pause (1 s to a minute), its failure logged once per
streak, and polling (or the webhook) begins when Zalo answers.

**Failures** (``failure_of``), as the platform documents its error codes: 401 (the token is
wrong or revoked) pauses Zalo sending (rows stay pending) and tells the admins once; 429
waits, longer after each 429 in a row; 5xx, 403 (which Zalo labels "Internal server
error"), 408 and timeouts are retried; 404 is "not found", which is *not* read as "the
person blocked the bot" — no documented answer says that, so ``[zalo]
blocked_descriptions`` (empty) lists the descriptions that do, once one is seen.

**Pictures and files** (``Outbound.photo`` / ``document``): Zalo's ``sendPhoto`` takes a
photo's URL, not an upload. When ``[web] public_url`` is HTTPS the file is published there
for an hour (``bot.usecases.published``, served by the web channel at ``/tep/TOKEN``): a
chart or poster goes with ``sendPhoto`` (photo = that URL, caption = the text; if Zalo
refuses it, the link goes as text), a workbook or Word report as a text with its link and
expiry. Without it, the caption goes with a note.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.typed import Buttons, flat, pressed
from bot.channels.zalo_api import ZaloApi, ZaloApiError, ZaloError, ZaloNetworkError
from bot.channels.zalo_common import (
    ZALO_NO_FILES,
    ZALO_OR_TYPE,
    ZALO_PICK_HINT,
    ZALO_TYPE_NUMBER,
    ZALO_TYPE_ONE_OF,
    FileLink,
    Offers,
    Sightings,
    StartupLog,
    by_words,
    choice_lines,
    offer_after,
    photo_messages,
    publish_for,
    render,
    render_outbound,
    retrying,
)
from bot.usecases.people import citizen_key
from bot.usecases.router import Core
from bot.usecases.settings import ZaloConfig
from scheduler.outbox import SendError
from surveys.messages import Inbound, Outbound

__all__ = [
    "CHANNEL",
    "ZALO_NO_FILES",
    "ZALO_OR_TYPE",
    "ZALO_PICK_HINT",
    "ZALO_TYPE_NUMBER",
    "ZALO_TYPE_ONE_OF",
    "ZaloChannel",
    "ZaloSender",
    "by_words",
    "choice_lines",
    "failure_of",
    "inbound_of",
    "offer_after",
    "render",
    "render_outbound",
    "update_key",
    "webhook_update",
]

log = logging.getLogger(__name__)

CHANNEL = "zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_EVENT = "message.text.received"
QUOTA_WAIT_CAP = 600.0  # seconds: the longest wait after 429s in a row
START_PAUSE_CAP = 60.0  # seconds between start-up attempts, at most


# --------------------------------------------------------------------------- pure parts


def failure_of(
    exc: ZaloError,
    retry_after: float,
    blocked: Sequence[str] = (),
    paused_for: float = 300.0,
) -> SendError:
    """What the outbox does about a failed send (see the module docstring): retry, wait,
    pause the channel, give up, or mark the person unreachable — the last only when the
    error's description contains one of ``blocked`` (``[zalo] blocked_descriptions``)."""
    if isinstance(exc, ZaloNetworkError) or not isinstance(exc, ZaloApiError):
        return SendError("transient", str(exc))
    detail = f"{exc.code} {exc.description}"
    words = exc.description.lower()
    if exc.code == 429:
        return SendError("retry_after", detail, retry_after)
    if exc.code == 401:
        return SendError("paused", detail, paused_for)
    if exc.code == 408 or exc.code >= 500:
        return SendError("transient", detail)
    if any(phrase.lower() in words for phrase in blocked if phrase.strip()):
        return SendError("blocked", detail)
    if exc.code == 403:  # documented as "Internal server error"
        return SendError("transient", detail)
    return SendError("permanent", detail)  # 400, 404 (not found), anything else


def update_key(update: dict[str, Any]) -> str | None:
    """What identifies an update for ``seen_updates``: ``event_name:message_id``."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    message_id = message.get("message_id")
    if not isinstance(message_id, str | int) or isinstance(message_id, bool) or not message_id:
        return None
    return f"{update.get('event_name') or ''}:{message_id}"


def inbound_of(update: dict[str, Any], bot_id: str = "") -> Inbound | None:
    """An update as an Inbound; None for what is not a person's message (a bot's, the bot's
    own redelivered, or junk).

    Pictures and stickers come without text (the core answers that it did not understand)."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    sender = message.get("from")
    chat = message.get("chat")
    if not isinstance(sender, dict) or sender.get("is_bot"):
        return None
    user_id = str(sender.get("id") or "")
    chat_id = str(chat.get("id") or "") if isinstance(chat, dict) else ""
    if not user_id or (bot_id and user_id == bot_id):
        return None
    kind = str(chat.get("chat_type", "PRIVATE")) if isinstance(chat, dict) else "PRIVATE"
    text = message.get("text") if update.get("event_name") == TEXT_EVENT else None
    return Inbound(
        channel=CHANNEL,
        chat_id=chat_id or user_id,
        user_id=user_id,
        display_name=str(sender.get("display_name") or ""),
        chat_type="private" if kind.upper() == "PRIVATE" else "group",
        text=text if isinstance(text, str) else None,
    )


def webhook_update(body: object) -> dict[str, Any] | None:
    """The update a webhook POST carries: the body itself (flat) or its ``result``."""
    if not isinstance(body, dict):
        return None
    result = body.get("result")
    if isinstance(result, dict):
        return result
    return body if "event_name" in body or "message" in body else None


def retryable_reply(exc: Exception) -> bool:
    """Whether a direct reply that failed so may pass on a second try (a 429, a 5xx, a
    refused or reset connection; not a timeout, not a refusal)."""
    if isinstance(exc, ZaloNetworkError):
        return not exc.timed_out
    if isinstance(exc, ZaloApiError):
        return exc.code == 429 or exc.code >= 500 or exc.code == 403
    return False


# --------------------------------------------------------------------------- sending


class ZaloSender:
    """The outbox's way to send on Zalo (errors mapped by ``failure_of``). A 429 gives no
    time to wait, so the wait doubles with each 429 in a row, from ``retry_after_seconds``
    to ten minutes, and starts again after a send that passed."""

    def __init__(self, api: ZaloApi, offers: Offers, config: ZaloConfig) -> None:
        self.api = api
        self.offers = offers
        self.config = config
        self.quota_streak = 0

    def _quota_wait(self) -> float:
        self.quota_streak += 1
        wait = self.config.retry_after_seconds * 2.0 ** (self.quota_streak - 1)
        return min(QUOTA_WAIT_CAP, wait)

    async def send(self, chat_id: str, text: str, buttons: Buttons) -> None:
        try:
            for chunk in render(text, buttons) or [text or " "]:
                await self.api.send_message(chat_id, chunk)
        except ZaloError as exc:
            is_quota = isinstance(exc, ZaloApiError) and exc.code == 429
            wait = self._quota_wait() if is_quota else self.config.retry_after_seconds
            raise failure_of(
                exc, wait, self.config.blocked_descriptions, self.config.paused_retry_seconds
            ) from exc
        self.quota_streak = 0
        if buttons:
            choices = flat(buttons)
            await self.offers.save(chat_id, choices, by_words(choices, False))


# --------------------------------------------------------------------------- the channel


class ZaloChannel:
    """Receives updates (polling or webhook), hands them to the core, sends the replies."""

    def __init__(
        self,
        config: ZaloConfig,
        core: Core,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        api: ZaloApi | None = None,
        reply_pause: float = 0.5,
    ) -> None:
        self.config = config
        self.core = core
        self.api = api or ZaloApi(config.require_token(), config.base_url)
        self.offers = Offers(
            CHANNEL, sessions, clock, lambda chat: citizen_key(core.ctx, f"{CHANNEL}-offer", chat)
        )
        self.seen = Sightings(CHANNEL, sessions, clock)
        self.sender = ZaloSender(self.api, self.offers, config)
        self.reply_pause = reply_pause
        self.bot: dict[str, Any] = {}
        self.secret = ""
        self.started = asyncio.Event()  # getMe answered; polling or the webhook is on
        self._start_log = StartupLog(log, "zalo")
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        core.typed_payloads.add(CHANNEL)  # no deep links on Zalo: payloads come as messages

    @property
    def bot_id(self) -> str:
        return str(self.bot.get("id") or "")

    # -------------------------------------------------------------- lifecycle

    async def start(self, webhook: bool = False) -> None:
        """Start in the background (see the module docstring); returns at once. A webhook
        without its URL or secret is a configuration error, raised here."""
        if webhook:
            _, self.secret = self.config.require_webhook()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._work()))
        self._tasks.append(loop.create_task(self._start(webhook)))

    async def _start(self, webhook: bool) -> None:
        pause = 1.0
        while True:
            try:
                self.bot = await self.api.get_me()
                break
            except ZaloError as exc:
                detail = str(exc)
                if isinstance(exc, ZaloApiError) and exc.code == 401:
                    detail = "Zalo không chấp nhận token ([zalo] token)"
                self._start_log.failed(detail, pause)
                await asyncio.sleep(pause)
                pause = min(START_PAUSE_CAP, pause * 2)
        self._start_log.started()
        if webhook:
            url, _ = self.config.require_webhook()
            await self._serve_webhook()
            await self._until_ok(lambda: self.api.set_webhook(url, self.secret), "setWebhook")
            log.info("zalo: webhook set (%s)", self.bot.get("account_name", ""))
        else:
            with contextlib.suppress(ZaloError):  # polling and a webhook exclude each other
                await self.api.delete_webhook()
            self._tasks.append(asyncio.get_running_loop().create_task(self._poll()))
            log.info("zalo: polling as %s", self.bot.get("account_name", ""))
        self.started.set()

    async def _until_ok(self, call: Callable[[], Any], what: str) -> None:
        pause = 1.0
        while True:
            try:
                await call()
                return
            except ZaloError as exc:
                self._start_log.failed(f"{what}: {exc}", pause)
                await asyncio.sleep(pause)
                pause = min(START_PAUSE_CAP, pause * 2)

    async def stop(self) -> None:
        """Stop receiving (a webhook stays set for the other processes), then close."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.api.close()

    # -------------------------------------------------------------- receiving

    async def _poll(self) -> None:
        backoff = 1.0
        while True:
            try:
                updates = await self.api.get_updates(self.config.poll_timeout)
            except ZaloError as exc:
                log.warning("zalo: getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(60.0, backoff * 2)
                continue
            backoff = 1.0
            for update in updates:
                self._queue.put_nowait(update)

    async def _serve_webhook(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/" + self.config.webhook_path, self._on_post)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.webhook_listen, self.config.webhook_port)
        await site.start()

    async def _on_post(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.json_response({"message": "Unauthorized"}, status=403)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"message": "Bad request"}, status=400)
        update = webhook_update(body)
        if update is None:
            return web.json_response({"message": "Bad request"}, status=400)
        self._queue.put_nowait(update)
        return web.json_response({"message": "Success"})

    async def _work(self) -> None:
        while True:
            update = await self._queue.get()
            try:
                await self.handle(update)
            except Exception:
                log.exception("zalo: handling an update failed")

    async def handle(self, update: dict[str, Any]) -> None:
        """One update: the bot's own and those seen before are dropped; a typed digit (or a
        choice's words) presses the button on screen."""
        inbound = inbound_of(update, self.bot_id)
        if inbound is None:
            return
        key = update_key(update)
        if key is not None and not await self.seen.first(key):
            return
        log.debug("zalo: message from user id %s", inbound.user_id)
        if inbound.text is not None and inbound.chat_type == "private":
            buttons, free_text = await self.offers.load(inbound.chat_id)
            button = pressed(inbound.text, buttons, free_text)
            if button is not None:
                inbound = replace(inbound, text=None, button=button.data)
        replies = await self.core.handle(inbound)
        offer = offer_after(replies)
        if offer is not None:
            await self.offers.save(inbound.chat_id, *offer)
        for n, out in enumerate(replies):
            try:
                await self.reply(out)
            except ZaloError as exc:
                # The answer is already committed; only this reply (and the rest) is lost.
                log.error(
                    "zalo: reply not delivered (%s); %d of %d replies affected",
                    exc,
                    len(replies) - n,
                    len(replies),
                    extra={"event": "reply_failed", "channel": CHANNEL},
                )
                return

    async def reply(self, out: Outbound) -> None:
        """Send one Outbound, each message retried like Telegram's replies (its file
        published first, when it has one and the web has an https public_url)."""
        link = await publish_for(self.core, out, CHANNEL)
        if link is not None and link.is_photo:
            await self._photo(out, link)
            return
        await self._texts(out.chat_id, render_outbound(out, link))

    async def _texts(self, chat_id: str, chunks: Sequence[str]) -> None:
        for chunk in chunks:
            await retrying(
                lambda chunk=chunk: self.api.send_message(chat_id, chunk),  # type: ignore[misc]
                retryable_reply,
                self.reply_pause,
            )

    async def _photo(self, out: Outbound, link: FileLink) -> None:
        """``sendPhoto`` with the published URL; if Zalo refuses it (it could not fetch the
        picture, say), the link goes as text, so the chart is not lost."""
        before, caption = photo_messages(out)
        await self._texts(out.chat_id, before)
        try:
            await retrying(
                lambda: self.api.send_photo(out.chat_id, link.url, caption),
                retryable_reply,
                self.reply_pause,
            )
        except ZaloApiError as exc:
            if retryable_reply(exc):
                raise
            log.warning(
                "zalo: sendPhoto refused (%s); the picture's link goes as text",
                exc,
                extra={"event": "photo_refused", "channel": CHANNEL},
            )
            await self._texts(out.chat_id, render(f"{caption}\n{link.line()}".strip(), ()))
