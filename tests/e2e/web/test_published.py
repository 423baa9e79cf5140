"""Charts and files for Zalo users (issue 16, item 4; issue 20's link on Zalo), end to end:
the real bot on the fake Telegram, Zalo Bot and Zalo OA servers, serving its own web pages
on 127.0.0.1 while ``[web] public_url`` says https://… (the proxy's address): what Zalo is
sent points under public_url, and its path fetched from the bot's web server gives the
very file, for an hour, then the expiry page."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import openpyxl
import pytest
from docx import Document
from sqlalchemy import select

from bot.usecases.published import digest
from bot.usecases.tick import tick
from db.models import PublishedFile
from tests.e2e.test_report_docx import rows_of
from tests.e2e.test_status import fill_current_round, line_of
from tests.e2e.test_zalo import settle
from tests.e2e.test_zalo_oa import OA_ADMIN, oa_config
from tests.support.fakes.zalo_api import ZaloSent
from tests.support.fakes.zalo_oa import FakeZaloOa, OaSent
from tests.support.harness import ADMIN, ZALO_ADMIN, Bot, FakeClock, free_port, running_bot, texts
from tests.support.polling import until

PUBLIC = "https://cchc.example.vn"
LINK = re.compile(r"(https://cchc\.example\.vn/tep/([A-Za-z0-9_-]+))")
FILE_LINE = re.compile(
    r"Tải tệp (\S+) \(hết hạn lúc (\d\d:\d\d \d\d/\d\d/\d{4})\): (https://\S+)"
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def web_config(port: int, public_url: str | None = PUBLIC) -> str:
    public = f'public_url = "{public_url}"\n' if public_url else ""
    return f'min_sample = 3\n[web]\nenabled = true\nlisten = "127.0.0.1:{port}"\n{public}'


@asynccontextmanager
async def zalo_bot(
    tmp_path: Path, clock: FakeClock, public_url: str | None = PUBLIC, extra: str = ""
) -> AsyncIterator[tuple[Bot, str]]:
    port = free_port()
    async with running_bot(tmp_path, clock, web_config(port, public_url) + extra, zalo=True) as bot:
        await settle(bot)
        yield bot, f"http://127.0.0.1:{port}"


def local(url: str) -> str:
    """The path of a public address, to ask the bot's own server (nginx's job in between)."""
    assert url.startswith(PUBLIC + "/"), url
    return url.removeprefix(PUBLIC)


async def published_rows(bot: Bot) -> list[PublishedFile]:
    return await bot.scalars(select(PublishedFile))


def chart_sent(m: ZaloSent | OaSent) -> bool:
    """The last of /trangthai's messages: the chart, or its caption with the note or link."""
    return m.text.startswith("Biểu đồ chỉ tiêu")


def anything(m: ZaloSent | OaSent) -> bool:
    return True


async def zask(
    bot: Bot, text: str, done: Callable[[ZaloSent], bool] = anything
) -> list[ZaloSent]:
    """Send on the Zalo Bot as its admin; what came back once ``done`` holds for one."""
    zalo = bot.zalo
    assert zalo is not None
    before = len(zalo.sent_to(ZALO_ADMIN))
    zalo.user_sends(ZALO_ADMIN, text)
    await until(lambda: any(done(m) for m in zalo.sent_to(ZALO_ADMIN)[before:]), what=text)
    await bot.idle()
    return zalo.sent_to(ZALO_ADMIN)[before:]


async def oa_ask(
    oa: FakeZaloOa, text: str, done: Callable[[OaSent], bool] = anything,
    msg_id: str | None = None,
) -> list[OaSent]:
    """Write to the OA as its admin; what came back once ``done`` holds for one."""
    before = len(oa.sent_to(OA_ADMIN))
    assert await oa.user_sends(OA_ADMIN, text, msg_id) == 200
    await until(lambda: any(done(m) for m in oa.sent_to(OA_ADMIN)[before:]), what=text)
    return oa.sent_to(OA_ADMIN)[before:]


