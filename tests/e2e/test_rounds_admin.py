"""Ad-hoc rounds (/dotxuat): open, report into, extend, close; admins only."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from db.models import Round, Submission
from tests.e2e.flows import answer_until_summary, register
from tests.support.harness import ADMIN, Bot, texts

HEAD = 601


async def _submit_quarter(bot: Bot) -> None:
    first = (await bot.say(HEAD, "/baocao"))[-1]
    summary = await answer_until_summary(bot, HEAD, first)
    await bot.press(HEAD, summary, "Gửi")


async def test_admin_opens_an_ad_hoc_round_that_a_unit_reports_into(bot: Bot) -> None:
    await register(bot, HEAD, "PNV")
    await _submit_quarter(bot)

    opened = texts(await bot.say(ADMIN, "/dotxuat Rà soát TTHC | 30/11/2026 | PNV PTP | 2 5c"))
    assert "Đã mở đợt báo cáo DX-2026-1" in opened and "30/11/2026" in opened
    [adhoc] = await bot.scalars(select(Round).where(Round.kind == "ad_hoc"))
    assert adhoc.unit_codes == ["PNV", "PTP"] and adhoc.indicator_codes == ["2", "5c"]
    assert adhoc.deadline == date(2026, 11, 30)

    replies = await bot.say(HEAD, "/baocao")
    assert "Đột xuất: Rà soát TTHC" in texts(replies)
    assert "Chỉ tiêu 1/2" in replies[-1].body
    summary = await answer_until_summary(bot, HEAD, replies[-1])
    assert "• 2." in summary.body and "• 5c." in summary.body and "• 3a." not in summary.body
    await bot.press(HEAD, summary, "Gửi")
    rows = await bot.scalars(select(Submission).where(Submission.round_id == adhoc.id))
    assert [r.unit_code for r in rows] == ["PNV"]

    listing = texts(await bot.say(ADMIN, "/round"))
    assert "DX-2026-1" in listing and "2026-Q4" in listing

    extended = texts(await bot.say(ADMIN, "/dotxuat giahan DX-2026-1 05/12/2026"))
    assert "Đã gia hạn đợt DX-2026-1 đến 05/12/2026" in extended
    closed = texts(await bot.say(ADMIN, "/dotxuat dong DX-2026-1"))
    assert "Đã đóng đợt DX-2026-1" in closed
    [adhoc] = await bot.scalars(select(Round).where(Round.kind == "ad_hoc"))
    assert adhoc.deadline == date(2026, 12, 5) and adhoc.closed_at is not None


async def test_ad_hoc_round_input_is_checked(bot: Bot) -> None:
    assert "Mở đợt báo cáo đột xuất" in texts(await bot.say(ADMIN, "/dotxuat chỉ tiêu đề"))
    bad_date = texts(await bot.say(ADMIN, "/dotxuat Rà soát | 31/02/2026 | PNV | 2"))
    assert "31/02/2026" in bad_date and "không hợp lệ" in bad_date
    past = texts(await bot.say(ADMIN, "/dotxuat Rà soát | 01/11/2026 | PNV | 2"))
    assert "quá khứ" in past
    codes = texts(await bot.say(ADMIN, "/dotxuat Rà soát | 30/12/2026 | PNV NOPE | 2 99z"))
    assert "NOPE" in codes and "99z" in codes
    assert await bot.scalars(select(Round).where(Round.kind == "ad_hoc")) == []
    assert "Không có đợt báo cáo mã" in texts(await bot.say(ADMIN, "/dotxuat dong DX-1999-9"))


async def test_only_admins_open_rounds(bot: Bot) -> None:
    await register(bot, HEAD, "PNV")
    refused = texts(await bot.say(HEAD, "/dotxuat Rà soát | 30/12/2026 | PNV | 2"))
    assert "chỉ dành cho cán bộ Phòng Nội vụ" in refused
    assert await bot.scalars(select(Round).where(Round.kind == "ad_hoc")) == []
