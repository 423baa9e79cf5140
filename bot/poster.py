"""A printable survey poster: QR code, the service point's name, one line of instructions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import qrcode
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

INSTRUCTION = "Quét mã QR bằng điện thoại để đánh giá mức độ hài lòng (ẩn danh, dưới 1 phút)"
WIDTH = 1240  # A5 portrait at 150 dpi


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (shipped with matplotlib, so always present) has every Vietnamese glyph."""
    prop = font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
    return ImageFont.truetype(font_manager.findfont(prop), size)


def qr_image(link: str, box: int = 16) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box, border=4)
    code.add_data(link)
    code.make(fit=True)
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


def render_poster(link: str, title: str, instruction: str = INSTRUCTION) -> Image.Image:
    code = qr_image(link)
    code = code.resize((900, 900), Image.Resampling.NEAREST)
    title_font, text_font = font(54, bold=True), font(36)
    scratch = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    title_lines = _lines(scratch, title, title_font, WIDTH - 120)
    text_lines = _lines(scratch, instruction, text_font, WIDTH - 120)
    height = 80 + 70 * len(title_lines) + 30 + 900 + 40 + 50 * len(text_lines) + 80
    poster = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(poster)
    y = 80
    for line in title_lines:
        draw.text((WIDTH // 2, y), line, font=title_font, fill="black", anchor="mt")
        y += 70
    y += 30
    poster.paste(code, ((WIDTH - 900) // 2, y))
    y += 900 + 40
    for line in text_lines:
        draw.text((WIDTH // 2, y), line, font=text_font, fill="black", anchor="mt")
        y += 50
    return poster


def write_poster(path: Path, link: str, title: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    render_poster(link, title).save(path, format="PNG")
