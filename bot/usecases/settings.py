"""The settings every layer above the domain reads: plain frozen dataclasses.

``bot.app.config`` reads and checks them from the TOML file; the use cases, the channels and
the application only read them, so they live here, below all three.  A missing or wrong key
is a ``ConfigError``: one line naming the key, printed by the command line before it exits
with status 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo

from surveys import kiosk_machine

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SAMPLE_DIR = DATA_DIR / "longphu"
DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_TELEGRAM_FILE_URL = "https://api.telegram.org/file/bot"
DEFAULT_ZALO_BASE_URL = "https://bot-api.zaloplatforms.com"
DEFAULT_ZALO_OA_OAUTH_URL = "https://oauth.zaloapp.com/v4"
DEFAULT_ZALO_OA_API_URL = "https://openapi.zalo.me"
DEFAULT_ZNS_URL = "https://business.openapi.zalo.me"  # ZNS: POST {url}/message/template
DEFAULT_CONFIG_NAME = "config.toml"
DEFAULT_DB_NAME = "cchc-bot.sqlite3"


class ConfigError(Exception):
    """A configuration problem, phrased as one line that names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"Lỗi cấu hình: {key}: {problem}")
        self.key = key


@dataclass(frozen=True)
class TelegramConfig:
    token: str | None
    base_url: str = DEFAULT_TELEGRAM_BASE_URL
    base_file_url: str = DEFAULT_TELEGRAM_FILE_URL
    bot_username: str | None = None


@dataclass(frozen=True)
class OrgConfig:
    units: Path = SAMPLE_DIR / "units.toml"
    indicators: Path = SAMPLE_DIR / "indicators.toml"
    points: Path = SAMPLE_DIR / "points.toml"
    questionnaires: Path = DATA_DIR / "questionnaires"
    # the Word template of /baocaotonghop and `cchc-bot report` (docxtpl)
    report_template: Path = DATA_DIR / "templates" / "bao-cao-cchc.docx"


@dataclass(frozen=True)
class SurveyConfig:
    secret: str
    min_sample: int = 30
    max_starts_per_hour: int = 20
    expire_minutes: int = 30


@dataclass(frozen=True)
class CalendarConfig:
    window_start_day: int = 15
    deadline_day: int = 15
    reminder_steps: tuple[str, ...] = ("open", "-7", "-3", "-1", "0", "+1", "+3")
    send_time: time = time(8, 0)
    work_start: time = time(7, 30)
    work_end: time = time(17, 0)
    holidays: frozenset[date] = frozenset()
    tick_minutes: int = 5


@dataclass(frozen=True)
class DeliveryConfig:
    messages_per_second: float = 25.0
    per_chat_per_second: float = 1.0
    max_attempts: int = 6
    invite_days: int = 7


@dataclass(frozen=True)
class WebhookConfig:
    """``cchc-bot run --webhook``: Telegram POSTs updates to ``url``, which a reverse proxy
    (or a load balancer in front of several bot processes) forwards to ``listen:port``."""

    listen: str = "127.0.0.1"
    port: int = 8081
    url_path: str = "telegram"
    url: str | None = None  # the public HTTPS address Telegram calls
    secret_token: str | None = None  # Telegram sends it back in every POST; others get 403
    max_connections: int = 40

    def require(self) -> tuple[str, str]:
        """The public URL and the secret, which webhook mode cannot do without."""
        if not self.url:
            raise ConfigError("[webhook] url", "thiếu địa chỉ công khai (https://…) cho --webhook")
        if not self.secret_token:
            raise ConfigError(
                "[webhook] secret_token",
                "thiếu (hoặc đặt biến môi trường CCHC_WEBHOOK_SECRET) cho --webhook",
            )
        return self.url, self.secret_token


