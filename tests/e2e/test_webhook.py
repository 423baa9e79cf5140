"""``cchc-bot run --webhook`` as an operator starts it: a subprocess that registers its webhook
with the (fake) Bot API, which then POSTs updates to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app.config import _KNOWN_KEYS, load_config
from bot.usecases.settings import ConfigError, WebhookConfig
from tests.support.fakes.telegram_api import FakeTelegram
from tests.support.harness import ADMIN, BotProcess, free_port, start_bot, wait_until, write_config

SECRET = "webhook-Secret_123"


def webhook_config(port: int, secret: str = SECRET) -> str:
    return (
        "[webhook]\n"
        'listen = "127.0.0.1"\n'
        f"port = {port}\n"
        'url_path = "tg/hook"\n'
        f'url = "http://127.0.0.1:{port}/tg/hook"\n'
        f'secret_token = "{secret}"\n'
    )


@contextlib.asynccontextmanager
async def webhook_bot(tmp_path: Path) -> AsyncIterator[tuple[FakeTelegram, BotProcess, int]]:
    port = free_port()
    async with FakeTelegram() as tg:
        config = write_config(tmp_path, tg, webhook_config(port))
        process = await start_bot(config, tmp_path / "bot.log", "--webhook")
        try:
            await wait_until(lambda: bool(tg.webhook_url), process)
            yield tg, process, port
        finally:
            await process.stop()


async def post(port: int, headers: dict[str, str], path: str = "/tg/hook") -> int:
    update = {
        "update_id": 999_999,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 4242, "type": "private"},
            "from": {"id": 4242, "is_bot": False, "first_name": "Kẻ lạ"},
            "text": "/help",
        },
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}{path}", json=update, headers=headers) as response,
    ):
        return response.status


async def test_webhook_mode_answers_messages_and_refuses_a_wrong_secret(tmp_path: Path) -> None:
    async with webhook_bot(tmp_path) as (tg, process, port):
        assert tg.webhook_url == f"http://127.0.0.1:{port}/tg/hook"
        assert tg.webhook_secret == SECRET
        assert not any(method == "getUpdates" for method, _ in tg.requests)

        tg.user_sends(ADMIN, "/help")
        [reply] = await tg.wait_for(ADMIN, timeout=30)
        assert "/trangthai" in reply.body  # the admin's help
        assert tg.pending_updates == 0  # the POST was acknowledged

        wrong = await post(port, {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"})
        missing = await post(port, {})
        assert (wrong, missing) == (403, 403)

        assert await post(port, {"X-Telegram-Bot-Api-Secret-Token": SECRET}) == 200
        [answer] = await tg.wait_for(4242, timeout=30)
        assert answer.body  # an update with the right secret is handled

        assert await process.stop() == 0  # a clean stop: nothing is left being handled
        assert tg.sent_to(4242) == [answer]  # the two refused updates were not handled
    assert "Traceback" not in process.output()


async def test_stopping_one_webhook_process_leaves_the_webhook_set(tmp_path: Path) -> None:
    """Behind a load balancer the other processes still serve the webhook."""
    async with webhook_bot(tmp_path) as (tg, process, _):
        url = tg.webhook_url
        assert await process.stop() == 0
        assert tg.webhook_url == url
        assert not any(method == "deleteWebhook" for method, _ in tg.requests)


async def test_webhook_mode_without_a_secret_exits_2_naming_the_key(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:
        port = free_port()
        extra = webhook_config(port).replace(f'secret_token = "{SECRET}"\n', "")
        config = write_config(tmp_path, tg, extra)
        process = await start_bot(config, tmp_path / "bot.log", "--webhook")
        assert await asyncio.wait_for(process.proc.wait(), 60) == 2
        assert (
            process.output()
            .strip()
            .splitlines()[-1]
            .startswith("Lỗi cấu hình: [webhook] secret_token")
        )
        assert tg.requests == []  # refused before talking to Telegram


def test_every_webhook_key_is_documented_in_the_example_config() -> None:
    example = (Path(__file__).parents[2] / "config.example.toml").read_text(encoding="utf-8")
    section = example.split("[webhook]", 1)[1]
    for key in _KNOWN_KEYS["webhook"]:
        assert f"\n{key} = " in section or f"\n# {key} = " in section, key
    config = load_config(Path(__file__).parents[2] / "config.example.toml", environ={})
    assert config.webhook == WebhookConfig()  # the example shows the defaults


def test_webhook_keys_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"

    def load(text: str, **env: str) -> WebhookConfig:
        path.write_text("[webhook]\n" + text, encoding="utf-8")
        return load_config(path, environ=env).webhook

    good = load('url = "https://cchc.example.vn/tg"\nsecret_token = "abc-DEF_1"\nport = 8443\n')
    assert good.require() == ("https://cchc.example.vn/tg", "abc-DEF_1") and good.port == 8443
    assert load('url = "https://x.vn/t"\n', CCHC_WEBHOOK_SECRET="from-env").require()[1] == (
        "from-env"
    )
    for text, key in [
        ("port = 0\n", "[webhook] port"),
        ('port = "80"\n', "[webhook] port"),
        ('url = "ftp://x"\n', "[webhook] url"),
        ('secret_token = "có dấu"\n', "[webhook] secret_token"),
        ("max_connections = 101\n", "[webhook] max_connections"),
        ("unknown = 1\n", "[webhook] unknown"),
    ]:
        with pytest.raises(ConfigError) as error:
            load(text)
        assert error.value.key == key, text
    with pytest.raises(ConfigError) as error:
        load('secret_token = "abc"\n').require()
    assert error.value.key == "[webhook] url"
