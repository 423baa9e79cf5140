"""The desk in a real browser (Debian's Chromium through Playwright, a PC's screen): a unit
head logs in from the bot's link, types one wrong value, fixes it, saves a draft, goes on
in the chat, and sends from the PC; an admin opens the dashboard, downloads the XLSX (read
back with openpyxl), and prints it to PDF (its text read back with pdftotext). axe-core
checks the form, the summary and the dashboard."""

from __future__ import annotations

import asyncio
import io
import subprocess
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.async_api import Browser, Page
from sqlalchemy import select

from db.models import Conversation, Submission
from tests.e2e.test_reporting import PNV_CODES, values
from tests.e2e.test_status import add_past_round
from tests.e2e.web.desk_support import ADMIN, AN, desk_bot, join, login_link
from tests.support.browser import axe_violations, chromium, keep_screenshot
from tests.support.harness import Bot, FakeClock, texts

PC = {"width": 1280, "height": 900}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as running:
        yield running


async def pc(browser: Browser) -> Page:
    context = await browser.new_context(viewport=PC, locale="vi-VN", accept_downloads=True)
    return await context.new_page()


async def fill_pair(page: Page, code: str, num: str, den: str) -> None:
    await page.fill(f"#f-{code}-num", num)
    await page.fill(f"#f-{code}-den", den)


async def test_a_head_fills_in_the_browser_continues_in_chat_and_sends(
    tmp_path: Path, clock: FakeClock, browser: Browser
) -> None:
    async with desk_bot(tmp_path, clock) as (bot, _site):
        await join(bot, AN, "PNV")
        page = await pc(browser)
        await page.goto(await login_link(bot, AN.id, AN.name))
        assert page.url.endswith("/ban-lam-viec/bao-cao")  # the token left the address bar
        assert "/dang-nhap/" not in page.url
        await fill_pair(page, "2", "150", "200")
        await fill_pair(page, "3a", "30", "20")  # wrong: above the total
        await fill_pair(page, "3b", "7", "10")
        await page.get_by_role("button", name="Lưu nháp").click()
        error = page.locator("#loi-3a")
        assert "không được lớn hơn tổng số" in await error.inner_text()
        assert await page.input_value("#f-3b-num") == "7"  # nothing typed was lost
        assert await page.get_attribute("#f-3a-num", "aria-invalid") == "true"
        assert await axe_violations(page) == []
        await keep_screenshot(page, "desk-form.png")
        await page.fill("#f-3a-num", "15")
        await page.get_by_role("button", name="Lưu nháp").click()
        assert "Đã lưu nháp" in await page.locator(".notice").inner_text()
        # on the phone: /baocao goes on at 4a, the first item not entered on the PC
        resumed = texts(await bot.say(AN.id, "/baocao", first_name=AN.name))
        assert "4a." in resumed
        await bot.say(AN.id, "100", first_name=AN.name)
        await bot.say(AN.id, "80", first_name=AN.name)
        # back at the PC: the phone's answer is in the form
        await page.reload()
        assert await page.input_value("#f-4a-num") == "80"
        for code in PNV_CODES[4:]:
            await fill_pair(page, code, "45", "50")
        await page.click("text=Xem tóm tắt và gửi")
        summary = await page.locator("table.figures").inner_text()
        assert "75%" in summary and "đạt" in summary
        assert await axe_violations(page) == []
        await page.click("text=Gửi báo cáo")
        assert "Đã ghi nhận báo cáo" in await page.locator("main").inner_text()
        stored = await values(bot, "PNV")
        assert stored["3a"].numerator == 15 and stored["4a"].numerator == 80
        assert await bot.scalars(select(Conversation)) == []
        assert len(await bot.scalars(select(Submission))) == 1


async def _one_report(bot: Bot) -> None:
    await join(bot, AN, "PNV")
    quick = " ".join(f"{c}=45/60" for c in PNV_CODES)
    await bot.say(AN.id, f"/baocao {quick}", first_name=AN.name)
    assert "Đã ghi nhận" in texts(await bot.say(AN.id, "gửi", first_name=AN.name))