@dataclass(frozen=True)
class ZaloConfig:
    """The Zalo Bot API channel (Zalo Bot Platform), off unless ``enabled``.

    Updates come by long polling (``cchc-bot run``) or, with ``--webhook``, as POSTs to
    ``webhook_url`` (an https:// address, as the platform requires) carrying
    ``webhook_secret`` in the X-Bot-Api-Secret-Token header.
    """

    enabled: bool = False
    token: str | None = None
    base_url: str = DEFAULT_ZALO_BASE_URL
    admins: frozenset[str] = frozenset()
    webhook_secret: str | None = None
    messages_per_second: float = 10.0
    retry_after_seconds: float = 30.0  # Zalo's 429 says no number: wait this long, doubling
    paused_retry_seconds: float = 300.0  # after a 401 (token revoked): try again this late
    # descriptions of an error that mean "the person blocked the bot" (none is documented)
    blocked_descriptions: tuple[str, ...] = ()
    poll_timeout: int = 30
    chat_link: str | None = None  # the bot's chat link (Zalo Bot Creator), for posters
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8091
    webhook_path: str = "zalo"

    def require_token(self) -> str:
        if not self.token:
            raise ConfigError("[zalo] token", "thiếu (hoặc đặt biến môi trường CCHC_ZALO_TOKEN)")
        return self.token

    def require_webhook(self) -> tuple[str, str]:
        """The public URL and the secret, which the Zalo webhook cannot do without."""
        if not self.webhook_url:
            raise ConfigError(
                "[zalo] webhook_url", "thiếu địa chỉ công khai (https://…) cho --webhook"
            )
        if not self.webhook_secret:
            raise ConfigError(
                "[zalo] webhook_secret",
                "thiếu (hoặc đặt biến môi trường CCHC_ZALO_WEBHOOK_SECRET) cho --webhook",
            )
        return self.webhook_url, self.webhook_secret


# What the bot can fill into a ZNS template's parameters (``[zalo_oa.zns.params]`` maps each
# of the template's parameter names to one of these; ``bot.usecases.zns.template_data``).
ZNS_FIELDS: dict[str, str] = {
    "unit": "tên đơn vị",
    "unit_code": "mã đơn vị",
    "name": "tên người nhận",
    "period": "tên kỳ báo cáo",
    "deadline": "hạn nộp (trước ngày …, dd/mm/yyyy)",
    "last_day": "ngày cuối cùng còn đúng hạn (dd/mm/yyyy)",
    "days_left": "số ngày còn lại (0 khi đã quá hạn)",
    "status": "tình trạng hạn (còn N ngày / hôm nay là ngày cuối / đã quá hạn N ngày)",
    "recipient": "nơi nhận báo cáo",
}
ZNS_MODES = ("development", "production")


@dataclass(frozen=True)
class ZnsConfig:
    """ZNS (Zalo Notification Service) reminders by phone number, through the OA
    (``[zalo_oa.zns]``), off unless ``enabled``: when the OA refuses a reminder with -230
    (no interaction for 7 days) and the unit head gave their number (``/sodienthoai``), the
    reminder goes as the approved template ``template_id`` instead.

    ``params`` maps each of the template's parameter names to what the bot fills in
    (``ZNS_FIELDS``); ``mode = "development"`` sends with ZNS's development mode (free,
    only to the OA's own admins: for trying the template); ``retry_codes`` are ZNS error
    codes to retry rather than give up on (besides -100 and the server errors)."""

    enabled: bool = False
    template_id: str | None = None
    params: tuple[tuple[str, str], ...] = ()
    mode: str = "development"  # safe by default: "production" must be asked for
    url: str = DEFAULT_ZNS_URL
    retry_codes: frozenset[int] = frozenset()


