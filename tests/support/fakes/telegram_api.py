"""A fake Telegram Bot API server for end-to-end tests.

The real python-telegram-bot (PTB) talks to it over HTTP exactly as it talks to Telegram, so a
test exercises our handlers, PTB's request encoding and error mapping, and our delivery code.

Wiring (PTB builds ``base_url + token + "/" + method``, so ``base_url`` ends in ``/bot``)::

    async with FakeTelegram() as tg:
        app = (
            ApplicationBuilder()
            .token(tg.token)
            .base_url(tg.base_url)
            .base_file_url(tg.base_file_url)
            .build()
        )
        app.add_handler(...)
        await app.initialize()          # calls getMe
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        tg.user_sends(1001, "/start")
        [reply] = await tg.wait_for(1001)
        ...
        await app.updater.stop(); await app.stop(); await app.shutdown()

Recommended PTB settings for fast tests:

* ``start_polling(poll_interval=0, timeout=1)``. getUpdates is a real long poll here: a pending
  request is answered the moment ``user_sends``/``user_presses`` queues an update, so the
  latency is ~1 ms whatever the timeout; a short timeout only bounds how long a forgotten poll
  lingers. Do not pass ``drop_pending_updates=True`` unless you mean it: updates queued before
  polling started are then discarded, as Telegram does.
* Leave PTB's default request timeouts (5 s); they are only hit when a test sets ``delay``.
* Plain ``telegram.Bot(tg.token, base_url=tg.base_url)`` works too (``async with bot:``).

Behaviour worth knowing:

* Updates stay queued until a getUpdates with a larger ``offset`` confirms them (as on
  Telegram); a second concurrent getUpdates kicks the first one out with 409 Conflict; while a
  webhook is set getUpdates answers 409 and updates are POSTed to the webhook URL instead
  (with the ``X-Telegram-Bot-Api-Secret-Token`` header), retried until the receiver says 2xx.
* ``sent`` holds a snapshot per message-producing call (send* and edit*): an edit is recorded as
  a new ``SentMessage`` with the edited message's id and its text/markup *after* the edit.
* ``delay`` applies to send*/edit* methods and is slept *after* the message is recorded (it was
  delivered, only the answer is late): a client that times out and retries sends a duplicate,
  which is exactly the at-least-once case delivery code must tolerate.
* Faults are checked in this order: ``reset_connections`` (not delivered unless
  ``delivered=True``), ``fail``, then for sends: ``block``, validation (400), rate limit (429).
* PTB maps HTTP statuses, not ``error_code``: 400 -> ``BadRequest``; 401/404 -> ``InvalidToken``;
  403 -> ``Forbidden``; 409 -> ``Conflict``; any other status (429 without ``retry_after``, 5xx)
  -> ``NetworkError``; any error body carrying ``parameters.retry_after`` -> ``RetryAfter``
  whatever the status. ``BadRequest`` and ``TimedOut`` are subclasses of ``NetworkError``, so
  ``except NetworkError`` also swallows permanent 400s: catch ``BadRequest`` first.
* PTB rewrites descriptions: a leading "Bad Request: " is removed and the rest goes through
  ``str.capitalize()`` ("BUTTON_DATA_INVALID" -> "Button_data_invalid", "Forbidden: bot was
  blocked by the user" is kept as is). Match exception messages case-insensitively.
* Constructing ``RetryAfter`` emits a ``PTBDeprecationWarning`` unless ``PTB_TIMEDELTA=true``
  is set, and ``retry_after`` is then a ``timedelta`` instead of an ``int``.
* PTB omits ``None`` parameters and JSON-encodes every non-string one in form data
  (``chat_id=5``, ``reply_markup={"inline_keyboard": ...}``); files go multipart, bytes
  without a filename are named ``application.octet-stream``. ``requests`` shows the decoded
  values (uploads as ``UploadedFile``).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import aiohttp
from aiohttp import web

from tests.support.fakes.base import FakeServer

JSONDict = dict[str, Any]

MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64

SEND_METHODS: Final = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
EDIT_METHODS: Final = frozenset({"editMessageText", "editMessageReplyMarkup"})
MESSAGE_METHODS: Final = SEND_METHODS | EDIT_METHODS

# Form values PTB sends raw (not JSON-encoded) and that must stay strings even when they look
# like JSON ("123", "true"). Every other form value is JSON-decoded when it parses.
_STRING_FIELDS: Final = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "action",
        "description",
        "short_description",
        "name",
        "title",
        "language_code",
        "secret_token",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "photo",
        "document",
        "file_id",
        "emoji",
    }
)
# Fields that are JSON objects/arrays; parsed even when a JSON body carries them as strings.
_JSON_FIELDS: Final = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
    }
)
_HTML_TAGS: Final = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_TAG_RE: Final = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>")
_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a content and reply markup of the current message"
)
_DEFAULT_DESCRIPTIONS: Final[Mapping[int, str]] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (how it appears in ``requests`` params)."""

    field: str
    filename: str | None
    content: bytes
    content_type: str


