"""A fake Zalo Bot API server for end-to-end tests (aiohttp, on 127.0.0.1).

It answers like the Zalo Bot Platform (``POST /bot<TOKEN>/<method>``, JSON, form or query
parameters; ``{"ok", "result"}`` or ``{"ok": false, "error_code", "description"}``)::

    async with FakeZalo() as zalo:
        api = ZaloApi(zalo.token, zalo.base_url)
        zalo.user_sends("u1", "Xin chào")
        update = await api.get_updates(timeout=1)   # one update per call
        await api.send_message("u1", "Chào bạn")
        [reply] = await zalo.wait_for("u1")

Where the shapes come from (no official page is stored offline; see the README's "Zalo"):
the platform's documentation as mirrored in XuanNguyenNB/QuanLyThuChi_Bot_Telegram_Zalom
``docs/ZALO_BOT_API.md`` (updated 10/12/2025: methods, envelope, update shape, the webhook
header, HTTPS webhook URLs, 1–2000 character texts), the error codes quoted from the
platform's error page in nextlevelbuilder/goclaw ``internal/channels/zalo/bot/errors.go``
(400, 401, 403 "Internal server error", 404, 408, 429), goclaw's ``bot/api.go`` (a
``getUpdates`` result may be a list) and ``bot/poll.go`` (Zalo redelivers the bot's own
messages), and openclaw/openclaw ``extensions/zalo/src/monitor.webhook.ts`` (the webhook
POSTs the update itself, flat).

Behaviour worth knowing:

* ``getUpdates`` is a real long poll: it answers the moment ``user_sends`` queues an update,
  or after its ``timeout`` (a string of seconds, default 30) with HTTP 408
  (``error_code`` 408). Each update is handed out once (there is no offset); with
  ``batch_updates`` every queued update comes at once, as a list.
* While a webhook is set, getUpdates answers 409 and updates are POSTed to the webhook URL
  with the ``X-Bot-Api-Secret-Token`` header, retried until the receiver answers 2xx. The
  body is the update itself (``webhook_shape = "flat"``, what clients report) or
  ``{"ok": true, "result": update}`` (``"wrapped"``). ``setWebhook`` wants an https:// URL;
  ``proxy_to`` (``http://127.0.0.1:PORT``) stands for the TLS-terminating proxy in front of
  the bot: the POSTs go there, to the URL's path.
* ``sendMessage`` refuses an empty text or one over 2000 characters (400); ``block(chat)``
  makes sends to that chat answer 404 ("Not found"), the only answer Zalo documents for a
  chat it cannot find; ``fail(method, status)`` answers the next calls of a method with an
  error (429 is Zalo's "quota exceeded"); ``revoke()`` makes every call answer 401 until
  ``restore()``.
* ``user_sends(..., message_id=…)`` repeats a message id (a redelivery); ``bot_echo(text)``
  queues the bot's own message back, as Zalo does.
* ``sent`` holds every message sent (sendMessage and sendPhoto), in order.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from aiohttp import web

from tests.support.fakes.base import FakeServer

JSONDict = dict[str, Any]

MAX_TEXT_LENGTH: Final = 2000
SEND_METHODS: Final = frozenset({"sendMessage", "sendPhoto"})
_DESCRIPTIONS: Final = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Internal server error",
    404: "Not found",
    408: "Request timeout",
    409: "Webhook is active; delete it before using getUpdates",
    429: "Quota exceeded",
    500: "Internal server error",
}


@dataclass
class ZaloSent:
    """One message the bot sent."""

    chat_id: str
    method: str
    text: str
    photo: str | None
    at: float

    @property
    def body(self) -> str:
        return self.text

    def __str__(self) -> str:
        return f"<{self.method} to {self.chat_id}: {self.text!r}>"


@dataclass
class _Fault:
    status: int
    times: int
    description: str


class FakeZalo(FakeServer):
    """An in-process Zalo Bot API (see the module docstring)."""

    name = "fake Zalo"

    async def wait_idle(self, quiet: float = 0.15, timeout: float = 10.0) -> None:
        await super().wait_idle(quiet, timeout)

    def _busy(self) -> bool:
        return self._inflight > 0 or bool(self._pending)

    def _busy_detail(self) -> str:
        return f"in flight: {self._inflight}, undelivered: {len(self._pending)}"

    def __init__(
        self,
        token: str = "1459232241454765289:ZALO-TEST-TOKEN",
        account_name: str = "bot.CchcTest",
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.account_name = account_name

        self.sent: list[ZaloSent] = []
        self.requests: list[tuple[str, JSONDict]] = []
        self.chat_actions: list[tuple[str, str]] = []
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_deliveries: list[int] = []  # HTTP status of every webhook POST

        self.webhook_shape = "flat"  # or "wrapped": {"ok": true, "result": update}
        self.proxy_to = ""  # where webhook POSTs really go (the proxy in front of the bot)
        self.batch_updates = False  # getUpdates hands out every queued update, as a list
        self.revoked = False  # every call answers 401 (the token was revoked)
        self._faults: dict[str, deque[_Fault]] = {}
        self._blocked: set[str] = set()
        self._pending: deque[JSONDict] = deque()
        self._message_ids = itertools.count(1)
        self._cursors: dict[str | None, int] = {}
        self._polls = 0

    # ------------------------------------------------------------------ lifecycle

    # ------------------------------------------------------------------ users act

    def user_sends(
        self,
        user_id: str,
        text: str,
        *,
        display_name: str = "Người dùng Zalo",
        event_name: str = "message.text.received",
        chat_id: str | None = None,
        chat_type: str = "PRIVATE",
        is_bot: bool = False,
        message_id: str | None = None,
    ) -> str:
        """Queue a message from a user (in their private chat unless ``chat_id``); returns its
        message id (a given one repeats an earlier message: a redelivery)."""
        message_id = message_id or f"m{next(self._message_ids):08d}"
        message: JSONDict = {
            "from": {"id": user_id, "display_name": display_name, "is_bot": is_bot},
            "chat": {"id": chat_id or user_id, "chat_type": chat_type},
            "message_id": message_id,
            "date": int(time.time() * 1000),
        }
        if event_name == "message.text.received":
            message["text"] = text
        self._pending.append({"event_name": event_name, "message": message})
        self._touch()
        self._updates.notify()
        if self.webhook_url:
            self._ensure_pusher()
        return message_id

    def bot_echo(self, chat_id: str, text: str) -> str:
        """Queue the bot's own message back into its updates, as Zalo redelivers them."""
        return self.user_sends(self.bot_id, text, display_name=self.account_name, chat_id=chat_id)

    def revoke(self) -> None:
        """The token stops working: every call answers 401 until ``restore``."""
        self.revoked = True

    def restore(self) -> None:
        self.revoked = False

    # ------------------------------------------------------------------ observing

    def sent_to(self, chat_id: str) -> list[ZaloSent]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def mark(self, chat_id: str | None = None) -> None:
        """Make the next ``wait_for(chat_id)`` ignore everything sent so far."""
        self._cursors[chat_id] = len(self.sent)

    async def wait_for(
        self, chat_id: str | None = None, *, count: int = 1, timeout: float = 10.0
    ) -> list[ZaloSent]:
        """Wait for ``count`` new messages to ``chat_id`` (anywhere if None), in order."""
        deadline = time.monotonic() + timeout
        start = self._cursors.get(chat_id, 0)
        while True:
            found: list[ZaloSent] = []
            for index in range(start, len(self.sent)):
                message = self.sent[index]
                if chat_id is not None and message.chat_id != chat_id:
                    continue
                found.append(message)
                if len(found) == count:
                    self._cursors[chat_id] = index + 1
                    return found
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                since = [str(m) for m in self.sent[start:]]
                raise AssertionError(
                    f"expected {count} new message(s) to {chat_id} within {timeout}s, got "
                    f"{len(found)}; sent since: {since}"
                )
            await self._activity.wait(remaining)

    @property
    def pending_updates(self) -> int:
        return len(self._pending)

    # ------------------------------------------------------------------ faults

    def fail(
        self, method: str, status: int, *, times: int = 1, description: str | None = None
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error (nothing delivered)."""
        text = description or _DESCRIPTIONS.get(status, "Error")
        self._faults.setdefault(method, deque()).append(_Fault(status, times, text))

    def block(self, chat_id: str) -> None:
        """Sends to this chat answer 404 "user not found"."""
        self._blocked.add(chat_id)

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        prefix, _, method = request.match_info["tail"].partition("/")
        if not prefix.startswith("bot") or not method or "/" in method:
            return _error(404, "Not found")
        if prefix[3:] != self.token or self.revoked:
            return _error(401, "Unauthorized")
        try:
            params = await _read_params(request)
        except ValueError as exc:
            return _error(400, f"Bad request: {exc}")
        self.requests.append((method, params))
        handler = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
        }.get(method)
        if handler is None:
            return _error(404, "Not found")
        polling = method == "getUpdates"
        if polling:
            self._polls += 1
        else:
            self._inflight += 1
            self._touch()
        try:
            fault = self._take_fault(method)
            if fault is not None:
                return _error(fault.status, fault.description)
            try:
                if polling:
                    result = await self._get_updates(params, request)
                else:
                    result = await handler(params)
            except _ApiError as exc:
                return _error(exc.status, exc.description)
            return web.json_response({"ok": True, "result": result})
        finally:
            if polling:
                self._polls -= 1
            else:
                self._inflight -= 1
            self._touch()

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault

    # ------------------------------------------------------------------ methods

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            "id": self.bot_id,
            "account_name": self.account_name,
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    async def _get_updates(
        self, params: JSONDict, request: web.Request | None = None
    ) -> JSONDict | list[JSONDict]:
        if self.webhook_url:
            raise _ApiError(409, _DESCRIPTIONS[409])
        raw = params.get("timeout", "30")
        if not isinstance(raw, str):
            raise _ApiError(400, "timeout must be a string")
        try:
            timeout = float(raw)
        except ValueError:
            raise _ApiError(400, "timeout must be a number of seconds") from None
        deadline = time.monotonic() + timeout
        while True:
            gone = request is not None and (
                request.transport is None or request.transport.is_closing()
            )
            if gone:  # the poller went away: the update waits for the next poll
                raise _ApiError(408, _DESCRIPTIONS[408])
            if self._pending and self.batch_updates:
                batch = list(self._pending)
                self._pending.clear()
                return batch
            if self._pending:
                return self._pending.popleft()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                raise _ApiError(408, _DESCRIPTIONS[408])
            await self._updates.wait(remaining)

    async def _set_webhook(self, params: JSONDict) -> JSONDict:
        url = str(params.get("url") or "")
        secret = str(params.get("secret_token") or "")
        if not url.startswith("https://"):  # "URL nhận thông báo dạng HTTPS"
            raise _ApiError(400, "url must be an HTTPS address")
        if not 8 <= len(secret) <= 256:
            raise _ApiError(400, "secret_token must have 8 to 256 characters")
        self.webhook_url, self.webhook_secret = url, secret
        if self._pending:
            self._ensure_pusher()
        return {"url": url, "updated_at": int(time.time() * 1000)}

    async def _delete_webhook(self, params: JSONDict) -> JSONDict:
        self.webhook_url, self.webhook_secret = "", ""
        return {"url": "", "updated_at": int(time.time() * 1000)}

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {"url": self.webhook_url, "updated_at": int(time.time() * 1000)}

    def _target(self, params: JSONDict) -> str:
        chat_id = str(params.get("chat_id") or "")
        if not chat_id:
            raise _ApiError(400, "chat_id is required")
        if chat_id in self._blocked:
            raise _ApiError(404, "Not found: user not found")
        return chat_id

    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._target(params)
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT_LENGTH:
            raise _ApiError(400, "text must have 1 to 2000 characters")
        return self._record(chat_id, "sendMessage", text, None)

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        chat_id = self._target(params)
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("https://", "http://")):
            raise _ApiError(400, "photo must be a URL")
        caption = str(params.get("caption") or "")
        if len(caption) > MAX_TEXT_LENGTH:
            raise _ApiError(400, "caption must have at most 2000 characters")
        return self._record(chat_id, "sendPhoto", caption, photo)

    async def _send_chat_action(self, params: JSONDict) -> bool:
        chat_id = self._target(params)
        action = str(params.get("action") or "")
        if action not in ("typing", "upload_photo"):
            raise _ApiError(400, "unknown action")
        self.chat_actions.append((chat_id, action))
        return True

    def _record(self, chat_id: str, method: str, text: str, photo: str | None) -> JSONDict:
        self.sent.append(ZaloSent(chat_id, method, text, photo, time.monotonic()))
        self._touch()
        return {"message_id": f"b{len(self.sent):08d}", "date": int(time.time() * 1000)}

    # ------------------------------------------------------------------ webhook pushing

    def _ensure_pusher(self) -> None:
        if self._pusher is None or self._pusher.done():
            self._pusher = asyncio.get_running_loop().create_task(self._push())

    async def _push(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        while self._pending and self.webhook_url and not self._closing:
            update = self._pending[0]
            headers = {"X-Bot-Api-Secret-Token": self.webhook_secret}
            body = update if self.webhook_shape == "flat" else {"ok": True, "result": update}
            target = self.webhook_url
            if self.proxy_to:
                path = "/" + target.split("://", 1)[1].partition("/")[2]
                target = self.proxy_to.rstrip("/") + path
            self._inflight += 1
            try:
                async with self._session.post(target, json=body, headers=headers) as response:
                    status = response.status
            except aiohttp.ClientError:
                status = 0
            finally:
                self._inflight -= 1
                self._touch()
            self.webhook_deliveries.append(status)
            if 200 <= status < 300:
                self._pending.popleft()
            else:
                await asyncio.sleep(0.2)

class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str) -> web.Response:
    body = {"ok": False, "error_code": status, "description": description}
    return web.json_response(body, status=status)


async def _read_params(request: web.Request) -> JSONDict:
    params: JSONDict = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            raw = await request.text()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise ValueError("body is not JSON") from exc
                if not isinstance(body, dict):
                    raise ValueError("body must be a JSON object")
                params.update(body)
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params
