"""A printable survey poster: QR code, the service point's name, one line of instructions.

The QR code is drawn at a whole number of pixels per module, so every module is a clean
square that a phone camera (and the tests, which read the modules back) can resolve.
A poster can be printed in Khmer or English (``cchc-bot qr POINT --lang km``): its text is in
that language and its link opens the survey in it. Khmer runs of a line are drawn with
Khmer OS, shaped by libraqm; the rest with DejaVu Sans.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from functools import cache
from itertools import groupby
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from reports import fonts
from surveys import texts as T

WIDTH = 1240  # A5 portrait at 150 dpi
QR_SIDE = 900  # the QR code's largest side in pixels, quiet zone included
MARGIN = 60


@dataclass(frozen=True)
class Face:
    """One size of poster text: DejaVu Sans for Latin script, Khmer OS for Khmer runs."""

    size: int
    bold: bool = False

    def latin(self) -> ImageFont.FreeTypeFont:
        return _truetype(fonts.latin_font_path(self.bold), self.size)

    def khmer(self) -> ImageFont.FreeTypeFont:
        return _truetype(fonts.khmer_font_path(), self.size)

    def runs(self, text: str) -> list[tuple[str, ImageFont.FreeTypeFont]]:
        """The text cut where the script changes (spaces go with the run before them)."""
        out: list[tuple[str, ImageFont.FreeTypeFont]] = []
        for khmer, chars in groupby(text, key=fonts.is_khmer):
            piece = "".join(chars)
            face = self.khmer() if khmer else self.latin()
            if out and (out[-1][1] is face or not piece.strip()):
                out[-1] = (out[-1][0] + piece, out[-1][1])
            else:
                out.append((piece, face))
        return out

    def width(self, draw: ImageDraw.ImageDraw, text: str) -> float:
        return sum(draw.textlength(piece, font=face) for piece, face in self.runs(text))

    def ascent(self, text: str) -> int:
        return int(max(face.getmetrics()[0] for _, face in self.runs(text)))

    def line_height(self, text: str) -> int:
        """Room for one line: a Khmer line is taller (vowels above, subscripts below)."""
        metrics = [face.getmetrics() for _, face in self.runs(text)]
        tallest = max(int(up) for up, _ in metrics) + max(int(down) for _, down in metrics)
        return max(round(1.3 * self.size), tallest + self.size // 4)

    def draw_centred(self, draw: ImageDraw.ImageDraw, centre: int, top: int, text: str) -> None:
        x = centre - self.width(draw, text) / 2
        baseline = top + self.ascent(text)
        for piece, face in self.runs(text):
            draw.text((x, baseline), piece, font=face, fill="black", anchor="ls")
            x += draw.textlength(piece, font=face)


@cache
def _truetype(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


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


def _lines(draw: ImageDraw.ImageDraw, text: str, face: Face, width: int) -> list[str]:
    """The text wrapped at spaces to fit ``width`` (a Khmer word is never cut inside, where
    a cut could split a consonant from its subscript)."""
    for chars in range(48, 8, -2):
        lines = textwrap.wrap(text, chars, break_long_words=False, break_on_hyphens=False)
        if all(face.width(draw, line) <= width for line in lines):
            return lines
    return textwrap.wrap(text, 8, break_long_words=False, break_on_hyphens=False)


def render_poster(
    link: str, title: str, note: str | None = None, instruction: str = T.POSTER_INSTRUCTION
) -> Image.Image:
    """Title (the point's name), the QR code, the instruction, and an optional small note
    (the record code of a one-time link)."""
    code = qr_image(link)
    scratch = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    width = WIDTH - 2 * MARGIN

    def block(text: str | None, face: Face) -> list[tuple[str, Face, int]]:
        lines = _lines(scratch, text, face, width) if text else []
        return [(line, face, face.line_height(line)) for line in lines]

    above = block(title, Face(54, bold=True))
    below = block(instruction, Face(36))
    small = block(note, Face(30))
    height = (
        80
        + sum(h for *_, h in above)
        + 30
        + code.height
        + 40
        + sum(h for *_, h in below)
        + (20 + sum(h for *_, h in small) if small else 0)
        + 80
    )
    poster = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(poster)

    def write(lines: list[tuple[str, Face, int]], y: int) -> int:
        for line, face, line_height in lines:
            face.draw_centred(draw, WIDTH // 2, y, line)
            y += line_height
        return y

    y = write(above, 80) + 30
    poster.paste(code, ((WIDTH - code.width) // 2, y))
    y = write(below, y + code.height + 40)
    if small:
        write(small, y + 20)
    return poster


def poster_png(
    link: str, title: str, note: str | None = None, instruction: str = T.POSTER_INSTRUCTION
) -> bytes:
    buffer = io.BytesIO()
    render_poster(link, title, note, instruction).save(buffer, format="PNG")
    return buffer.getvalue()


def write_poster(
    path: Path,
    link: str,
    title: str,
    note: str | None = None,
    instruction: str = T.POSTER_INSTRUCTION,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(poster_png(link, title, note, instruction))