@dataclass
class SentMessage:
    """What the bot sent (or how a message looked after the bot edited it)."""

    message_id: int
    chat_id: int
    method: str
    text: str | None
    caption: str | None
    reply_markup: dict[str, Any] | None
    file_bytes: bytes | None
    file_name: str | None
    params: dict[str, Any]
    at: float

    def _inline_buttons(self) -> list[dict[str, Any]]:
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or []
        return [button for row in rows for button in row]

    def buttons(self) -> list[tuple[str, str]]:
        """``(label, callback_data)`` of the inline keyboard, row by row; ``[]`` if none."""
        return [
            (b["text"], b["callback_data"]) for b in self._inline_buttons() if "callback_data" in b
        ]

    def url_buttons(self) -> list[tuple[str, str]]:
        """``(label, url)`` of the inline keyboard's URL buttons."""
        return [(b["text"], b["url"]) for b in self._inline_buttons() if "url" in b]

    def button_data(self, label: str) -> str:
        """The callback_data of the button labelled ``label`` (AssertionError if absent)."""
        for text, data in self.buttons():
            if text == label:
                return data
        raise AssertionError(f"no button {label!r} in {self.buttons()!r}")

    def keyboard_labels(self) -> list[list[str]]:
        """Labels of a reply keyboard (``ReplyKeyboardMarkup``), row by row; ``[]`` if none."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("keyboard") or []
        return [[b if isinstance(b, str) else b["text"] for b in row] for row in rows]

    @property
    def body(self) -> str:
        """Text or caption, ``""`` if neither: handy for ``in`` assertions."""
        return self.text or self.caption or ""

    def __str__(self) -> str:
        extra = f" buttons={self.buttons()!r}" if self.buttons() else ""
        return f"<{self.method} #{self.message_id} to {self.chat_id}: {self.body!r}{extra}>"


class TelegramApiError(Exception):
    """Raised inside a method implementation to answer an error like Telegram."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


@dataclass
class _Fault:
    status: int
    times: int
    description: str
    retry_after: int | None


@dataclass
class _Reset:
    times: int
    delivered: bool


@dataclass
class _Window:
    """Sliding-window limiter: at most ``limit`` events per ``window`` seconds."""

    limit: int
    window: float
    events: deque[float] = field(default_factory=deque)

    @classmethod
    def per_second(cls, rate: float) -> _Window:
        window = max(1.0, 1.0 / rate)
        return cls(limit=max(1, round(rate * window)), window=window)

    def full(self, now: float) -> bool:
        while self.events and self.events[0] <= now - self.window:
            self.events.popleft()
        return len(self.events) >= self.limit


_Handler = Callable[[JSONDict], Awaitable[Any]]


