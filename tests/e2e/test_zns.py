"""ZNS reminders by phone number (issue 17, the optional ZNS item), end to end: the real
start-up code with the OA channel and ``[zalo_oa.zns]``, against the fake OA's ZNS endpoint
(tests/support/fakes/zalo_oa.py): the unit head's /sodienthoai, a reminder the OA refuses
with -230 going by ZNS with the template's data, retries, give-ups, restarts, logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app.logs import LogfmtFormatter
from bot.usecases.zns import ZNS_CHANNEL, ZnsFallback
from db.models import Member, OutboxMessage, Round
from tests.e2e.flows import invite_payload
from tests.e2e.test_zalo import settle
from tests.e2e.test_zalo_oa import HEAD, OA_ADMIN, oa_config, say
from tests.support.fakes.zalo_oa import FakeZaloOa
from tests.support.harness import ADMIN, Bot, FakeClock, free_port, running_bot
from tests.support.polling import until

TEMPLATE = "231677"
PARAMS = frozenset({"ten_don_vi", "ky_bao_cao", "han_nop", "so_ngay", "tinh_trang"})
PHONE_TYPED = "0912 345 678"
PHONE = "84912345678"


def zns_config(oa: FakeZaloOa) -> str:
    return f"""
[zalo_oa.zns]
enabled = true
template_id = "{TEMPLATE}"
mode = "development"
url = "{oa.base_url}"

[zalo_oa.zns.params]
ten_don_vi = "unit"
ky_bao_cao = "period"
han_nop = "deadline"
so_ngay = "days_left"
tinh_trang = "status"
"""


@pytest.fixture
async def oa() -> AsyncIterator[FakeZaloOa]:
    async with FakeZaloOa() as fake:
        fake.zns_templates[TEMPLATE] = PARAMS  # the approved template
        yield fake


@pytest.fixture
async def zbot(
    tmp_path: Path, clock: FakeClock, oa: FakeZaloOa, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Bot]:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    oa.webhook_url = f"http://127.0.0.1:{port}/zalo-oa"
    async with running_bot(tmp_path, clock, oa_config(oa, port) + zns_config(oa)) as running:
        await settle(running)
        yield running


async def head_with_phone(zbot: Bot, oa: FakeZaloOa) -> Member:
    """PTP's head registers on the OA and gives their number."""
    joined = await say(oa, HEAD, await invite_payload(zbot, "PTP"))
    assert "Đăng ký thành công" in joined[-1].text
    [saved] = await say(oa, HEAD, f"/sodienthoai {PHONE_TYPED}")
    assert "091****678" in saved.text and PHONE_TYPED not in saved.text
    [member] = await zbot.scalars(select(Member).where(Member.channel == "zalo_oa"))
    assert member.phone == PHONE
    return member


async def zns_rows(zbot: Bot) -> list[OutboxMessage]:
    return list(
        await zbot.scalars(select(OutboxMessage).where(OutboxMessage.channel == ZNS_CHANNEL))
    )


async def row_status(zbot: Bot, status: str) -> bool:
    rows = await zns_rows(zbot)
    return len(rows) == 1 and rows[0].status == status


async def admin_notices(zbot: Bot) -> list[OutboxMessage]:
    return list(
        await zbot.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like("undeliverable:%"))
        )
    )


def formatted(caplog: pytest.LogCaptureFixture) -> str:
    """The captured records as the bot writes them (bot.app.logs)."""
    formatter = LogfmtFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records)


