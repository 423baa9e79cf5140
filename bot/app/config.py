"""Reading and checking the TOML configuration into ``bot.usecases.settings``.

A missing or wrong key stops start-up with one line naming it (``ConfigError``), which the
command line prints before exiting with status 2.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.usecases.settings import (
    DEFAULT_CONFIG_NAME,
    DEFAULT_DB_NAME,
    DEFAULT_TELEGRAM_BASE_URL,
    DEFAULT_TELEGRAM_FILE_URL,
    DEFAULT_ZALO_BASE_URL,
    DEFAULT_ZALO_OA_API_URL,
    DEFAULT_ZALO_OA_OAUTH_URL,
    ZNS_FIELDS,
    ZNS_MODES,
    CalendarConfig,
    Config,
    ConfigError,
    DeliveryConfig,
    OrgConfig,
    SurveyConfig,
    TelegramConfig,
    WebConfig,
    WebhookConfig,
    ZaloConfig,
    ZaloOaConfig,
    ZnsConfig,
)
from scheduler.reminder_plan import parse_steps

# --------------------------------------------------------------------------- parsing helpers


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}]", "phải là một bảng TOML")
    return value


def _get(
    table: dict[str, Any], section: str, key: str, kind: type | tuple[type, ...], default: Any
) -> Any:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ConfigError(_name(section, key), "sai kiểu giá trị")
    if not isinstance(value, kind):
        raise ConfigError(_name(section, key), "sai kiểu giá trị")
    return value


def _name(section: str, key: str) -> str:
    return f"[{section}] {key}" if section else key


def _path(base: Path, table: dict[str, Any], section: str, key: str, default: Path) -> Path:
    raw = _get(table, section, key, str, None)
    if raw is None:
        return default
    path = Path(raw).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.exists():
        raise ConfigError(_name(section, key), f"không tìm thấy '{path}'")
    return path


def _time(table: dict[str, Any], section: str, key: str, default: time) -> time:
    raw = _get(table, section, key, str, None)
    if raw is None:
        return default
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise ConfigError(_name(section, key), f"giờ '{raw}' phải có dạng HH:MM") from None


def _day(table: dict[str, Any], section: str, key: str, default: int) -> int:
    value = int(_get(table, section, key, int, default))
    if not 1 <= value <= 28:
        raise ConfigError(_name(section, key), "phải là ngày từ 1 đến 28")
    return value


def _positive(table: dict[str, Any], section: str, key: str, default: float) -> float:
    value = float(_get(table, section, key, (int, float), default))
    if value <= 0:
        raise ConfigError(_name(section, key), "phải lớn hơn 0")
    return value


def _holidays(table: dict[str, Any]) -> frozenset[date]:
    raw = _get(table, "calendar", "holidays", list, [])
    out: set[date] = set()
    for item in raw:
        if isinstance(item, date):
            out.add(item)
        elif isinstance(item, str):
            try:
                out.add(date.fromisoformat(item))
            except ValueError:
                raise ConfigError(
                    "[calendar] holidays", f"ngày '{item}' phải là YYYY-MM-DD"
                ) from None
        else:
            raise ConfigError("[calendar] holidays", "mỗi mục phải là một ngày YYYY-MM-DD")
    return frozenset(out)


def _admins(table: dict[str, Any]) -> frozenset[int]:
    raw = _get(table, "access", "admins", list, [])
    admins: set[int] = set()
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int):
            raise ConfigError("[access] admins", "phải là danh sách số id người dùng Telegram")
        admins.add(item)
    return frozenset(admins)


_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _webhook(table: dict[str, Any], env: Mapping[str, str]) -> WebhookConfig:
    port = int(_get(table, "webhook", "port", int, WebhookConfig.port))
    if not 1 <= port <= 65535:
        raise ConfigError("[webhook] port", "phải từ 1 đến 65535")
    url = _get(table, "webhook", "url", str, None) or None
    if url is not None and not url.startswith(("https://", "http://")):
        raise ConfigError("[webhook] url", "phải bắt đầu bằng https://")
    secret = env.get("CCHC_WEBHOOK_SECRET") or _get(table, "webhook", "secret_token", str, None)
    if secret and not _SECRET_TOKEN.fullmatch(secret):
        raise ConfigError("[webhook] secret_token", "chỉ gồm 1–256 ký tự A-Z, a-z, 0-9, _ và -")
    connections = int(_get(table, "webhook", "max_connections", int, 40))
    if not 1 <= connections <= 100:
        raise ConfigError("[webhook] max_connections", "phải từ 1 đến 100")
    return WebhookConfig(
        listen=_get(table, "webhook", "listen", str, WebhookConfig.listen),
        port=port,
        url_path=_get(table, "webhook", "url_path", str, WebhookConfig.url_path).strip("/"),
        url=url,
        secret_token=secret or None,
        max_connections=connections,
    )


def _web(table: dict[str, Any]) -> WebConfig:
    w = "web"
    listen = _get(table, w, "listen", str, WebConfig.listen)
    host, colon, port = listen.rpartition(":")
    if not colon or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError("[web] listen", "phải có dạng địa_chỉ:cổng, ví dụ 127.0.0.1:8080")
    public = _get(table, w, "public_url", str, None) or None
    if public is not None and not public.startswith(("https://", "http://")):
        raise ConfigError("[web] public_url", "phải bắt đầu bằng https://")
    rate = int(_get(table, w, "requests_per_minute", int, WebConfig.requests_per_minute))
    if not 10 <= rate <= 100_000:
        raise ConfigError("[web] requests_per_minute", "phải từ 10 đến 100000")
    idle = int(_get(table, w, "kiosk_idle_seconds", int, WebConfig.kiosk_idle_seconds))
    if not 2 <= idle <= 600:
        raise ConfigError("[web] kiosk_idle_seconds", "phải từ 2 đến 600")
    thanks = int(_get(table, w, "kiosk_thanks_seconds", int, WebConfig.kiosk_thanks_seconds))
    if not 1 <= thanks <= 120:
        raise ConfigError("[web] kiosk_thanks_seconds", "phải từ 1 đến 120")
    return WebConfig(
        enabled=_get(table, w, "enabled", bool, False),
        listen=listen,
        public_url=public,
        trust_proxy=_get(table, w, "trust_proxy", bool, False),
        requests_per_minute=rate,
        kiosk_idle_seconds=idle,
        kiosk_thanks_seconds=thanks,
    )


_ZALO_SECRET = re.compile(r"[A-Za-z0-9_-]{8,256}")


def _zalo(table: dict[str, Any], env: Mapping[str, str]) -> ZaloConfig:
    z = "zalo"
    enabled = _get(table, z, "enabled", bool, False)
    token = env.get("CCHC_ZALO_TOKEN") or _get(table, z, "token", str, None) or None
    base_url = _get(table, z, "base_url", str, DEFAULT_ZALO_BASE_URL).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError("[zalo] base_url", "phải bắt đầu bằng http:// hoặc https://")
    admins: set[str] = set()
    for item in _get(table, z, "admins", list, []):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError("[zalo] admins", "phải là danh sách id người dùng Zalo (chuỗi)")
        admins.add(item.strip())
    secret = env.get("CCHC_ZALO_WEBHOOK_SECRET") or _get(table, z, "webhook_secret", str, None)
    if secret and not _ZALO_SECRET.fullmatch(secret):
        raise ConfigError("[zalo] webhook_secret", "chỉ gồm 8–256 ký tự A-Z, a-z, 0-9, _ và -")
    url = _get(table, z, "webhook_url", str, None) or None
    if url is not None and not url.startswith("https://"):  # setWebhook: "URL … dạng HTTPS"
        raise ConfigError("[zalo] webhook_url", "phải bắt đầu bằng https://")
    blocked: list[str] = []
    for item in _get(table, z, "blocked_descriptions", list, []):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError("[zalo] blocked_descriptions", "phải là danh sách chuỗi")
        blocked.append(item.strip())
    port = int(_get(table, z, "webhook_port", int, ZaloConfig.webhook_port))
    if not 1 <= port <= 65535:
        raise ConfigError("[zalo] webhook_port", "phải từ 1 đến 65535")
    timeout = int(_get(table, z, "poll_timeout", int, ZaloConfig.poll_timeout))
    if not 1 <= timeout <= 60:
        raise ConfigError("[zalo] poll_timeout", "phải từ 1 đến 60 (giây)")
    link = _get(table, z, "chat_link", str, None) or None
    if link is not None and not link.startswith(("https://", "http://")):
        raise ConfigError("[zalo] chat_link", "phải là một đường dẫn https://")
    return ZaloConfig(
        enabled=enabled,
        token=token,
        base_url=base_url,
        admins=frozenset(admins),
        webhook_secret=secret or None,
        messages_per_second=_positive(
            table, z, "messages_per_second", ZaloConfig.messages_per_second
        ),
        retry_after_seconds=_positive(
            table, z, "retry_after_seconds", ZaloConfig.retry_after_seconds
        ),
        paused_retry_seconds=_positive(
            table, z, "paused_retry_seconds", ZaloConfig.paused_retry_seconds
        ),
        blocked_descriptions=tuple(blocked),
        poll_timeout=timeout,
        chat_link=link,
        webhook_url=url,
        webhook_listen=_get(table, z, "webhook_listen", str, ZaloConfig.webhook_listen),
        webhook_port=port,
        webhook_path=_get(table, z, "webhook_path", str, ZaloConfig.webhook_path).strip("/"),
    )


_ZNS_KEYS = frozenset({"enabled", "template_id", "params", "mode", "url", "retry_codes"})
_ZNS_PARAM = re.compile(r"[A-Za-z0-9_]{1,50}")


def _zns(table: dict[str, Any], oa_enabled: bool) -> ZnsConfig:
    """``[zalo_oa.zns]``: ZNS reminders by phone number (``ZnsConfig``)."""
    z = "zalo_oa.zns"
    for key in table:
        if key not in _ZNS_KEYS:
            raise ConfigError(f"[{z}] {key}", "khóa không được hỗ trợ (xem config.example.toml)")
    enabled = bool(_get(table, z, "enabled", bool, False))
    raw_id = table.get("template_id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int | None):
        raise ConfigError(f"[{z}] template_id", "phải là mã mẫu ZNS (chuỗi số, ví dụ \"231677\")")
    template_id = str(raw_id).strip() if raw_id is not None else None
    if template_id is not None and not template_id.isdigit():
        raise ConfigError(f"[{z}] template_id", "phải là mã mẫu ZNS (chuỗi số, ví dụ \"231677\")")
    params: list[tuple[str, str]] = []
    for name, field_name in _get(table, z, "params", dict, {}).items():
        if not _ZNS_PARAM.fullmatch(name):
            raise ConfigError(
                f"[{z}.params] {name}",
                "tên tham số của mẫu ZNS chỉ gồm chữ cái không dấu, chữ số và dấu gạch dưới",
            )
        if field_name not in ZNS_FIELDS:
            choices = ", ".join(f'"{key}" ({what})' for key, what in ZNS_FIELDS.items())
            raise ConfigError(f"[{z}.params] {name}", f"phải là một trong: {choices}")
        params.append((name, field_name))
    mode = _get(table, z, "mode", str, ZnsConfig.mode)
    if mode not in ZNS_MODES:
        raise ConfigError(f"[{z}] mode", 'phải là "development" (thử nghiệm) hoặc "production"')
    url = _get(table, z, "url", str, ZnsConfig.url).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"[{z}] url", "phải bắt đầu bằng http:// hoặc https://")
    codes: set[int] = set()
    for code in _get(table, z, "retry_codes", list, []):
        if isinstance(code, bool) or not isinstance(code, int):
            raise ConfigError(f"[{z}] retry_codes", "phải là danh sách mã lỗi ZNS (số nguyên)")
        codes.add(code)
    if enabled:
        if not oa_enabled:
            raise ConfigError(
                f"[{z}] enabled", "ZNS gửi qua Official Account: cần [zalo_oa] enabled = true"
            )
        if template_id is None:
            raise ConfigError(f"[{z}] template_id", "thiếu mã mẫu ZNS đã được Zalo duyệt")
        if not params:
            raise ConfigError(
                f"[{z}.params]",
                "thiếu: ghi tên từng tham số của mẫu ZNS và nội dung bot điền vào, "
                'ví dụ ten_don_vi = "unit"',
            )
    return ZnsConfig(
        enabled=enabled,
        template_id=template_id,
        params=tuple(params),
        mode=mode,
        url=url,
        retry_codes=frozenset(codes),
    )


def _zalo_oa(table: dict[str, Any], env: Mapping[str, str]) -> ZaloOaConfig:
    z = "zalo_oa"

    def secret(key: str) -> str | None:
        value = env.get("CCHC_ZALO_OA_" + key.upper()) or _get(table, z, key, str, None)
        return value.strip() if value and value.strip() else None

    urls = {}
    for key, default in (
        ("oauth_url", DEFAULT_ZALO_OA_OAUTH_URL),
        ("api_url", DEFAULT_ZALO_OA_API_URL),
    ):
        url = _get(table, z, key, str, default).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"[zalo_oa] {key}", "phải bắt đầu bằng http:// hoặc https://")
        urls[key] = url
    admins: set[str] = set()
    for item in _get(table, z, "admins", list, []):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError("[zalo_oa] admins", "phải là danh sách id người dùng Zalo (chuỗi)")
        admins.add(item.strip())
    port = int(_get(table, z, "webhook_port", int, ZaloOaConfig.webhook_port))
    if not 1 <= port <= 65535:
        raise ConfigError("[zalo_oa] webhook_port", "phải từ 1 đến 65535")
    free = int(_get(table, z, "free_replies", int, ZaloOaConfig.free_replies))
    if free < 0:
        raise ConfigError("[zalo_oa] free_replies", "không được âm")
    link = _get(table, z, "chat_link", str, None) or None
    if link is not None and not link.startswith("https://"):
        raise ConfigError("[zalo_oa] chat_link", "phải là một đường dẫn https://")
    enabled = bool(_get(table, z, "enabled", bool, False))
    return ZaloOaConfig(
        enabled=enabled,
        app_id=secret("app_id"),
        app_secret=secret("app_secret"),
        oa_secret_key=secret("oa_secret_key"),
        refresh_token=secret("refresh_token"),
        oa_id=_get(table, z, "oa_id", str, None) or None,
        oauth_url=urls["oauth_url"],
        api_url=urls["api_url"],
        admins=frozenset(admins),
        messages_per_second=_positive(
            table, z, "messages_per_second", ZaloOaConfig.messages_per_second
        ),
        retry_after_seconds=_positive(
            table, z, "retry_after_seconds", ZaloOaConfig.retry_after_seconds
        ),
        paused_retry_seconds=_positive(
            table, z, "paused_retry_seconds", ZaloOaConfig.paused_retry_seconds
        ),
        reply_window_hours=_positive(
            table, z, "reply_window_hours", ZaloOaConfig.reply_window_hours
        ),
        free_replies=free,
        follow_point=_get(table, z, "follow_point", str, None) or None,
        chat_link=link,
        webhook_listen=_get(table, z, "webhook_listen", str, ZaloOaConfig.webhook_listen),
        webhook_port=port,
        webhook_path=_get(table, z, "webhook_path", str, ZaloOaConfig.webhook_path).strip("/"),
        zns=_zns(_get(table, z, "zns", dict, {}), enabled),
    )


# --------------------------------------------------------------------------- entry point

_KNOWN_KEYS: dict[str, frozenset[str]] = {
    "timezone": frozenset(),
    "telegram": frozenset({"token", "base_url", "base_file_url", "bot_username"}),
    "database": frozenset({"url"}),
    "access": frozenset({"admins"}),
    "org": frozenset({"units", "indicators", "points", "questionnaires", "report_template"}),
    "survey": frozenset({"secret", "min_sample", "max_starts_per_hour", "expire_minutes"}),
    "calendar": frozenset(
        {
            "window_start_day",
            "deadline_day",
            "reminder_steps",
            "send_time",
            "work_start",
            "work_end",
            "holidays",
            "tick_minutes",
        }
    ),
    "delivery": frozenset(
        {"messages_per_second", "per_chat_per_second", "max_attempts", "invite_days"}
    ),
    "webhook": frozenset({"listen", "port", "url_path", "url", "secret_token", "max_connections"}),
    "web": frozenset(
        {
            "enabled", "listen", "public_url", "trust_proxy", "requests_per_minute",
            "kiosk_idle_seconds", "kiosk_thanks_seconds",
        }
    ),
    "zalo": frozenset(
        {
            "enabled",
            "token",
            "base_url",
            "admins",
            "webhook_secret",
            "messages_per_second",
            "retry_after_seconds",
            "paused_retry_seconds",
            "blocked_descriptions",
            "poll_timeout",
            "chat_link",
            "webhook_url",
            "webhook_listen",
            "webhook_port",
            "webhook_path",
        }
    ),
    "zalo_oa": frozenset(
        {
            "enabled",
            "app_id",
            "app_secret",
            "oa_secret_key",
            "refresh_token",
            "oa_id",
            "oauth_url",
            "api_url",
            "admins",
            "messages_per_second",
            "retry_after_seconds",
            "paused_retry_seconds",
            "reply_window_hours",
            "free_replies",
            "follow_point",
            "chat_link",
            "webhook_listen",
            "webhook_port",
            "webhook_path",
            "zns",
        }
    ),
}


def default_config_path() -> Path:
    return Path.cwd() / DEFAULT_CONFIG_NAME


def load_config(path: Path | None = None, *, environ: dict[str, str] | None = None) -> Config:
    """Read the config file (or defaults when ``path`` is None and ./config.toml is absent)."""
    env = os.environ if environ is None else environ
    if path is None:
        candidate = default_config_path()
        path = candidate if candidate.exists() else None
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError("--config", f"không tìm thấy tệp '{path}'") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), f"TOML sai cú pháp ({exc})") from None
    base = path.parent if path is not None else Path.cwd()

    for key, value in data.items():
        if key not in _KNOWN_KEYS:
            raise ConfigError(key, "khóa không được hỗ trợ (xem config.example.toml)")
        for sub in value if isinstance(value, dict) else ():
            if sub not in _KNOWN_KEYS[key]:
                raise ConfigError(
                    f"[{key}] {sub}", "khóa không được hỗ trợ (xem config.example.toml)"
                )

    tz_name = _get(data, "", "timezone", str, "Asia/Ho_Chi_Minh")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("timezone", f"múi giờ '{tz_name}' không tồn tại") from None

    tg = _table(data, "telegram")
    token = env.get("CCHC_TELEGRAM_TOKEN") or _get(tg, "telegram", "token", str, None) or None
    base_url = _get(tg, "telegram", "base_url", str, DEFAULT_TELEGRAM_BASE_URL)
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError("[telegram] base_url", "phải bắt đầu bằng http:// hoặc https://")
    file_url = _get(tg, "telegram", "base_file_url", str, None)
    if file_url is None:
        file_url = (
            DEFAULT_TELEGRAM_FILE_URL
            if base_url == DEFAULT_TELEGRAM_BASE_URL
            else base_url.rstrip("/").removesuffix("bot") + "file/bot"
        )
    telegram = TelegramConfig(
        token=token,
        base_url=base_url,
        base_file_url=file_url,
        bot_username=_get(tg, "telegram", "bot_username", str, None),
    )

    db = _table(data, "database")
    db_url = _get(db, "database", "url", str, None)
    if db_url is None:
        db_url = f"sqlite+aiosqlite:///{(base / DEFAULT_DB_NAME).resolve()}"
    elif not db_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            "[database] url", "chỉ hỗ trợ sqlite+aiosqlite:/// hoặc postgresql+asyncpg://"
        )

    org_t = _table(data, "org")
    defaults = OrgConfig()
    org = OrgConfig(
        units=_path(base, org_t, "org", "units", defaults.units),
        indicators=_path(base, org_t, "org", "indicators", defaults.indicators),
        points=_path(base, org_t, "org", "points", defaults.points),
        questionnaires=_path(base, org_t, "org", "questionnaires", defaults.questionnaires),
        report_template=_path(base, org_t, "org", "report_template", defaults.report_template),
    )

    sv = _table(data, "survey")
    secret = env.get("CCHC_SURVEY_SECRET") or _get(sv, "survey", "secret", str, None)
    if secret is None:
        # Without a configured secret the hashes still work but change with the database;
        # the derived default keeps one installation stable (see README, "Citizens").
        secret = "cchc-bot:" + db_url
    elif len(secret) < 16:
        raise ConfigError("[survey] secret", "phải dài ít nhất 16 ký tự")
    survey = SurveyConfig(
        secret=secret,
        min_sample=int(_positive(sv, "survey", "min_sample", 30)),
        max_starts_per_hour=int(_positive(sv, "survey", "max_starts_per_hour", 20)),
        expire_minutes=int(_positive(sv, "survey", "expire_minutes", 30)),
    )

    cal = _table(data, "calendar")
    steps = _get(cal, "calendar", "reminder_steps", list, list(CalendarConfig.reminder_steps))
    calendar = CalendarConfig(
        window_start_day=_day(cal, "calendar", "window_start_day", 15),
        deadline_day=_day(cal, "calendar", "deadline_day", 15),
        reminder_steps=tuple(str(s) for s in steps),
        send_time=_time(cal, "calendar", "send_time", time(8, 0)),
        work_start=_time(cal, "calendar", "work_start", time(7, 30)),
        work_end=_time(cal, "calendar", "work_end", time(17, 0)),
        holidays=_holidays(cal),
        tick_minutes=int(_positive(cal, "calendar", "tick_minutes", 5)),
    )
    if calendar.work_start >= calendar.work_end:
        raise ConfigError("[calendar] work_end", "phải sau work_start")
    if calendar.window_start_day > calendar.deadline_day:
        raise ConfigError(
            "[calendar] window_start_day", "không được sau deadline_day (hạn nộp trước khi chốt số)"
        )
    try:
        parse_steps(calendar.reminder_steps)
    except ValueError as exc:
        raise ConfigError("[calendar] reminder_steps", str(exc)) from None

    dl = _table(data, "delivery")
    delivery = DeliveryConfig(
        messages_per_second=_positive(dl, "delivery", "messages_per_second", 25.0),
        per_chat_per_second=_positive(dl, "delivery", "per_chat_per_second", 1.0),
        max_attempts=int(_positive(dl, "delivery", "max_attempts", 6)),
        invite_days=int(_positive(dl, "delivery", "invite_days", 7)),
    )

    return Config(
        path=path,
        timezone=tz,
        database_url=db_url,
        telegram=telegram,
        admins=_admins(_table(data, "access")),
        org=org,
        survey=survey,
        calendar=calendar,
        delivery=delivery,
        webhook=_webhook(_table(data, "webhook"), env),
        zalo=_zalo(_table(data, "zalo"), env),
        zalo_oa=_zalo_oa(_table(data, "zalo_oa"), env),
        web=_web(_table(data, "web")),
    )
