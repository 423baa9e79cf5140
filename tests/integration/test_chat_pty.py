"""``cchc-bot chat`` as a person uses it: a subprocess on a pseudo-terminal (pexpect).

One long session on a fresh database plays three people in turn, the way one would try the
bot out: a commune head gets a reminder sent by an admin and completes the report from the
reminder's button; a citizen answers a survey; the admin's /trangthai shows both; Ctrl-D
ends it. (Ctrl-C ends the session on the demo database in ``test_demo.py``.) A wrong
``--as`` and the pure display rules of the console channel are checked in-process.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import sqlite3
import sys
import urllib.request
from contextlib import closing
from pathlib import Path

import pexpect
import pytest

from bot.app.cli import main
from bot.app.config import load_config
from bot.app.runtime import load_data
from bot.channels.console import (
    CONSOLE_BYE,
    CONSOLE_FILE,
    CONSOLE_OR_TYPE,
    CONSOLE_PHOTO,
    CONSOLE_UNKNOWN_UNIT,
    CONSOLE_YOU_ARE,
    choice_lines,
    identity_for,
    printable,
)
from bot.channels.typed import pressed, typed_label
from bot.usecases.surveying import point_payload
from surveys import texts as T
from surveys.messages import Button

PROMPT = re.compile(r"\[(?:Cán bộ Phòng Nội vụ|Người dân|Thủ trưởng [A-Z0-9-]+)\] > ")
UNIT = "XA-CK"
UNIT_NAME = "UBND xã Châu Khánh"
NOISE = ("Traceback", "ERROR", "WARNING", "Exception")


def write_config(tmp: Path, min_sample: int = 1) -> Path:
    """A config with its own database; one answer is enough for a satisfaction rate."""
    path = tmp / "config.toml"
    path.write_text(
        '[telegram]\nbot_username = "cchc_test_bot"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp / "bot.sqlite3"}"\n'
        '[survey]\nsecret = "a-test-secret-of-enough-length"\n'
        f"min_sample = {min_sample}\n",
        encoding="utf-8",
    )
    return path


class Chat:
    """One ``cchc-bot chat`` process on a pseudo-terminal, with everything it printed."""

    def __init__(self, cwd: Path, config: Path, *args: str) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(cwd),
            "PYTHONIOENCODING": "utf-8",
            "TERM": "dumb",
            "LANG": "C.UTF-8",
        }
        self.child = pexpect.spawn(
            sys.executable,
            [
                "-m",
                "bot.app.cli",
                "--config",
                str(config),
                "chat",
                "--files",
                str(cwd / "files"),
                *args,
            ],
            cwd=str(cwd),
            env=env,
            encoding="utf-8",
            codec_errors="replace",
            timeout=30,
            dimensions=(50, 4000),
        )
        self.lines: list[str] = []

    @property
    def transcript(self) -> str:
        return "".join(self.lines)

    def _take(self) -> str:
        text = str(self.child.before) + str(self.child.after)
        self.lines.append(text)
        return str(self.child.before)

    def ready(self) -> str:
        """Everything up to the next prompt."""
        self.child.expect(PROMPT)
        return self._take()

    def say(self, line: str) -> str:
        """Type a line; what the bot answered before prompting again (the echo removed)."""
        self.child.sendline(line)
        out = self.ready()
        return out.split("\n", 1)[1] if "\n" in out else ""

    def quiet(self, seconds: float) -> str:
        """What arrives, unasked, within ``seconds``."""
        self.child.expect(pexpect.TIMEOUT, timeout=seconds)
        arrived = str(self.child.before)
        self.lines.append(arrived)
        return arrived

    def wait_for(self, text: str) -> str:
        self.child.expect_exact(text)
        return self._take()

    def end(self) -> str:
        """Wait for the process to exit; what it printed last."""
        self.child.expect(pexpect.EOF)
        tail = str(self.child.before)
        self.lines.append(tail)
        self.child.close()
        return tail


def saved_path(out: str, label: str) -> Path:
    """The file a ``[ảnh đã lưu: …]`` / ``[tệp đã lưu: …]`` line names."""
    match = re.search(re.escape(label.split("{")[0]) + r"(.+?)\]", out)
    assert match is not None, out
    return Path(match.group(1).strip())


def complete_report(chat: Chat, first: str) -> str:
    """Answer every question of a report, starting from the first question's text."""
    out = first
    # Free input: the choices are named, and a digit is the answer (a total of 1 document),
    # not "the first button".
    assert CONSOLE_OR_TYPE.format(choices=T.SKIP_BUTTON) in out
    out = chat.say("1")
    assert "không lớn hơn 1)" in out
    assert CONSOLE_OR_TYPE.format(choices=typed_label(T.BACK_TO_DENOMINATOR)) in out
    out = chat.say("1")
    out = chat.say("50")
    # Typing a named choice's words presses it: back to the total.
    out = chat.say("sửa tổng số")
    assert "ví dụ 150" in out and "không lớn hơn" not in out
    out = chat.say("50")
    for _ in range(40):
        if "TÓM TẮT BÁO CÁO" in out:
            return out
        assert "không lớn hơn 50" in out or "ví dụ 150" in out, out
        out = chat.say("40" if "không lớn hơn" in out else "50")
    raise AssertionError("the report never reached its summary:\n" + out)


