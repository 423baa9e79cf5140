"""The pure parts of publishing files for Zalo users (issue 16, item 4): the file's
headers, the media types, the link's sentence, and how an Outbound with a file reads on
Zalo with and without a published link."""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from bot.channels.web.files import ascii_name, content_disposition
from bot.channels.zalo_common import ZALO_NO_FILES, FileLink, photo_messages, render_outbound
from bot.usecases.published import PHOTO_NAME, attachment_of, media_type_of
from bot.usecases.settings import WebConfig
from surveys.messages import Outbound

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def filename_of(header: str) -> str | None:
    """The name a client reads (RFC 6266: ``filename*`` before ``filename``)."""
    _, params = parse_content_disposition(header)
    return content_disposition_filename(params, "filename")


def test_a_plain_name_is_given_as_is() -> None:
    header = content_disposition("cchc-2026-Q4.xlsx", inline=False)
    assert header == 'attachment; filename="cchc-2026-Q4.xlsx"'
    assert filename_of(header) == "cchc-2026-Q4.xlsx"


def test_a_vietnamese_name_goes_as_rfc_5987_beside_an_ascii_one() -> None:
    name = "Báo cáo CCHC quý IV năm 2026 – Đồng Nai.docx"
    header = content_disposition(name, inline=False)
    assert header.startswith('attachment; filename="Bao cao CCHC quy IV nam 2026  Dong Nai.docx"')
    assert header.isascii()
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == name and " " not in encoded
    assert filename_of(header) == name


def test_a_picture_is_inline_and_quotes_never_break_the_header() -> None:
    assert content_disposition("anh-cchc.png", inline=True) == 'inline; filename="anh-cchc.png"'
    header = content_disposition('a"b\\c\r\n.png', inline=True)
    assert "\r" not in header and "\n" not in header
    assert header.split(";")[1] == ' filename="abc.png"'
    assert ascii_name("ấ") == "a" and ascii_name("ệ") == "e" and ascii_name("中") == "tep"


def test_media_types_come_from_the_extension() -> None:
    assert media_type_of("anh-cchc.png") == "image/png"
    assert media_type_of("cchc-2026-Q4.XLSX") == XLSX
    assert media_type_of("bao-cao-cchc-2026.docx") == DOCX
    assert media_type_of("khong-duoi") == "application/octet-stream"
    assert media_type_of("a.exe") == "application/octet-stream"


def test_files_are_published_only_under_an_https_public_url() -> None:
    assert WebConfig(enabled=True, public_url="https://cchc.example.vn").publishes_files
    assert WebConfig(enabled=True, public_url="HTTPS://cchc.example.vn").publishes_files
    assert not WebConfig(enabled=True, public_url="http://cchc.example.vn").publishes_files
    assert not WebConfig(enabled=True).publishes_files
    assert not WebConfig(enabled=False, public_url="https://cchc.example.vn").publishes_files


def test_what_an_outbound_carries() -> None:
    photo = attachment_of(Outbound("c", "Biểu đồ", photo=b"\x89PNG"))
    assert photo is not None and (photo.name, photo.is_photo) == (PHOTO_NAME, True)
    book = attachment_of(Outbound("c", "Bảng", document=("cchc-2026-Q4.xlsx", b"PK")))
    assert book is not None and (book.name, book.content, book.is_photo) == (
        "cchc-2026-Q4.xlsx",
        b"PK",
        False,
    )
    assert attachment_of(Outbound("c", "chữ")) is None


def test_on_zalo_a_file_is_its_link_or_the_old_note() -> None:
    out = Outbound("c", "Bảng tổng hợp Quý IV/2026 (Excel)", document=("cchc-2026-Q4.xlsx", b""))
    assert render_outbound(out) == [f"Bảng tổng hợp Quý IV/2026 (Excel)\n{ZALO_NO_FILES}"]
    url, until = "https://cchc.example.vn/tep/abc", "10:05 20/11/2026"
    link = FileLink(url, "cchc-2026-Q4.xlsx", until, False)
    [text] = render_outbound(out, link)
    assert text == (
        "Bảng tổng hợp Quý IV/2026 (Excel)\n"
        "Tải tệp cchc-2026-Q4.xlsx (hết hạn lúc 10:05 20/11/2026): https://cchc.example.vn/tep/abc"
    )
    assert ZALO_NO_FILES not in text


def test_a_published_photo_s_caption_is_its_last_message() -> None:
    chart = Outbound("c", "Biểu đồ chỉ tiêu — Quý IV/2026", photo=b"\x89PNG")
    assert photo_messages(chart) == ([], "Biểu đồ chỉ tiêu — Quý IV/2026")
    long = Outbound("c", "\n".join(["dòng dài " * 20] * 30), photo=b"\x89PNG")
    before, caption = photo_messages(long)
    assert before and all(len(m) <= 2000 for m in [*before, caption])
    assert "\n".join([*before, caption]).split("\n") == long.text.split("\n")
    refused = FileLink("https://cchc.example.vn/tep/abc", PHOTO_NAME, "10:05 20/11/2026", True)
    assert refused.line() == "Xem ảnh (hết hạn lúc 10:05 20/11/2026): https://cchc.example.vn/tep/abc"