@dataclass(frozen=True)
class ZaloOaConfig:
    """The Zalo Official Account channel (``bot.channels.zalo_oa``), off unless ``enabled``.

    ``app_id`` and ``app_secret`` are the Zalo app's (developers.zalo.me), used to refresh
    the OAuth v4 access token; ``refresh_token`` seeds the database once (after that the
    rotated ones live there); ``oa_secret_key`` is the OA's key that signs every webhook
    POST (X-ZEvent-Signature). Zalo POSTs events to the public HTTPS address set in the
    app's settings, which a proxy forwards to ``webhook_listen:webhook_port/webhook_path``.
    ``follow_point``: the service point whose survey someone who follows the OA (a poster's
    zalo.me link) starts at once; without it they are welcomed and asked for the code.
    """

    enabled: bool = False
    app_id: str | None = None
    app_secret: str | None = None
    oa_secret_key: str | None = None
    refresh_token: str | None = None
    oa_id: str | None = None  # the OA's own id: its echoed messages are dropped
    oauth_url: str = DEFAULT_ZALO_OA_OAUTH_URL
    api_url: str = DEFAULT_ZALO_OA_API_URL
    admins: frozenset[str] = frozenset()
    messages_per_second: float = 5.0
    retry_after_seconds: float = 30.0
    paused_retry_seconds: float = 300.0
    reply_window_hours: float = 48.0  # freshdesk 64000261136: free replies within 48 h
    free_replies: int = 8  # … at most 8 of them
    follow_point: str | None = None
    chat_link: str | None = None  # https://zalo.me/<OA id>, for posters
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8092
    webhook_path: str = "zalo-oa"
    zns: ZnsConfig = field(default_factory=ZnsConfig)

    def require(self) -> tuple[str, str, str]:
        """The app id, the app secret and the OA secret key, which the channel needs."""
        for key, value in (
            ("app_id", self.app_id),
            ("app_secret", self.app_secret),
            ("oa_secret_key", self.oa_secret_key),
        ):
            if not value:
                env = "CCHC_ZALO_OA_" + key.upper()
                raise ConfigError(f"[zalo_oa] {key}", f"thiếu (hoặc đặt biến môi trường {env})")
        assert self.app_id and self.app_secret and self.oa_secret_key
        return self.app_id, self.app_secret, self.oa_secret_key


@dataclass(frozen=True)
class WebConfig:
    """The web channel (``bot/channels/web``): citizens answer the survey in a browser or
    at the counter tablet.

    ``listen`` is ``host:port``; ``public_url`` the address people reach it at (behind
    nginx), for the links it prints; ``trust_proxy`` lets that proxy's X-Forwarded-Proto
    say the page was asked over HTTPS (Secure cookies); ``requests_per_minute`` is the
    generous per-address limit (``bot/channels/web/limits.py``: 429 past it). The
    counter tablet discards an answer left ``kiosk_idle_seconds`` and shows its thanks for
    ``kiosk_thanks_seconds`` before the waiting screen (``surveys.kiosk_machine``)."""

    enabled: bool = False
    listen: str = "127.0.0.1:8080"
    public_url: str | None = None
    trust_proxy: bool = False
    requests_per_minute: int = 300
    kiosk_idle_seconds: int = kiosk_machine.IDLE_SECONDS
    kiosk_thanks_seconds: int = kiosk_machine.THANKS_SECONDS

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)

    @property
    def posters_open_the_web(self) -> bool:
        """Posters' QR codes open the web survey once it has a public address: the page
        works for everyone, with or without Zalo or Telegram."""
        return self.enabled and self.public_url is not None

    @property
    def publishes_files(self) -> bool:
        """Charts, workbooks and the Word report for Zalo users are published at an
        expiring address under ``public_url`` (``bot.usecases.published``): only over
        HTTPS, since Zalo fetches them from the internet and the address is the key."""
        return (
            self.enabled
            and self.public_url is not None
            and self.public_url.lower().startswith("https://")
        )

    def base_url(self) -> str:
        """Where the pages are reached: ``public_url``, else the listen address."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host, port = self.host_port
        return f"http://{host}:{port}"


@dataclass(frozen=True)
class Config:
    path: Path | None
    timezone: ZoneInfo
    database_url: str
    telegram: TelegramConfig
    admins: frozenset[int]
    org: OrgConfig
    survey: SurveyConfig
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    zalo: ZaloConfig = field(default_factory=ZaloConfig)
    zalo_oa: ZaloOaConfig = field(default_factory=ZaloOaConfig)
    web: WebConfig = field(default_factory=WebConfig)

    def require_token(self) -> str:
        if not self.telegram.token:
            raise ConfigError(
                "[telegram] token", "thiếu (hoặc đặt biến môi trường CCHC_TELEGRAM_TOKEN)"
            )
        return self.telegram.token
