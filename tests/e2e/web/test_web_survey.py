"""The web survey over real HTTP on 127.0.0.1, on the bot's real SQLite file: the same
router, state machine and counting as the chat channels."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.app.config import load_config
from bot.app.runtime import load_data, serve_zalo
from bot.channels.web.app import COOKIE, build_app
from db.models import SurveyResponse
from tests.e2e.test_surveys import LAND, stored_texts
from tests.support.harness import Bot, database_url, free_port
from tests.support.polling import until

POINT = LAND.removeprefix("s-")


@pytest.fixture
async def site(bot: Bot) -> AsyncIterator[str]:
    server = TestServer(build_app(bot.runtime.ctx, bot.runtime.core), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url(""))
    finally:
        await server.close()


def jar() -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True)  # keeps cookies of an IP address (127.0.0.1)


def form(html: str) -> tuple[str, str, list[str]]:
    """(csrf, token, button values) of a survey page."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    token = re.search(r'name="t" value="([^"]*)"', html)
    assert csrf is not None and token is not None, html
    return csrf.group(1), token.group(1), re.findall(r'name="a" value="([^"]+)"', html)


def choice(buttons: list[str], value: str) -> str:
    [data] = [b for b in buttons if b.endswith(f".{value}")]
    return data


async def counted(bot: Bot) -> list[SurveyResponse]:
    return [r for r in await bot.scalars(select(SurveyResponse)) if r.status == "counted"]


async def test_a_citizen_answers_on_the_web_once_even_resubmitting(bot: Bot, site: str) -> None:
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
        page = await http.get(f"/s/{POINT}")
        html = await page.text()
        assert page.status == 200 and "Câu 1/7" in html and 'lang="vi"' in html
        assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        cookie = page.cookies[COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        assert len(html.encode()) <= 30_000
        forms = []
        for value in ("4", "5", "3", "4", "khong"):  # four ratings, no feedback given
            csrf, _, buttons = form(html)
            data = {"csrf": csrf, "a": choice(buttons, value)}
            forms.append(data)
            html = await (await http.post(f"/s/{POINT}", data=data)).text()
        assert "Câu 6/6" in html
        csrf, _, buttons = form(html)
        done = await http.post(f"/s/{POINT}", data={"csrf": csrf, "a": "", "text": "Nhanh"})
        assert done.status == 200 and "Cảm ơn" in await done.text()
        again = await http.post(f"/s/{POINT}", data=forms[-1])  # Back, and submit again
        assert "Cảm ơn" not in await again.text()
    [response] = await counted(bot)
    assert "Nhanh" in response.answers.values() and response.point_code == POINT
    stored = "\n".join(await stored_texts(bot))
    assert cookie.value not in stored


async def test_hostile_requests_get_clear_pages_and_change_nothing(bot: Bot, site: str) -> None:
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
        unknown = await http.get("/s/khong-co")
        assert unknown.status == 404 and "Không tìm thấy" in await unknown.text()
        html = await (await http.get(f"/s/{POINT}")).text()
        csrf, _, buttons = form(html)
        forged = await http.post(f"/s/{POINT}", data={"csrf": "x" * 32, "a": buttons[0]})
        assert forged.status == 403 and "không hợp lệ" in await forged.text()
        missing = await http.post(f"/s/{POINT}", data={"a": buttons[0]})
        assert missing.status == 403
        tampered = await http.post(f"/s/{POINT}", data={"csrf": csrf, "a": "c:zz:0.9"})
        assert tampered.status in (200, 400) and "Traceback" not in await tampered.text()
        big = await http.post(f"/s/{POINT}", data={"csrf": csrf, "text": "x" * 1_000_000})
        assert big.status == 413 and "quá lớn" in await big.text()
    # another visitor (no cookie) cannot use the first one's CSRF token
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as stranger:
        refused = await stranger.post(f"/s/{POINT}", data={"csrf": csrf, "a": buttons[0]})
        assert refused.status == 403
    assert await counted(bot) == []


async def test_run_serves_the_web_with_no_telegram_token(tmp_path: Path) -> None:
    """An office without Telegram: the bot on the web alone, in the same process."""
    port = free_port()
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{database_url(tmp_path)}"\n'
        '[survey]\nsecret = "a-test-secret-of-enough-length"\n'
        f'[web]\nenabled = true\nlisten = "127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    config = load_config(path, environ={})
    assert config.telegram.token is None
    stop = asyncio.Event()
    serving = asyncio.create_task(serve_zalo(config, load_data(config), stop))
    try:
        async with aiohttp.ClientSession(cookie_jar=jar()) as http:

            async def page() -> bool:
                try:
                    got = await http.get(f"http://127.0.0.1:{port}/s/{POINT}")
                except aiohttp.ClientConnectionError:
                    return False
                return got.status == 200 and "Câu 1/7" in await got.text()

            await until(page, what="the web page served")
    finally:
        stop.set()
        await serving