async def test_a_reminder_refused_with_230_goes_by_zns_once_with_the_template_data(
    zbot: Bot, oa: FakeZaloOa, caplog: pytest.LogCaptureFixture
) -> None:
    member = await head_with_phone(zbot, oa)
    oa.quiet.add(HEAD)  # a week without writing to the OA: -230
    await zbot.say(ADMIN, "/nhacnho")
    await until(lambda: row_status(zbot, "sent"), timeout=15)
    [sent] = oa.zns_sent
    [round_] = await zbot.scalars(select(Round))
    today = zbot.runtime.ctx.today()
    assert (sent.phone, sent.template_id, sent.mode) == (PHONE, TEMPLATE, "development")
    assert sent.template_data == {
        "ten_don_vi": "Phòng Tư pháp",
        "ky_bao_cao": round_.title,
        "han_nop": (round_.deadline + timedelta(days=1)).strftime("%d/%m/%Y"),  # "trước ngày"
        "so_ngay": str((round_.deadline - today).days),
        "tinh_trang": f"còn {(round_.deadline - today).days} ngày",
    }
    assert sent.tracking_id.startswith("cchc")
    [oa_row] = await zbot.scalars(
        select(OutboxMessage).where(
            OutboxMessage.channel == "zalo_oa", OutboxMessage.chat_id == HEAD
        )
    )
    assert oa_row.status == "undeliverable"
    [zns_row] = await zns_rows(zbot)
    assert zns_row.chat_id == f"m{member.id}" and PHONE not in zns_row.text  # no number kept
    assert zns_row.dedupe_key.startswith(f"remind:{round_.id}:zalo_zns:")
    assert await admin_notices(zbot) == []  # reached by ZNS: nobody to tell

    # A second -230 for the same reminder (another process, a crash before the outcome was
    # recorded) queues nothing more; a restart sends nothing again.
    ctx = zbot.runtime.ctx
    async with ctx.sessions.begin() as session:
        row = await session.get(OutboxMessage, oa_row.id)
        head = await session.get(Member, member.id)
        assert row is not None and head is not None
        assert await ZnsFallback(ctx).instead(session, row, head, ctx.now()) is True
    await zbot.restart()
    [again] = await zbot.say(ADMIN, "/nhacnho")  # the same day's reminder: already queued
    assert "Không có lời nhắc mới" in again.body
    zbot.runtime.wake_outbox()
    await zbot.idle()
    assert len(await zns_rows(zbot)) == 1 and len(oa.zns_sent) == 1
    assert len(oa.zns_attempts) == 1
    # The number is in no log line, whole or spaced as typed; only masked.
    text = formatted(caplog)
    assert PHONE not in text and "0912345678" not in text and PHONE_TYPED not in text
    assert "091****678" in text


async def test_a_passing_zns_error_is_retried_then_sent(
    zbot: Bot, oa: FakeZaloOa, clock: FakeClock
) -> None:
    await head_with_phone(zbot, oa)
    oa.quiet.add(HEAD)
    oa.fail_zns(-100, "Unknown error")  # "vui lòng thử lại sau"
    oa.fail_zns(500, "Internal error", status=500)
    await zbot.say(ADMIN, "/nhacnho")

    async def sent() -> bool:
        clock.advance(seconds=120)  # past any backoff
        zbot.runtime.wake_outbox()
        return await row_status(zbot, "sent")

    await until(sent, timeout=20)
    [row] = await zns_rows(zbot)
    assert row.attempts == 3 and "ZNS 500" in (row.last_error or "")
    assert len(oa.zns_sent) == 1 and len(oa.zns_attempts) == 3
    assert await admin_notices(zbot) == []


async def test_a_refused_access_token_is_refreshed_once_and_the_zns_message_sent(
    zbot: Bot, oa: FakeZaloOa
) -> None:
    await head_with_phone(zbot, oa)
    oa.quiet.add(HEAD)
    refreshes = oa.refreshes
    oa.fail_zns(-124, "Access token invalid")  # ZNS's own code for a refused token
    await zbot.say(ADMIN, "/nhacnho")
    await until(lambda: row_status(zbot, "sent"), timeout=15)
    assert oa.refreshes == refreshes + 1 and len(oa.zns_sent) == 1
    assert len(oa.zns_attempts) == 2  # refused, then sent with the new token
    [row] = await zns_rows(zbot)
    assert row.attempts == 1  # one outbox attempt: the refresh is inside it


