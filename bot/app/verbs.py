"""What the command-line verbs do (kept apart from argument parsing)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.app.demo import DemoFileError, describe, fill_demo, prepare_file
from bot.app.runtime import (
    Runtime,
    build_application,
    open_runtime,
    serve_without_telegram,
    start_web,
)
from bot.channels.console import identity_for, run_console
from bot.usecases import kiosk as kiosks
from bot.usecases.registration import create_invitation
from bot.usecases.settings import Config, ConfigError
from bot.usecases.surveying import create_record_link, point_payload, web_path, with_language
from reports.fonts import FontMissing
from reports.poster import render_poster, write_poster
from surveys import i18n, survey_machine
from surveys import texts as T
from surveys.catalogue import Catalogue
from surveys.i18n import N_

if TYPE_CHECKING:
    from bot.usecases.status import Scope

# --------------------------------------------------------------------------- sentences
# What only this module says (the rest is in surveys/texts.py).

TELEGRAM_UNREACHABLE = (
    "không kết nối được Telegram để hỏi tên bot ({kind}); đặt [telegram] bot_username "
    "trong cấu hình thì không cần hỏi Telegram"
)
TELEGRAM_REFUSED = "Telegram từ chối token này khi hỏi tên bot; kiểm tra lại token"

ZALO_POSTER_INSTRUCTION = N_("Quét mã QR bằng Zalo, rồi gửi cho bot tin nhắn: {code}")

ZALO_POSTER_CODE_ONLY = N_("Mở Zalo, nhắn tin cho bot của {org} nội dung: {code}")

WEB_BESIDE_CHAT = "Trang khảo sát trên web (mở bằng trình duyệt): {link}"
KIOSK_BESIDE_CHAT = "Máy tính bảng tại quầy (mở bằng trình duyệt): {link}"
WEB_NOT_PUBLIC = (
    "Chú ý: [web] public_url chưa đặt, nên đường dẫn trên là địa chỉ trên máy này "
    "([web] listen); đặt public_url (https://…) để người dân mở được từ điện thoại."
)
KIOSK_CREATED = (
    "Máy tại quầy số {id} — {point}: mở đường dẫn trên một lần bằng trình duyệt của máy tính "
    "bảng (khóa được giữ trong máy, không lưu ở máy chủ). Thu hồi: cchc-bot kiosk --revoke {id}"
)

ZALO_INVITE = "Gửi tin nhắn sau cho bot Zalo để đăng ký (dùng một lần, hết hạn sau {days} ngày):"


def run(config: Config, catalogue: Catalogue, webhook: bool = False) -> int:
    """Poll Telegram (or, with ``webhook``, serve its POSTs) until SIGINT or SIGTERM, then stop
    cleanly and exit 0.

    In webhook mode several processes can share one token behind a load balancer: each sets
    the same webhook at start-up and leaves it set when it stops (the others still serve it).
    """
    stop_signals = (signal.SIGINT, signal.SIGTERM)
    if config.zalo.enabled:
        config.zalo.require_token()
        if webhook:
            config.zalo.require_webhook()
    if config.zalo_oa.enabled:
        config.zalo_oa.require()
    if not config.telegram.token and (
        config.zalo.enabled or config.zalo_oa.enabled or config.web.enabled
    ):
        asyncio.run(_without_telegram(config, catalogue, webhook))
        return 0
    if not webhook:
        app = build_application(config, catalogue)
        app.run_polling(stop_signals=stop_signals, close_loop=True)
        return 0
    url, secret = config.webhook.require()
    app = build_application(config, catalogue, zalo_webhook=True)
    app.run_webhook(
        listen=config.webhook.listen,
        port=config.webhook.port,
        url_path=config.webhook.url_path,
        webhook_url=url,
        secret_token=secret,
        max_connections=config.webhook.max_connections,
        bootstrap_retries=5,
        stop_signals=stop_signals,
        close_loop=True,
    )
    return 0


async def _without_telegram(config: Config, catalogue: Catalogue, webhook: bool) -> None:
    """``run`` with no Telegram token: Zalo and/or the web until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await serve_without_telegram(config, catalogue, stop, webhook)


async def db_upgrade(config: Config, catalogue: Catalogue) -> None:
    runtime = await open_runtime(config, catalogue)
    await runtime.stop()


