"""The web survey over real HTTP on 127.0.0.1, on the bot's real SQLite file: the same
router, state machine and counting as the chat channels."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
from sqlalchemy import select

from bot.app.config import load_config
from bot.app.runtime import load_data, serve_without_telegram
from bot.channels.web.survey import COOKIE
from db.models import Conversation, SurveyResponse
from tests.e2e.test_surveys import LAND, stored_texts
from tests.e2e.web.conftest import serve
from tests.support.harness import (
    ADMIN,
    Bot,
    FakeClock,
    database_url,
    free_port,
    running_bot,
    texts,
)
from tests.support.polling import until

POINT = LAND.removeprefix("s-")
# The land office's SIPAS questionnaire: four ratings, then "no feedback given" (the fifth
# rating is asked only after a yes), then the comment
ANSWERS = ("5", "4", "4", "5", "khong")




def jar() -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True)  # keeps cookies of an IP address (127.0.0.1)


def form(html: str) -> tuple[str, str, list[str]]:
    """(csrf, conversation token, answer button values) of a survey page (not the
    language switch's buttons)."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    assert csrf is not None, html
    buttons = [b for b in re.findall(r'name="a" value="([^"]+)"', html) if ":L." not in b]
    token = buttons[0].split(":")[1] if buttons else ""
    return csrf.group(1), token, buttons


def choice(buttons: list[str], value: str) -> str:
    [data] = [b for b in buttons if b.endswith(f".{value}")]
    return data


async def tap(http: aiohttp.ClientSession, path: str, html: str, data: str) -> str:
    """Press the answer button ``data`` on the page ``html``; the next page."""
    csrf, _, _ = form(html)
    return await (await http.post(path, data={"csrf": csrf, "a": data})).text()


async def counted(bot: Bot) -> list[SurveyResponse]:
    return [r for r in await bot.scalars(select(SurveyResponse)) if r.status == "counted"]


async def test_a_citizen_answers_on_the_web_once_even_resubmitting(bot: Bot, site: str) -> None:
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
        page = await http.get(f"/s/{POINT}")
        html = await page.text()
        assert page.status == 200 and "Câu 1/7" in html and 'lang="vi"' in html
        assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        cookie = page.cookies[COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        assert len(html.encode()) <= 30_000
        forms = []
        for value in ("4", "5", "3", "4", "khong"):  # four ratings, no feedback given
            csrf, _, buttons = form(html)
            data = {"csrf": csrf, "a": choice(buttons, value)}
            forms.append(data)
            html = await (await http.post(f"/s/{POINT}", data=data)).text()
        assert "Câu 6/6" in html
        csrf, _, buttons = form(html)
        done = await http.post(f"/s/{POINT}", data={"csrf": csrf, "a": "", "text": "Nhanh"})
        assert done.status == 200 and "Cảm ơn" in await done.text()
        again = await http.post(f"/s/{POINT}", data=forms[-1])  # Back, and submit again
        assert "Cảm ơn" not in await again.text()
    [response] = await counted(bot)
    assert "Nhanh" in response.answers.values() and response.point_code == POINT
    stored = "\n".join(await stored_texts(bot))
    assert cookie.value not in stored


def held(html: str) -> dict[str, str]:
    """The survey state the page holds (its hidden field ``s``), as a browser posts it."""
    found = re.search(r'class="answers">.*?name="s" value="([^"]+)"', html, re.S)
    assert found is not None, html
    return {"s": found.group(1)}


async def answer(
    http: aiohttp.ClientSession, html: str, value: str
) -> tuple[dict[str, str], str]:
    """Tap ``value`` on the page as a browser does (every field of its form): the form
    posted and the next page."""
    csrf, _, buttons = form(html)
    data = {"csrf": csrf, "a": choice(buttons, value), **held(html)}
    return data, await (await http.post(f"/s/{POINT}", data=data)).text()


async def test_the_page_holds_the_survey_between_the_first_and_the_last_answer(
    bot: Bot, site: str
) -> None:
    """Answers that complete nothing are kept in the page, sealed, and cost the database
    nothing: the stored conversation stays as the first page left it; Back changes an
    answer; the completion counts once, with the changed answer; a sealed state altered,
    or taken to another visitor, is refused."""
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
        html = await (await http.get(f"/s/{POINT}")).text()
        [stored] = await bot.scalars(select(Conversation))
        first = (stored.updated_at, stored.state)
        _, second = await answer(http, html, "4")
        _, html = await answer(http, second, "5")
        _, html = await answer(http, html, "3")
        assert "Câu 4/7" in html
        [stored] = await bot.scalars(select(Conversation))
        assert (stored.updated_at, stored.state) == first  # nothing written since the start
        # Back to the second question's page, answered otherwise: the survey goes on from it
        _, html = await answer(http, second, "2")
        assert "Câu 3/7" in html
        for value in ("3", "4", "khong"):
            _, html = await answer(http, html, value)
        csrf, _, _ = form(html)
        last = {"csrf": csrf, "a": "", "text": "Ổn", **held(html)}
        done = await http.post(f"/s/{POINT}", data=last)
        assert done.status == 200 and "Cảm ơn" in await done.text()
        again = await http.post(f"/s/{POINT}", data=last)  # Back, and send it again
        assert again.status == 200 and "Cảm ơn" not in await again.text()
        # an altered state, and the state of this visitor in another's hands: refused
        sealed = held(second)["s"]
        altered = sealed[:-1] + ("0" if sealed[-1] != "0" else "1")
        csrf, _, buttons = form(second)
        forged = await http.post(
            f"/s/{POINT}", data={"csrf": csrf, "a": choice(buttons, "5"), "s": altered}
        )
        assert forged.status == 400 and "không hợp lệ" in await forged.text()
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as stranger:
        own = await (await stranger.get(f"/s/{POINT}")).text()
        csrf, _, _ = form(own)
        taken = await stranger.post(
            f"/s/{POINT}", data={"csrf": csrf, "a": choice(buttons, "5"), "s": sealed}
        )
        assert taken.status == 400
    [response] = await counted(bot)
    assert list(response.answers.values())[:2] == [4, 2] and "Ổn" in response.answers.values()
    left = await bot.scalars(select(Conversation))  # the completed survey's is gone
    assert all(c.state.get("rid") != response.id for c in left)


async def test_a_held_survey_past_its_time_is_not_counted(
    bot: Bot, site: str, clock: FakeClock
) -> None:
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
        html = await (await http.get(f"/s/{POINT}")).text()
        _, html = await answer(http, html, "4")
        clock.advance(minutes=31)  # [survey] expire_minutes is 30
        _, html = await answer(http, html, "5")
        assert "hết hạn" in html
    assert await counted(bot) == []
    assert [r.status for r in await bot.scalars(select(SurveyResponse))] == ["expired"]


async def test_hostile_requests_get_clear_pages_and_change_nothing(bot: Bot, site: str) -> None:
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
        unknown = await http.get("/s/khong-co")
        assert unknown.status == 404 and "Không tìm thấy" in await unknown.text()
        html = await (await http.get(f"/s/{POINT}")).text()
        csrf, _, buttons = form(html)
        forged = await http.post(f"/s/{POINT}", data={"csrf": "x" * 32, "a": buttons[0]})
        assert forged.status == 403 and "không hợp lệ" in await forged.text()
        missing = await http.post(f"/s/{POINT}", data={"a": buttons[0]})
        assert missing.status == 403
        tampered = await http.post(f"/s/{POINT}", data={"csrf": csrf, "a": "c:zz:0.9"})
        assert tampered.status in (200, 400) and "Traceback" not in await tampered.text()
        big = await http.post(f"/s/{POINT}", data={"csrf": csrf, "text": "x" * 1_000_000})
        assert big.status == 413 and "quá lớn" in await big.text()
    # another visitor (no cookie) cannot use the first one's CSRF token
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as stranger:
        refused = await stranger.post(f"/s/{POINT}", data={"csrf": csrf, "a": buttons[0]})
        assert refused.status == 403
    assert await counted(bot) == []


async def test_run_serves_the_web_with_no_telegram_token(tmp_path: Path) -> None:
    """An office without Telegram: the bot on the web alone, in the same process."""
    port = free_port()
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{database_url(tmp_path)}"\n'
        '[survey]\nsecret = "a-test-secret-of-enough-length"\n'
        f'[web]\nenabled = true\nlisten = "127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    config = load_config(path, environ={})
    assert config.telegram.token is None
    stop = asyncio.Event()
    serving = asyncio.create_task(serve_without_telegram(config, load_data(config), stop))
    try:
        async with aiohttp.ClientSession(cookie_jar=jar()) as http:

            async def page() -> bool:
                try:
                    got = await http.get(f"http://127.0.0.1:{port}/s/{POINT}")
                except aiohttp.ClientConnectionError:
                    return False
                return got.status == 200 and "Câu 1/7" in await got.text()

            await until(page, what="the web page served")
    finally:
        stop.set()
        await serving


async def test_the_language_switch_works_on_any_question_and_the_answer_keeps_it(
    bot: Bot, site: str
) -> None:
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
        html = await (await http.get(f"/s/{POINT}")).text()
        csrf, _, buttons = form(html)
        html = await tap(http, f"/s/{POINT}", html, buttons[3])
        assert "Câu 2/7" in html and 'lang="vi"' in html
        switch = re.findall(r'name="a" value="(c:[^"]+:L\.km)"', html)
        assert switch, html
        page = await http.post(f"/s/{POINT}", data={"csrf": csrf, "a": switch[0]})
        html = await page.text()
        assert page.status == 200 and 'lang="km"' in html and "២/៧" not in html
        assert re.search("[\u1780-\u17ff]", html) and "2/7" in html  # the same question
        for value in ("5", "5", "4", "khong"):
            html = await tap(http, f"/s/{POINT}", html, choice(form(html)[2], value))
        csrf, _, _ = form(html)
        done = await http.post(f"/s/{POINT}", data={"csrf": csrf, "a": "", "text": ""})
        assert done.status == 200
    [response] = await counted(bot)
    assert response.language == "km" and response.channel == "web"


async def test_a_records_one_time_link_counts_once_on_the_web(bot: Bot, site: str) -> None:
    from bot.usecases.surveying import create_record_link, web_path

    ctx = bot.runtime.ctx
    point = ctx.catalogue.point(POINT)
    assert point is not None
    async with ctx.sessions.begin() as session:
        payload = await create_record_link(ctx, session, point, "HS-0042")
    path = web_path(payload)
    assert path.startswith("/r/")
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
        html = await (await http.get(path)).text()
        for value in ANSWERS:
            html = await tap(http, path, html, choice(form(html)[2], value))
        csrf, _, _ = form(html)
        done = await http.post(path, data={"csrf": csrf, "text": "bỏ qua"})
        assert "Cảm ơn" in await done.text()
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as other:
        html = await (await other.get(path)).text()
        assert "đã được sử dụng" in html
    [response] = await counted(bot)
    assert response.record_code == "HS-0042"


async def test_status_adds_the_share_of_answers_by_channel(bot: Bot, site: str) -> None:
    async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
        html = await (await http.get(f"/s/{POINT}")).text()
        for value in ANSWERS:
            html = await tap(http, f"/s/{POINT}", html, choice(form(html)[2], value))
        csrf, _, _ = form(html)
        await http.post(f"/s/{POINT}", data={"csrf": csrf, "text": "bỏ qua"})
    status = texts(await bot.say(ADMIN, "/trangthai"))
    assert "Kênh trả lời (1 phiếu): trang web 100%" in status, status


async def test_past_the_per_address_limit_a_clear_429_until_the_next_minute(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running_bot(tmp_path, clock, "[web]\nrequests_per_minute = 10\n") as bot:
        server = await serve(bot)
        try:
            async with aiohttp.ClientSession(str(server.make_url("")), cookie_jar=jar()) as http:
                statuses = [(await http.get(f"/s/{POINT}")).status for _ in range(10)]
                refused = await http.get(f"/s/{POINT}")
                assert set(statuses) == {200} and refused.status == 429
                assert "thử lại sau một phút" in await refused.text()
                assert 0 < int(refused.headers["Retry-After"]) <= 60
                clock.advance(seconds=60)
                assert (await http.get(f"/s/{POINT}")).status == 200
        finally:
            await server.close()


async def test_with_a_public_url_the_chats_qr_poster_opens_the_web_page(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Once [web] public_url is set, /qr in chat prints the web poster, as the CLI does."""
    from tests.integration.test_poster import png_encodes

    extra = '[web]\nenabled = true\npublic_url = "https://khaosat.example.gov.vn"\n'
    async with running_bot(tmp_path, clock, extra) as bot:
        [poster] = await bot.say(ADMIN, "/qr mc-huyen km")
        link = "https://khaosat.example.gov.vn/s/mc-huyen?lang=km"
        assert poster.method == "sendPhoto" and link in poster.body
        assert poster.file_bytes is not None and png_encodes(poster.file_bytes, link)
        [one_time] = await bot.say(ADMIN, "/qr mc-huyen HS-9")
        assert "https://khaosat.example.gov.vn/r/" in one_time.body