async def test_a_refused_zns_message_gives_up_and_the_admins_are_told_once(
    zbot: Bot, oa: FakeZaloOa
) -> None:
    await head_with_phone(zbot, oa)
    oa.quiet.add(HEAD)
    # The person turned ZNS off in Zalo (or the number has no Zalo account): Zalo refuses.
    oa.zns_refusing[PHONE] = (-139, "User refused to receive ZNS")
    zbot.tg.mark(ADMIN)
    await zbot.say(ADMIN, "/nhacnho")
    await until(lambda: row_status(zbot, "failed"), timeout=15)
    [notice] = await zbot.tg.wait_for(ADMIN, timeout=15)
    body = notice.body
    assert "Phòng Tư pháp" in body and "ZNS" in body and "-139" in body
    assert "7 ngày" in body and PHONE not in body
    notices = await admin_notices(zbot)
    assert len(notices) == len(zbot.runtime.ctx.admin_accounts())  # every admin, once
    assert all("zalo_zns" in n.dedupe_key for n in notices)
    assert [m for m in oa.sent_to(OA_ADMIN) if "ZNS" in m.text] != []  # OA admins too
    [row] = await zns_rows(zbot)
    assert row.attempts == 1  # a refusal is not retried
    # The same round's next reminder refused again tells nobody twice.
    await zbot.say(ADMIN, "/nhacnho")
    zbot.runtime.wake_outbox()
    await zbot.idle()
    assert len(await admin_notices(zbot)) == len(notices)


async def test_without_a_number_the_230_notice_goes_as_before(zbot: Bot, oa: FakeZaloOa) -> None:
    joined = await say(oa, HEAD, await invite_payload(zbot, "PTP"))
    assert "Đăng ký thành công" in joined[-1].text
    oa.quiet.add(HEAD)
    zbot.tg.mark(ADMIN)
    await zbot.say(ADMIN, "/nhacnho")
    [notice] = await zbot.tg.wait_for(ADMIN, timeout=15)
    assert "Zalo OA" in notice.body and "7 ngày" in notice.body
    assert await zns_rows(zbot) == [] and oa.zns_attempts == []


async def test_the_phone_command_validates_masks_and_removes(zbot: Bot, oa: FakeZaloOa) -> None:
    [refused] = await say(oa, HEAD, "/sodienthoai 0912345678")  # not registered
    assert "đã đăng ký" in refused.text
    joined = await say(oa, HEAD, await invite_payload(zbot, "PTP"))
    assert "Đăng ký thành công" in joined[-1].text
    [none] = await say(oa, HEAD, "/sodienthoai")
    assert "chưa lưu số" in none.text and "/sodienthoai 0912 345 678" in none.text
    for typed, why in [
        ("0281 234 567", "không phải số di động"),  # a landline
        ("091234567", "10 chữ số"),
        ("+1 415 555 0100", "+84"),
        ("không có", "chỉ gồm chữ số"),
    ]:
        [answer] = await say(oa, HEAD, f"/sodienthoai {typed}")
        assert "chưa đúng" in answer.text and why in answer.text, typed
    [member] = await zbot.scalars(select(Member).where(Member.channel == "zalo_oa"))
    assert member.phone is None
    [saved] = await say(oa, HEAD, "/sodienthoai +84 (0)912.345.678".replace("(0)", ""))
    assert "091****678" in saved.text
    [shown] = await say(oa, HEAD, "/sodienthoai")
    assert "091****678" in shown.text and "0912345678" not in shown.text
    [member] = await zbot.scalars(select(Member).where(Member.channel == "zalo_oa"))
    assert member.phone == PHONE
    [removed] = await say(oa, HEAD, "/sodienthoai xóa")
    assert "Đã xóa" in removed.text
    [member] = await zbot.scalars(select(Member).where(Member.channel == "zalo_oa"))
    assert member.phone is None
