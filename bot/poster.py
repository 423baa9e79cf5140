"""A printable survey poster: QR code, the service point's name, one line of instructions.

The QR code is drawn at a whole number of pixels per module, so every module is a clean
square that a phone camera (and the tests, which read the modules back) can resolve.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from bot import texts as T

WIDTH = 1240  # A5 portrait at 150 dpi
QR_SIDE = 900  # the QR code's largest side in pixels, quiet zone included
MARGIN = 60


def font_path(bold: bool = False) -> str:
    """DejaVu Sans (shipped with matplotlib, so always present) has every Vietnamese glyph."""
    from matplotlib import font_manager  # loaded only when a poster is drawn

    prop = font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
    return str(font_manager.findfont(prop, fallback_to_default=False))


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(bold), size)


def qr_code(link: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(link)
    code.make(fit=True)
    return code


def qr_image(link: str, side: int = QR_SIDE) -> Image.Image:
    """The QR code with its 4-module quiet zone, at the largest whole module size ≤ ``side``."""
    code = qr_code(link)
    modules = code.modules_count + 2 * code.border
    code.box_size = max(1, side // modules)
    image: Image.Image = code.make_image(fill_color="black", back_color="white").get_image()
    return image.convert("RGB")


def _lines(
    draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: int
) -> list[str]:
    for chars in range(48, 8, -2):
        lines = textwrap.wrap(text, chars)
        if all(draw.textlength(line, font=face) <= width for line in lines):
            return lines
    return textwrap.wrap(text, 8)


def render_poster(
    link: str, title: str, note: str | None = None, instruction: str = T.POSTER_INSTRUCTION
) -> Image.Image:
    """Title (the point's name), the QR code, the instruction, and an optional small note
    (the record code of a one-time link)."""
    code = qr_image(link)
    title_font, text_font, note_font = font(54, bold=True), font(36), font(30)
    scratch = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    title_lines = _lines(scratch, title, title_font, WIDTH - 2 * MARGIN)
    text_lines = _lines(scratch, instruction, text_font, WIDTH - 2 * MARGIN)
    note_lines = _lines(scratch, note, note_font, WIDTH - 2 * MARGIN) if note else []
    height = (
        80
        + 70 * len(title_lines)
        + 30
        + code.height
        + 40
        + 50 * len(text_lines)
        + (20 + 44 * len(note_lines) if note_lines else 0)
        + 80
    )
    poster = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(poster)
    y = 80
    for line in title_lines:
        draw.text((WIDTH // 2, y), line, font=title_font, fill="black", anchor="mt")
        y += 70
    y += 30
    poster.paste(code, ((WIDTH - code.width) // 2, y))
    y += code.height + 40
    for line in text_lines:
        draw.text((WIDTH // 2, y), line, font=text_font, fill="black", anchor="mt")
        y += 50
    if note_lines:
        y += 20
        for line in note_lines:
            draw.text((WIDTH // 2, y), line, font=note_font, fill="black", anchor="mt")
            y += 44
    return poster


def poster_png(link: str, title: str, note: str | None = None) -> bytes:
    buffer = io.BytesIO()
    render_poster(link, title, note).save(buffer, format="PNG")
    return buffer.getvalue()


def write_poster(path: Path, link: str, title: str, note: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(poster_png(link, title, note))