def test_one_session_plays_a_unit_head_a_citizen_and_the_admin(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    catalogue = load_data(load_config(config))
    point = catalogue.points[0]
    chat = Chat(tmp_path, config, "--as", "unit", UNIT)
    start = chat.ready()
    assert CONSOLE_YOU_ARE.format(who=f"Thủ trưởng {UNIT_NAME} ({UNIT})") in start
    assert "/as admin · /as unit MÃ · /as citizen" in start

    # A wrong role changes nothing.
    out = chat.say("/as unit NOPE")
    assert CONSOLE_UNKNOWN_UNIT.format(code="NOPE") in out
    assert chat.child.after == f"[Thủ trưởng {UNIT}] > "

    # The admin reminds the missing units; the reminder is not for the admin ...
    chat.say("/as admin")
    out = chat.say("/nhacnho")
    assert T.remind_queued(1, 1) in out
    assert T.REMIND_BUTTON not in chat.quiet(1.0)
    # ... it arrives, with its button, when the unit head is played again.
    chat.say(f"/as unit {UNIT}")
    reminder = chat.wait_for(f"[1] {T.REMIND_BUTTON}")
    assert "Nhắc nộp báo cáo cải cách hành chính Quý" in reminder
    assert f"của {UNIT_NAME}" in reminder
    chat.ready()

    # Pressing the reminder's button by its number starts the report.
    first = chat.say("1")
    assert "Chỉ tiêu 1/13" in first
    summary = complete_report(chat, first)
    assert f"[1] {T.SUMMARY_SEND}" in summary and f"[3] {T.SUMMARY_CANCEL}" in summary
    out = chat.say("1")
    assert "Đã ghi nhận báo cáo" in out and "13 chỉ tiêu" in out

    # A citizen scans the desk's QR code: digits press the numbered choices.
    chat.say("/as citizen")
    out = chat.say(f"/start {point_payload(point)}")
    assert "[1] Đất đai" in out and "[6] Khác" in out  # numbered once, not "[1] 1. Đất đai"
    out = chat.say("1")
    assert "[1]  [2]  [3]  [4]  [5]" in out
    for rating in ("5", "4", "5"):
        out = chat.say(rating)
    out = chat.say("4")
    assert "[1] Có" in out and "[2] Không" in out  # "Ông/Bà có phản ánh, kiến nghị không?"
    out = chat.say("2")
    assert CONSOLE_OR_TYPE.format(choices=T.SURVEY_SKIP) in out
    out = chat.say("Cán bộ hướng dẫn tận tình")
    thanks = catalogue.questionnaires[point.questionnaire].thanks
    assert thanks is not None and thanks.vi in out

    # Too long a message is refused politely, and the session goes on.
    out = chat.say("x" * 2500)
    assert T.TOO_LONG.format(limit=2000) in out

    # The admin sees the report and the survey.
    chat.say("/as admin")
    status = chat.say("/trangthai")
    assert "Đã nộp: 1/35 đơn vị (đúng hạn 1, trễ hạn 0)" in status
    assert UNIT_NAME not in status and "UBND xã Tân Thạnh" in status  # XA-CK no longer missing
    assert re.search(r"• 13\. [^\n]*: 80% \(40/50\)", status), status
    line_14 = next(line for line in status.splitlines() if line.startswith("• 14."))
    assert "100%" in line_14 and "1 người" in line_14
    chart = saved_path(status, CONSOLE_PHOTO)
    assert chart.parent == tmp_path / "files" and chart.read_bytes().startswith(b"\x89PNG")
    out = chat.say("/xuat")
    workbook = saved_path(out, CONSOLE_FILE)
    assert workbook.name.endswith(".xlsx") and workbook.read_bytes().startswith(b"PK")

    # Ctrl-D ends the session cleanly.
    chat.child.sendeof()
    tail = chat.end()
    assert CONSOLE_BYE in tail
    assert chat.child.exitstatus == 0
    for word in NOISE:
        assert word not in chat.transcript, chat.transcript

    with closing(sqlite3.connect(tmp_path / "bot.sqlite3")) as db:
        sent = db.execute(
            "SELECT s.late, count(v.id), min(v.numerator <= v.denominator) FROM submissions s "
            "JOIN submission_values v ON v.submission_id = s.id WHERE s.unit_code = ?",
            (UNIT,),
        ).fetchone()
        survey = db.execute("SELECT field, status, answers FROM survey_responses").fetchall()
        reminders = db.execute(
            "SELECT status FROM outbox WHERE channel = 'console' AND chat_id = ?",
            (f"unit-{UNIT}",),
        ).fetchall()
    assert sent == (0, 13, 1)
    assert len(survey) == 1 and survey[0][:2] == ("dat_dai", "counted")
    assert json.loads(survey[0][2])["gop_y"] == "Cán bộ hướng dẫn tận tình"
    assert reminders == [("sent",)]


def test_an_unknown_role_stops_with_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["--config", str(config), "chat", "--as", "unit", "NOPE"]) == 2
    error = capsys.readouterr().err
    assert error.strip() == "Lỗi cấu hình: --as: " + CONSOLE_UNKNOWN_UNIT.format(code="NOPE")
    assert not (tmp_path / "bot.sqlite3").exists()  # refused before opening the database


