"""Hostile input on the web channel: random sequences of page loads, taps, typed text, forged
and replayed forms, wrong kiosk keys and signed states, odd paths and methods, from several
browsers (cookie jars) at once, through the real aiohttp application on 127.0.0.1.

Property: every response is a page with a status the channel means (never 500, never a
traceback), nothing is logged at ERROR, and the database invariants of the chat's hostile
test hold after every example (one counted survey per person, point and day; aggregates
that add up to the counted responses).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.web.app import build_app
from bot.usecases import kiosk
from tests.e2e.test_hostile import HOSTILE, HOSTILE_SETTINGS, TEXT, Driver, errors_logged

VISITORS = 3
STATUSES = {200, 303, 400, 403, 404, 405, 413, 429}
POINTS = ("dkdd-huyen", "mc-huyen", "p-tnmt", "ttyt-huyen", "khong-co", "MC-HUYEN", "..", "%00")
PATHS = ("/", "/s/", "/k/", "/r/", "/static/style.css", "/static/../app.py", "/s/mc-huyen/x")
ANY_TEXT = st.one_of(st.sampled_from(HOSTILE), TEXT)

OPEN = st.tuples(
    st.just("open"), st.sampled_from(POINTS), st.sampled_from(("", "?lang=km", "?lang=xx"))
)
TAP = st.tuples(st.just("tap"), st.integers(0, 20))
TYPE = st.tuples(st.just("type"), ANY_TEXT)
FORGE = st.tuples(
    st.just("forge"),
    st.sampled_from(("csrf", "button", "stale", "no-cookie")),
    st.one_of(ANY_TEXT, st.sampled_from(("c:x:0.5", "c::", "L.km", "c:zz:L.km"))),
)
KIOSK = st.tuples(
    st.just("kiosk"),
    st.sampled_from(("open", "tap", "reasons", "bad-key", "bad-state", "replay")),
    st.integers(0, 20),
    ANY_TEXT,
)
ODD = st.tuples(
    st.just("odd"), st.sampled_from(PATHS), st.sampled_from(("GET", "POST", "PUT", "DELETE"))
)
WAIT = st.tuples(st.just("wait"), st.integers(1, 120))
ACTION = st.one_of(OPEN, TAP, TAP, TAP, TYPE, FORGE, KIOSK, KIOSK, ODD, WAIT)
EXAMPLE = st.lists(st.tuples(st.integers(0, VISITORS - 1), ACTION), min_size=3, max_size=14)


class WebDriver(Driver):
    """The chat driver's bot, with its web application served on the same loop."""

    async def start(self) -> None:
        await super().start()
        ctx = self.bot.runtime.ctx
        self.server = TestServer(build_app(ctx, self.bot.runtime.core), host="127.0.0.1")
        await self.server.start_server()
        point = ctx.catalogue.point("mc-huyen")
        assert point is not None
        async with ctx.sessions.begin() as session:
            _, self.key = await kiosk.create_device(ctx, session, point, "")
        self.http = [
            aiohttp.ClientSession(
                str(self.server.make_url("")), cookie_jar=aiohttp.CookieJar(unsafe=True)
            )
            for _ in range(VISITORS)
        ]
        self.pages: list[tuple[str, str]] = [("", "")] * VISITORS  # (path, html) last seen
        self.kiosk_pages: list[str] = [""] * VISITORS
        self.requests = 0

    async def stop(self) -> None:
        for http in self.http:
            await http.close()
        await self.server.close()
        await super().stop()

    async def fetch(self, who: int, method: str, path: str, **kw: Any) -> tuple[int, str]:
        async with self.http[who].request(method, path, allow_redirects=False, **kw) as got:
            body = await got.text(errors="replace")
        self.requests += 1
        assert got.status in STATUSES, (method, path, got.status, body[:300])
        assert "Traceback" not in body and (got.status == 303 or body), (method, path)
        return got.status, body

    async def stranger(self, method: str, path: str, **kw: Any) -> None:
        """A browser without the site's cookies: refused (or the page does not exist)."""
        async with (
            aiohttp.ClientSession(str(self.server.make_url(""))) as http,
            http.request(method, path, **kw) as got,
        ):
            assert got.status in (403, 404, 429), got.status
        self.requests += 1

    @staticmethod
    def form(html: str) -> tuple[str, list[str]]:
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        return (csrf.group(1) if csrf else ""), re.findall(r'name="a" value="([^"]+)"', html)

    async def act(self, who: int, action: tuple[Any, ...]) -> None:
        kind = action[0]
        if kind in ("tap", "type") and not self.form(self.pages[who][1])[1]:
            path = "/s/dkdd-huyen"  # nothing to tap on yet: the citizen scans a poster first
            self.pages[who] = (path, (await self.fetch(who, "GET", path))[1])
        path, html = self.pages[who]
        csrf, buttons = self.form(html)
        if kind == "open":
            path = f"/s/{action[1]}"
            _, html = await self.fetch(who, "GET", path + action[2])
            self.pages[who] = (path, html)
        elif kind == "tap" and path and buttons:
            data = {"csrf": csrf, "a": buttons[action[1] % len(buttons)]}
            self.pages[who] = (path, (await self.fetch(who, "POST", path, data=data))[1])
        elif kind == "type" and path:
            data = {"csrf": csrf, "text": action[1]}
            self.pages[who] = (path, (await self.fetch(who, "POST", path, data=data))[1])
        elif kind == "forge":
            how, value = action[1], action[2]
            target = path or "/s/mc-huyen"
            data = {"csrf": csrf, "a": value}
            if how == "csrf":
                data["csrf"] = value[:40]
            elif how == "stale" and buttons:
                data["a"] = buttons[0].rsplit(":", 1)[0] + ":" + value[:20]
            if how == "no-cookie":
                await self.stranger("POST", target, data=data)
            else:
                await self.fetch(who, "POST", target, data=data)
        elif kind == "kiosk":
            await self.kiosk(who, *action[1:])
        elif kind == "odd":
            await self.fetch(who, action[2], action[1])
        elif kind == "wait":
            self.bot.clock.advance(seconds=action[1])

    async def kiosk(self, who: int, how: str, n: int, text: str) -> None:
        path = "/k/mc-huyen"
        html = self.kiosk_pages[who]
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        state = re.search(r'name="s" value="([^"]+)"', html)
        taps = re.findall(r'name="r" value="([^"]+)"', html)
        if how == "open" or not (csrf and state):
            await self.fetch(who, "GET", f"{path}?key={self.key}")
            self.kiosk_pages[who] = (await self.fetch(who, "GET", path))[1]
            return
        data = {"csrf": csrf.group(1), "s": state.group(1)}
        if how == "tap" and taps:
            data["r"] = taps[n % len(taps)]
        elif how == "reasons":
            data.update(ly_do=["cho_lau", "khac", text[:10]][n % 3], gop_y=text, done="1")
        elif how == "bad-key":
            await self.stranger("GET", f"{path}?key={text[:60]}")
            return
        elif how == "bad-state":
            data["s"] = text[:200]
            data["r"] = "0.5"
        status, page = await self.fetch(who, "POST", path, data=data)
        if status == 200 and how != "replay":
            self.kiosk_pages[who] = page


def test_random_hostile_web_sequences_break_nothing(tmp_path: Path) -> None:
    driver = WebDriver(tmp_path)
    driver.run(driver.start())
    try:

        @HOSTILE_SETTINGS
        @given(EXAMPLE)
        def example(steps: list[tuple[int, tuple[Any, ...]]]) -> None:
            driver.records.clear()
            driver.bot.clock.advance(seconds=60)  # each example in a minute of its own
            for who, action in steps:
                driver.run(driver.act(who, action))
            driver.run(driver.invariants())
            bad = errors_logged(driver.records)
            assert bad == [], "\n".join(bad)

        example()
    finally:
        driver.close()
    assert driver.requests >= 120  # the examples did reach the pages