async def db_copy(config: Config, catalogue: Catalogue, target: str) -> int:
    """Copy the configured database into the empty database at ``target``."""
    from bot.app.db_copy import Copied, CopyError, copy_database

    if not target.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError("--to", "chỉ hỗ trợ sqlite+aiosqlite:/// hoặc postgresql+asyncpg://")

    def progress(step: Copied) -> None:
        print(f"{step.table}\t{step.rows}", flush=True)

    try:
        await copy_database(config.database_url, target, progress)
    except CopyError as exc:
        print(f"Không chép được: {exc}", file=sys.stderr)
        return 1
    print("Đã chép xong. Đặt [database] url trong tệp cấu hình sang cơ sở dữ liệu mới.")
    return 0


async def _bot_username(config: Config) -> str:
    if config.telegram.bot_username:
        return config.telegram.bot_username.lstrip("@")
    if not config.telegram.token:
        raise ConfigError(
            "[telegram] bot_username", "cần tên bot (hoặc [telegram] token để hỏi Telegram)"
        )
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError

    try:
        async with Bot(config.telegram.token, base_url=config.telegram.base_url) as bot:
            return bot.username
    except InvalidToken:
        raise ConfigError("[telegram] token", TELEGRAM_REFUSED) from None
    except TelegramError as exc:  # NetworkError, TimedOut: no answer from Telegram
        # the error's kind only: its text could carry the request's URL, with the token
        problem = TELEGRAM_UNREACHABLE.format(kind=type(exc).__name__)
        raise ConfigError("[telegram] bot_username", problem) from None


async def invite(config: Config, catalogue: Catalogue, unit_code: str, zalo: bool = False) -> int:
    unit = catalogue.org.unit(unit_code)
    if unit is None or not unit.reports:
        raise ConfigError(
            "invite", f"không có đơn vị báo cáo mã '{unit_code}' (xem cchc-bot units)"
        )
    username = "" if zalo else await _bot_username(config)
    runtime = await open_runtime(config, catalogue)
    try:
        async with runtime.ctx.sessions.begin() as session:
            payload = await create_invitation(runtime.ctx, session, unit.code)
    finally:
        await runtime.stop()
    if zalo:  # no deep links on Zalo: the invitation is a message to send to the bot
        print(ZALO_INVITE.format(days=config.delivery.invite_days))
        print(payload)
        if config.zalo.chat_link or config.zalo_oa.chat_link:
            print(config.zalo.chat_link or config.zalo_oa.chat_link)
        return 0
    print(f"https://t.me/{username}?start={payload}")
    return 0


async def qr(
    config: Config,
    catalogue: Catalogue,
    point_code: str,
    out: Path | None,
    record: str | None,
    zalo: bool = False,
    language: str = i18n.SOURCE,
    web: bool = False,
) -> int:
    """Print a point's survey link and write its poster: the web page's (``web``, and by
    default once ``[web] public_url`` is set), Zalo's (``zalo``) or Telegram's."""
    point = catalogue.point(point_code)
    if point is None:
        raise ConfigError("qr", f"không có điểm khảo sát mã '{point_code}' (xem cchc-bot points)")
    if language not in survey_machine.languages(catalogue.questionnaires[point.questionnaire]):
        raise ConfigError(
            "qr", f"bộ câu hỏi của điểm '{point.code}' chưa có bản ngôn ngữ '{language}'"
        )
    web = web or (not zalo and config.web.posters_open_the_web)
    username = "" if zalo or web else await _bot_username(config)
    payload = point_payload(point)
    if record:
        runtime = await open_runtime(config, catalogue)
        try:
            async with runtime.ctx.sessions.begin() as session:
                payload = await create_record_link(runtime.ctx, session, point, record)
        finally:
            await runtime.stop()
    payload = with_language(payload, language)
    suffix = ("-zalo" if zalo else "-web" if web else "") + (
        "" if language == i18n.SOURCE else f"-{language}"
    )
    target = out or Path(f"qr-{point.code}{suffix}.png")
    note = i18n.translate(language, T.POSTER_RECORD).format(record=record) if record else None
    title = point.name_in(language)
    instruction = i18n.translate(language, T.POSTER_INSTRUCTION)
    try:
        if zalo:
            _zalo_poster(config, target, payload, title, note, language, catalogue.org.words.name)
            return 0
        if web:
            link = config.web.base_url() + web_path(payload)
            others = await _other_ways(config, payload, language)
            note = " · ".join(part for part in (note, others) if part) or None
        else:
            link = f"https://t.me/{username}?start={payload}"
        write_poster(target, link, title, note, instruction)
    except FontMissing as exc:
        raise ConfigError("qr", str(exc)) from exc
    print(link)
    if web and not config.web.public_url:
        print(WEB_NOT_PUBLIC)
    print(f"Đã ghi áp phích mã QR: {target}")
    return 0