# --------------------------------------------------------------------------- display rules


def test_numbered_choices_and_free_input() -> None:
    rating = [Button(str(n), f"c:t:0.{n}") for n in range(1, 6)]
    fields = [Button("1. Đất đai", "c:t:0.dat_dai"), Button("2. Khác", "c:t:0.khac")]
    back = [Button("↩ Sửa tổng số", "c:t:back")]
    assert choice_lines(rating, free_text=False) == ["   [1]  [2]  [3]  [4]  [5]"]
    assert choice_lines(fields, free_text=False) == ["   [1] Đất đai", "   [2] Khác"]
    assert choice_lines(back, free_text=True) == ["   (hoặc gõ: Sửa tổng số)"]
    assert pressed("2", fields, free_text=False) == fields[1]
    assert pressed(" 4 ", rating, free_text=False) == rating[3]
    assert pressed("3", fields, free_text=False) is None  # out of range: said to the core
    assert pressed("1", back, free_text=True) is None  # a number is the answer
    assert pressed("SUA TONG SO", back, free_text=True) == back[0]
    assert pressed("khác", fields, free_text=False) is None  # "2. Khác" is not "khác"
    assert pressed("2. khác", fields, free_text=False) == fields[1]


def test_printed_text_cannot_drive_the_terminal() -> None:
    assert printable("Góp ý\x1b[2J\x07 xong\u202e") == "Góp ý�[2J� xong"
    assert printable("dòng 1\n\tdòng 2 ✅") == "dòng 1\n\tdòng 2 ✅"


def test_roles() -> None:
    catalogue = load_data(load_config(None))
    head = identity_for("unit xa-ck", catalogue)
    assert (head.user_id, head.prompt) == ("unit-XA-CK", "Thủ trưởng XA-CK")
    assert identity_for("ADMIN", catalogue).user_id == "admin"
    for wrong in ("", "unit", "unit LP", "admin x", "boss"):
        try:
            identity_for(wrong, catalogue)
        except ValueError:
            continue
        raise AssertionError(f"{wrong!r} was accepted")


def test_chat_with_web_serves_the_survey_and_a_kiosk_on_the_same_database(
    tmp_path: Path,
) -> None:
    """``chat --web``: the web pages beside the terminal chat; an answer given on the page
    shows in the admin's /trangthai in the terminal."""
    from tests.support.harness import free_port

    port = free_port()
    config = write_config(tmp_path)
    with config.open("a", encoding="utf-8") as fh:
        fh.write(f'[web]\nlisten = "127.0.0.1:{port}"\n')
    chat = Chat(tmp_path, config, "--as", "admin", "--web")
    chat.wait_for("Máy tính bảng tại quầy")
    opening = chat.ready()
    survey = re.search(r"Trang khảo sát trên web[^:]*: (\S+)", chat.transcript)
    kiosk = re.search(r"Máy tính bảng tại quầy[^:]*: (\S+)", chat.transcript + opening)
    assert survey and kiosk, chat.transcript
    assert survey.group(1).startswith(f"http://127.0.0.1:{port}/s/")
    with urllib.request.urlopen(survey.group(1), timeout=10) as page:
        assert page.status == 200 and "Câu 1/" in page.read().decode()
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with browser.open(kiosk.group(1), timeout=10) as tablet:  # the 303, keeping the cookie
        assert tablet.status == 200 and "chạm vào một nút" in tablet.read().decode()
    chat.child.sendeof()
    chat.end()
    assert not any(noise in chat.transcript for noise in NOISE), chat.transcript
    with closing(sqlite3.connect(tmp_path / "bot.sqlite3")) as db:
        [(devices,)] = db.execute("select count(*) from kiosk_devices").fetchall()
    assert devices == 1
