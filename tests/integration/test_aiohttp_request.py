"""bot.channels.telegram_request: python-telegram-bot's requests over aiohttp, against a small HTTP
server on 127.0.0.1 that records what arrives and answers as told."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.request import BaseRequest
from yarl import URL

from bot.channels import telegram_request
from bot.channels.telegram_request import AiohttpRequest
from tests.support.fakes.local_http import serve_locally

TOKEN = "123:ABC"


@dataclass
class Seen:
    """One request as the server read it."""

    path: str
    content_type: str
    user_agent: str
    params: dict[str, Any]
    files: dict[str, tuple[str | None, bytes, str]] = field(default_factory=dict)


@dataclass
class Server:
    base: str
    seen: list[Seen]
    delay: float = 0.0
    status: int = 200
    answer: asyncio.Event | None = None  # when set: answer only once the test sets it


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server(base="", seen=[])

    async def handle(request: web.Request) -> web.Response:
        files: dict[str, tuple[str | None, bytes, str]] = {}
        params: dict[str, Any] = {}
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                assert isinstance(part, aiohttp.BodyPartReader) and part.name is not None
                content = bytes(await part.read())
                if part.filename is not None:
                    mime = part.headers.get("Content-Type", "")
                    files[part.name] = (part.filename, content, mime)
                else:
                    params[part.name] = content.decode()
        elif request.can_read_body:
            params = await request.json()
        state.seen.append(
            Seen(
                request.path,
                request.content_type,
                request.headers.get("User-Agent", ""),
                params,
                files,
            )
        )
        if state.answer is not None:
            await state.answer.wait()
        await asyncio.sleep(state.delay)
        if state.status != 200:
            body = {"ok": False, "error_code": state.status, "description": "Bad Request: no"}
            return web.json_response(body, status=state.status)
        message = {"message_id": 7, "date": 0, "chat": {"id": 5, "type": "private"}}
        return web.json_response({"ok": True, "result": message})

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    async with serve_locally(app) as state.base:
        yield state


def bot_on(server: Server, request: AiohttpRequest) -> Bot:
    return Bot(TOKEN, base_url=f"{server.base}/bot", request=request)


async def test_a_message_goes_as_json_and_its_result_is_parsed(server: Server) -> None:
    request = AiohttpRequest()
    bot = bot_on(server, request)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Rất hài lòng", callback_data="s:5")]])
    async with request:
        sent = await bot.send_message(5, "Câu 1/4 ✅", reply_markup=markup)
    assert sent.message_id == 7 and sent.chat.id == 5
    [seen] = server.seen
    assert seen.path == f"/bot{TOKEN}/sendMessage"
    assert seen.content_type == "application/json"
    assert seen.user_agent == BaseRequest.USER_AGENT
    assert seen.params["chat_id"] == "5" and seen.params["text"] == "Câu 1/4 ✅"
    keyboard = json.loads(seen.params["reply_markup"])
    assert keyboard["inline_keyboard"][0][0]["callback_data"] == "s:5"


async def test_files_go_as_multipart_with_their_names_and_types(server: Server) -> None:
    request = AiohttpRequest()
    bot = bot_on(server, request)
    upload = InputFile(b"PK\x03\x04 xlsx bytes", filename="dot-1-2026.xlsx")
    async with request:
        await bot.send_document(5, upload, caption="Tổng hợp")
    [seen] = server.seen
    assert seen.path == f"/bot{TOKEN}/sendDocument"
    assert seen.content_type == "multipart/form-data"
    assert seen.params == {"chat_id": "5", "caption": "Tổng hợp"}
    assert seen.files == {
        "document": ("dot-1-2026.xlsx", b"PK\x03\x04 xlsx bytes", upload.mimetype)
    }


async def test_an_upload_may_take_its_write_timeout_beyond_the_read_timeout(
    server: Server,
) -> None:
    """aiohttp counts the read timeout while the file is still going out."""
    server.delay = 0.5
    request = AiohttpRequest(read_timeout=0.2)
    bot = bot_on(server, request)
    upload = InputFile(b"\x89PNG chart", filename="chart.png")
    async with request:
        await bot.send_photo(5, upload, write_timeout=1.0)  # 0.2 + 1.0 s to answer
        with pytest.raises(TimedOut):
            await bot.send_photo(5, upload, write_timeout=0.1)  # 0.3 s is too short
        with pytest.raises(TimedOut):
            await bot.send_message(5, "no file: the read timeout alone")
    assert len(server.seen) == 3


async def test_the_proxy_named_in_the_environment_is_used(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with httpx, PTB's default: an office network may reach Telegram only that way."""
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.base)  # the test server plays the proxy
    async with AiohttpRequest() as request:
        status, _ = await request.do_request("http://api.telegram.invalid/bot1:A/getMe", "POST")
    assert status == 200
    [seen] = server.seen
    assert seen.path == "/bot1:A/getMe"


async def test_the_proxy_is_looked_up_once_per_host_and_no_proxy_is_obeyed(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """trust_env made aiohttp read the environment and ~/.netrc for every request (three
    times the client's CPU): the proxy is now read once per host."""
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.base)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the test server itself is reached directly
    looked_up: list[str] = []
    original = telegram_request.get_env_proxy_for_url

    def counting(url: URL) -> Any:
        looked_up.append(str(url.host))
        return original(url)

    monkeypatch.setattr(telegram_request, "get_env_proxy_for_url", counting)
    async with AiohttpRequest() as request:
        for _ in range(3):
            status, _ = await request.do_request("http://api.telegram.invalid/bot1:A/getMe", "POST")
            assert status == 200  # through the proxy
        status, _ = await request.do_request(f"{server.base}/getMe", "POST")
        assert status == 200  # directly: NO_PROXY
    assert looked_up == ["api.telegram.invalid", "127.0.0.1"]
    assert [seen.path for seen in server.seen] == ["/bot1:A/getMe"] * 3 + ["/getMe"]


async def test_an_error_status_becomes_ptbs_exception(server: Server) -> None:
    server.status = 400
    async with AiohttpRequest() as request:
        with pytest.raises(BadRequest, match="No"):
            await request.post(f"{server.base}/sendMessage")


async def test_a_slow_answer_times_out_after_the_read_timeout(server: Server) -> None:
    server.answer = asyncio.Event()  # the server never answers until told
    async with AiohttpRequest(read_timeout=0.2) as request:
        assert request.read_timeout == 0.2
        with pytest.raises(TimedOut):  # raised by the timeout: no answer was ever sent
            await request.do_request(f"{server.base}/sendMessage", "POST")
        server.answer.set()
        server.delay = 1.0
        # … and a longer read timeout for one call (getUpdates' long polling) is obeyed.
        status, _ = await request.do_request(f"{server.base}/getUpdates", "POST", read_timeout=3.0)
        assert status == 200


async def test_a_refused_connection_is_a_network_error_not_a_timeout() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as raised:
            await request.do_request(f"http://127.0.0.1:{port}/sendMessage", "POST")
    assert not isinstance(raised.value, TimedOut)
    assert "ClientConnectorError" in str(raised.value)


async def test_it_must_be_initialized_and_can_be_again_after_shutdown(server: Server) -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{server.base}/getMe", "POST")
    for _ in range(2):
        await request.initialize()
        status, _ = await request.do_request(f"{server.base}/getMe", "POST")
        assert status == 200
        await request.shutdown()
    assert len(server.seen) == 2
