"""The desk over real HTTP, on the bot's own web server and database, with Telegram faked:
login links from /web, the unit head's form sharing its draft with the chat, submission
through the chat's own store(), and the dashboard's figures against /trangthai's text."""

from __future__ import annotations

import logging
import re
from html import unescape
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.channels.web.desk import _plain
from db.models import Conversation, DeskLogin, DeskSession, Submission, ValueRevision
from tests.e2e.test_reporting import PNV_CODES, values
from tests.e2e.test_status import add_past_round
from tests.e2e.web.desk_support import (
    ADMIN,
    AN,
    CUONG,
    csrf_of,
    desk_bot,
    form_fields,
    jar,
    join,
    logged_in,
    login_link,
)
from tests.support.harness import Bot, FakeClock, texts

FORM = "/ban-lam-viec/bao-cao"


async def post_form(
    http: aiohttp.ClientSession, html: str, **changes: str
) -> aiohttp.ClientResponse:
    fields = form_fields(html)
    fields.update(changes)
    return await http.post(FORM, data=fields, allow_redirects=False)


async def conversation_of(bot: Bot, user_id: int) -> Conversation | None:
    rows = await bot.scalars(select(Conversation).where(Conversation.user_id == str(user_id)))
    return rows[0] if rows else None


async def test_login_link_opens_a_session_once(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # what `cchc-bot run` logs (PTB's DEBUG lines carry
    # every message's text; the logfmt formatter masks a login link there: test_logs)
    async with desk_bot(tmp_path, clock) as (bot, site):
        await join(bot, AN, "PNV")
        link = await login_link(bot, AN.id, AN.name)
        token = link.rsplit("/", 1)[1]
        assert len(token) >= 40
        # only the hash is stored
        stored = await bot.scalars(select(DeskLogin))
        assert len(stored) == 1 and token not in stored[0].token_hash
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            got = await http.get(link.removeprefix(site), allow_redirects=False)
            assert got.status == 303 and got.headers["Location"] == "/ban-lam-viec"
            cookie = got.cookies["cchc_desk"]
            assert cookie["httponly"] and cookie["samesite"] == "Lax"
            assert cookie["path"] == "/ban-lam-viec" and not cookie["secure"]  # plain HTTP
            page = await http.get("/ban-lam-viec/bao-cao")
            html = await page.text()
            assert page.status == 200 and "Báo cáo Quý IV/2026 (cả năm) — Phòng Nội vụ" in html
            sessions = await bot.scalars(select(DeskSession))
            assert [s.session_hash for s in sessions] != [cookie.value]
        # used twice: refused, and no new session
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as other:
            again = await other.get(link.removeprefix(site), allow_redirects=False)
            assert again.status == 410 and "đã được sử dụng" in await again.text()
            assert "cchc_desk" not in again.cookies
            forged = await other.get("/dang-nhap/" + "x" * 43, allow_redirects=False)
            assert forged.status == 403 and "không hợp lệ" in await forged.text()
        assert len(await bot.scalars(select(DeskSession))) == 1
        # expired after ten minutes
        late = await login_link(bot, AN.id, AN.name)
        clock.advance(minutes=11)
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            expired = await http.get(late.removeprefix(site), allow_redirects=False)
            assert expired.status == 410
        assert len(await bot.scalars(select(DeskSession))) == 1
    logged = caplog.text
    assert token not in logged and cookie.value not in logged
    assert late.rsplit("/", 1)[1] not in logged


async def test_web_needs_a_registered_person_and_a_private_chat(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with desk_bot(tmp_path, clock) as (bot, _site):
        citizen = await bot.say(900, "/web")
        assert "/dang-nhap/" not in texts(citizen)
        await join(bot, AN, "PNV")
        group = await bot.say(AN.id, "/web", chat_id=-100500, chat_type="group")
        assert "/dang-nhap/" not in texts(group)
        alias = await bot.say(AN.id, "/maytinh")
        assert "/dang-nhap/" in texts(alias)
        started = await bot.say(AN.id, "/baocao")
        assert ("💻 Mở trên máy tính", "go:web") in started[-1].buttons()


async def test_head_fills_the_form_continues_in_chat_and_submits(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with desk_bot(tmp_path, clock) as (bot, site):
        await join(bot, AN, "PNV")
        # begun on the phone: the first item's two numbers
        first = await bot.say(AN.id, "/baocao", first_name=AN.name)
        assert "2." in texts(first)
        await bot.say(AN.id, "200", first_name=AN.name)
        await bot.say(AN.id, "150", first_name=AN.name)
        link = await login_link(bot, AN.id, AN.name)
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            await logged_in(http, link.removeprefix(site))
            html = await (await http.get(FORM)).text()
            fields = form_fields(html)
            assert fields["2-num"] == "150" and fields["2-den"] == "200"  # from the phone
            assert "Mục tiêu 5" in html and "Kỳ trước" in html
            # one wrong value: numerator above the total; the rest typed, kept when refused
            wrong = await post_form(
                http, html, **{"3a-num": "30", "3a-den": "20", "3b-num": "5", "3b-den": "10",
                               "action": "luu"},
            )
            assert wrong.status == 400
            page = await wrong.text()
            assert "không được lớn hơn tổng số" in page
            again = form_fields(page)
            assert again["3a-num"] == "30" and again["3b-num"] == "5"
            # fixed, draft saved
            fixed = await post_form(http, page, **{"3a-num": "15", "action": "luu"})
            assert fixed.status == 303
            saved = await (await http.get(fixed.headers["Location"])).text()
            assert "Đã lưu nháp" in saved
        conv = await conversation_of(bot, AN.id)
        assert conv is not None and conv.kind == "report"
        answers = conv.state["m"]["answers"]
        assert answers["3a"] == {"num": 15.0, "den": 20.0} and answers["3b"]["num"] == 5.0
        # continues in chat: /baocao resumes at the next item not entered (4a)
        resumed = texts(await bot.say(AN.id, "/baocao", first_name=AN.name))
        assert "4a." in resumed
        for _ in PNV_CODES[3:6]:  # 4a, 5a, 5b on the phone
            await bot.say(AN.id, "100", first_name=AN.name)
            await bot.say(AN.id, "90", first_name=AN.name)
        conv = await conversation_of(bot, AN.id)
        assert conv is not None and {"4a", "5a", "5b"} <= set(conv.state["m"]["answers"])
        # back on the PC: the phone's answers are in the form; fill the rest, submit
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            await logged_in(http, (await login_link(bot, AN.id, AN.name)).removeprefix(site))
            html = await (await http.get(FORM)).text()
            fields = form_fields(html)
            assert fields["5b-num"] == "90" and fields["5b-den"] == "100"
            rest = {f"{c}-num": "40" for c in ("5c", "7", "9", "11a")} | {
                f"{c}-den": "50" for c in ("5c", "7", "9", "11a")
            }
            rest.update({"12-skip": "1", "12-reason": "Đơn vị không có hoạt động thanh tra"})
            to_summary = await post_form(http, html, **rest, action="tom-tat")
            assert to_summary.status == 303, await to_summary.text()
            summary = await (await http.get(to_summary.headers["Location"])).text()
            assert "TÓM TẮT BÁO CÁO" in summary and "75%" in summary and "đạt" in summary
            assert "Không áp dụng" in summary or "không áp dụng" in summary
            sent = await http.post(
                f"{FORM}/gui", data={"csrf": csrf_of(summary), "dot": "2026-Q4", "don-vi": "PNV"}
            )
            assert sent.status == 200 and "Đã ghi nhận báo cáo" in await sent.text()
        stored = await values(bot, "PNV")
        assert stored["3a"].numerator == 15 and stored["12"].skip_reason
        assert await conversation_of(bot, AN.id) is None
        subs = await bot.scalars(select(Submission))
        assert len(subs) == 1 and not subs[0].by_admin
        # a correction on the web keeps its history as chat does
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            await logged_in(http, (await login_link(bot, AN.id, AN.name)).removeprefix(site))
            html = await (await http.get(FORM)).text()
            assert "đã gửi báo cáo" in html
            moved = await post_form(http, html, **{"2-num": "160", "action": "tom-tat"})
            summary = await (await http.get(moved.headers["Location"])).text()
            done = await http.post(
                f"{FORM}/gui", data={"csrf": csrf_of(summary), "dot": "2026-Q4", "don-vi": "PNV"}
            )
            assert "Đã ghi nhận 1 thay đổi" in await done.text()
        revisions = await bot.scalars(
            select(ValueRevision).where(ValueRevision.indicator_code == "2")
            .order_by(ValueRevision.id)
        )
        assert [r.new["num"] for r in revisions] == [150.0, 160.0]
        assert revisions[1].old == {"num": 150.0, "den": 200.0}


async def test_admin_enters_for_a_unit_and_it_is_recorded(tmp_path: Path, clock: FakeClock) -> None:
    async with desk_bot(tmp_path, clock) as (bot, site):
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            home = await logged_in(http, (await login_link(bot, ADMIN)).removeprefix(site))
            assert "Tình hình báo cáo" in home
            chooser = await (await http.get(FORM)).text()
            assert "/ban-lam-viec/bao-cao?don-vi=PNV" in chooser
            html = await (await http.get(f"{FORM}?don-vi=PNV")).text()
            assert "Phòng Nội vụ nhập thay" in html
            every = {f"{c}-num": "45" for c in PNV_CODES} | {f"{c}-den": "50" for c in PNV_CODES}
            moved = await post_form(http, html, **every, action="tom-tat")
            summary = await (await http.get(moved.headers["Location"])).text()
            await http.post(
                f"{FORM}/gui", data={"csrf": csrf_of(summary), "dot": "2026-Q4", "don-vi": "PNV"}
            )
        subs = await bot.scalars(select(Submission))
        assert len(subs) == 1 and subs[0].by_admin and subs[0].unit_code == "PNV"
        revisions = await bot.scalars(select(ValueRevision))
        assert revisions and all(r.by_admin for r in revisions)


def _cells(html: str, code: str) -> str:
    row = re.search(rf'<tr data-code="{re.escape(code)}">(.*?)</tr>', html, re.S)
    assert row, code
    return re.sub(r"<[^>]+>", " ", row.group(1))


async def test_dashboard_figures_are_trangthai_s(tmp_path: Path, clock: FakeClock) -> None:
    async with desk_bot(tmp_path, clock) as (bot, site):
        await join(bot, AN, "PNV")
        quick = " ".join(f"{c}=45/60" for c in PNV_CODES)
        await bot.say(AN.id, f"/baocao {quick}", first_name=AN.name)
        summary = await bot.say(AN.id, "gửi", first_name=AN.name)
        assert "Đã ghi nhận" in texts(summary)
        status = texts(await bot.say(ADMIN, "/trangthai"))
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            html = await logged_in(http, (await login_link(bot, ADMIN)).removeprefix(site))
            assert "Đã nộp: 1/" in html
            compared = 0
            for line in status.splitlines():
                found = re.match(r"• (\w+)\. [^:]+: (.+?)(?: — mục tiêu (.+?))?(?: [✅❌])?$", line)
                if not found or "hài lòng" in line.lower() or "người, n=" in line:
                    continue
                code, shown, goal = found.groups()
                cells = _cells(html, code)
                assert shown in cells, (line, cells)
                if goal:
                    assert goal in cells
                compared += 1
            assert compared >= len(PNV_CODES)
            for line in status.splitlines():
                if "người, n=" in line:
                    code = line[2:].split(".")[0]
                    cells = _cells(html, code)
                    sample = re.search(r"\d+ người, n=\d+ câu trả lời", line)
                    assert sample and sample.group(0) in cells
            chart = await http.get("/ban-lam-viec/bieu-do.png?dot=2026-Q4")
            assert chart.status == 200 and (await chart.read())[:4] == b"\x89PNG"
            unit = await (await http.get("/ban-lam-viec/don-vi/PNV?dot=2026-Q4")).text()
            assert "Phòng Nội vụ (PNV)" in unit and "45/60" in unit
            one = await (await http.get("/ban-lam-viec/chi-tieu/5c?dot=2026-Q4")).text()
            assert "Phòng Nội vụ" in one and "75%" in one
            # over the year (Q3 added): the pages hold /trangthai MÃ 2026's lines, every one
            await add_past_round(bot)
            for path, command in (
                ("/ban-lam-viec/don-vi/PNV?dot=2026", "/trangthai PNV 2026"),
                ("/ban-lam-viec/chi-tieu/5c?dot=2026", "/trangthai 5c 2026"),
                ("/ban-lam-viec/don-vi/XA-CK?dot=2026", "/trangthai 2026 XA-CK"),
            ):
                chat = [line for line in texts(await bot.say(ADMIN, command)).splitlines() if line]
                page = await http.get(path)
                assert page.status == 200, path
                shown = _page_lines(await page.text())
                assert [_plain(line) for line in chat] == shown, path
                assert any("Kỳ số liệu: 15/12/2025 – 14/12/2026" in line for line in shown)
            ck = _page_lines(await (await http.get("/ban-lam-viec/don-vi/XA-CK?dot=2026")).text())
            assert "— Quý IV/2026: chưa nộp" in ck
            # back to the dashboard of the same window, which shows /trangthai 2026's figures
            back = await (await http.get("/ban-lam-viec/chi-tieu/5c?dot=2026")).text()
            link = re.search(r'href="(/ban-lam-viec\?dot=[^"]+)">Về bảng theo dõi ([^<]+)<', back)
            assert link and link.group(1) == "/ban-lam-viec?dot=2026"
            yearly = texts(await bot.say(ADMIN, "/trangthai 2026"))
            title = unescape(link.group(2))
            assert yearly.splitlines()[0] == f"📊 TÌNH HÌNH BÁO CÁO {title.upper()}"
            page = await (await http.get(link.group(1))).text()
            assert f"Tình hình báo cáo {title}" in unescape(page)
            assert "Kỳ số liệu: 15/12/2025 – 14/12/2026" in page
            for line in yearly.splitlines():  # each quarter's submissions, as in the chat
                if line.startswith("Quý "):
                    assert f"<li>{line}</li>" in unescape(page), line
            found = re.search(r"• 5c\. [^:]+: (\S+ \(\d+/\d+\))(.*?)(?: — mục tiêu|$)", yearly)
            assert found, yearly
            cells = unescape(_cells(page, "5c"))
            assert found.group(1) in cells and "[cộng 2 quý" in cells
            options = re.findall(r'<option value="([^"]+)"', page)
            assert options[0] == "2026" and "2026-Q3" in options and "2026-H1" not in options
            workbook = await http.get("/ban-lam-viec/xuat.xlsx?dot=2026")
            assert workbook.status == 200
            assert "cchc-2026.xlsx" in workbook.headers["Content-Disposition"]
            unknown = await http.get("/ban-lam-viec/chi-tieu/5c?dot=2019")
            assert unknown.status == 404 and "2019" in await unknown.text()


def _page_lines(html: str) -> list[str]:
    """A drill-down page's heading and list items, as text."""
    found = re.findall(r"<h1>(.*?)</h1>|<li>(.*?)</li>", html, re.S)
    return [unescape(re.sub(r"<[^>]+>", "", a or b)).strip() for a, b in found]


# --------------------------------------------------------------------------- security


async def test_refusals_change_nothing(tmp_path: Path, clock: FakeClock) -> None:
    async with desk_bot(tmp_path, clock) as (bot, site):
        await join(bot, AN, "PNV")
        await join(bot, CUONG, "PTP")
        await bot.say(CUONG.id, "/baocao", first_name=CUONG.name)
        await bot.say(CUONG.id, "/baocao 1a=5/10", first_name=CUONG.name)
        before = await conversation_of(bot, CUONG.id)
        assert before is not None
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            html = await logged_in(http, (await login_link(bot, AN.id, AN.name)).removeprefix(site))
            csrf = csrf_of(html)
            # another unit's form, read or posted: refused
            other = await http.get(f"{FORM}?don-vi=PTP")
            assert other.status == 403 and "không có quyền" in await other.text()
            posted = await http.post(
                FORM, data={"csrf": csrf, "dot": "2026-Q4", "don-vi": "PTP", "1a-num": "9",
                            "1a-den": "10", "action": "luu"}, allow_redirects=False,
            )
            assert posted.status == 403
            # the dashboard and what hangs off it
            home = await http.get("/ban-lam-viec", allow_redirects=False)
            assert home.status == 303 and home.headers["Location"] == FORM
            for path in (
                "/ban-lam-viec/xuat.xlsx", "/ban-lam-viec/bieu-do.png",
                "/ban-lam-viec/don-vi/PTP", "/ban-lam-viec/chi-tieu/5c",
            ):
                refused = await http.get(path)
                assert refused.status == 403, path
                assert "không có quyền" in await refused.text()
            # a forged post: a CSRF token that is not this session's
            forged = await http.post(
                FORM, data={"csrf": "0" * 32, "dot": "2026-Q4", "don-vi": "PNV", "2-num": "1",
                            "2-den": "2", "action": "luu"}, allow_redirects=False,
            )
            assert forged.status == 403
            assert await conversation_of(bot, AN.id) is None
            # logout ends the session in the database; the old cookie is worth nothing
            cookie = next(c.value for c in http.cookie_jar if c.key == "cchc_desk")
            out = await http.post("/ban-lam-viec/dang-xuat", data={"csrf": csrf})
            assert out.status == 200 and "Đã đăng xuất" in await out.text()
        async with aiohttp.ClientSession(site, cookies={"cchc_desk": cookie}) as replay:
            after = await replay.get(FORM)
            assert after.status == 403 and "/web" in await after.text()
        ended = await bot.scalars(select(DeskSession))
        assert ended[0].ended_at is not None
        after_conv = await conversation_of(bot, CUONG.id)
        assert after_conv is not None and after_conv.state == before.state
        assert await bot.scalars(select(Submission)) == []


async def test_a_citizens_cookie_and_an_idle_session_open_nothing(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with desk_bot(tmp_path, clock) as (bot, site):
        await join(bot, AN, "PNV")
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as citizen:
            survey = await citizen.get("/s/mc-huyen")
            assert survey.status == 200
            visitor = next(c.value for c in citizen.cookie_jar if c.key == "cchc_id")
            for path in ("/ban-lam-viec", FORM, "/ban-lam-viec/xuat.xlsx"):
                page = await citizen.get(path)
                assert page.status == 403 and "chưa đăng nhập" in await page.text()
        async with aiohttp.ClientSession(site, cookies={"cchc_desk": visitor}) as borrowed:
            assert (await borrowed.get(FORM)).status == 403
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            await logged_in(http, (await login_link(bot, AN.id, AN.name)).removeprefix(site))
            clock.advance(hours=7, minutes=59)
            assert (await http.get(FORM)).status == 200  # a request resets the idle time
            clock.advance(hours=8, minutes=1)
            idle = await http.get(FORM)
            assert idle.status == 403 and "8 giờ" in await idle.text()


async def test_no_figure_or_name_in_a_url(tmp_path: Path, clock: FakeClock) -> None:
    async with desk_bot(tmp_path, clock) as (bot, site):
        await join(bot, AN, "PNV")
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            await logged_in(http, (await login_link(bot, AN.id, AN.name)).removeprefix(site))
            html = await (await http.get(FORM)).text()
            saved = await post_form(http, html, **{"2-num": "123", "2-den": "456",
                                                   "action": "tom-tat"})
            location = saved.headers["Location"]
            summary = await (await http.get(location)).text()
        admin_html = ""
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            admin_html = await logged_in(http, (await login_link(bot, ADMIN)).removeprefix(site))
        pages = html + summary + admin_html
        urls = [location, *re.findall(r'(?:href|action|src)="([^"]+)"', pages)]
        allowed = re.compile(r"^/[A-Za-z0-9/._-]*(\?[A-Za-z0-9=&;._-]*)?$")
        for url in urls:
            assert allowed.match(url), url
            assert "123" not in url and "456" not in url and "Nguy" not in url
