"""The counter tablet over real HTTP on 127.0.0.1, on the bot's real database, with the
bot's injected clock: the idle minute and the device's ten seconds are clock steps."""

from __future__ import annotations

import re

import aiohttp
from sqlalchemy import select

from bot.channels.web.kiosk import COOKIE
from bot.usecases import kiosk
from db.models import KioskDevice, SurveyDailyCount, SurveyResponse
from tests.e2e.test_surveys import stored_texts
from tests.support.harness import Bot

POINT = "mc-huyen"  # points.toml: kiosk = "quay"




async def new_device(bot: Bot, point: str = POINT) -> tuple[int, str]:
    ctx = bot.runtime.ctx
    async with ctx.sessions.begin() as session:
        found = ctx.catalogue.point(point)
        assert found is not None
        device, key = await kiosk.create_device(ctx, session, found, "Quầy 1")
    return device.id, key


def fields(html: str) -> dict[str, str]:
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    state = re.search(r'name="s" value="([^"]+)"', html)
    assert csrf and state, html
    return {"csrf": csrf.group(1), "s": state.group(1)}


def rating(html: str, value: int) -> str:
    found = re.search(rf'name="r" value="(\d+\.{value})"', html)
    assert found, html
    return found.group(1)


async def counted(bot: Bot) -> list[SurveyResponse]:
    rows = await bot.scalars(select(SurveyResponse).order_by(SurveyResponse.id))
    return [r for r in rows if r.status == "counted"]


async def opened(http: aiohttp.ClientSession, key: str) -> str:
    first = await http.get(f"/k/{POINT}?key={key}", allow_redirects=False)
    assert first.status == 303 and first.headers["Location"] == f"/k/{POINT}"
    cookie = first.cookies[COOKIE]
    assert cookie["httponly"] and cookie["path"] == "/k/" and cookie.value == key
    page = await http.get(f"/k/{POINT}")
    assert page.status == 200
    return await page.text()


async def test_two_citizens_in_a_row_then_a_low_rating_with_reasons(bot: Bot, site: str) -> None:
    device_id, key = await new_device(bot)
    async with aiohttp.ClientSession(site, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        html = await opened(http, key)
        assert "Bộ phận Tiếp nhận và Trả kết quả huyện Long Phú" in html  # the waiting screen
        assert "Rất hài lòng" in html and "data-reset-after" not in html
        assert key not in html
        # first citizen: 5, counted at once, thanked, and the page goes back by itself
        done = await http.post(f"/k/{POINT}", data={**fields(html), "r": rating(html, 5)})
        thanks = await done.text()
        assert done.status == 200 and "Cảm ơn" in thanks
        assert f'data-reset-after="8" data-reset-to="/k/{POINT}"' in thanks
        # second citizen, 10 s later: 2, so the reasons are asked
        bot.clock.advance(seconds=10)
        html = await (await http.get(f"/k/{POINT}")).text()
        low = await http.post(f"/k/{POINT}", data={**fields(html), "r": rating(html, 2)})
        reasons = await low.text()
        assert "Phải chờ lâu" in reasons and 'type="checkbox"' in reasons
        assert 'data-reset-after="60"' in reasons  # back to the waiting screen after a minute
        assert await counted(bot) != [] and len(await counted(bot)) == 1  # not yet
        form = aiohttp.FormData()
        for name, value in fields(reasons).items():
            form.add_field(name, value)
        form.add_field("ly_do", "cho_lau")
        form.add_field("ly_do", "thai_do")
        form.add_field("gop_y", "Chờ 2 tiếng")
        form.add_field("done", "1")
        sent = await http.post(f"/k/{POINT}", data=form)
        assert sent.status == 200 and "Cảm ơn" in await sent.text()
    first, second = await counted(bot)
    assert first.answers == {"hai_long": 5}
    reasons_given = {"hai_long": 2, "ly_do": ["cho_lau", "thai_do"], "gop_y": "Chờ 2 tiếng"}
    assert second.answers == reasons_given
    assert {r.channel for r in (first, second)} == {"kiosk"}
    assert {r.kiosk_id for r in (first, second)} == {device_id}
    assert first.respondent != second.respondent  # visits, not people
    stored = "\n".join(await stored_texts(bot))
    assert key not in stored and "127.0.0.1" not in stored  # nor the tablet's key, nor an IP
    [row] = await bot.scalars(select(SurveyDailyCount))
    assert (row.channel, row.target, row.level5, row.level2, row.respondents) == (
        "kiosk", "14", 1, 1, 2
    )


async def test_one_counted_answer_per_device_per_ten_seconds_and_replays_count_once(
    bot: Bot, site: str
) -> None:
    _, key = await new_device(bot)
    async with aiohttp.ClientSession(site, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        html = await opened(http, key)
        tap = {**fields(html), "r": rating(html, 4)}
        assert (await http.post(f"/k/{POINT}", data=tap)).status == 200
        bot.clock.advance(seconds=30)
        again = await http.post(f"/k/{POINT}", data=tap)  # the same visit's form, replayed
        assert again.status == 200
        assert len(await counted(bot)) == 1
        bot.clock.advance(seconds=-25)  # back to 5 s after the first answer
        html = await (await http.get(f"/k/{POINT}")).text()
        soon = await http.post(f"/k/{POINT}", data={**fields(html), "r": rating(html, 4)})
        assert soon.status == 200 and "Cảm ơn" in await soon.text()
    statuses = sorted(r.status for r in await bot.scalars(select(SurveyResponse)))
    assert statuses == ["counted", "repeat", "too_soon"]


async def test_an_answer_left_idle_a_minute_is_discarded(bot: Bot, site: str) -> None:
    _, key = await new_device(bot)
    async with aiohttp.ClientSession(site, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        html = await opened(http, key)
        reasons = await (
            await http.post(f"/k/{POINT}", data={**fields(html), "r": rating(html, 1)})
        ).text()
        bot.clock.advance(seconds=61)
        late = await http.post(f"/k/{POINT}", data={**fields(reasons), "done": "1"})
        page = await late.text()
        assert late.status == 200 and "quá một phút" in page and "Rất hài lòng" in page
    assert await bot.scalars(select(SurveyResponse)) == []


async def test_wrong_revoked_or_missing_keys_get_403(bot: Bot, site: str) -> None:
    device_id, key = await new_device(bot)
    async with aiohttp.ClientSession(site, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        no_key = await http.get(f"/k/{POINT}")
        assert no_key.status == 403 and "chưa được cấp phép" in await no_key.text()
        wrong = await http.get(f"/k/{POINT}?key=not-a-key")
        assert wrong.status == 403
        other_point = await http.get(f"/k/mc-tt-long-phu?key={key}")
        assert other_point.status == 403
        html = await opened(http, key)
        forged = await http.post(f"/k/{POINT}", data={"csrf": "0" * 32, "s": fields(html)["s"]})
        assert forged.status == 403
        tampered = await http.post(
            f"/k/{POINT}", data={**fields(html), "s": fields(html)["s"][:-2] + "00", "r": "0.5"}
        )
        assert tampered.status == 400
        ctx = bot.runtime.ctx
        async with ctx.sessions.begin() as session:
            assert await kiosk.revoke(ctx, session, device_id) is not None
        revoked = await http.post(f"/k/{POINT}", data={**fields(html), "r": rating(html, 5)})
        assert revoked.status == 403
    assert await counted(bot) == []
    [device] = await bot.scalars(select(KioskDevice))
    assert device.key_hash != key and key not in device.key_hash
