"""The fake Telegram Bot API, driven by the real python-telegram-bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.support.fakes import FakeTelegram, SentMessage
from tests.support.fakes.local_http import serve_locally
from tests.support.polling import until

USER = 1001


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as client:
        yield client


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=d) for text, d in pairs]]
    )


# ---------------------------------------------------------------------- plain Bot


async def test_get_me_and_send_message_with_keyboard(tg: FakeTelegram, bot: Bot) -> None:
    assert bot.username == "cchc_test_bot"
    assert bot.bot.can_join_groups is True
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Có", callback_data="yes"),
                InlineKeyboardButton("Không", callback_data="no"),
            ],
            [InlineKeyboardButton("Trang web", url="https://example.vn/cchc")],
        ]
    )
    message = await bot.send_message(USER, "Bạn đồng ý không?", reply_markup=markup)

    assert message.message_id == 1
    assert message.chat.id == USER
    assert message.from_user is not None and message.from_user.is_bot
    assert message.reply_markup == markup  # echoed like Telegram
    sent = tg.last_to(USER)
    assert (sent.method, sent.text) == ("sendMessage", "Bạn đồng ý không?")
    assert sent.buttons() == [("Có", "yes"), ("Không", "no")]
    assert sent.url_buttons() == [("Trang web", "https://example.vn/cchc")]
    assert sent.button_data("Không") == "no"
    # PTB sends form data; chat_id arrives JSON-decoded, text stays a string
    method, params = tg.requests[-1]
    assert method == "sendMessage"
    assert params["chat_id"] == USER
    assert isinstance(params["reply_markup"], dict)


async def test_send_photo_and_document_record_file_bytes(tg: FakeTelegram, bot: Bot) -> None:
    photo = await bot.send_photo(USER, b"\x89PNG fake bytes", caption="Biểu đồ")
    document = await bot.send_document(USER, b"xlsx-bytes", filename="bao_cao.xlsx")

    first, second = tg.sent_to(USER)
    assert (first.method, first.caption, first.file_bytes) == (
        "sendPhoto",
        "Biểu đồ",
        b"\x89PNG fake bytes",
    )
    assert second.method == "sendDocument"
    assert (second.file_bytes, second.file_name) == (b"xlsx-bytes", "bao_cao.xlsx")
    assert photo.photo[-1].file_size == len(b"\x89PNG fake bytes")
    assert document.document is not None and document.document.file_name == "bao_cao.xlsx"
    # a file_id returned by Telegram can be sent again without uploading
    await bot.send_photo(USER + 1, photo.photo[-1].file_id)
    assert tg.last_to(USER + 1).file_bytes == b"\x89PNG fake bytes"


async def test_edit_and_delete_follow_telegram_rules(tg: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_message(USER, "Câu 1", reply_markup=keyboard(("A", "a")))
    await bot.edit_message_text("Câu 1 (đã trả lời)", chat_id=USER, message_id=message.message_id)
    edited = tg.last_to(USER)
    assert (edited.method, edited.message_id, edited.buttons()) == ("editMessageText", 1, [])
    assert tg.current(USER, 1).text == "Câu 1 (đã trả lời)"
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("Câu 1 (đã trả lời)", chat_id=USER, message_id=1)
    with pytest.raises(BadRequest, match="not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=99)
    assert await bot.delete_message(USER, 1)
    assert tg.deleted == [(USER, 1)]
    with pytest.raises(BadRequest):
        await bot.delete_message(USER, 1)


async def test_commands_webhook_info_and_unknown_method(tg: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Bắt đầu"), ("help", "Trợ giúp")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c["command"] for c in tg.get_commands()] == ["start", "help"]
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.delete_webhook()
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    with pytest.raises(InvalidToken):  # initialize() calls getMe, and shuts down on failure
        async with Bot("999:WRONG", base_url=tg.base_url):
            pass


# ---------------------------------------------------------------------- Application + polling


async def test_application_polling_command_and_callback(tg: FakeTelegram) -> None:
    seen_args: list[list[str]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        seen_args.append(list(context.args or []))
        await update.effective_message.reply_text(
            "Chào bạn", reply_markup=keyboard(("Đồng ý", "ok:1"), ("Thôi", "no"))
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Đã ghi nhận")
        await query.edit_message_text(f"Bạn chọn {query.data}")

    app = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        tg.user_sends(USER, "/start payload", username="nguyenvana")
        [reply] = await tg.wait_for(USER, timeout=5)
        assert seen_args == [["payload"]]
        assert reply.text == "Chào bạn"
        assert reply.buttons() == [("Đồng ý", "ok:1"), ("Thôi", "no")]

        query_id = tg.user_presses(USER, reply, reply.button_data("Đồng ý"))
        [edit] = await tg.wait_for(USER, timeout=5)
        assert (edit.method, edit.message_id, edit.text) == (
            "editMessageText",
            reply.message_id,
            "Bạn chọn ok:1",
        )
        await tg.wait_idle(quiet=0.05, timeout=5)
        assert tg.answered_callbacks == [{"callback_query_id": query_id, "text": "Đã ghi nhận"}]
        # /start@otherbot is not ours: PTB ignores it, exactly as with Telegram
        tg.user_sends(USER, "/start@some_other_bot")
        tg.user_sends(USER, "/start@cchc_test_bot x y")
        [again] = await tg.wait_for(USER, timeout=5)
        assert again.text == "Chào bạn" and seen_args[-1] == ["x", "y"]
        assert len(seen_args) == 2
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert tg.pending_updates == 0  # the updater confirmed everything on stop
    methods = [method for method, _ in tg.requests]
    assert methods[0] == "getMe" and "deleteWebhook" in methods


async def test_wait_for_cursor_predicate_and_timeout(tg: FakeTelegram, bot: Bot) -> None:
    for text in ("một", "hai", "ba"):
        await bot.send_message(USER, text)
    assert [m.text for m in await tg.wait_for(USER, count=2)] == ["một", "hai"]
    [third] = await tg.wait_for(USER)
    assert third.text == "ba"
    with pytest.raises(AssertionError, match="expected 1 new message"):
        await tg.wait_for(USER, timeout=0.05)
    tg.mark()
    await bot.send_message(USER + 1, "khác")
    await bot.send_message(USER, "bốn")
    [four] = await tg.wait_for(predicate=lambda m: m.chat_id == USER)
    assert four.text == "bốn"
    # cursors are per chat: the global wait above did not consume USER's "bốn"
    [same] = await tg.wait_for(USER)
    assert same is four

    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(USER, "năm")

    task = asyncio.create_task(later())
    [five] = await tg.wait_for(USER, timeout=2)
    await task
    assert five.text == "năm"


async def test_user_presses_checks_the_button_exists(tg: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(USER, "Chọn", reply_markup=keyboard(("A", "a")))
    message: SentMessage = tg.last_to(USER)
    with pytest.raises(ValueError, match="no button"):
        tg.user_presses(USER, message, "zzz")
    tg.user_presses(USER, message.message_id, "stale", strict=False)
    update = tg.updates[-1]["callback_query"]
    assert update["message"]["text"] == "Chọn"
    assert update["from"] == {
        "id": USER,
        "is_bot": False,
        "first_name": "Người dùng",
        "language_code": "vi",
    }


# ---------------------------------------------------------------------- faults


async def test_faults_map_to_ptb_exceptions(
    tg: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RetryAfter.retry_after is a timedelta with this (an int and a deprecation warning without)
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    tg.fail("sendMessage", 429, retry_after=1)
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(USER, "x")
    assert retry.value.retry_after.total_seconds() == 1  # type: ignore[union-attr]

    tg.block(USER)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(USER, "x")
    tg.unblock(USER)

    tg.fail("sendMessage", 502)
    with pytest.raises(NetworkError) as gateway:
        await bot.send_message(USER, "x")
    assert not isinstance(gateway.value, BadRequest)

    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match="empty"):
        await bot.send_message(USER, " ")
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "x", reply_markup=keyboard(("A", "đ" * 33)))
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(USER, b"img", caption="c" * 1025)
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(USER, "a < b", parse_mode="HTML")
    # 4096 visible characters are fine even with markup around them
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    assert [m.method for m in tg.sent] == ["sendMessage"]

    tg.reset_connections("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "lost")
    tg.reset_connections("sendMessage", delivered=True)
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "delivered")
    assert tg.last_to(USER).text == "delivered"
    assert len(tg.sent) == 2


async def test_rate_limit_per_chat(
    tg: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    tg.rate_limit(per_chat_per_second=1, retry_after=1)
    await bot.send_message(USER, "một")
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "hai")
    await bot.send_message(USER + 1, "chat khác vẫn được")
    with pytest.raises(RetryAfter):  # retry_after is enforced until it has passed
        await bot.send_message(USER, "ba")
    assert tg.too_many_requests == 2
    tg.rate_limit()
    await bot.send_message(USER, "bốn")


async def test_slow_server_delivers_before_answering(tg: FakeTelegram, bot: Bot) -> None:
    tg.delay = 0.2
    with pytest.raises(NetworkError):  # TimedOut
        await bot.send_message(USER, "chậm", read_timeout=0.05)
    assert tg.last_to(USER).text == "chậm"


async def test_second_poller_gets_conflict_and_webhook_excludes_polling(
    tg: FakeTelegram, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=2))
    await until(lambda: any(m == "getUpdates" for m, _ in tg.requests), what="the first poll")
    async with Bot(tg.token, base_url=tg.base_url) as other:
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(Conflict):
        await first

    received: list[tuple[dict[str, Any], str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        return web.Response()

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    async with serve_locally(receiver) as receiver_url:
        await bot.set_webhook(f"{receiver_url}/hook", secret_token="s3cret")
        with pytest.raises(Conflict):
            await bot.get_updates()
        tg.user_sends(USER, "qua webhook")
        await tg.wait_idle(quiet=0.05, timeout=3)
        [(update, secret)] = received
        assert update["message"]["text"] == "qua webhook" and secret == "s3cret"
        assert tg.pending_updates == 0
        await bot.delete_webhook()
    # Telegram also answers GET, and method names are case-insensitive
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{tg.base_url}{tg.token}/GETME") as response,
    ):
        assert (await response.json())["result"]["username"] == "cchc_test_bot"
