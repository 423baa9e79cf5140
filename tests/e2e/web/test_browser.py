"""The web survey and the counter tablet in a real browser: Debian's Chromium driven by
Playwright, a phone's screen (360 × 740) or a tablet's, on the bot's real database.

What a citizen does is what the test does: tap the labelled buttons, type a comment, press
Back. axe-core (npm) checks each kind of page for serious or critical accessibility
problems; Chromium's own DevTools say which font drew the Khmer text.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from bot.usecases import kiosk
from db.models import SurveyResponse
from tests.e2e.web.conftest import serve
from tests.support.browser import PHONE, axe_violations, chromium, fonts_of, keep_screenshot
from tests.support.harness import Bot, FakeClock, running_bot

LAND = "dkdd-huyen"  # tthc, the field fixed: four SIPAS ratings, feedback?, a comment
OFFICE = "p-tnmt"  # hanh_chinh (target 15): four ratings and a comment
COUNTER = "mc-huyen"  # kiosk = "quay"
TABLET = {"width": 1024, "height": 768}
KHMER = re.compile("[\u1780-\u17ff]")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as running:
        yield running


async def phone(browser: Browser) -> Page:
    """A Vietnamese phone (its browser asks for Vietnamese pages: Accept-Language vi)."""
    context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN"
    )
    return await context.new_page()


async def tap_rating(page: Page, level: int) -> None:
    await page.get_by_role("button", name=re.compile(rf"^{level} — ")).click()


async def counted(bot: Bot) -> list[SurveyResponse]:
    return [r for r in await bot.scalars(select(SurveyResponse)) if r.status == "counted"]


async def test_a_citizen_taps_through_in_vietnamese_and_back_resubmit_counts_once(
    bot: Bot, site: str, browser: Browser
) -> None:
    page = await phone(browser)
    began = time.monotonic()
    await page.goto(f"{site}/s/{LAND}")
    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await expect(page.get_by_text("Câu 1/7", exact=False)).to_be_visible()
    first_screen = await keep_screenshot(page, "web-survey.png")
    assert len(first_screen) > 10_000
    # every answer button is a large tap target on a phone
    for box in [await b.bounding_box() for b in await page.get_by_role("button").all()]:
        assert box is not None and box["height"] >= 44 and box["width"] >= 44
    for level in (4, 5, 3, 4):
        await tap_rating(page, level)
    await page.get_by_role("button", name=re.compile(r"^\d\. Không$")).click()  # no feedback
    await expect(page.get_by_text("Câu 6/6", exact=False)).to_be_visible()
    await page.get_by_role("textbox").fill("Cán bộ hướng dẫn tận tình")
    await page.get_by_role("button", name="Gửi").click()
    await expect(page.get_by_text("Cảm ơn", exact=False)).to_be_visible()
    # four taps and a comment: the pages themselves leave the minute to the citizen
    assert time.monotonic() - began < 20
    # Back to the comment page, and submit it again: refused, nothing more counted
    await page.go_back()
    resend = page.get_by_role("button", name="Gửi")
    if await resend.count():
        await resend.click()
        await expect(page.get_by_text("Cảm ơn", exact=False)).to_have_count(0)
    await page.goto(f"{site}/s/{LAND}")  # and scanning again the same day
    await expect(page.get_by_text("đã đánh giá", exact=False)).to_be_visible()
    [response] = await counted(bot)
    assert response.channel == "web" and response.answers["gop_y"] == "Cán bộ hướng dẫn tận tình"
    assert response.answers["tiep_can"] == 4 and response.answers["co_phan_anh"] == "khong"


async def test_a_citizen_answers_in_khmer_drawn_in_a_khmer_font(
    bot: Bot, site: str, browser: Browser
) -> None:
    page = await phone(browser)
    await page.goto(f"{site}/s/{OFFICE}?lang=km")
    await expect(page.locator("html")).to_have_attribute("lang", "km")
    question = page.locator("main p").last
    assert KHMER.search(await question.inner_text())
    drawn = await fonts_of(page, "main p:last-of-type")
    khmer_fonts = {family: n for family, n in drawn.items() if "khmer" in family.lower()}
    assert khmer_fonts and sum(khmer_fonts.values()) > 10, drawn  # glyphs, not boxes
    await keep_screenshot(page, "web-survey-km.png")
    for level in (5, 4, 4, 5):
        await tap_rating(page, level)
    await page.get_by_role("button", name=re.compile(r"^\d\. គ្មាន$")).click()  # no feedback
    await page.get_by_role("button", name=re.compile("ផ្ញើ")).click()  # "Gửi", empty comment
    await expect(page.locator("main")).to_contain_text(KHMER)
    [response] = await counted(bot)
    assert response.language == "km" and response.point_code == OFFICE


async def test_the_kiosk_takes_two_citizens_in_a_row_and_resets_after_idling(
    tmp_path: Path, clock: FakeClock, browser: Browser
) -> None:
    extra = "[web]\nkiosk_idle_seconds = 2\nkiosk_thanks_seconds = 1\n"
    async with running_bot(tmp_path, clock, extra) as bot:
        server = await serve(bot)
        site = str(server.make_url("")).rstrip("/")
        ctx = bot.runtime.ctx
        point = ctx.catalogue.point(COUNTER)
        assert point is not None
        async with ctx.sessions.begin() as session:
            _, key = await kiosk.create_device(ctx, session, point, "Quầy 1")
        try:
            context = await browser.new_context(viewport=TABLET, has_touch=True, locale="vi-VN")
            page = await context.new_page()
            await page.goto(f"{site}/k/{COUNTER}?key={key}")
            assert key not in page.url  # the key went into the cookie
            waiting = page.get_by_text("chạm vào một nút để đánh giá", exact=False)
            await expect(waiting).to_be_visible()
            await keep_screenshot(page, "kiosk.png")
            # citizen 1: five stars, thanked, and the waiting screen comes back by itself
            await page.get_by_role("button", name=re.compile("Rất hài lòng")).click()
            await expect(page.get_by_text("Cảm ơn", exact=False)).to_be_visible()
            await expect(waiting).to_be_visible(timeout=10_000)
            # citizen 2, a little later: a 2, the reasons, thanked
            clock.advance(seconds=15)
            await page.get_by_role("button", name=re.compile("^2")).click()
            await page.get_by_label("Phải chờ lâu").check()
            await keep_screenshot(page, "kiosk-reasons.png")
            await page.get_by_role("button", name="Gửi đánh giá").click()
            await expect(page.get_by_text("Cảm ơn", exact=False)).to_be_visible()
            await expect(waiting).to_be_visible(timeout=10_000)
            # citizen 3 walks away after a 1: the reasons screen goes back by itself
            clock.advance(seconds=15)
            await page.get_by_role("button", name=re.compile("^1")).click()
            await expect(page.get_by_label("Phải chờ lâu")).to_be_visible()
            await expect(waiting).to_be_visible(timeout=10_000)
            first, second = sorted(await counted(bot), key=lambda r: r.id)
        finally:
            await server.close()
    assert first.answers == {"hai_long": 5}
    assert second.answers == {"hai_long": 2, "ly_do": ["cho_lau"]}
    assert {first.channel, second.channel} == {"kiosk"}


async def test_the_pages_pass_axe_core(bot: Bot, site: str, browser: Browser) -> None:
    ctx = bot.runtime.ctx
    point = ctx.catalogue.point(COUNTER)
    assert point is not None
    async with ctx.sessions.begin() as session:
        _, key = await kiosk.create_device(ctx, session, point, "")
    page = await phone(browser)
    problems: dict[str, list[str]] = {}

    async def check(name: str) -> None:
        problems[name] = [v["id"] for v in await axe_violations(page)]

    await page.goto(f"{site}/s/{LAND}")
    await check("survey, first question")
    await tap_rating(page, 4)
    await check("survey, second question")
    await page.goto(f"{site}/s/{OFFICE}?lang=km")
    await check("survey in Khmer")
    await page.goto(f"{site}/s/khong-co")
    await check("404 page")
    await page.goto(f"{site}/k/{COUNTER}?key={key}")
    await check("kiosk waiting screen")
    await page.get_by_role("button", name=re.compile("^3")).click()
    await check("kiosk reasons")
    await page.get_by_role("button", name="Gửi đánh giá").click()
    await check("kiosk thanks")
    assert problems == {name: [] for name in problems}