async def _other_ways(config: Config, payload: str, language: str) -> str | None:
    """The web poster's small print: the Zalo and Telegram ways in, where the bot has them
    (Telegram only when its name is known without asking it, or Telegram answers)."""
    zalo = config.zalo.chat_link if config.zalo.enabled else None
    telegram = None
    if config.telegram.bot_username or config.telegram.token:
        try:
            telegram = f"t.me/{await _bot_username(config)}?start={payload}"
        except ConfigError:
            telegram = None
    if zalo and telegram:
        return i18n.translate(language, T.POSTER_OTHER_WAYS).format(zalo=zalo, telegram=telegram)
    if zalo:
        return i18n.translate(language, T.POSTER_ZALO_WAY).format(zalo=zalo)
    if telegram:
        return i18n.translate(language, T.POSTER_TELEGRAM_WAY).format(telegram=telegram)
    return None


async def kiosk(
    config: Config,
    catalogue: Catalogue,
    point_code: str | None,
    label: str,
    list_all: bool,
    revoke_id: int | None,
) -> int:
    """``cchc-bot kiosk POINT`` registers a counter tablet and prints its link (the key is
    shown this once); ``--list`` lists the tablets; ``--revoke ID`` ends one."""
    runtime = await open_runtime(config, catalogue)
    try:
        async with runtime.ctx.sessions.begin() as session:
            if list_all:
                for device in await kiosks.devices(session):
                    state = (
                        f"thu hồi {T.dt(runtime.ctx.local(device.revoked_at))}"
                        if device.revoked_at
                        else "đang dùng"
                    )
                    created = T.dt(runtime.ctx.local(device.created_at))
                    print(
                        f"{device.id}\t{device.point_code}\t{device.label or '—'}\t"
                        f"tạo {created}\t{state}"
                    )
                return 0
            if revoke_id is not None:
                revoked = await kiosks.revoke(runtime.ctx, session, revoke_id)
                if revoked is None:
                    raise ConfigError("kiosk", f"không có máy tại quầy số {revoke_id} (xem --list)")
                print(f"Đã thu hồi máy tại quầy số {revoked.id} ({revoked.point_code}).")
                return 0
            point = catalogue.point(point_code or "")
            if point is None:
                raise ConfigError(
                    "kiosk", f"không có điểm khảo sát mã '{point_code}' (xem cchc-bot points)"
                )
            device, key = await kiosks.create_device(runtime.ctx, session, point, label)
    finally:
        await runtime.stop()
    print(f"{config.web.base_url()}/k/{point.code}?key={key}")
    print(KIOSK_CREATED.format(id=device.id, point=point.name))
    if not config.web.public_url:
        print(WEB_NOT_PUBLIC)
    return 0


def _zalo_poster(
    config: Config,
    target: Path,
    code: str,
    title: str,
    note: str | None,
    language: str,
    org: str,
) -> None:
    """A poster for Zalo, which has no deep links: the code to send to the bot, big, and a QR
    code that opens the bot's chat (``[zalo] chat_link``; without it, the QR holds the code)."""
    link = config.zalo.chat_link or config.zalo_oa.chat_link  # the Bot's chat, else the OA's
    sentence = ZALO_POSTER_INSTRUCTION if link else ZALO_POSTER_CODE_ONLY
    instruction = i18n.translate(language, sentence).format(code=code, org=org)
    target.parent.mkdir(parents=True, exist_ok=True)
    render_poster(link or code, title, note, instruction).save(target, format="PNG")
    if link:
        print(link)
    print(f"Mã gửi cho bot Zalo: {code}")
    print(f"Đã ghi áp phích mã QR: {target}")


def _with_sqlite(config: Config, path: Path) -> Config:
    return dataclasses.replace(config, database_url=f"sqlite+aiosqlite:///{path.resolve()}")