class FakeTelegram(FakeServer):
    """An in-process Telegram Bot API on 127.0.0.1 (see the module docstring)."""

    name = "fake Telegram"
    client_max_size = 60 * 1024 * 1024  # documents and photos the bot uploads
    shutdown_timeout = 2.0

    def _started(self) -> None:
        self.base_url = f"http://127.0.0.1:{self.port}/bot"
        self.base_file_url = f"http://127.0.0.1:{self.port}/file/bot"

    def _busy(self) -> bool:
        return self._inflight > 0 or (self._polled and self._next_update_id - 1 > self._handed_out)

    def _busy_detail(self) -> str:
        undelivered = self._next_update_id - 1 - self._handed_out
        return f"in flight: {self._inflight}, undelivered updates: {undelivered}"

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "cchc_test_bot",
        bot_id: int = 123456,
        *,
        bot_first_name: str = "CCHC Test Bot",
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.bot_first_name = bot_first_name
        self.base_file_url = ""

        # observing
        self.sent: list[SentMessage] = []
        self.answered_callbacks: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.deleted: list[tuple[int, int]] = []
        self.updates: list[JSONDict] = []  # every update ever queued, confirmed or not
        self.too_many_requests = 0
        self.my_commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook_url = ""
        self.webhook_secret: str | None = None

        # faults
        self.delay = 0.0
        self.require_known_chat = False  # True: sending to a chat that never wrote -> 400
        self._faults: dict[str, deque[_Fault]] = {}
        self._resets: dict[str, deque[_Reset]] = {}
        self._blocked: set[int] = set()
        self._global_limit: _Window | None = None
        self._chat_limit_rate: float | None = None
        self._group_limit_rate: float | None = None
        self._chat_windows: dict[int, _Window] = {}
        self._penalty_until: dict[int | None, float] = {}
        self._enforce_retry_after = True
        self._limit_retry_after = 1

        # state
        self._pending: list[JSONDict] = []  # unconfirmed updates, ascending update_id
        self._next_update_id = 1
        self._handed_out = 0  # highest update_id returned by getUpdates or pushed
        self._polled = False
        self._poll_generation = 0
        self._chats: dict[int, JSONDict] = {}
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}  # bot's messages, current state
        self._snapshots: dict[tuple[int, int], SentMessage] = {}
        self._callbacks: dict[str, JSONDict] = {}
        self._callback_ids = itertools.count(4_000_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._files: dict[str, bytes] = {}
        self._cursors: dict[int | None, int] = {}

        self._methods: dict[str, _Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "close": self._ok,
            "logOut": self._ok,
        }
        self._canonical = {name.lower(): name for name in self._methods}

    # ------------------------------------------------------------------ lifecycle

    # ------------------------------------------------------------------ users act

    def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Người dùng",
        username: str | None = None,
        language_code: str | None = "vi",
        chat_title: str = "Nhóm thử nghiệm",
    ) -> int:
        """Queue a text message from a user; returns its message_id.

        Text starting with ``/`` carries a ``bot_command`` entity covering the first word
        (``/start@bot`` included), so PTB's CommandHandler matches as with Telegram.
        """
        if chat_type != "private" and chat_id is None:
            raise ValueError(f"a {chat_type} chat needs an explicit (negative) chat_id")
        user = self._user(user_id, first_name, username, language_code)
        chat = self._chat_for(user_id if chat_id is None else chat_id, user, chat_type, chat_title)
        message_id = self._new_message_id(chat["id"])
        message: JSONDict = {
            "message_id": message_id,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        self._queue_update({"message": message})
        return message_id

    def user_presses(
        self,
        user_id: int,
        message: SentMessage | int,
        data: str,
        *,
        chat_id: int | None = None,
        first_name: str = "Người dùng",
        username: str | None = None,
        language_code: str | None = "vi",
        strict: bool = True,
    ) -> str:
        """Queue a callback_query for a button on a message the bot sent; returns the query id.

        The update carries the message as it is *now* (after edits). With ``strict`` (default)
        the message must exist and ``data`` must be on one of its current buttons; pass
        ``strict=False`` to simulate a stale press on an outdated keyboard.
        """
        if isinstance(message, SentMessage):
            key = (message.chat_id, message.message_id)
        else:
            key = (user_id if chat_id is None else chat_id, message)
        stored = self._messages.get(key)
        if stored is None:
            if strict:
                raise ValueError(f"bot message {key} does not exist (deleted or never sent)")
            stored = {
                "message_id": key[1],
                "from": self._bot_user(),
                "chat": self._chat(key[0]),
                "date": int(time.time()),
                "text": "",
            }
        elif strict:
            snapshot = self._snapshots[key]
            if data not in [d for _, d in snapshot.buttons()]:
                raise ValueError(f"no button with data {data!r} on {snapshot}")
        query_id = str(next(self._callback_ids))
        query: JSONDict = {
            "id": query_id,
            "from": self._user(user_id, first_name, username, language_code),
            "message": json.loads(json.dumps(stored)),
            "chat_instance": f"ci{key[0]}",
            "data": data,
        }
        self._callbacks[query_id] = query
        self._queue_update({"callback_query": query})
        return query_id

    # ------------------------------------------------------------------ observing

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def last_to(self, chat_id: int) -> SentMessage:
        messages = self.sent_to(chat_id)
        if not messages:
            raise AssertionError(f"nothing was sent to {chat_id}; sent: {self._describe(None, 0)}")
        return messages[-1]

    def current(self, chat_id: int, message_id: int) -> SentMessage:
        """The latest snapshot of a bot message (after edits); KeyError if deleted/unknown."""
        return self._snapshots[(chat_id, message_id)]

    def mark(self, chat_id: int | None = None) -> None:
        """Make the next ``wait_for(chat_id)`` ignore everything sent so far."""
        self._cursors[chat_id] = len(self.sent)

    async def wait_for(
        self,
        chat_id: int | None = None,
        *,
        count: int = 1,
        timeout: float = 10.0,
        predicate: Callable[[SentMessage], bool] | None = None,
    ) -> list[SentMessage]:
        """Wait for ``count`` new matching messages (to ``chat_id``, or anywhere if ``None``).

        "New" means sent after the previous ``wait_for``/``mark`` for the same ``chat_id`` (a
        cursor per chat). Returns exactly ``count`` messages and moves the cursor just past the
        last one returned, so consecutive calls consume the conversation in order.
        """
        deadline = time.monotonic() + timeout
        start = self._cursors.get(chat_id, 0)
        while True:
            found: list[SentMessage] = []
            for index in range(start, len(self.sent)):
                message = self.sent[index]
                if chat_id is not None and message.chat_id != chat_id:
                    continue
                if predicate is not None and not predicate(message):
                    continue
                found.append(message)
                if len(found) == count:
                    self._cursors[chat_id] = index + 1
                    return found
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                where = "anywhere" if chat_id is None else f"to chat {chat_id}"
                raise AssertionError(
                    f"expected {count} new message(s) {where} within {timeout}s, got "
                    f"{len(found)} matching; sent since cursor: {self._describe(chat_id, start)}"
                )
            await self._activity.wait(remaining)

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by getUpdates' offset (or the webhook)."""
        return len(self._pending)

    def get_commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        return self.my_commands.get(_commands_key(scope, language_code), [])

    # ------------------------------------------------------------------ faults

    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error (nothing is delivered).

        A 429 always carries ``parameters.retry_after`` (default 1) as on Telegram, which is what
        makes PTB raise ``RetryAfter``; for other statuses it is sent only when given.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(status, "Error")
        self._faults.setdefault(self._method_name(method), deque()).append(
            _Fault(status=status, times=times, description=description, retry_after=retry_after)
        )

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sends, edits and chat actions to them get 403."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def rate_limit(
        self,
        *,
        per_second: float | None = None,
        per_chat_per_second: float | None = None,
        per_group_per_minute: float | None = None,
        retry_after: int = 1,
        enforce_retry_after: bool = True,
    ) -> None:
        """Answer 429 beyond these rates of send* calls (overall / per chat / per group chat).

        Only accepted sends count towards a rate. With ``enforce_retry_after`` (Telegram's
        behaviour) a rate-limited scope keeps answering 429 until ``retry_after`` has passed,
        so a sender that ignores it does not get through. Rate-limiter 429s are counted in
        ``too_many_requests``. Call with no limits to switch limiting off.
        """
        self._global_limit = _Window.per_second(per_second) if per_second else None
        self._chat_limit_rate = per_chat_per_second
        self._group_limit_rate = per_group_per_minute / 60.0 if per_group_per_minute else None
        self._chat_windows.clear()
        self._penalty_until.clear()
        self._limit_retry_after = retry_after
        self._enforce_retry_after = enforce_retry_after

    def reset_connections(self, method: str, times: int = 1, *, delivered: bool = False) -> None:
        """Close the connection without answering the next ``times`` calls of ``method``.

        With ``delivered=True`` the call is processed first (the message is recorded in
        ``sent``) and only the answer is lost, the case that makes delivery at-least-once.
        """
        self._resets.setdefault(self._method_name(method), deque()).append(
            _Reset(times=times, delivered=delivered)
        )

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        prefix, _, method_raw = request.match_info["tail"].partition("/")
        if not prefix.startswith("bot") or not method_raw or "/" in method_raw:
            return _error(404, "Not Found")
        if prefix[3:] != self.token:
            return _error(401, "Unauthorized")
        method = self._canonical.get(method_raw.lower(), method_raw)
        try:
            params = await _read_params(request)
        except ValueError as exc:
            return _error(400, f"Bad Request: {exc}")
        self.requests.append((method, params))
        handler = self._methods.get(method)
        if handler is None:
            return _error(404, "Not Found: method not found")

        polling = method == "getUpdates"
        if not polling:
            self._inflight += 1
            self._touch()
        try:
            reset = _take(self._resets, method)
            if reset is not None and not reset.delivered:
                return await _abort(request)
            fault = _take(self._faults, method)
            if fault is not None:
                return _error(fault.status, fault.description, retry_after=fault.retry_after)
            try:
                result = await handler(params)
            except TelegramApiError as exc:
                return _error(exc.status, exc.description, retry_after=exc.retry_after)
            if method in MESSAGE_METHODS and self.delay > 0:
                await asyncio.sleep(self.delay)
            if reset is not None:
                return await _abort(request)
            return web.json_response({"ok": True, "result": result})
        finally:
            if not polling:
                self._inflight -= 1
                self._touch()

    # ------------------------------------------------------------------ methods

    async def _ok(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise TelegramApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._polled = True
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates.notify()  # kick out an older pending poll
        offset = _int(params.get("offset"), 0)
        limit = min(max(_int(params.get("limit"), 100), 1), 100)
        timeout = max(_float(params.get("timeout"), 0.0), 0.0)
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise TelegramApiError(409, _DEFAULT_DESCRIPTIONS[409])
            batch = self._pending[:limit]
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._closing:
                if batch:
                    self._handed_out = max(self._handed_out, batch[-1]["update_id"])
                    self._touch()
                return batch
            await self._updates.wait(remaining)

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise TelegramApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise TelegramApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
        self.webhook_url = url
        self.webhook_secret = None if secret is None else str(secret)
        self._poll_generation += 1
        self._updates.notify()
        if self._pusher is None or self._pusher.done():
            self._pusher = asyncio.create_task(self._push_updates())
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
        self.webhook_url = ""
        self.webhook_secret = None
        self._updates.notify()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise TelegramApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise TelegramApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise TelegramApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = _commands_key(params.get("scope"), str(params.get("language_code") or ""))
        self.my_commands[key] = commands
        return True

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        key = _commands_key(params.get("scope"), str(params.get("language_code") or ""))
        self.my_commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[dict[str, Any]]:
        key = _commands_key(params.get("scope"), str(params.get("language_code") or ""))
        return self.my_commands.get(key, [])

    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TelegramApiError(400, "Bad Request: message text is empty")
        if _visible_length(text, params.get("parse_mode")) > MAX_TEXT_LENGTH:
            raise TelegramApiError(400, "Bad Request: message is too long")
        markup = _check_markup(params.get("reply_markup"))
        self._check_rate(chat_id)
        message = self._new_bot_message(chat_id, {"text": text}, markup)
        self._record("sendMessage", message, params, markup)
        return message

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        return await self._send_file("sendPhoto", "photo", params)

    async def _send_document(self, params: JSONDict) -> JSONDict:
        return await self._send_file("sendDocument", "document", params)

    async def _send_file(self, method: str, kind: str, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        value = params.get(kind)
        if isinstance(value, UploadedFile):
            content: bytes | None = value.content
            filename = value.filename
            mime = value.content_type
            file_id = f"{kind.upper()}-{next(self._file_ids)}"
            self._files[file_id] = value.content
        elif isinstance(value, str) and value:
            file_id = value
            content = self._files.get(value)
            filename = None
            mime = "application/octet-stream"
        else:
            raise TelegramApiError(400, f"Bad Request: there is no {kind} in the request")
        caption = params.get("caption")
        if isinstance(caption, str) and (
            _visible_length(caption, params.get("parse_mode")) > MAX_CAPTION_LENGTH
        ):
            raise TelegramApiError(400, "Bad Request: message caption is too long")
        markup = _check_markup(params.get("reply_markup"))
        self._check_rate(chat_id)
        size = len(content) if content is not None else 0
        unique = f"U{file_id}"
        media: JSONDict
        if kind == "photo":
            width, height = _image_size(content)
            media = {
                "photo": [
                    {
                        "file_id": file_id,
                        "file_unique_id": unique,
                        "width": width,
                        "height": height,
                        "file_size": size,
                    }
                ]
            }
        else:
            media = {
                "document": {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "file_name": filename or "document",
                    "mime_type": mime,
                    "file_size": size,
                }
            }
        if isinstance(caption, str) and caption:
            media["caption"] = caption
        message = self._new_bot_message(chat_id, media, markup)
        self._record(method, message, params, markup, file_bytes=content, file_name=filename)
        return message

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        _, stored = self._editable(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TelegramApiError(400, "Bad Request: message text is empty")
        if _visible_length(text, params.get("parse_mode")) > MAX_TEXT_LENGTH:
            raise TelegramApiError(400, "Bad Request: message is too long")
        if "text" not in stored:
            raise TelegramApiError(400, "Bad Request: there is no text in the message to edit")
        markup = _check_markup(params.get("reply_markup"))
        inline = markup if markup and "inline_keyboard" in markup else None
        if stored["text"] == text and stored.get("reply_markup") == inline:
            raise TelegramApiError(400, _NOT_MODIFIED)
        stored["text"] = text
        _set_markup(stored, inline)
        stored["edit_date"] = int(time.time())
        self._record("editMessageText", stored, params, inline)
        return stored

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        _, stored = self._editable(params)
        markup = _check_markup(params.get("reply_markup"))
        inline = markup if markup and "inline_keyboard" in markup else None
        if stored.get("reply_markup") == inline:
            raise TelegramApiError(400, _NOT_MODIFIED)
        _set_markup(stored, inline)
        stored["edit_date"] = int(time.time())
        self._record("editMessageReplyMarkup", stored, params, inline)
        return stored

    async def _delete_message(self, params: JSONDict) -> bool:
        chat_id = self._target_chat(params, check_blocked=False)
        key = (chat_id, _int(params.get("message_id"), 0))
        if self._messages.pop(key, None) is None:
            raise TelegramApiError(400, "Bad Request: message to delete not found")
        self._snapshots.pop(key, None)
        self.deleted.append(key)
        return True

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callbacks:
            raise TelegramApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise TelegramApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.answered_callbacks.append(params)
        return True

    async def _send_chat_action(self, params: JSONDict) -> bool:
        chat_id = self._target_chat(params)
        self.chat_actions.append((chat_id, str(params.get("action"))))
        return True

    # ------------------------------------------------------------------ helpers

    def _method_name(self, method: str) -> str:
        return self._canonical.get(method.lower(), method)

    def _bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    @staticmethod
    def _user(
        user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username is not None:
            user["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        return user

    def _chat_for(self, chat_id: int, user: JSONDict, chat_type: str, title: str) -> JSONDict:
        chat: JSONDict = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = user["first_name"]
            if "username" in user:
                chat["username"] = user["username"]
        else:
            chat["title"] = title
        self._chats[chat_id] = chat
        return dict(chat)

    def _chat(self, chat_id: int) -> JSONDict:
        known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Người dùng"}
        return {"id": chat_id, "type": "supergroup", "title": "Nhóm"}

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _queue_update(self, payload: JSONDict) -> None:
        update = {"update_id": self._next_update_id, **payload}
        self._next_update_id += 1
        self._pending.append(update)
        self.updates.append(update)
        self._updates.notify()
        self._activity.notify()

    def _target_chat(self, params: JSONDict, *, check_blocked: bool = True) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise TelegramApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise TelegramApiError(400, "Bad Request: chat not found")
        if check_blocked and raw in self._blocked:
            raise TelegramApiError(403, "Forbidden: bot was blocked by the user")
        if self.require_known_chat and raw not in self._chats:
            raise TelegramApiError(400, "Bad Request: chat not found")
        return raw

    def _editable(self, params: JSONDict) -> tuple[int, JSONDict]:
        if params.get("inline_message_id"):
            raise TelegramApiError(400, "Bad Request: inline messages are not faked")
        chat_id = self._target_chat(params)
        stored = self._messages.get((chat_id, _int(params.get("message_id"), 0)))
        if stored is None:
            raise TelegramApiError(400, "Bad Request: message to edit not found")
        return chat_id, stored

    def _check_rate(self, chat_id: int) -> None:
        now = time.monotonic()
        windows: list[tuple[int | None, _Window]] = []
        if self._global_limit is not None:
            windows.append((None, self._global_limit))
        rate = self._group_limit_rate if chat_id < 0 else self._chat_limit_rate
        if rate:
            windows.append(
                (chat_id, self._chat_windows.setdefault(chat_id, _Window.per_second(rate)))
            )
        for scope, window in windows:
            until = self._penalty_until.get(scope, 0.0)
            if now < until or window.full(now):
                retry_after = self._limit_retry_after
                if now < until:
                    retry_after = max(1, int(until - now + 0.999))
                elif self._enforce_retry_after:
                    self._penalty_until[scope] = now + retry_after
                self.too_many_requests += 1
                raise TelegramApiError(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
                )
        for _, window in windows:
            window.events.append(now)

    def _new_bot_message(
        self, chat_id: int, content: JSONDict, markup: dict[str, Any] | None
    ) -> JSONDict:
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "from": self._bot_user(),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        # Telegram echoes inline keyboards only; reply keyboards are not part of a Message.
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _record(
        self,
        method: str,
        message: JSONDict,
        params: JSONDict,
        markup: dict[str, Any] | None,
        *,
        file_bytes: bytes | None = None,
        file_name: str | None = None,
    ) -> None:
        chat_id = int(message["chat"]["id"])
        skip = {"chat_id", "text", "caption", "reply_markup", "photo", "document"}
        snapshot = SentMessage(
            message_id=int(message["message_id"]),
            chat_id=chat_id,
            method=method,
            text=message.get("text"),
            caption=message.get("caption"),
            reply_markup=json.loads(json.dumps(markup)) if markup is not None else None,
            file_bytes=file_bytes,
            file_name=file_name,
            params={k: v for k, v in params.items() if k not in skip},
            at=time.monotonic(),
        )
        self.sent.append(snapshot)
        self._snapshots[(chat_id, snapshot.message_id)] = snapshot
        self._touch()

    def _describe(self, chat_id: int | None, start: int) -> str:
        lines = [
            f"\n  [{i}] {m}"
            for i, m in enumerate(self.sent)
            if i >= start and (chat_id is None or m.chat_id == chat_id)
        ]
        return "".join(lines) or " (nothing)"

    # ------------------------------------------------------------------ webhook push

    async def _push_updates(self) -> None:
        """POST pending updates one by one to the webhook, oldest first, until confirmed."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        while not self._closing and self.webhook_url:
            if not self._pending:
                await self._updates.wait(1.0)
                continue
            update = self._pending[0]
            headers = {}
            if self.webhook_secret is not None:
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
            self._handed_out = max(self._handed_out, update["update_id"])
            ok = False
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with self._session.post(
                    self.webhook_url, json=update, headers=headers
                ) as response:
                    ok = 200 <= response.status < 300
            if ok:
                if self._pending and self._pending[0] is update:
                    self._pending.pop(0)
                self._touch()
            else:
                await asyncio.sleep(0.1)


# ---------------------------------------------------------------------- module helpers


def _error(status: int, description: str, *, retry_after: int | None = None) -> web.Response:
    body: JSONDict = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


async def _abort(request: web.Request) -> web.StreamResponse:
    """Drop the connection without an answer (the client sees a reset/disconnect)."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    # Nothing can be written any more; aiohttp logs the disconnection at debug level only.
    return web.Response(status=499)


_T = TypeVar("_T", _Fault, _Reset)


def _take(table: dict[str, deque[_T]], method: str) -> _T | None:
    queue = table.get(method)
    if not queue:
        return None
    item = queue[0]
    item.times -= 1
    if item.times <= 0:
        queue.popleft()
    return item


async def _read_params(request: web.Request) -> JSONDict:
    params: JSONDict = {key: _decode(key, value) for key, value in request.query.items()}
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("request body must be a JSON object")
        # The Bot API reads a JSON body's strings as it reads form values: "5" is a chat id
        # and '{"inline_keyboard": …}' a markup (PTB's json_payload sends such strings).
        for key, value in body.items():
            params[key] = _decode(key, value)
        return params
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                continue
            content = await part.read()
            if part.filename is not None:
                params[part.name] = UploadedFile(
                    field=part.name,
                    filename=part.filename,
                    content=bytes(content),
                    content_type=part.headers.get("Content-Type", "application/octet-stream"),
                )
            else:
                charset = part.get_charset(default="utf-8")
                params[part.name] = _decode(part.name, bytes(content).decode(charset))
        return params
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, str):
            params[key] = _decode(key, value)
        elif isinstance(value, bytes | bytearray):
            params[key] = _decode(key, bytes(value).decode())
        else:
            params[key] = UploadedFile(key, value.filename, value.file.read(), value.content_type)
    return params


def _decode(key: str, value: Any) -> Any:
    """Form values are strings; PTB JSON-encodes everything but plain strings."""
    if not isinstance(value, str) or key in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        if key in _JSON_FIELDS:
            raise ValueError(f"can't parse {key} JSON object") from None
        return value


def _check_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise TelegramApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise TelegramApiError(400, "Bad Request: can't parse inline keyboard markup")
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not button.get("text"):
            raise TelegramApiError(400, "Bad Request: BUTTON_TEXT_EMPTY")
        if "callback_data" in button:
            size = len(str(button["callback_data"]).encode("utf-8"))
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                raise TelegramApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        elif "url" in button:
            if not str(button["url"]).startswith(("http://", "https://", "tg://")):
                raise TelegramApiError(400, "Bad Request: BUTTON_URL_INVALID")
        elif not set(button) - {"text"}:
            raise TelegramApiError(
                400,
                "Bad Request: can't parse inline keyboard button: Text buttons are "
                "unallowed in the inline keyboard",
            )
    return markup


def _set_markup(message: JSONDict, markup: dict[str, Any] | None) -> None:
    if markup is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = markup


def _visible_length(text: str, parse_mode: Any) -> int:
    """Length Telegram checks: after entity parsing, in UTF-16 code units."""
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        text = html.unescape(_check_html(text))
    return _utf16_len(text)


def _check_html(text: str) -> str:
    """Validate HTML like Telegram (known tags, balanced, no stray '<'); return the plain text."""
    stack: list[str] = []
    plain: list[str] = []
    position = 0
    while (start := text.find("<", position)) != -1:
        plain.append(text[position:start])
        match = _TAG_RE.match(text, start)
        if match is None:
            raise TelegramApiError(
                400,
                "Bad Request: can't parse entities: Unexpected end of name token at byte "
                f"offset {len(text[:start].encode())}",
            )
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in _HTML_TAGS:
            raise TelegramApiError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{name}"'
            )
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            raise TelegramApiError(
                400, f'Bad Request: can\'t parse entities: Unmatched end tag "{name}"'
            )
        position = match.end()
    if stack:
        raise TelegramApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1]}"',
        )
    plain.append(text[position:])
    return "".join(plain)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _image_size(content: bytes | None) -> tuple[int, int]:
    if not content:
        return (0, 0)
    try:
        from io import BytesIO

        from PIL import Image

        with Image.open(BytesIO(content)) as image:
            return (int(image.width), int(image.height))
    except Exception:
        return (0, 0)


def _commands_key(scope: Any, language_code: str) -> tuple[str, str]:
    if not isinstance(scope, dict):
        scope = {"type": "default"}
    return (json.dumps(scope, sort_keys=True), language_code)


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return default


def _float(value: Any, default: float) -> float:
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return default
