"""The Zalo adapter's pure parts (rendering without buttons, reading updates, mapping Zalo's
errors for the outbox), its Bot API client against the fake server, and the [zalo] config."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.config import _KNOWN_KEYS, load_config
from bot.channels.typed import pressed
from bot.channels.zalo import (
    ZALO_NO_FILES,
    ZALO_PICK_HINT,
    ZALO_TYPE_NUMBER,
    by_words,
    choice_lines,
    failure_of,
    inbound_of,
    offer_after,
    render,
    render_outbound,
    update_key,
    webhook_update,
)
from bot.channels.zalo_api import ZaloApi, ZaloApiError, ZaloNetworkError
from bot.usecases.linking import is_code
from bot.usecases.settings import ConfigError, ZaloConfig
from surveys.messages import Button, Outbound
from tests.support.fakes.zalo_api import FakeZalo
from tests.support.harness import free_port

EXAMPLE = Path(__file__).parents[2] / "config.example.toml"
SUMMARY = (
    (Button("✅ Gửi báo cáo", "c:t:3.send"),),
    (Button("✏️ Sửa một mục", "c:t:3.edit"), Button("❌ Hủy", "c:t:3.cancel")),
)


# --------------------------------------------------------------------------- rendering


def test_buttons_become_a_numbered_list_that_a_digit_presses() -> None:
    [text] = render("Tóm tắt báo cáo", SUMMARY)
    assert text.splitlines() == [
        "Tóm tắt báo cáo",
        "",
        "1. Gửi báo cáo",
        "2. Sửa một mục",
        "3. Hủy",
        ZALO_PICK_HINT,
    ]
    flat = [b for row in SUMMARY for b in row]
    assert pressed("2", flat, by_words(flat, False)) == flat[1]
    assert pressed(" 3 ", flat, False) == flat[2]
    assert pressed("4", flat, False) is None  # no such choice: the core sees the text
    assert pressed("gui bao cao", flat, False) == flat[0]  # words, without diacritics


def test_choices_of_a_question_that_takes_numbers_are_named_not_numbered() -> None:
    skip = [Button("Không áp dụng cho đơn vị", "c:t:0.skip")]
    assert choice_lines(skip, free_text=True) == ["(hoặc gõ: Không áp dụng cho đơn vị)"]
    assert pressed("1", skip, True) is None  # "1" is the answer, not the first choice
    assert pressed("không áp dụng cho đơn vị", skip, True) == skip[0]


def test_ratings_and_pre_numbered_options_are_not_numbered_twice() -> None:
    ratings = [Button(str(n), f"c:t:1.{n}") for n in range(1, 6)]
    assert choice_lines(ratings, False) == [ZALO_TYPE_NUMBER.format(n=5)]
    assert pressed("4", ratings, by_words(ratings, False)) == ratings[3]
    fields = [Button("1. Đất đai", "c:t:0.dat_dai"), Button("2. Xây dựng", "c:t:0.xay_dung")]
    assert choice_lines(fields, False)[:2] == ["1. Đất đai", "2. Xây dựng"]


def test_codes_that_are_numbers_are_typed_as_codes_not_positions() -> None:
    """Picking an indicator to correct: "2" must be indicator 2, not the second choice."""
    codes = [Button("2", "c:t:5.2"), Button("3a", "c:t:5.3a"), Button("↩ Quay lại", "c:t:5.b")]
    assert by_words(codes, False)
    assert choice_lines(codes, False) == ["(Gõ một trong: 2 · 3a · Quay lại)"]
    assert pressed("2", codes, True) is None  # goes to the report machine as the code "2"
    assert pressed("3A", codes, True) == codes[1]
    assert pressed("quay lai", codes, True) == codes[2]


def test_long_texts_are_split_at_2000_characters_with_the_choices_last() -> None:
    lines = [f"• Dòng {n}: " + "chữ có dấu " * 12 for n in range(60)]
    chunks = render("\n".join(lines), SUMMARY)
    assert len(chunks) >= 3
    assert all(1 <= len(c) <= 2000 for c in chunks)
    assert chunks[-1].endswith(ZALO_PICK_HINT) and "1. Gửi báo cáo" in chunks[-1]
    assert "\n".join(chunks).count("• Dòng") == 60
    [single] = render("x" * 2000, ())
    assert len(single) == 2000


def test_pictures_and_files_say_they_are_on_telegram_only() -> None:
    out = Outbound("c", "Biểu đồ tỷ lệ hài lòng", photo=b"\x89PNG")
    assert render_outbound(out) == [f"Biểu đồ tỷ lệ hài lòng\n{ZALO_NO_FILES}"]
    assert render_outbound(Outbound("c", "", document=("a.xlsx", b"x"))) == [ZALO_NO_FILES]


def test_the_last_message_that_says_something_decides_the_offer() -> None:
    notice = Outbound("c", "Tiếp tục báo cáo")
    question = Outbound("c", "Chỉ tiêu 2/11", SUMMARY)
    assert offer_after([]) is None
    assert offer_after([notice]) == ([], False)
    flat = [b for row in SUMMARY for b in row]
    assert offer_after([notice, question]) == (flat, False)
    assert offer_after([question, notice]) == ([], False)
    asks = Outbound("c", "Số hồ sơ?", ((Button("Bỏ qua", "c:t:1.skip"),),), free_text=True)
    assert offer_after([asks]) == ([Button("Bỏ qua", "c:t:1.skip")], True)


# --------------------------------------------------------------------------- updates


def update(**message: object) -> dict[str, object]:
    base: dict[str, object] = {
        "from": {"id": "u1", "display_name": "Lan", "is_bot": False},
        "chat": {"id": "u1", "chat_type": "PRIVATE"},
        "text": "Xin chào",
        "message_id": "m1",
        "date": 1_750_316_131_602,
    }
    base.update(message)
    return {"event_name": "message.text.received", "message": base}


def test_updates_become_inbounds() -> None:
    inbound = inbound_of(update())
    assert inbound is not None
    assert (inbound.channel, inbound.chat_id, inbound.user_id) == ("zalo", "u1", "u1")
    assert (inbound.display_name, inbound.chat_type, inbound.text) == ("Lan", "private", "Xin chào")
    group = inbound_of(update(chat={"id": "g9", "chat_type": "GROUP"}))
    assert group is not None and (group.chat_id, group.chat_type) == ("g9", "group")
    picture = {**update(), "event_name": "message.image.received"}
    assert (found := inbound_of(picture)) is not None and found.text is None
    assert inbound_of(update(**{"from": {"id": "b", "is_bot": True}})) is None
    assert inbound_of({"event_name": "message.text.received"}) is None
    assert inbound_of(update(**{"from": {"display_name": "x"}})) is None


# --------------------------------------------------------------------------- errors


def api_error(code: int, description: str = "") -> ZaloApiError:
    return ZaloApiError("sendMessage", code, code, description)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (api_error(429, "Quota exceeded"), "retry_after"),
        (api_error(500, "Internal server error"), "transient"),
        (api_error(502), "transient"),
        (api_error(408, "Request timeout"), "transient"),
        (ZaloNetworkError("sendMessage", "timed out"), "transient"),
        # 404 is "Not found": no documented answer says the person blocked the bot
        (api_error(404, "Not found: user not found"), "permanent"),
        (api_error(403, "Internal server error"), "transient"),  # what Zalo documents for 403
        (api_error(403, "User has blocked the bot"), "transient"),
        (api_error(400, "text must have 1 to 2000 characters"), "permanent"),
        (api_error(401, "Unauthorized"), "paused"),
    ],
)
def test_zalo_errors_map_to_retry_give_up_or_unreachable(error: Exception, kind: str) -> None:
    assert isinstance(error, ZaloApiError | ZaloNetworkError)
    mapped = failure_of(error, retry_after=45.0, paused_for=300.0)
    assert mapped.kind == kind
    waits = {"retry_after": 45.0, "paused": 300.0}
    assert mapped.retry_after == waits.get(kind, 0.0)


def test_only_configured_descriptions_mean_blocked() -> None:
    blocked = ("has blocked",)
    assert failure_of(api_error(403, "User HAS BLOCKED the bot"), 30.0, blocked).kind == "blocked"
    assert failure_of(api_error(404, "Not found"), 30.0, blocked).kind == "permanent"
    assert failure_of(api_error(404, "Not found"), 30.0, ("",)).kind == "permanent"  # no blank
    # a 429 or a 5xx stays a retry whatever its words
    assert failure_of(api_error(429, "has blocked"), 30.0, blocked).kind == "retry_after"
    assert failure_of(api_error(502, "has blocked"), 30.0, blocked).kind == "transient"


def test_the_bots_own_messages_and_updates_without_an_id_are_recognised() -> None:
    own = update(**{"from": {"id": "1459232241454765289", "display_name": "bot"}})
    assert inbound_of(own, bot_id="1459232241454765289") is None
    assert inbound_of(own) is not None  # before getMe answered, nothing to compare with
    assert update_key(update()) == "message.text.received:m1"
    assert update_key({"event_name": "x", "message": {"text": "no id"}}) is None
    assert update_key({"event_name": "x", "message": {"message_id": True}}) is None


def test_a_webhook_body_is_read_flat_or_wrapped() -> None:
    flat_body = update()
    assert webhook_update(flat_body) == flat_body
    assert webhook_update({"ok": True, "result": flat_body}) == flat_body
    assert webhook_update({"ok": True}) is None
    assert webhook_update([flat_body]) is None


# --------------------------------------------------------------------------- the client


async def test_the_client_polls_one_update_at_a_time_and_reads_408_as_nothing() -> None:
    async with FakeZalo() as zalo, ZaloApi(zalo.token, zalo.base_url) as api:
        assert (await api.get_me())["account_name"] == zalo.account_name
        assert await api.get_updates(timeout=1) == []  # the poll timed out (408)
        zalo.user_sends("u1", "một")
        zalo.user_sends("u1", "hai")
        [first] = await api.get_updates(timeout=1)
        [second] = await api.get_updates(timeout=1)
        assert (first["message"]["text"], second["message"]["text"]) == ("một", "hai")
        zalo.batch_updates = True  # a result that is a list, as a client reports
        zalo.user_sends("u1", "ba")
        zalo.user_sends("u1", "bốn")
        both = await api.get_updates(timeout=1)
        assert [u["message"]["text"] for u in both] == ["ba", "bốn"]
        zalo.batch_updates = False
        polls = [p for m, p in zalo.requests if m == "getUpdates"]
        assert all(p["timeout"] == "1" for p in polls)  # a string, as Zalo wants

        await api.send_message("u1", "Chào")
        await api.send_photo("u1", "https://example.vn/a.png", "Ảnh")
        await api.send_chat_action("u1")
        assert [(m.method, m.text) for m in zalo.sent] == [
            ("sendMessage", "Chào"),
            ("sendPhoto", "Ảnh"),
        ]
        assert zalo.chat_actions == [("u1", "typing")]

        zalo.fail("sendMessage", 429)
        with pytest.raises(ZaloApiError) as error:
            await api.send_message("u1", "lần nữa")
        assert (error.value.code, error.value.description) == (429, "Quota exceeded")
        assert zalo.token not in str(error.value)


async def test_the_client_reports_a_wrong_token_and_no_server_without_the_token() -> None:
    async with FakeZalo() as zalo:
        async with ZaloApi("1:wrong-token", zalo.base_url) as api:
            with pytest.raises(ZaloApiError) as error:
                await api.get_me()
            assert error.value.code == 401
        port = free_port()
        async with ZaloApi(zalo.token, f"http://127.0.0.1:{port}", timeout=2) as api:
            with pytest.raises(ZaloNetworkError) as failure:
                await api.send_message("u1", "x")
            assert zalo.token not in str(failure.value)


def test_link_codes_are_six_digits() -> None:
    assert is_code("123456") and is_code(" 000001 ")
    assert not is_code("12345") and not is_code("1234567") and not is_code("12a456")


# --------------------------------------------------------------------------- config


def test_every_zalo_key_is_documented_and_the_example_shows_the_defaults() -> None:
    section = EXAMPLE.read_text(encoding="utf-8").split("[zalo]", 1)[1]
    for key in _KNOWN_KEYS["zalo"]:
        assert f"\n{key} = " in section or f"\n# {key} = " in section, key
    assert load_config(EXAMPLE, environ={}).zalo == ZaloConfig()


def test_zalo_keys_are_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"

    def load(text: str, **env: str) -> ZaloConfig:
        path.write_text("[zalo]\n" + text, encoding="utf-8")
        return load_config(path, environ=env).zalo

    good = load(
        'enabled = true\ntoken = "1:abc"\nadmins = ["u1", " u2 "]\nmessages_per_second = 4\n'
        'webhook_url = "https://x.vn/zalo"\nwebhook_secret = "abcdefgh"\n'
        'base_url = "https://bot-api.zapps.me/"\n'
    )
    assert good.enabled and good.require_token() == "1:abc"
    assert good.admins == frozenset({"u1", "u2"}) and good.messages_per_second == 4.0
    assert good.require_webhook() == ("https://x.vn/zalo", "abcdefgh")
    assert good.base_url == "https://bot-api.zapps.me"
    listed = load('blocked_descriptions = ["đã chặn", " blocked "]\npaused_retry_seconds = 60\n')
    assert listed.blocked_descriptions == ("đã chặn", "blocked")
    assert listed.paused_retry_seconds == 60.0
    from_env = load("enabled = true\n", CCHC_ZALO_TOKEN="9:env", CCHC_ZALO_WEBHOOK_SECRET="s" * 8)
    assert (from_env.token, from_env.webhook_secret) == ("9:env", "s" * 8)
    for text, key in [
        ('enabled = "yes"\n', "[zalo] enabled"),
        ("admins = [123]\n", "[zalo] admins"),
        ('webhook_secret = "short"\n', "[zalo] webhook_secret"),
        ("messages_per_second = 0\n", "[zalo] messages_per_second"),
        ('base_url = "bot-api"\n', "[zalo] base_url"),
        ("poll_timeout = 0\n", "[zalo] poll_timeout"),
        ("webhook_port = 70000\n", "[zalo] webhook_port"),
        ('webhook_url = "http://x.vn/zalo"\n', "[zalo] webhook_url"),  # HTTPS only
        ("blocked_descriptions = [1]\n", "[zalo] blocked_descriptions"),
        ("paused_retry_seconds = 0\n", "[zalo] paused_retry_seconds"),
        ("unknown = 1\n", "[zalo] unknown"),
    ]:
        with pytest.raises(ConfigError) as error:
            load(text)
        assert error.value.key == key, text
    with pytest.raises(ConfigError) as error:
        load("enabled = true\n").require_token()
    assert error.value.key == "[zalo] token"
    with pytest.raises(ConfigError) as error:
        load('webhook_url = "https://x.vn/z"\n').require_webhook()
    assert error.value.key == "[zalo] webhook_secret"


# --------------------------------------------------------------------------- command line


def test_qr_and_invite_for_zalo_need_no_telegram(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.app.cli import main
    from tests.integration.test_poster import png_encodes

    link = "https://zalo.me/s/1459232241454765289"
    config = tmp_path / "config.toml"
    config.write_text(  # no [telegram] at all: no token, no bot name
        f'[survey]\nsecret = "a-test-secret-of-enough-length"\n[zalo]\nchat_link = "{link}"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "db.sqlite3"}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "poster.png"
    assert main(["--config", str(config), "qr", "mc-huyen", "--zalo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == [link, "Mã gửi cho bot Zalo: s-mc-huyen"]
    assert png_encodes(out.read_bytes(), link)  # the QR opens the bot's chat

    assert main(["--config", str(config), "invite", "PNV", "--zalo"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Gửi tin nhắn sau cho bot Zalo") and lines[2] == link
    assert lines[1].startswith("i-") and len(lines[1]) == 2 + 32

    config.write_text(
        config.read_text(encoding="utf-8").replace(f'chat_link = "{link}"\n', ""),
        encoding="utf-8",
    )
    assert main(["--config", str(config), "qr", "mc-huyen", "--zalo", "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "Mã gửi cho bot Zalo: s-mc-huyen"
    assert png_encodes(out.read_bytes(), "s-mc-huyen")  # no chat link: the QR holds the code
