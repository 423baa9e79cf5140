"""The Telegram adapter: python-telegram-bot updates in, Outbound messages out.

It knows nothing of reports or surveys: it turns an update into an ``Inbound``, asks the
core, and sends what comes back. It also sends for the outbox, mapping PTB's errors onto
the dispatcher's retry / give up / unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from telegram import Bot as TelegramBot
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.usecases.router import Core
from reports.text import split_message
from scheduler.outbox import SendError
from surveys.messages import Button, Inbound, Outbound

log = logging.getLogger(__name__)

# PTB 22 reports RetryAfter.retry_after as a timedelta when this is set, and warns otherwise.
os.environ.setdefault("PTB_TIMEDELTA", "true")

CHANNEL = "telegram"
REPLY_ATTEMPTS = 3  # a reply refused with a 5xx, a dropped connection or a short 429
REPLY_PAUSE = 0.5  # seconds before the second try, twice that before the third
REPLY_MAX_WAIT = 10.0  # a 429 asking to wait longer is not waited for
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CONCURRENT_UPDATES = 8  # updates of different people handled at once (PerPersonUpdates)
QUEUED_UPDATES = 10_000  # PTB's own limit there: updates waiting for their turn


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]
    )


async def _retrying(call: Callable[[], Awaitable[object]]) -> None:
    """One Bot API call, tried again when a second try may pass: after a 429 whose
    ``retry_after`` is short, or after a 5xx or a dropped connection (a short pause first).

    A timeout is not retried: the message has most likely arrived, only late, and every
    update waits while a reply is retried. Replies are sent at least once, like the outbox.
    """
    for attempt in range(1, REPLY_ATTEMPTS + 1):
        try:
            await call()
            return
        except RetryAfter as exc:
            delay = exc.retry_after
            wait = delay if isinstance(delay, int | float) else delay.total_seconds()
            if attempt == REPLY_ATTEMPTS or wait > REPLY_MAX_WAIT:
                raise
        except (BadRequest, TimedOut):
            raise
        except NetworkError:
            if attempt == REPLY_ATTEMPTS:
                raise
            wait = REPLY_PAUSE * attempt
        await asyncio.sleep(wait)


async def send(bot: TelegramBot, out: Outbound) -> None:
    """Send one Outbound: long text in several messages, buttons on the last one."""
    markup = keyboard(out.buttons)
    caption = out.text[:CAPTION_LIMIT] or None
    if out.photo is not None:
        await _retrying(partial(bot.send_photo, out.chat_id, out.photo, caption=caption))
        return
    if out.document is not None:
        name, content = out.document
        await _retrying(
            partial(bot.send_document, out.chat_id, content, filename=name, caption=caption)
        )
        return
    chunks = split_message(out.text.split("\n"), TEXT_LIMIT) or [out.text]
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1
        await _retrying(
            partial(bot.send_message, out.chat_id, chunk, reply_markup=markup if last else None)
        )


class TelegramSender:
    """The outbox's way to send on Telegram."""

    def __init__(self, bot: TelegramBot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, text: str, buttons: tuple[tuple[Button, ...], ...]) -> None:
        try:
            await self.bot.send_message(chat_id, text, reply_markup=keyboard(buttons))
        except RetryAfter as exc:
            delay = exc.retry_after
            seconds = delay if isinstance(delay, int | float) else delay.total_seconds()
            raise SendError("retry_after", str(exc), float(seconds)) from exc
        except Forbidden as exc:
            raise SendError("blocked", str(exc)) from exc
        except BadRequest as exc:
            kind = "blocked" if "chat not found" in str(exc).lower() else "permanent"
            raise SendError(kind, str(exc)) from exc  # type: ignore[arg-type]
        except (TimedOut, NetworkError) as exc:
            raise SendError("transient", str(exc) or type(exc).__name__) from exc
        except TelegramError as exc:
            raise SendError("transient", str(exc)) from exc


class PerPersonUpdates(BaseUpdateProcessor):
    """Updates of different people handled at once (at most ``running`` at a time), each
    person's one after the other in the order they came (an answer is handled only once the
    one before it is replied to).

    One at a time (PTB's default), the bot waits for each reply to reach Telegram and each
    commit before it looks at the next update; at once, the waits overlap and the core's
    transactions group into one commit on SQLite (``db.session.Transactions``).

    An update first waits for its person's turn, then for one of the ``running`` slots: an
    update queued behind the same person's previous one holds no slot, so one person's
    burst never holds up the others. (PTB's own limit, which would be taken before the
    person's turn, is set high enough never to bind.)
    """

    def __init__(self, running: int = CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates=QUEUED_UPDATES)
        self._slots = asyncio.Semaphore(running)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # how many updates hold or wait for each lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        # PTB starts the updates' tasks in order and they reach this point in order, so
        # each person's lock (FIFO) is taken in arrival order.
        key = _person_of(update)
        if key is None:
            async with self._slots:
                await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _person_of(update: object) -> int | None:
    """Whose conversation an update belongs to: its sender (else its chat)."""
    if not isinstance(update, Update):
        return None
    who = update.effective_user or update.effective_chat
    return who.id if who is not None else None


def inbound_of(update: Update) -> Inbound | None:
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    common = {
        "channel": CHANNEL,
        "chat_id": str(chat.id),
        "user_id": str(user.id),
        "display_name": user.full_name,
        "chat_type": "private" if chat.type == "private" else "group",
        "language_code": user.language_code,
    }
    query = update.callback_query
    if query is not None:
        return Inbound(button=query.data or "", **common)  # type: ignore[arg-type]
    message = update.message
    if message is None:
        return None
    return Inbound(text=message.text, **common)  # type: ignore[arg-type]


async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    core: Core = context.application.bot_data["core"]
    inbound = inbound_of(update)
    if inbound is None:
        return
    query = update.callback_query
    if query is not None:
        try:
            await query.answer()
            if query.message is not None and update.effective_chat is not None:
                # The pressed keyboard is spent: remove it so nobody presses it again.
                await context.bot.edit_message_reply_markup(
                    update.effective_chat.id, query.message.message_id, reply_markup=None
                )
        except TelegramError:
            log.debug("could not answer or clear a callback", exc_info=True)
    replies = await core.handle(inbound)
    for n, out in enumerate(replies):
        try:
            await send(context.bot, out)
        except TelegramError as exc:
            # The answer is already committed; only this reply (and the rest) is lost.
            log.error(
                "reply not delivered or not confirmed (%s: %s); %d of %d replies affected",
                type(exc).__name__,
                exc,
                len(replies) - n,
                len(replies),
                extra={"event": "reply_failed", "error": type(exc).__name__},
            )
            return


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("telegram update failed", exc_info=context.error, extra={"event": "update_failed"})


def add_handlers(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CallbackQueryHandler(on_update))
    app.add_handler(MessageHandler(filters.ALL & ~filters.UpdateType.EDITED, on_update))
    app.add_error_handler(on_error)