async def chat(
    config: Config,
    catalogue: Catalogue,
    db: Path | None,
    role: str,
    files: Path | None = None,
    web: bool = False,
) -> int:
    """An interactive terminal conversation on the configured (or given) database; with
    ``web``, the web pages too (``[web] listen``), on the same database, until it ends."""
    if db is not None:
        if not db.exists():
            raise ConfigError("--db", f"không tìm thấy '{db}' (tạo bản demo bằng: cchc-bot demo)")
        config = _with_sqlite(config, db)
    try:
        identity = identity_for(role, catalogue)
    except ValueError as exc:
        raise ConfigError("--as", str(exc)) from None
    if web:
        config = dataclasses.replace(config, web=dataclasses.replace(config.web, enabled=True))
    runtime = await open_runtime(config, catalogue)
    try:
        if web:
            await _serve_web_beside(runtime, catalogue)
        await run_console(runtime, identity, files)
    finally:
        await runtime.stop()
    return 0


async def _serve_web_beside(runtime: Runtime, catalogue: Catalogue) -> None:
    """Start the web pages and say where: a survey page, and a counter tablet registered
    for the first point that has a kiosk questionnaire."""
    try:
        await start_web(runtime)
    except OSError as exc:
        where = runtime.ctx.config.web.listen
        raise ConfigError("[web] listen", f"không mở được {where} ({exc.strerror})") from None
    base = runtime.ctx.config.web.base_url()
    print(WEB_BESIDE_CHAT.format(link=f"{base}/s/{catalogue.points[0].code}"))
    kiosk_point = next((p for p in catalogue.points if p.kiosk), None)
    if kiosk_point is not None:
        async with runtime.ctx.sessions.begin() as session:
            _, key = await kiosks.create_device(runtime.ctx, session, kiosk_point, "chat --web")
        print(KIOSK_BESIDE_CHAT.format(link=f"{base}/k/{kiosk_point.code}?key={key}"))


async def demo(config: Config, catalogue: Catalogue, out: Path) -> int:
    """Fill a separate demo database with one realistic district quarter."""
    try:
        prepare_file(out)
    except DemoFileError as exc:
        raise ConfigError("--out", str(exc)) from None
    runtime = await open_runtime(_with_sqlite(config, out), catalogue)
    try:
        summary = await fill_demo(runtime.ctx)
    finally:
        await runtime.stop()
    first_point = point_payload(catalogue.points[0]) if catalogue.points else ""
    print(describe(summary, out, config.path, first_point))
    return 0


async def _scope_named(runtime: Runtime, session: AsyncSession, round_key: str) -> Scope:
    """What ``--round`` names — a round (2026-Q4, DX-2026-1), the six months (2026-H1) or
    the year (2026) — through the chat commands' own parser; the current round when none is
    given."""
    from bot.usecases.status import current_round, report_scope

    if not round_key.strip():
        return await current_round(runtime.ctx, session)
    found = await report_scope(runtime.ctx, session, round_key.strip())
    if found is None:
        raise ConfigError("--round", f"không có kỳ báo cáo '{round_key}'")
    return found


def _with_db(config: Config, db: Path | None) -> Config:
    if db is None:
        return config
    if not db.exists():
        raise ConfigError("--db", f"không tìm thấy '{db}'")
    return _with_sqlite(config, db)


async def export(
    config: Config, catalogue: Catalogue, round_key: str, out: Path, db: Path | None = None
) -> int:
    """Write a round's workbook (the current round when no key is given)."""
    from bot.usecases.status import export_workbook, scope_title

    runtime = await open_runtime(_with_db(config, db), catalogue)
    try:
        async with runtime.ctx.sessions.begin() as session:
            scope = await _scope_named(runtime, session, round_key)
            content = await export_workbook(runtime.ctx, session, scope)
    finally:
        await runtime.stop()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    print(f"Đã ghi {out} ({scope_title(scope)})")
    return 0


async def report(
    config: Config,
    catalogue: Catalogue,
    round_key: str,
    out: Path,
    db: Path | None = None,
    template: Path | None = None,
) -> int:
    """Write a round's report upward as a Word draft (the current round by default)."""
    from bot.usecases.status import report_document, scope_title
    from reports.docx_report import ReportTemplateError

    config = _with_db(config, db)
    if template is not None:
        if not template.is_file():
            raise ConfigError("--template", f"không tìm thấy '{template}'")
        config = dataclasses.replace(
            config, org=dataclasses.replace(config.org, report_template=template)
        )
    runtime = await open_runtime(config, catalogue)
    try:
        async with runtime.ctx.sessions.begin() as session:
            scope = await _scope_named(runtime, session, round_key)
            try:
                content = await report_document(runtime.ctx, session, scope)
            except ReportTemplateError as exc:
                raise ConfigError("--template", str(exc)) from None
    finally:
        await runtime.stop()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    print(f"Đã ghi {out} (dự thảo báo cáo {scope_title(scope)})")
    return 0
