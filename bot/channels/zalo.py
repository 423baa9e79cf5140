"""The Zalo adapter: Zalo Bot API updates in, Outbound messages out, as plain text.

Like the Telegram adapter it knows nothing of reports or surveys: it turns an update into an
``Inbound``, asks the core, and sends what comes back; it also sends for the outbox.

**Zalo has no buttons.** An Outbound's buttons become a numbered list under its text
("1. Gửi báo cáo"), and typing the number presses the button, as in the terminal channel
(``bot.channels.console``). When the question also takes free input (a number, a comment:
``Outbound.free_text``), digits are the answer, so the choices are named instead —
"(hoặc gõ: Không áp dụng)" — and typing a choice's words presses it.

**Which button a digit presses survives a restart.** The buttons last shown in a chat are
stored in the ``chat_offers`` table (written before the message goes out; for the outbox's
messages, after Zalo accepted them). A typed digit is looked up there, in whatever process
receives it, and becomes the button's data, which the core checks as it checks a Telegram
press (the conversation's token and the question's sequence number): a digit for a
question that has since moved on is refused as a stale button and the current question is
shown again. A message without buttons clears the offer; the outbox's plain messages (an
alert to an admin) leave it, so a digit still answers the question on screen.

**Updates** come by long polling (``getUpdates``: one update per call, 408 when the poll
timed out) or, in webhook mode, as POSTs checked against the secret header (compared in
constant time; 403 otherwise). Either way they go through one queue, handled in order.

Pictures and spreadsheets (``Outbound.photo`` / ``document``) cannot go to Zalo, whose
``sendPhoto`` takes a public URL: their caption is sent with a note instead.
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
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.typed import Buttons, flat, leading_numbers, pressed, typed_label, unnumbered
from bot.channels.zalo_api import TEXT_LIMIT, ZaloApi, ZaloApiError, ZaloError, ZaloNetworkError
from bot.usecases.router import Core
from bot.usecases.settings import ZaloConfig
from db.models import ChatOffer
from reports.text import split_message
from scheduler.outbox import SendError
from surveys import i18n
from surveys.i18n import N_
from surveys.messages import Button, Inbound, Outbound

# --------------------------------------------------------------------------- sentences
# What only this module says (the rest is in surveys/texts.py).

ZALO_PICK_HINT = N_("(Gõ số thứ tự để chọn.)")

ZALO_TYPE_NUMBER = N_("(Gõ một số từ 1 đến {n}.)")

ZALO_OR_TYPE = N_("(hoặc gõ: {choices})")

ZALO_TYPE_ONE_OF = N_("(Gõ một trong: {choices})")

ZALO_NO_FILES = "(Ảnh biểu đồ, áp phích và tệp Excel hiện chỉ gửi được qua Telegram.)"


log = logging.getLogger(__name__)

CHANNEL = "zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_EVENT = "message.text.received"
# Words in a 403's description that say the person cannot be written to (Zalo documents 403
# only as "Internal server error", so any other 403 is retried).
_UNREACHABLE_WORDS = ("block", "chặn", "not found", "không tồn tại", "không tìm thấy", "exist")



# --------------------------------------------------------------------------- pure rendering


def _label(n: int, label: str) -> str:
    """``"✅ Gửi báo cáo"`` as choice 1 shows as ``"Gửi báo cáo"``; ``"1. Đất đai"`` as
    choice 1 keeps no double numbering."""
    return unnumbered(n, typed_label(label))


def by_words(buttons: Sequence[Button], free_text: bool) -> bool:
    """Whether choices are typed by their words rather than by number: when the question
    takes free input (digits are its answer), or when a label is itself a number other than
    its position (indicator codes "2", "7" to pick from), which a list would contradict."""
    return free_text or any(
        typed_label(b.label).isdigit() and typed_label(b.label) != str(n)
        for n, b in enumerate(buttons, start=1)
    )


def choice_lines(buttons: Sequence[Button], free_text: bool, language: str = "vi") -> list[str]:
    """How a message's buttons read on Zalo (hints in the message's language)."""
    if not buttons:
        return []

    def hint(sentence: str, **values: object) -> str:
        return i18n.translate(language, sentence).format(**values)

    names = " · ".join(typed_label(b.label) for b in buttons)
    if free_text:
        return [hint(ZALO_OR_TYPE, choices=names)]
    if by_words(buttons, free_text):
        return [hint(ZALO_TYPE_ONE_OF, choices=names)]
    numbered = leading_numbers(buttons)
    if numbered == len(buttons):
        return [hint(ZALO_TYPE_NUMBER, n=len(buttons))]  # a 1–5 rating, labelled in the text
    if numbered:  # a rating, then words to type (a survey's other languages)
        rest = " · ".join(typed_label(b.label) for b in buttons[numbered:])
        return [hint(ZALO_TYPE_NUMBER, n=numbered), hint(ZALO_OR_TYPE, choices=rest)]
    return [f"{n}. {_label(n, b.label)}" for n, b in enumerate(buttons, start=1)] + [
        hint(ZALO_PICK_HINT)
    ]


def render(
    text: str,
    buttons: Buttons,
    free_text: bool = False,
    files: bool = False,
    language: str = "vi",
) -> list[str]:
    """The Zalo messages for one Outbound: its text, the choices under it, split into
    messages of at most 2000 characters (between lines where it can)."""
    lines = text.split("\n") if text else []
    if files:
        lines.append(ZALO_NO_FILES)
    choices = choice_lines(flat(buttons), free_text, language)
    if choices:
        lines += ["", *choices] if lines else choices
    return split_message(lines, TEXT_LIMIT) if lines else []


def render_outbound(out: Outbound) -> list[str]:
    files = out.photo is not None or out.document is not None
    return render(out.text, out.buttons, out.free_text, files, out.language)


def offer_after(replies: Sequence[Outbound]) -> tuple[list[Button], bool] | None:
    """The buttons a typed digit presses after these replies (the last message that says
    something decides); None when the replies change nothing."""
    offer: tuple[list[Button], bool] | None = None
    for out in replies:
        choices = flat(out.buttons)
        if choices or out.text:
            offer = (choices, by_words(choices, out.free_text))
    return offer


def failure_of(exc: ZaloError, retry_after: float) -> SendError:
    """What the outbox does about a failed send: retry, give up, or mark unreachable."""
    if isinstance(exc, ZaloNetworkError) or not isinstance(exc, ZaloApiError):
        return SendError("transient", str(exc))
    detail = f"{exc.code} {exc.description}"
    if exc.code == 429:
        return SendError("retry_after", detail, retry_after)
    if exc.code == 408 or exc.code >= 500:
        return SendError("transient", detail)
    if exc.code == 404:
        return SendError("blocked", detail)
    if exc.code == 403:
        words = exc.description.lower()
        unreachable = any(w in words for w in _UNREACHABLE_WORDS)
        return SendError("blocked" if unreachable else "transient", detail)
    return SendError("permanent", detail)


def inbound_of(update: dict[str, Any]) -> Inbound | None:
    """An update as an Inbound; None for what is not a person's message (a bot's, or junk).

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
    if not user_id:
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


