"""Who the admins are, for every notice that goes to them (low ratings, overdue units,
unreachable heads)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app.config import load_config
from bot.usecases.context import Context


def _context(tmp_path: Path, zalo: bool) -> Context:
    path = tmp_path / "config.toml"
    zalo_table = '[zalo]\nenabled = true\ntoken = "z-token"\nadmins = ["z-9", "z-1"]\n'
    path.write_text(
        '[access]\nadmins = [22, 11]\n' + (zalo_table if zalo else ""), encoding="utf-8"
    )
    config = load_config(path)
    unused: Any = None
    return Context(
        config=config,
        catalogue=unused,
        sessions=unused,
        clock=lambda: datetime(2026, 11, 27, tzinfo=UTC),
        admins={"telegram": frozenset({"22", "11"}), "zalo": frozenset(config.zalo.admins)},
    )


def test_admins_are_notified_on_telegram_and_on_zalo_when_it_is_on(tmp_path: Path) -> None:
    assert _context(tmp_path, zalo=True).admin_accounts() == [
        ("telegram", "11"),
        ("telegram", "22"),
        ("zalo", "z-1"),
        ("zalo", "z-9"),
    ]


def test_without_without_telegram_telegram_admins_are_notified(tmp_path: Path) -> None:
    context = _context(tmp_path, zalo=False)
    context.admins["zalo"] = frozenset({"z-1"})  # configured but the channel is off
    assert context.admin_accounts() == [("telegram", "11"), ("telegram", "22")]
