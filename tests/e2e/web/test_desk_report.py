"""The Word report on Phòng Nội vụ's dashboard (issue 20: "a link … on the web dashboard"),
over real HTTP on the bot's own web server: an admin downloads the .docx of the round
shown and its figures are /trangthai's; a unit head and a visitor without a session are
refused it."""

from __future__ import annotations

import html
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from docx import Document

from tests.e2e.test_report_docx import rows_of
from tests.e2e.test_status import PNV_HEAD, fill_current_round, line_of
from tests.e2e.web.desk_support import desk_config, jar, logged_in, login_link
from tests.support.harness import ADMIN, Bot, FakeClock, free_port, running_bot, texts

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
WORD_LINK = re.compile(r'<a href="([^"]+)">Tải báo cáo \(Word\)</a>')


@asynccontextmanager
async def report_desk(tmp_path: Path, clock: FakeClock) -> AsyncIterator[tuple[Bot, str]]:
    port = free_port()
    # three citizens make 14 judged (the sample of test_status.fill_current_round)
    async with running_bot(tmp_path, clock, "min_sample = 3\n" + desk_config(port)) as bot:
        await fill_current_round(bot)
        yield bot, f"http://127.0.0.1:{port}"


async def test_an_admin_downloads_the_word_report_with_trangthai_s_figures(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with report_desk(tmp_path, clock) as (bot, site):
        status = texts([m for m in await bot.say(ADMIN, "/trangthai") if m.method == "sendMessage"])
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            page = await logged_in(http, (await login_link(bot, ADMIN)).removeprefix(site))
            found = WORD_LINK.search(page)
            assert found, page
            href = html.unescape(found.group(1))
            assert href == "/ban-lam-viec/bao-cao-tong-hop.docx?dot=2026-Q4"
            got = await http.get(href)
            assert got.status == 200 and got.headers["Content-Type"] == DOCX
            assert got.headers["Content-Disposition"] == (
                'attachment; filename="bao-cao-cchc-2026-Q4.docx"'
            )
            doc = Document(io.BytesIO(await got.read()))

            paragraphs = [" ".join(p.text.split()) for p in doc.paragraphs]
            assert "Kết quả thực hiện công tác cải cách hành chính quý IV năm 2026" in paragraphs
            total = len(bot.catalogue.org.reporting_units())
            assert f"Đã nộp: 2/{total} đơn vị (đúng hạn 2, trễ hạn 0)" in status
            assert any(
                p.startswith(f"Tổng số cơ quan, đơn vị phải báo cáo: {total}; đã gửi: 2")
                for p in paragraphs
            )
            indicators = rows_of(doc, "Mã", "Chỉ tiêu", "Kết quả")
            compared = 0
            for code, row in indicators.items():
                result, target = row[2], row[3]
                if result == "chưa có số liệu":
                    continue
                line = line_of(status, f"• {code}. ")
                assert f": {result} — mục tiêu {target}" in line, (line, row)
                compared += 1
            assert compared >= 10
            assert indicators["5c"][2:] == ["50,5% (51/101)", "≥ 80%", "2", "Chưa đạt"]
            satisfaction = rows_of(doc, "Mã", "Nội dung", "Tỷ lệ hài lòng")
            rate, sample, interval, goal, _ = satisfaction["14"][2:]
            assert f": {rate} ({sample}, KTC 95%: {interval}, mục tiêu {goal})" in line_of(
                status, "• 14. "
            )

            # The round chosen in the address; an unknown one gets the desk's 404 page.
            again = await http.get("/ban-lam-viec/bao-cao-tong-hop.docx?dot=2026-q4")
            assert again.status == 200 and again.headers["Content-Type"] == DOCX
            unknown = await http.get("/ban-lam-viec/bao-cao-tong-hop.docx?dot=2019-Q1")
            text = await unknown.text()
            assert unknown.status == 404 and "2019-Q1" in text and "Traceback" not in text
            too_long = await http.get("/ban-lam-viec/bao-cao-tong-hop.docx?dot=" + "9" * 500)
            assert too_long.status == 404


async def test_a_unit_head_and_a_visitor_are_refused_the_word_report(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with report_desk(tmp_path, clock) as (bot, site):
        route = "/ban-lam-viec/bao-cao-tong-hop.docx?dot=2026-Q4"
        async with aiohttp.ClientSession(site, cookie_jar=jar()) as http:
            link = await login_link(bot, PNV_HEAD)
            opened = await http.get(link.removeprefix(site), allow_redirects=False)
            assert opened.status == 303  # the head has a session: their own form
            refused = await http.get(route)
            body = await refused.read()
            assert refused.status == 403 and refused.headers["Content-Type"].startswith("text/html")
            assert not body.startswith(b"PK")  # no .docx (a zip) in the answer
        async with aiohttp.ClientSession(site) as anonymous:
            nobody = await anonymous.get(route)
            assert nobody.status == 403 and not (await nobody.read()).startswith(b"PK")
