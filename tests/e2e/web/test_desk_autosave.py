"""The desk's draft saved as the person types (``POST /ban-lam-viec/bao-cao/nhap``, what
``static/desk.js`` calls), and the "Mở trên máy tính" button of reminders and /baocao,
over real HTTP with Telegram faked."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from sqlalchemy import select

from db.models import Conversation, DeskSession
from scheduler.reminders import DESK_BUTTON_DATA, REPORT_BUTTON_DATA
from tests.e2e.test_reminders import settle as settle_outbox
from tests.e2e.test_zalo import ZALO_HEAD, body, join_on_zalo
from tests.e2e.test_zalo import settle as zalo_settle
from tests.e2e.web.desk_support import (
    ADMIN,
    AN,
    CUONG,
    LINK,
    csrf_of,
    desk_bot,
    desk_config,
    form_fields,
    jar,
    join,
    logged_in,
    login_link,
)
from tests.support.harness import Bot, FakeClock, free_port, running_bot, texts

FORM = "/ban-lam-viec/bao-cao"
AUTOSAVE = f"{FORM}/nhap"


async def answers_of(bot: Bot, user_id: int) -> dict[str, dict[str, float]]:
    rows = await bot.scalars(select(Conversation).where(Conversation.user_id == str(user_id)))
    return dict(rows[0].state["m"]["answers"]) if rows else {}


async def autosave(
    http: aiohttp.ClientSession, html: str, edited: str, **typed: str
) -> tuple[int, dict[str, object]]:
    fields = {k: v for k, v in form_fields(html).items() if k in ("csrf", "dot", "don-vi")}
    fields.update(sua=edited, **typed)
    got = await http.post(AUTOSAVE, data=fields)
    assert got.content_type == "application/json"
    return got.status, json.loads(await got.text())


async def test_autosave_keeps_the_edited_items_and_leaves_the_chats(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with desk_bot(tmp_path, clock) as (bot, site):
        await join(bot, AN, "PNV")
        link = await login_link(bot, AN.id, AN.name)
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            await logged_in(http, link.removeprefix(site))
            html = await (await http.get(FORM)).text()  # opened before the chat answers 2
            assert 'data-autosave="/ban-lam-viec/bao-cao/nhap"' in html
            assert '<script src="/static/desk.js" defer></script>' in html
            # on the phone meanwhile: item 2
            await bot.say(AN.id, "/baocao", first_name=AN.name)
            await bot.say(AN.id, "200", first_name=AN.name)
            await bot.say(AN.id, "150", first_name=AN.name)
            # the stale page saves 3a and 3b only: its empty 2 does not undo the phone's
            status, reply = await autosave(
                http, html, "3a,3b",
                **{"2-num": "", "2-den": "", "3a-num": "15", "3a-den": "20",
                   "3b-num": "30", "3b-den": "10"},
            )
            assert status == 200
            errors = reply["errors"]
            assert isinstance(errors, dict) and list(errors) == ["3b"]
            assert "không được lớn hơn tổng số" in errors["3b"]
            assert str(reply["status"]).startswith("Đã lưu nháp lúc 09:00; còn 1 ô cần sửa")
            saved = await answers_of(bot, AN.id)
            assert saved["2"] == {"num": 150.0, "den": 200.0}
            assert saved["3a"] == {"num": 15.0, "den": 20.0} and "3b" not in saved
            # fixed: no error left, and the phone goes on after what the PC entered
            status, reply = await autosave(http, html, "3b", **{"3b-num": "7", "3b-den": "10"})
            assert status == 200 and reply["errors"] == {}
            assert reply["status"] == "Đã lưu nháp lúc 09:00."
        resumed = texts(await bot.say(AN.id, "/baocao", first_name=AN.name))
        assert "4a." in resumed and "(chỉ tiêu 4/11)" in resumed  # 2, 3a, 3b done


async def test_autosave_refuses_forged_foreign_and_logged_out_posts(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with desk_bot(tmp_path, clock) as (bot, site):
        await join(bot, AN, "PNV")
        await join(bot, CUONG, "PTP")
        link = await login_link(bot, AN.id, AN.name)
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            await logged_in(http, link.removeprefix(site))
            html = await (await http.get(FORM)).text()
            typed = {"2-num": "1", "2-den": "2"}
            forged = await http.post(
                AUTOSAVE, data={"csrf": "0" * 32, "dot": "2026-Q4", "don-vi": "PNV",
                                "sua": "2", **typed},
            )
            assert forged.status == 403 and "đăng nhập" in (await forged.json())["status"]
            status, reply = await autosave(http, html, "2", **{"don-vi": "PTP"}, **typed)
            assert status == 403 and reply["status"] == "Ông/bà không có quyền xem trang này."
            status, reply = await autosave(http, html, "2", **{"dot": "2019-Q1"}, **typed)
            assert status == 409 and "tải lại trang" in str(reply["status"])
            status, reply = await autosave(http, html, "", **typed)  # nothing named as edited
            assert status == 409
            await http.post("/ban-lam-viec/dang-xuat", data={"csrf": csrf_of(html)})
            status, reply = await autosave(http, html, "2", **typed)
            assert status == 403
        assert await answers_of(bot, AN.id) == {} and await answers_of(bot, CUONG.id) == {}


async def test_the_reminder_and_baocao_button_gives_a_login_link(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with desk_bot(tmp_path, clock) as (bot, site):
        await join(bot, AN, "PNV")
        assert "Đã xếp 1 lời nhắc" in texts(await bot.say(ADMIN, "/nhacnho"))
        await settle_outbox(bot)
        [reminder] = [m for m in bot.tg.sent_to(AN.id) if "Nhắc nộp báo cáo" in m.body]
        assert reminder.buttons() == [
            ("📝 Nhập báo cáo", REPORT_BUTTON_DATA), ("💻 Mở trên máy tính", DESK_BUTTON_DATA)
        ]
        assert "bấm «Mở trên máy tính» (hoặc gõ /web)" in reminder.body
        pressed = await bot.press(AN.id, reminder, "Mở trên máy tính")
        found = LINK.search(texts(pressed))
        assert found, texts(pressed)
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            page = await logged_in(http, found.group(1).removeprefix(site))
            assert "Báo cáo Quý IV/2026 (cả năm) — Phòng Nội vụ" in page
        # /baocao's question carries it too; pressing it leaves the report where it was
        started = await bot.say(AN.id, "/baocao", first_name=AN.name)
        assert ("💻 Mở trên máy tính", DESK_BUTTON_DATA) in started[-1].buttons()
        again = await bot.press(AN.id, started[-1], "Mở trên máy tính")
        second = LINK.search(texts(again))
        assert second and second.group(1) != found.group(1)
        assert "2." in texts(await bot.say(AN.id, "/baocao", first_name=AN.name))
        assert len(await bot.scalars(select(DeskSession))) == 1  # the second link not used yet


async def test_on_zalo_the_reminders_second_choice_gives_the_link(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Zalo has no buttons: the reminder's choices are numbered, and "2" is the desk."""
    async with running_bot(tmp_path, clock, desk_config(free_port()), zalo=True) as bot:
        assert bot.zalo is not None
        await zalo_settle(bot)
        await join_on_zalo(bot, ZALO_HEAD, "PTP")
        bot.zalo.mark(ZALO_HEAD)
        assert "Đã xếp 1 lời nhắc" in texts(await bot.say(ADMIN, "/nhacnho"))
        [reminder] = await bot.zalo.wait_for(ZALO_HEAD, timeout=15)
        await bot.idle()
        assert "1. Nhập báo cáo" in reminder.text and "2. Mở trên máy tính" in reminder.text
        bot.znew_to(ZALO_HEAD)
        link = LINK.search(body(await bot.zsay(ZALO_HEAD, "2")))
        assert link is not None and "/dang-nhap/" in link.group(1)
