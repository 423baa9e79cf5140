"""The web channel's application served on 127.0.0.1 for the bot under test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from bot.channels.web.app import build_app
from tests.support.harness import Bot


async def serve(bot: Bot) -> TestServer:
    """The bot's web application on a free port of 127.0.0.1 (close it when done)."""
    server = TestServer(build_app(bot.runtime.ctx, bot.runtime.core), host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture
async def site(bot: Bot) -> AsyncIterator[str]:
    """The address of the bot's web pages, without a trailing slash."""
    server = await serve(bot)
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
