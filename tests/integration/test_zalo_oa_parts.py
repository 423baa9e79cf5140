"""The Zalo OA adapter's pure parts (signature, error mapping, expires_in) and its
[zalo_oa] config."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot.app.config import _KNOWN_KEYS, load_config
from bot.channels.zalo_oa import event_user, failure_of, signature, signed, timestamp_of
from bot.channels.zalo_oa_api import ZaloOaApiError, ZaloOaNetworkError, seconds
from bot.usecases.settings import ConfigError, ZaloOaConfig

EXAMPLE = Path(__file__).parents[2] / "config.example.toml"


def test_the_signature_is_sha256_of_app_id_body_timestamp_and_oa_key() -> None:
    body = b'{"event_name":"user_send_text","timestamp":"1718000000000"}'
    expected = hashlib.sha256(b"123" + body + b"1718000000000" + b"key").hexdigest()
    assert signature("123", body, "1718000000000", "key") == expected
    assert signed("123", "key", body, expected)
    assert signed("123", "key", body, f"mac={expected}")  # chatwoot's form
    assert not signed("123", "key", body, expected.upper()[:-1] + "0")
    assert not signed("123", "other", body, expected)
    assert not signed("123", "key", b"not json", expected)
    assert timestamp_of({"timestamp": 1718000000000}) == "1718000000000"
    assert timestamp_of({}) == ""


def test_events_name_their_person() -> None:
    assert event_user({"follower": {"id": "f1"}, "sender": {"id": "s1"}}) == "f1"
    assert event_user({"sender": {"id": "s1"}}) == "s1"
    assert event_user({"sender": "x"}) == ""


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ZaloOaApiError("cs", 200, -230, "not interacted"), "undeliverable"),
        (ZaloOaApiError("cs", 429, 429, "rate limited"), "retry_after"),
        (ZaloOaApiError("cs", 200, -216, "token invalid"), "paused"),
        (ZaloOaApiError("refresh", 200, -118, "invalid refresh token"), "paused"),
        (ZaloOaApiError("cs", 502, 502, "HTTP 502"), "transient"),
        (ZaloOaApiError("cs", 200, -201, "params invalid"), "permanent"),
        (ZaloOaNetworkError("cs", "timed out", timed_out=True), "transient"),
    ],
)
def test_oa_errors_map_to_the_outbox(error: Exception, kind: str) -> None:
    assert isinstance(error, ZaloOaApiError | ZaloOaNetworkError)
    assert failure_of(error, 30.0, 300.0).kind == kind


def test_expires_in_is_read_as_zalo_sends_it() -> None:
    assert seconds("90000") == 90000.0 and seconds(3600) == 3600.0
    for bad in ("1h", None, True, ""):
        with pytest.raises(ValueError):
            seconds(bad)


def test_every_zalo_oa_key_is_documented_and_read(tmp_path: Path) -> None:
    section = EXAMPLE.read_text(encoding="utf-8").split("[zalo_oa]", 1)[1]
    for key in _KNOWN_KEYS["zalo_oa"] - {"zns"}:
        assert f"\n{key} = " in section or f"\n# {key} = " in section, key
    assert "\n[zalo_oa.zns]\n" in section and "\n[zalo_oa.zns.params]\n" in section
    assert load_config(EXAMPLE, environ={}).zalo_oa == ZaloOaConfig()
    path = tmp_path / "config.toml"
    path.write_text(
        '[zalo_oa]\nenabled = true\napp_id = "1"\nfollow_point = "mc-huyen"\n', encoding="utf-8"
    )
    env = {"CCHC_ZALO_OA_APP_SECRET": "s", "CCHC_ZALO_OA_OA_SECRET_KEY": "k"}
    oa = load_config(path, environ=env).zalo_oa
    assert oa.require() == ("1", "s", "k") and oa.follow_point == "mc-huyen"
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={}).zalo_oa.require()
    assert error.value.key == "[zalo_oa] app_secret"
    path.write_text('[zalo_oa]\napi_url = "openapi"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert error.value.key == "[zalo_oa] api_url"