async def test_a_chart_goes_with_send_photo_and_is_served_for_an_hour(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with zalo_bot(tmp_path, clock) as (bot, site):
        await fill_current_round(bot)
        on_telegram = await bot.say(ADMIN, "/trangthai")
        [tg_chart] = [m for m in on_telegram if m.method == "sendPhoto"]
        replies = await zask(bot, "/trangthai", chart_sent)
        [photo] = [m for m in replies if m.method == "sendPhoto"]
        assert replies[-1] is photo and photo.text.startswith("Biểu đồ chỉ tiêu")
        assert "chỉ gửi được qua Telegram" not in "\n".join(m.text for m in replies)
        assert photo.photo is not None
        found = LINK.fullmatch(photo.photo)
        assert found, photo.photo
        url, token = found.groups()
        assert len(token) >= 43  # 256 bits

        async with aiohttp.ClientSession(site) as http:
            got = await http.get(local(url))
            body = await got.read()
            assert got.status == 200
            assert body[:8] == b"\x89PNG\r\n\x1a\n" and body == tg_chart.file_bytes
            assert got.headers["Content-Type"] == "image/png"
            assert got.headers["Content-Disposition"] == 'inline; filename="anh-cchc.png"'
            assert got.headers["Cache-Control"] == "no-store"
            assert got.headers["Referrer-Policy"] == "no-referrer"
            head = await http.head(local(url))
            assert head.status == 200 and head.headers["Content-Type"] == "image/png"

            # Stored under the token's hash only; the token itself is nowhere in the row.
            [row] = await published_rows(bot)
            assert row.token_hash == digest(token) and token not in repr(row.__dict__)
            assert (row.expires_at - bot.clock()).total_seconds() == 3600

            bot.clock.advance(minutes=59)
            assert (await http.get(local(url))).status == 200
            bot.clock.advance(minutes=1, seconds=1)
            gone = await http.get(local(url))
            page = await gone.text()
            assert gone.status == 410 and "đã hết hạn" in page and "Traceback" not in page
            assert gone.headers["Cache-Control"] == "no-store"
            assert len(await published_rows(bot)) == 1  # expired, not yet purged
            await tick(bot.runtime.ctx)
            assert await published_rows(bot) == []
            after = await http.get(local(url))
            assert after.status == 404 and "Không tìm thấy tệp" in await after.text()
        assert token not in caplog.text and "/tep/" not in caplog.text.replace("/tep/<token>", "")


async def test_a_workbook_and_the_word_report_go_as_links(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with zalo_bot(tmp_path, clock) as (bot, site):
        await fill_current_round(bot)
        status = texts([m for m in await bot.say(ADMIN, "/trangthai") if m.method == "sendMessage"])
        [book_message] = await zask(bot, "/xuat")
        assert book_message.method == "sendMessage"
        first, second = book_message.text.split("\n")
        assert first == "Bảng tổng hợp Quý IV/2026 (cả năm) (Excel)"
        assert second.startswith("Tải tệp")
        found = FILE_LINE.search(book_message.text)
        assert found, book_message.text
        name, until, url = found.groups()
        assert name == "cchc-2026-Q4.xlsx" and until == "10:00 20/11/2026"  # 09:00 + 1 h

        [report_message] = await zask(bot, "/baocaotonghop")
        assert "Dự thảo báo cáo kết quả thực hiện CCHC Quý IV/2026" in report_message.text
        assert "không gửi được qua Zalo" not in report_message.text
        report = FILE_LINE.search(report_message.text)
        assert report, report_message.text
        assert report.group(1) == "bao-cao-cchc-2026-Q4.docx"

        async with aiohttp.ClientSession(site) as http:
            got = await http.get(local(url))
            assert got.status == 200 and got.headers["Content-Type"] == XLSX
            assert got.headers["Content-Disposition"] == 'attachment; filename="cchc-2026-Q4.xlsx"'
            assert got.headers["Cache-Control"] == "no-store"
            workbook = openpyxl.load_workbook(io.BytesIO(await got.read()))
            assert "Khảo sát" in workbook.sheetnames

            word = await http.get(local(report.group(3)))
            assert word.status == 200 and word.headers["Content-Type"] == DOCX
            doc = Document(io.BytesIO(await word.read()))
            indicators = rows_of(doc, "Mã", "Chỉ tiêu", "Kết quả")
            assert line_of(status, "• 5c. ").endswith(": 50,5% (51/101) — mục tiêu ≥ 80% ❌")
            assert indicators["5c"][2:4] == ["50,5% (51/101)", "≥ 80%"]

            # Forged, unknown and malformed tokens: the 404 page, never a traceback.
            real = LINK.search(url)
            assert real is not None
            forged = real.group(2)[:-4] + ("AAAA" if not real.group(2).endswith("AAAA") else "BBBB")
            for path in (f"/tep/{forged}", "/tep/abc", "/tep/" + "x" * 300, "/tep/%00%ff..%2f"):
                refused = await http.get(path)
                page = await refused.text()
                assert refused.status == 404, (path, refused.status)
                assert "Không tìm thấy" in page and "Traceback" not in page
            assert len(await published_rows(bot)) == 2
        for link in (url, report.group(3)):
            token = link.rsplit("/", 1)[1]
            assert token not in caplog.text


async def test_a_photo_zalo_refuses_goes_as_its_link(tmp_path: Path, clock: FakeClock) -> None:
    async with zalo_bot(tmp_path, clock) as (bot, site):
        assert bot.zalo is not None
        bot.zalo.fail("sendPhoto", 400, description="Bad request: photo could not be fetched")
        replies = await zask(bot, "/trangthai", chart_sent)
        assert not [m for m in replies if m.method == "sendPhoto"]
        last = replies[-1].text
        assert last.startswith("Biểu đồ chỉ tiêu")
        assert "Xem ảnh (hết hạn lúc 10:00 20/11/2026): " in last
        found = LINK.search(last)
        assert found
        async with aiohttp.ClientSession(site) as http:
            got = await http.get(local(found.group(1)))
            assert got.status == 200 and (await got.read())[:4] == b"\x89PNG"


@pytest.mark.parametrize("public_url", [None, "http://cchc.example.vn"])
async def test_without_an_https_public_url_the_note_stays(
    tmp_path: Path, clock: FakeClock, public_url: str | None
) -> None:
    async with zalo_bot(tmp_path, clock, public_url) as (bot, _):
        replies = await zask(bot, "/trangthai", chart_sent)
        assert not [m for m in replies if m.method == "sendPhoto"]
        assert "(Ảnh biểu đồ, áp phích và tệp Excel hiện chỉ gửi được qua Telegram.)" in (
            replies[-1].text
        )
        book = "\n".join(m.text for m in await zask(bot, "/xuat"))
        assert "chỉ gửi được qua Telegram" in book and "/tep/" not in book
        report = "\n".join(m.text for m in await zask(bot, "/baocaotonghop"))
        assert "không gửi được qua Zalo" in report and "/tep/" not in report
        assert await published_rows(bot) == []


# --------------------------------------------------------------------------- the OA


@asynccontextmanager
async def oa_bot(
    tmp_path: Path, clock: FakeClock, public_url: str | None = PUBLIC
) -> AsyncIterator[tuple[Bot, FakeZaloOa, str]]:
    web_port, oa_port = free_port(), free_port()
    async with FakeZaloOa() as oa:
        oa.webhook_url = f"http://127.0.0.1:{oa_port}/zalo-oa"
        extra = web_config(web_port, public_url) + oa_config(oa, oa_port)
        async with running_bot(tmp_path, clock, extra) as bot:
            await settle(bot)
            yield bot, oa, f"http://127.0.0.1:{web_port}"


async def test_on_the_oa_a_chart_is_an_image_message_and_files_are_links(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with oa_bot(tmp_path, clock) as (_, oa, site):
        replies = await oa_ask(oa, "/trangthai", chart_sent, msg_id="msgS")
        images = [m for m in replies if m.image is not None]
        assert len(images) == 1 and replies[-1] is images[0]
        assert images[0].text.startswith("Biểu đồ chỉ tiêu")
        assert replies[0].quote == "msgS"  # the free reply window's quote, as for texts
        assert not any("chỉ gửi được qua Telegram" in m.text for m in replies)
        image = images[0].image
        assert image is not None and LINK.fullmatch(image)
        [book] = await oa_ask(oa, "/xuat")
        found = FILE_LINE.search(book.text)
        assert found and found.group(1) == "cchc-2026-Q4.xlsx" and book.image is None
        async with aiohttp.ClientSession(site) as http:
            chart = await http.get(local(image))
            assert chart.status == 200 and (await chart.read())[:8] == b"\x89PNG\r\n\x1a\n"
            workbook = await http.get(local(found.group(3)))
            assert workbook.status == 200
            assert openpyxl.load_workbook(io.BytesIO(await workbook.read())).sheetnames

        oa.refuse_images = True  # Zalo could not fetch it: the link as text, nothing lost
        again = await oa_ask(oa, "/trangthai", chart_sent)
        assert again[-1].image is None and "Xem ảnh (hết hạn lúc " in again[-1].text


async def test_on_the_oa_without_https_the_note_stays(tmp_path: Path, clock: FakeClock) -> None:
    async with oa_bot(tmp_path, clock, None) as (bot, oa, _):
        replies = await oa_ask(oa, "/trangthai", chart_sent)
        assert all(m.image is None for m in replies)
        assert "chỉ gửi được qua Telegram" in replies[-1].text
        report = await oa_ask(oa, "/baocaotonghop")
        assert "không gửi được qua Zalo" in report[-1].text
        assert await published_rows(bot) == []
