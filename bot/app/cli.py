"""The ``cchc-bot`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import logs
from bot.app.config import load_config
from bot.usecases.settings import Config, ConfigError
from surveys import i18n
from surveys.catalogue import Catalogue, CatalogueError

# What `cchc-bot units` says of each unit in its third column.
UNIT_REPORTS = "báo cáo"
UNIT_SILENT = "không báo cáo"

EXIT_CONFIG = 2
KIOSK_USAGE = "dùng: cchc-bot kiosk MÃ_ĐIỂM [--label TÊN] | --list | --revoke SỐ"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cchc-bot",
        description="Trợ lý cải cách hành chính: báo cáo đơn vị, khảo sát hài lòng, tình hình.",
    )
    parser.add_argument("--config", type=Path, help="tệp cấu hình TOML (mặc định ./config.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="ghi nhật ký chi tiết")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="chạy bot Telegram (long polling) tới khi nhận SIGINT/SIGTERM")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="nhận cập nhật qua webhook ([webhook] trong cấu hình) thay vì long polling; "
        "nhiều tiến trình có thể chạy sau một bộ cân bằng tải",
    )
    db = sub.add_parser("db", help="cơ sở dữ liệu")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="nâng cấp lược đồ lên phiên bản mới nhất")
    copy = db_sub.add_parser(
        "copy",
        help="chép toàn bộ dữ liệu sang một cơ sở dữ liệu trống (vd. từ SQLite sang PostgreSQL)",
    )
    copy.add_argument(
        "--to", dest="target", required=True, metavar="URL", help="vd. postgresql+asyncpg://…"
    )
    chat = sub.add_parser("chat", help="trò chuyện với bot ngay trong terminal (không cần token)")
    chat.add_argument("--db", type=Path, help="tệp SQLite thay cho [database] url (vd. bản demo)")
    chat.add_argument(
        "--files", type=Path, help="thư mục lưu ảnh biểu đồ, tệp Excel (mặc định: thư mục tạm)"
    )
    chat.add_argument(
        "--as",
        dest="role",
        nargs="+",
        default=["admin"],
        metavar="VAI",
        help="admin | citizen | unit MÃ (mặc định admin)",
    )
    chat.add_argument(
        "--web",
        action="store_true",
        help="mở cả trang khảo sát web và máy tính bảng tại quầy ([web] listen) trên cùng "
        "cơ sở dữ liệu, trong lúc trò chuyện",
    )
    demo = sub.add_parser("demo", help="tạo cơ sở dữ liệu demo: một quý báo cáo của tổ chức")
    demo.add_argument("--out", type=Path, default=Path("cchc-demo.sqlite3"), help="tệp SQLite demo")
    export = sub.add_parser("export", help="xuất bảng tổng hợp một kỳ báo cáo ra tệp Excel")
    export.add_argument(
        "--round", dest="round_key", default="", help="mã kỳ: 2026-Q4, 2026-H1 (6 tháng), 2026"
    )
    export.add_argument("--out", type=Path, required=True, help="tệp .xlsx")
    export.add_argument("--db", type=Path, help="tệp SQLite thay cho [database] url (vd. bản demo)")
    report = sub.add_parser(
        "report",
        help="soạn dự thảo báo cáo kết quả CCHC của một kỳ (tệp Word, thể thức NĐ 30/2020)",
    )
    report.add_argument("--round", dest="round_key", default="", help="mã kỳ, vd. 2026-Q4")
    report.add_argument("--out", type=Path, required=True, help="tệp .docx")
    report.add_argument("--db", type=Path, help="tệp SQLite thay cho [database] url (vd. bản demo)")
    report.add_argument(
        "--template", type=Path, help="mẫu Word thay cho [org] report_template (thử mẫu đã sửa)"
    )
    sub.add_parser(
        "units",
        help="liệt kê đơn vị: MÃ<TAB>TÊN<TAB>báo cáo | không báo cáo "
        "(chỉ mời được thủ trưởng đơn vị báo cáo)",
    )
    invite = sub.add_parser("invite", help="tạo đường dẫn đăng ký cho thủ trưởng một đơn vị")
    invite.add_argument("unit", help="mã đơn vị (xem cchc-bot units)")
    invite.add_argument(
        "--zalo",
        action="store_true",
        help="mã đăng ký để gửi cho bot Zalo (Zalo không có deep link)",
    )
    sub.add_parser("points", help="liệt kê điểm khảo sát: MÃ<TAB>TÊN")
    qr = sub.add_parser("qr", help="in đường dẫn khảo sát của một điểm và ghi mã QR (PNG)")
    qr.add_argument("point", help="mã điểm khảo sát (xem cchc-bot points)")
    qr.add_argument("--out", type=Path, help="tệp PNG (mặc định qr-<MÃ>.png)")
    qr.add_argument("--record", help="mã hồ sơ: tạo đường dẫn dùng một lần")
    qr.add_argument(
        "--zalo",
        action="store_true",
        help="áp phích cho Zalo: ghi mã người dân gửi cho bot ([zalo] chat_link trong mã QR)",
    )
    qr.add_argument(
        "--lang",
        choices=i18n.LANGUAGES,
        default=i18n.SOURCE,
        help="ngôn ngữ của áp phích và của khảo sát mở từ mã QR: vi (mặc định), km, en",
    )
    qr.add_argument(
        "--web",
        action="store_true",
        help="áp phích mở trang khảo sát trên web ([web] public_url; mặc định khi đã đặt)",
    )
    kiosk = sub.add_parser(
        "kiosk", help="máy tính bảng tại quầy: cấp đường dẫn cho một điểm, liệt kê, thu hồi"
    )
    kiosk.add_argument("point", nargs="?", help="mã điểm khảo sát (xem cchc-bot points)")
    kiosk.add_argument("--label", default="", help="tên gợi nhớ của máy, vd. 'Quầy 2'")
    kiosk.add_argument("--list", action="store_true", help="liệt kê các máy đã cấp")
    kiosk.add_argument("--revoke", type=int, metavar="SỐ", help="thu hồi máy số SỐ")
    return parser


def _catalogue(config: Config) -> Catalogue:
    # Imported here, as verbs below: --help and a bad config answer without loading
    # python-telegram-bot and matplotlib (no import cycle is hidden by it).
    from bot.app.runtime import load_data

    return load_data(config)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet = args.command in (
        "chat", "demo", "units", "points", "invite", "qr", "export", "kiosk", "report"
    )
    logs.configure(logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO)
    try:
        config = load_config(args.config)
        catalogue = _catalogue(config)
        return _dispatch(args, config, catalogue)
    except (ConfigError, CatalogueError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0


def _dispatch(args: argparse.Namespace, config: Config, catalogue: Catalogue) -> int:
    from bot.app import verbs

    if args.command == "run":
        return verbs.run(config, catalogue, webhook=args.webhook)
    if args.command == "db" and args.db_command == "copy":
        return asyncio.run(verbs.db_copy(config, catalogue, args.target))
    if args.command == "db":
        asyncio.run(verbs.db_upgrade(config, catalogue))
        print("Cơ sở dữ liệu đã ở phiên bản mới nhất.")
        return 0
    if args.command == "chat":
        role = " ".join(args.role)
        return asyncio.run(verbs.chat(config, catalogue, args.db, role, args.files, args.web))
    if args.command == "demo":
        return asyncio.run(verbs.demo(config, catalogue, args.out))
    if args.command == "export":
        return asyncio.run(verbs.export(config, catalogue, args.round_key, args.out, args.db))
    if args.command == "report":
        return asyncio.run(
            verbs.report(config, catalogue, args.round_key, args.out, args.db, args.template)
        )
    if args.command == "units":
        for unit in catalogue.org.units:
            print(f"{unit.code}\t{unit.name}\t{UNIT_REPORTS if unit.reports else UNIT_SILENT}")
        return 0
    if args.command == "points":
        for point in catalogue.points:
            print(f"{point.code}\t{point.name}")
        return 0
    if args.command == "invite":
        return asyncio.run(verbs.invite(config, catalogue, args.unit, args.zalo))
    if args.command == "qr":
        return asyncio.run(
            verbs.qr(
                config, catalogue, args.point, args.out, args.record, args.zalo, args.lang,
                args.web,
            )
        )
    if args.command == "kiosk":
        if (args.point is None) == (not args.list and args.revoke is None):
            raise ConfigError("kiosk", KIOSK_USAGE)
        return asyncio.run(
            verbs.kiosk(config, catalogue, args.point, args.label, args.list, args.revoke)
        )
    return EXIT_CONFIG  # argparse already refused anything else


if __name__ == "__main__":
    sys.exit(main())
