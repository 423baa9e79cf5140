"""Shared steps of the desk's tests: a bot with the web channel on a free port, unit heads
registered through real invitations, login links asked with /web in the fake Telegram."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import aiohttp

from tests.e2e.test_reporting import AN, CUONG, Head, join, settle
from tests.support.harness import ADMIN, Bot, FakeClock, free_port, running_bot, texts

__all__ = ["ADMIN", "AN", "CUONG", "Head", "join"]

LINK = re.compile(r"(https?://\S+/dang-nhap/[A-Za-z0-9_-]+)")


def desk_config(port: int, extra: str = "") -> str:
    return f'[web]\nenabled = true\nlisten = "127.0.0.1:{port}"\n{extra}'


@asynccontextmanager
async def desk_bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[tuple[Bot, str]]:
    """The bot serving the web itself (as ``cchc-bot run`` does), and its address."""
    port = free_port()
    async with running_bot(tmp_path, clock, desk_config(port)) as bot:
        await settle(bot)
        yield bot, f"http://127.0.0.1:{port}"


def jar() -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True)  # 127.0.0.1 is an address, not a domain


async def login_link(bot: Bot, user_id: int, name: str = "") -> str:
    replies = await bot.say(user_id, "/web", first_name=name or "Người dùng")
    found = LINK.search(texts(replies))
    assert found, texts(replies)
    return found.group(1)


def clock_at(local: datetime) -> FakeClock:
    return FakeClock(local)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def logged_in(http: aiohttp.ClientSession, link: str) -> str:
    """Open the login link; the desk's first page's HTML."""
    got = await http.get(link, allow_redirects=False)
    assert got.status == 303, await got.text()
    assert got.headers["Location"] == "/ban-lam-viec"
    page = await http.get(got.headers["Location"])
    assert page.status == 200, await page.text()
    return await page.text()


def form_fields(html: str) -> dict[str, str]:
    """The form's inputs as the browser would post them (text inputs and checked boxes)."""
    out: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]+>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name is None:
            continue
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        out[name.group(1)] = value.group(1) if value else ""
    return out