# --------------------------------------------------------------------------- stored offers


async def save_offer(
    session: AsyncSession,
    chat_id: str,
    buttons: Sequence[Button],
    free_text: bool,
    now: datetime,
) -> None:
    """Remember the buttons shown last in this chat (none: forget)."""
    if not buttons:
        await session.execute(
            delete(ChatOffer).where(ChatOffer.channel == CHANNEL, ChatOffer.chat_id == chat_id)
        )
        return
    stored = [[b.label, b.data] for b in buttons]
    row = await session.get(ChatOffer, (CHANNEL, chat_id))
    if row is None:
        session.add(
            ChatOffer(
                channel=CHANNEL,
                chat_id=chat_id,
                buttons=stored,
                free_text=free_text,
                updated_at=now,
            )
        )
    else:
        row.buttons, row.free_text, row.updated_at = stored, free_text, now


async def load_offer(session: AsyncSession, chat_id: str) -> tuple[list[Button], bool]:
    row = await session.get(ChatOffer, (CHANNEL, chat_id))
    if row is None:
        return [], False
    buttons = [Button(str(label), str(data)) for label, data in row.buttons]
    return buttons, bool(row.free_text)


class _Offers:
    """Reads and writes offers in their own short transactions; a failure is logged and
    costs only the digit shortcut (the words and the core's typed answers still work)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.clock = clock

    async def save(self, chat_id: str, buttons: Sequence[Button], free_text: bool) -> None:
        try:
            async with self.sessions.begin() as session:
                await save_offer(session, chat_id, buttons, free_text, self.clock())
        except Exception:
            log.warning("zalo: could not store the choices shown to %s", chat_id, exc_info=True)

    async def load(self, chat_id: str) -> tuple[list[Button], bool]:
        try:
            async with self.sessions.begin() as session:
                return await load_offer(session, chat_id)
        except Exception:
            log.warning("zalo: could not read the choices shown to %s", chat_id, exc_info=True)
            return [], False


# --------------------------------------------------------------------------- sending


class ZaloSender:
    """The outbox's way to send on Zalo (Zalo's errors mapped to retry / give up /
    unreachable by ``failure_of``)."""

    def __init__(self, api: ZaloApi, offers: _Offers, retry_after: float) -> None:
        self.api = api
        self.offers = offers
        self.retry_after = retry_after

    async def send(self, chat_id: str, text: str, buttons: Buttons) -> None:
        try:
            for chunk in render(text, buttons) or [text or " "]:
                await self.api.send_message(chat_id, chunk)
        except ZaloError as exc:
            raise failure_of(exc, self.retry_after) from exc
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
    ) -> None:
        self.config = config
        self.core = core
        self.api = api or ZaloApi(config.require_token(), config.base_url)
        self.offers = _Offers(sessions, clock)
        self.sender = ZaloSender(self.api, self.offers, config.retry_after_seconds)
        self.bot: dict[str, Any] = {}
        self.secret = ""
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        core.typed_payloads.add(CHANNEL)  # no deep links on Zalo: payloads come as messages

    # -------------------------------------------------------------- lifecycle

    async def start(self, webhook: bool = False) -> None:
        """Check the token (getMe), then poll or serve the webhook in background tasks."""
        self.bot = await self.api.get_me()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._work()))
        if webhook:
            url, self.secret = self.config.require_webhook()
            await self._serve_webhook()
            await self.api.set_webhook(url, self.secret)
            log.info("zalo: webhook set (%s)", self.bot.get("account_name", ""))
        else:
            with contextlib.suppress(ZaloError):  # polling and a webhook exclude each other
                await self.api.delete_webhook()
            self._tasks.append(loop.create_task(self._poll()))
            log.info("zalo: polling as %s", self.bot.get("account_name", ""))

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
                update = await self.api.get_updates(self.config.poll_timeout)
            except ZaloError as exc:
                log.warning("zalo: getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(60.0, backoff * 2)
                continue
            backoff = 1.0
            if update is not None:
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
        if not isinstance(body, dict):
            return web.json_response({"message": "Bad request"}, status=400)
        result = body.get("result")
        self._queue.put_nowait(result if isinstance(result, dict) else body)
        return web.json_response({"message": "Success"})

    async def _work(self) -> None:
        while True:
            update = await self._queue.get()
            try:
                await self.handle(update)
            except Exception:
                log.exception("zalo: handling an update failed")

    async def handle(self, update: dict[str, Any]) -> None:
        """One update: a typed digit (or a choice's words) presses the button on screen."""
        inbound = inbound_of(update)
        if inbound is None:
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
        for out in replies:
            await self.reply(out)

    async def reply(self, out: Outbound) -> None:
        for chunk in render_outbound(out):
            try:
                await self.api.send_message(out.chat_id, chunk)
            except ZaloError as exc:
                log.warning("zalo: a reply to %s was not sent: %s", out.chat_id, exc)
                return