async def test_an_admin_opens_the_dashboard_downloads_and_prints(
    tmp_path: Path, clock: FakeClock, browser: Browser
) -> None:
    async with desk_bot(tmp_path, clock) as (bot, _site):
        await _one_report(bot)
        page = await pc(browser)
        await page.goto(await login_link(bot, ADMIN))
        assert page.url.endswith("/ban-lam-viec")
        main = await page.locator("main").inner_text()
        assert "Tình hình báo cáo Quý IV/2026" in main and "Đã nộp: 1/" in main
        assert "75% (45/60)" in main
        await page.wait_for_function(
            "document.querySelector('.chart img').complete && "
            "document.querySelector('.chart img').naturalWidth > 0"
        )
        assert await axe_violations(page) == []
        await keep_screenshot(page, "desk-dashboard.png")
        async with page.expect_download() as waiting:
            await page.click("text=Tải bảng tổng hợp Excel")
        download = await waiting.value
        assert download.suggested_filename == "cchc-2026-Q4.xlsx"
        content = Path(await download.path()).read_bytes()
        book = load_workbook(io.BytesIO(content))
        cells = [str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
                 for c in row if c is not None]
        assert "Phòng Nội vụ" in cells
        # the print view: A4, with the date printed, the round and the figures
        await page.emulate_media(media="print")
        pdf = await page.pdf(format="A4", print_background=True)
        path = tmp_path / "dashboard.pdf"
        path.write_bytes(pdf)
        text = await asyncio.to_thread(
            subprocess.run, ["pdftotext", "-layout", str(path), "-"],
            capture_output=True, text=True, check=True,
        )
        printed = " ".join(unicodedata.normalize("NFC", text.stdout).split())
        assert "Quý IV/2026" in printed, printed
        assert "75%" in printed and "(45/60)" in printed  # a table's cells wrap in columns
        assert "In ngày 20/11/2026" in printed
        assert "Đăng xuất" not in printed and "Tải bảng tổng hợp" not in printed


async def test_the_draft_saves_as_the_head_types_and_the_chat_goes_on_from_it(
    tmp_path: Path, clock: FakeClock, browser: Browser
) -> None:
    async with desk_bot(tmp_path, clock) as (bot, _site):
        await add_past_round(bot)
        await join(bot, AN, "PNV")
        page = await pc(browser)
        refused: list[str] = []  # what the page's CSP refused, if anything
        page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text
                else None)
        await page.goto(await login_link(bot, AN.id, AN.name))
        form_url = page.url
        assert await page.locator(".autosave-on").is_visible()  # the script runs
        await fill_pair(page, "2", "150", "200")
        status = page.locator("#trang-thai-luu")
        await status.filter(has_text="Đã lưu nháp lúc 09:00").wait_for()
        # a wrong value shows its message beside the field once the field is left
        await fill_pair(page, "3a", "30", "20")
        await page.focus("#f-3b-num")
        error = page.locator("#loi-3a")
        await error.filter(has_text="không được lớn hơn tổng số").wait_for()
        assert await page.get_attribute("#f-3a-num", "aria-invalid") == "true"
        assert "còn 1 ô cần sửa" in await status.inner_text()
        assert await axe_violations(page) == []
        await page.fill("#f-3a-num", "15")
        await page.focus("#f-3b-num")
        await error.wait_for(state="detached")
        assert await page.get_attribute("#f-3a-num", "aria-invalid") is None
        await status.filter(has_text="Đã lưu nháp lúc 09:00.").wait_for()
        # 5c was 30/60 last round: 55/60 waits for "Tôi chắc chắn", which the page adds
        await fill_pair(page, "5c", "55", "60")
        await page.focus("#f-3b-num")
        sure = page.locator("#f-5c-sure")
        await sure.wait_for()
        assert "50%" in await page.locator("#loi-5c").inner_text()
        await page.check("#f-5c-sure")
        await page.locator("#loi-5c").wait_for(state="detached")
        assert page.url == form_url  # no button pressed, no page loaded
        assert refused == []
        # on the phone: /baocao goes on at 3b, after what the PC saved by itself
        resumed = texts(await bot.say(AN.id, "/baocao", first_name=AN.name))
        assert "3b." in resumed and "(chỉ tiêu 3/11)" in resumed  # 2 and 3a done
        rows = await bot.scalars(select(Conversation))
        assert rows[0].state["m"]["answers"]["3a"] == {"num": 15.0, "den": 20.0}
        assert rows[0].state["m"]["answers"]["5c"] == {"num": 55.0, "den": 60.0}


async def test_without_javascript_luu_nhap_still_saves(
    tmp_path: Path, clock: FakeClock, browser: Browser
) -> None:
    async with desk_bot(tmp_path, clock) as (bot, _site):
        await join(bot, AN, "PNV")
        context = await browser.new_context(viewport=PC, locale="vi-VN", java_script_enabled=False)
        page = await context.new_page()
        await page.goto(await login_link(bot, AN.id, AN.name))
        assert not await page.locator(".autosave-on").is_visible()
        await fill_pair(page, "2", "150", "200")
        await page.get_by_role("button", name="Lưu nháp").click()
        assert "Đã lưu nháp lúc 09:00" in await page.locator(".notice").inner_text()
        rows = await bot.scalars(select(Conversation))
        assert rows[0].state["m"]["answers"]["2"] == {"num": 150.0, "den": 200.0}
