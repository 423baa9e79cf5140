"""The survey poster: its QR code reads back as the link, and its Vietnamese text is drawn.

No QR decoder is installed (pyzbar needs the system zbar library, zxing-cpp is compiled),
so the QR is checked the other way round: the link is encoded again with ``qrcode`` and
the poster's pixels, sampled at the centre of every module, must give the same matrix.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import qrcode
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw

from bot.app.cli import main
from bot.usecases.registration import token_hash
from reports.fonts import khmer_font_path, latin_font_path
from reports.poster import Face, poster_png, render_poster
from surveys import i18n
from surveys import texts as T

LINK = "https://t.me/cchc_test_bot?start=s-mc-huyen"
TITLE = "Bộ phận Tiếp nhận và Trả kết quả huyện Long Phú"
EC_LEVELS = (
    qrcode.constants.ERROR_CORRECT_L,
    qrcode.constants.ERROR_CORRECT_M,
    qrcode.constants.ERROR_CORRECT_Q,
    qrcode.constants.ERROR_CORRECT_H,
)


def _blocks(flags: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Runs of True in ``flags`` (first, last index), merging gaps shorter than ``gap``."""
    blocks: list[tuple[int, int]] = []
    for index in np.flatnonzero(flags):
        i = int(index)
        if blocks and i - blocks[-1][1] <= gap:
            blocks[-1] = (blocks[-1][0], i)
        else:
            blocks.append((i, i))
    return blocks


def qr_grid(image: Image.Image) -> tuple[int, int, int, int]:
    """The pixel box (left, top, right, bottom) of the QR's modules on a poster.

    The QR is the tallest block of rows holding dark pixels (its quiet zone separates it
    from the text above and below); inside those rows the dark pixels span the module grid,
    because three corners of every QR code are dark finder patterns.
    """
    dark = np.asarray(image.convert("L")) < 128
    top, bottom = max(_blocks(dark.any(axis=1), gap=60), key=lambda b: b[1] - b[0])
    columns = np.flatnonzero(dark[top : bottom + 1].any(axis=0))
    return int(columns[0]), top, int(columns[-1]), bottom


def read_modules(image: Image.Image, size: int) -> list[list[bool]]:
    """The poster's QR as a ``size`` × ``size`` matrix of dark modules."""
    dark = np.asarray(image.convert("L")) < 128
    left, top, right, bottom = qr_grid(image)
    step_x, step_y = (right - left + 1) / size, (bottom - top + 1) / size
    assert abs(step_x - step_y) < 0.5, "the QR code is not square"
    return [
        [
            bool(dark[int(top + (r + 0.5) * step_y), int(left + (c + 0.5) * step_x)])
            for c in range(size)
        ]
        for r in range(size)
    ]


def encodes(image: Image.Image, link: str) -> bool:
    """Whether the poster's QR code is the QR code of ``link`` (at any error-correction
    level), read module by module."""
    for level in EC_LEVELS:
        code = qrcode.QRCode(error_correction=level, border=0)
        code.add_data(link)
        code.make(fit=True)
        expected = [[bool(m) for m in row] for row in code.get_matrix()]
        if read_modules(image, len(expected)) == expected:
            return True
    return False


def png_encodes(png: bytes, link: str) -> bool:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return encodes(image.convert("RGB"), link)


def test_the_posters_qr_code_is_the_link() -> None:
    poster = render_poster(LINK, TITLE)
    assert encodes(poster, LINK)
    # The check can fail: another link of the same length gives another matrix.
    assert not encodes(poster, LINK.replace("mc-huyen", "mc-huyex"))


def test_a_long_one_time_link_with_a_record_note_still_reads_back() -> None:
    link = "https://t.me/cchc_test_bot?start=r-AbCdEfGhIjKlMnOp"
    png = poster_png(link, "Trạm Y tế thị trấn Đại Ngãi", T.POSTER_RECORD.format(record="HS-1"))
    assert png_encodes(png, link)


def test_every_character_of_the_poster_text_has_a_glyph_in_the_font() -> None:
    """No tofu: DejaVu Sans maps every Vietnamese letter the poster uses."""
    text = TITLE + T.POSTER_INSTRUCTION + T.POSTER_RECORD + "ăâđêôơưĂÂĐÊÔƠƯạảấầẩẫậắằẳẵặẹẻẽếềểễệ"
    for bold in (False, True):
        cmap = TTFont(latin_font_path(bold)).getBestCmap()
        missing = {c for c in text if not c.isspace() and ord(c) not in cmap}
        assert not missing, f"no glyph for {sorted(missing)} in {latin_font_path(bold)}"


def test_title_and_instruction_are_drawn_with_their_diacritics() -> None:
    with_marks = np.asarray(render_poster(LINK, "Trạm Y tế Long Phú").convert("L"))
    without = np.asarray(render_poster(LINK, "Tram Y te Long Phu").convert("L"))
    assert with_marks.shape == without.shape
    _, top, _, bottom = qr_grid(render_poster(LINK, "Trạm Y tế Long Phú"))
    # Above the QR code only the title differs; the marks change the drawn pixels.
    assert (with_marks[:top] != without[:top]).sum() > 200
    assert (with_marks[top:] == without[top:]).all()
    # The instruction is drawn below the QR code.
    assert (with_marks[bottom + 1 :] < 128).sum() > 2000


