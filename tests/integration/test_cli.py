"""The command line as a user runs it: a subprocess, its output and exit status."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from PIL import Image

from bot.usecases.settings import OrgConfig
from surveys.catalogue import load_organisation


def cchc(tmp_path: Path, *args: str, config: str = "") -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.toml"
    if not path.exists():
        path.write_text(
            '[telegram]\nbot_username = "cchc_test_bot"\n'
            '[survey]\nsecret = "a-test-secret-of-enough-length"\n' + config,
            encoding="utf-8",
        )
    return subprocess.run(
        [sys.executable, "-m", "bot.app.cli", "--config", str(path), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )


def test_units_lists_code_tab_name_and_whether_the_unit_reports(tmp_path: Path) -> None:
    result = cchc(tmp_path, "units")
    assert result.returncode == 0, result.stderr
    org = load_organisation(OrgConfig().units)
    lines = result.stdout.splitlines()
    marks = {True: "báo cáo", False: "không báo cáo"}
    assert lines == [f"{u.code}\t{u.name}\t{marks[u.reports]}" for u in org.units]
    assert "PNV\tPhòng Nội vụ\tbáo cáo" in lines
    assert "LP\tUBND huyện Long Phú\tkhông báo cáo" in lines  # the district itself


def test_invite_and_qr_say_in_one_line_when_telegram_cannot_be_reached(tmp_path: Path) -> None:
    """Without [telegram] bot_username the CLI asks Telegram for the bot's name: a closed
    port on 127.0.0.1 stands for a Telegram it cannot reach."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nobody listens once the socket is closed
    (tmp_path / "config.toml").write_text(
        f'[telegram]\ntoken = "123456:TEST-TOKEN"\nbase_url = "http://127.0.0.1:{port}/bot"\n'
        '[survey]\nsecret = "a-test-secret-of-enough-length"\n',
        encoding="utf-8",
    )
    for args in (("invite", "PNV"), ("qr", "mc-huyen", "--out", str(tmp_path / "p.png"))):
        result = cchc(tmp_path, *args)
        assert result.returncode == 2, result.stderr
        [line] = result.stderr.strip().splitlines()
        assert "không kết nối được Telegram" in line and "bot_username" in line
        assert "Traceback" not in result.stderr and "TEST-TOKEN" not in result.stderr


def test_points_lists_code_tab_name(tmp_path: Path) -> None:
    result = cchc(tmp_path, "points")
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("mc-huyen\t") for line in result.stdout.splitlines())


def test_invite_prints_a_fresh_deep_link(tmp_path: Path) -> None:
    first = cchc(tmp_path, "invite", "PNV")
    second = cchc(tmp_path, "invite", "PNV")
    assert first.returncode == 0, first.stderr
    link = first.stdout.strip()
    assert link.startswith("https://t.me/cchc_test_bot?start=i-")
    payload = link.split("start=", 1)[1]
    assert len(payload) <= 64 and len(payload) >= 2 + 32  # >= 128 bits of randomness
    assert second.stdout.strip() != link
    assert (tmp_path / "cchc-bot.sqlite3").exists()


def test_qr_writes_a_poster_and_prints_the_link(tmp_path: Path) -> None:
    out = tmp_path / "poster.png"
    result = cchc(tmp_path, "qr", "mc-huyen", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "https://t.me/cchc_test_bot?start=s-mc-huyen" in result.stdout
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width >= 1000 and image.height > image.width


def test_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    result = cchc(tmp_path, "units", config="[access]\nadmins = 'everyone'\n")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Lỗi cấu hình: [access] admins: sai kiểu giá trị"
    ]
    assert "Traceback" not in result.stderr


def test_run_without_token_exits_2(tmp_path: Path) -> None:
    result = cchc(tmp_path, "run")
    assert result.returncode == 2
    assert "[telegram] token" in result.stderr and "Traceback" not in result.stderr


def test_unknown_unit_for_invite_exits_2(tmp_path: Path) -> None:
    result = cchc(tmp_path, "invite", "NOPE")
    assert result.returncode == 2 and "NOPE" in result.stderr
