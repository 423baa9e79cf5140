from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.config import load_config
from bot.usecases.settings import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, environ={})
    assert config.timezone.key == "Asia/Ho_Chi_Minh"
    assert config.database_url == f"sqlite+aiosqlite:///{tmp_path / 'cchc-bot.sqlite3'}"
    assert config.telegram.token is None
    assert config.telegram.base_url == "https://api.telegram.org/bot"
    assert config.org.units.name == "units.toml" and config.org.units.exists()


def test_database_defaults_beside_the_config(tmp_path: Path) -> None:
    sub = tmp_path / "etc"
    sub.mkdir()
    config = load_config(write(sub, "[access]\nadmins = [1, 2]\n"), environ={})
    assert config.database_url.endswith(str(sub / "cchc-bot.sqlite3"))
    assert config.admins == frozenset({1, 2})


def test_token_from_environment_wins(tmp_path: Path) -> None:
    path = write(tmp_path, '[telegram]\ntoken = "from-file"\n')
    assert load_config(path, environ={}).require_token() == "from-file"
    env = {"CCHC_TELEGRAM_TOKEN": "from-env"}
    assert load_config(path, environ=env).require_token() == "from-env"


def test_local_bot_api_server_gets_a_matching_file_url(tmp_path: Path) -> None:
    path = write(tmp_path, '[telegram]\nbase_url = "http://127.0.0.1:8081/bot"\n')
    config = load_config(path, environ={})
    assert config.telegram.base_file_url == "http://127.0.0.1:8081/file/bot"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('timezone = "Mars/Olympus"', "timezone"),
        ("[access]\nadmins = ['nv']", "[access] admins"),
        ("[access]\nadmin = [1]", "[access] admin"),
        ("[telegarm]\ntoken = 'x'", "telegarm"),
        ('[telegram]\nbase_url = "api.telegram.org"', "[telegram] base_url"),
        ('[database]\nurl = "mysql://x"', "[database] url"),
        ('[org]\nunits = "missing.toml"', "[org] units"),
        ('[survey]\nsecret = "short"', "[survey] secret"),
        ("[calendar]\ndeadline_day = 31", "[calendar] deadline_day"),
        ("[calendar]\nwindow_start_day = 20", "[calendar] window_start_day"),
        ('[calendar]\nwork_start = "7h30"', "[calendar] work_start"),
        ("[calendar]\nreminder_steps = ['7']", "[calendar] reminder_steps"),
        ("[calendar]\nholidays = ['30/04/2026']", "[calendar] holidays"),
        ("[delivery]\nmessages_per_second = 0", "[delivery] messages_per_second"),
        ("[delivery]\nmax_attempts = true", "[delivery] max_attempts"),
    ],
)
def test_a_wrong_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), environ={})
    assert caught.value.key == key
    assert key in str(caught.value) and "\n" not in str(caught.value)


def test_missing_token_is_named_only_when_needed(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), environ={})
    with pytest.raises(ConfigError, match=r"\[telegram\] token"):
        config.require_token()


_OA = '[zalo_oa]\nenabled = true\n'


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("[zalo_oa.zns]\nenabled = true\n", "[zalo_oa.zns] enabled", "[zalo_oa] enabled"),
        (_OA + "[zalo_oa.zns]\nenabled = true\n", "[zalo_oa.zns] template_id", "thiếu"),
        (
            _OA + '[zalo_oa.zns]\nenabled = true\ntemplate_id = "231677"\n',
            "[zalo_oa.zns.params]",
            "ten_don_vi",
        ),
        (_OA + '[zalo_oa.zns]\ntemplate_id = "abc"\n', "[zalo_oa.zns] template_id", "chuỗi số"),
        (_OA + '[zalo_oa.zns]\nmode = "test"\n', "[zalo_oa.zns] mode", "development"),
        (_OA + '[zalo_oa.zns.params]\nten = "unit_name"\n', "[zalo_oa.zns.params] ten", '"unit"'),
        (_OA + '[zalo_oa.zns.params]\n"tên" = "unit"\n', "[zalo_oa.zns.params] tên", "không dấu"),
        (_OA + "[zalo_oa.zns]\nretry_codes = [\"-100\"]\n", "[zalo_oa.zns] retry_codes", "số"),
        (_OA + "[zalo_oa.zns]\ntemplate = 1\n", "[zalo_oa.zns] template", "không được hỗ trợ"),
    ],
)
def test_zns_settings_are_checked_in_vietnamese(
    tmp_path: Path, text: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), environ={})
    assert caught.value.key == key and words in str(caught.value)


def test_zns_settings_are_read(tmp_path: Path) -> None:
    text = _OA + (
        '[zalo_oa.zns]\nenabled = true\ntemplate_id = 231677\nmode = "production"\n'
        "retry_codes = [-133]\n[zalo_oa.zns.params]\nten_don_vi = \"unit\"\nhan = \"deadline\"\n"
    )
    zns = load_config(write(tmp_path, text), environ={}).zalo_oa.zns
    assert (zns.enabled, zns.template_id, zns.mode) == (True, "231677", "production")
    assert zns.params == (("ten_don_vi", "unit"), ("han", "deadline"))
    assert zns.retry_codes == frozenset({-133})