def test_cli_qr_with_a_record_prints_a_one_time_link_and_writes_its_poster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[telegram]\nbot_username = "cchc_test_bot"\n'
        '[survey]\nsecret = "a-test-secret-of-enough-length"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "hs.png"
    args = ["qr", "TTYT-HUYEN", "--record", "HS-2026-01", "--out", str(out)]
    assert main(["--config", str(config), *args]) == 0
    link = capsys.readouterr().out.splitlines()[0]
    assert link.startswith("https://t.me/cchc_test_bot?start=r-")
    token = link.split("start=r-", 1)[1]
    assert png_encodes(out.read_bytes(), link)
    with sqlite3.connect(tmp_path / "cchc-bot.sqlite3") as db:
        rows = db.execute("select token_hash, point_code, record_code, used_at from survey_links")
        assert rows.fetchall() == [(token_hash(token), "ttyt-huyen", "HS-2026-01", None)]


KHMER_TITLE = "ការិយាល័យច្រកចេញចូលតែមួយ ស្រុក Long Phú"


def test_a_khmer_poster_reads_back_and_draws_khmer_shaped_with_khmer_os() -> None:
    link = "https://t.me/cchc_test_bot?start=km-s-mc-huyen"
    instruction = i18n.translate("km", T.POSTER_INSTRUCTION)
    poster = render_poster(link, KHMER_TITLE, None, instruction)
    assert encodes(poster, link)
    _, top, _, bottom = qr_grid(poster)
    pixels = np.asarray(poster.convert("L"))
    assert (pixels[:top] < 128).sum() > 2000 and (pixels[bottom + 1 :] < 128).sum() > 2000
    # Shaped (libraqm): a subscript consonant sits under its base instead of taking its own
    # room, so "ស្រុក" is narrower than its characters drawn one by one.
    face = Face(36)
    scratch = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    word = "ស្រុក"
    assert face.width(scratch, word) < sum(face.width(scratch, c) for c in word) * 0.8
    # Latin runs of a Khmer line keep DejaVu Sans (Vietnamese letters in a place name).
    assert [font.path for _, font in face.runs(KHMER_TITLE)] == [
        khmer_font_path(),
        latin_font_path(),
    ]


def test_cli_qr_in_khmer_writes_a_khmer_poster_with_a_khmer_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[telegram]\nbot_username = "cchc_test_bot"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config), "qr", "mc-huyen", "--lang", "km"]) == 0
    link = capsys.readouterr().out.splitlines()[0]
    assert link == "https://t.me/cchc_test_bot?start=km-s-mc-huyen"
    khmer = (tmp_path / "qr-mc-huyen-km.png").read_bytes()
    assert png_encodes(khmer, link)
    assert main(["--config", str(config), "qr", "mc-huyen"]) == 0
    assert khmer != (tmp_path / "qr-mc-huyen.png").read_bytes()


def test_with_a_public_url_the_default_poster_opens_the_web_and_names_the_other_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[telegram]\nbot_username = "cchc_test_bot"\n'
        '[survey]\nsecret = "a-test-secret-of-enough-length"\n'
        '[web]\nenabled = true\npublic_url = "https://khaosat.example.gov.vn/"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config), "qr", "mc-huyen"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "https://khaosat.example.gov.vn/s/mc-huyen"
    assert png_encodes((tmp_path / "qr-mc-huyen-web.png").read_bytes(), lines[0])
    assert not any("public_url chưa đặt" in line for line in lines)
    # in Khmer, and a record's one-time link, on the web too
    args = ["qr", "mc-huyen", "--lang", "km", "--record", "HS-7", "--out", str(tmp_path / "k.png")]
    assert main(["--config", str(config), *args]) == 0
    link = capsys.readouterr().out.splitlines()[0]
    assert link.startswith("https://khaosat.example.gov.vn/r/") and link.endswith("?lang=km")
    assert png_encodes((tmp_path / "k.png").read_bytes(), link)
    # the Telegram poster is still there when asked for: --web is the default, not the only
    telegram = render_poster(LINK, TITLE)
    assert encodes(telegram, LINK)


def test_qr_web_without_a_public_url_warns_that_the_link_is_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[web]\nenabled = true\nlisten = "127.0.0.1:8099"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config), "qr", "p-tnmt", "--web"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "http://127.0.0.1:8099/s/p-tnmt"
    assert "public_url chưa đặt" in lines[1]
    assert png_encodes((tmp_path / "qr-p-tnmt-web.png").read_bytes(), lines[0])


def test_cli_kiosk_registers_lists_and_revokes_a_tablet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[survey]\nsecret = "a-test-secret-of-enough-length"\n'
        '[web]\nenabled = true\npublic_url = "https://khaosat.example.gov.vn"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    run = ["--config", str(config), "kiosk"]
    assert main([*run, "mc-huyen", "--label", "Quầy 2"]) == 0
    link, said = capsys.readouterr().out.splitlines()
    assert link.startswith("https://khaosat.example.gov.vn/k/mc-huyen?key=")
    assert "Máy tại quầy số 1" in said and "--revoke 1" in said
    key = link.split("key=", 1)[1]
    with sqlite3.connect(tmp_path / "cchc-bot.sqlite3") as db:
        [(stored,)] = db.execute("select key_hash from kiosk_devices").fetchall()
    assert stored == token_hash(key) and key not in stored
    assert main([*run, "--list"]) == 0
    [row] = capsys.readouterr().out.splitlines()
    assert row.split("\t")[:3] == ["1", "mc-huyen", "Quầy 2"] and row.endswith("đang dùng")
    assert main([*run, "--revoke", "1"]) == 0
    assert "Đã thu hồi máy tại quầy số 1" in capsys.readouterr().out
    assert main([*run, "--list"]) == 0
    assert "thu hồi" in capsys.readouterr().out.split("\t")[-1]
    assert main([*run, "--revoke", "9"]) == 2
    assert "không có máy tại quầy số 9" in capsys.readouterr().err
    assert main([*run]) == 2
    assert "cchc-bot kiosk MÃ_ĐIỂM" in capsys.readouterr().err
    assert main([*run, "khong-co"]) == 2
