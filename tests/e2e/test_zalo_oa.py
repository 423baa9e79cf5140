"""The Zalo Official Account channel (issue 17, part 2), end to end: the real start-up code
serves the OA's webhook beside Telegram, against the fake OA (tests/support/fakes/zalo_oa.py:
signed events, the OAuth v4 token endpoint with rotation, the consultation message API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.zalo_oa import OaTokens
from db.models import Member, OutboxMessage, SeenUpdate, SurveyResponse, ZaloOaToken
from tests.e2e.flows import invite_payload
from tests.e2e.test_zalo import settle
from tests.support.fakes.zalo_oa import FakeZaloOa, OaSent
from tests.support.harness import ADMIN, Bot, FakeClock, free_port, running_bot
from tests.support.polling import until

CITIZEN = "8811223344556677001"
HEAD = "8811223344556677002"
OA_ADMIN = "8811223344556677099"


def oa_config(oa: FakeZaloOa, port: int) -> str:
    return f"""
[zalo_oa]
enabled = true
app_id = "{oa.app_id}"
app_secret = "{oa.app_secret}"
oa_secret_key = "{oa.oa_secret_key}"
refresh_token = "rt-0"
oa_id = "{oa.oa_id}"
oauth_url = "{oa.oauth_url}"
api_url = "{oa.api_url}"
admins = ["{OA_ADMIN}"]
follow_point = "mc-huyen"
retry_after_seconds = 0.2
webhook_listen = "127.0.0.1"
webhook_port = {port}
webhook_path = "zalo-oa"
"""


@pytest.fixture
async def oa() -> AsyncIterator[FakeZaloOa]:
    async with FakeZaloOa() as fake:
        yield fake


@pytest.fixture
async def obot(tmp_path: Path, clock: FakeClock, oa: FakeZaloOa) -> AsyncIterator[Bot]:
    port = free_port()
    oa.webhook_url = f"http://127.0.0.1:{port}/zalo-oa"
    async with running_bot(tmp_path, clock, oa_config(oa, port)) as running:
        await settle(running)
        yield running


async def say(oa: FakeZaloOa, user: str, text: str, msg_id: str | None = None) -> list[OaSent]:
    before = len(oa.sent_to(user))
    assert await oa.user_sends(user, text, msg_id) == 200
    return (await oa.wait_for(user, before + 1))[before:]


async def test_a_follower_from_the_poster_gets_the_survey_and_it_counts_once(
    obot: Bot, oa: FakeZaloOa
) -> None:
    assert await oa.follows(CITIZEN) == 200
    [first] = await oa.wait_for(CITIZEN)
    assert "Câu 1/8" in first.text and "1. Đất đai" in first.text
    assert first.quote is None  # a follow has no message to quote
    answer = await say(oa, CITIZEN, "2", msg_id="msgA")
    assert "Câu 2/8" in answer[-1].text and answer[0].quote == "msgA"  # quoting the person
    for n, digit in enumerate(["5", "4", "4", "5"], start=3):  # the four SIPAS ratings
        assert f"Câu {n}/8" in (await say(oa, CITIZEN, digit))[-1].text
    assert "Câu 7/7" in (await say(oa, CITIZEN, "2"))[-1].text  # "2. Không": no feedback
    thanks = await say(oa, CITIZEN, "Bỏ qua")
    assert "Cảm ơn" in thanks[-1].text
    [response] = await obot.scalars(select(SurveyResponse))
    assert response.status == "counted" and response.point_code == "mc-huyen"
    assert response.answers["field"] == "xay_dung" and response.answers["ket_qua"] == 5
    # The token came from the refresh token and the rotated one is in the database.
    [row] = await obot.scalars(select(ZaloOaToken))
    assert (oa.refreshes, row.refresh_token, row.access_token) == (1, "rt-1", "at-1")
    assert row.access_expires_at is not None
    assert (row.access_expires_at - obot.clock()).total_seconds() == 90000  # as Zalo said


async def test_bad_signatures_are_refused_and_change_nothing(obot: Bot, oa: FakeZaloOa) -> None:
    event = oa.text_event(CITIZEN, "S-MC-HUYEN")
    assert await oa.post_event(event, signature="0" * 64) == 403
    assert await oa.post_event(event, signature="") == 403
    tampered = {**event, "timestamp": str(int(event["timestamp"]) + 1)}
    assert await oa.post_event(tampered, signature=oa.sign(b"{}", event["timestamp"])) == 403
    await obot.idle()
    assert oa.sent == [] and await obot.scalars(select(SeenUpdate)) == []
    assert obot.runtime.channels["zalo_oa"].rejected == 3  # type: ignore[attr-defined]
    oa.mac_prefix = True  # "mac=<hex>", as chatwoot compares it, is accepted too
    [question] = await say(oa, CITIZEN, "S-MC-HUYEN")
    assert "Câu 1/8" in question.text


async def test_a_redelivered_event_is_answered_once(obot: Bot, oa: FakeZaloOa) -> None:
    await say(oa, CITIZEN, "S-MC-HUYEN")
    event = oa.text_event(CITIZEN, "1", msg_id="same-id")
    assert await oa.post_event(event) == 200
    assert await oa.post_event(event) == 200  # Zalo retrying the POST
    await oa.wait_for(CITIZEN, 2)
    await say(oa, CITIZEN, "4")
    texts = [m.text for m in oa.sent_to(CITIZEN)]
    assert len(texts) == 3 and "Câu 2/8" in texts[1] and "Câu 3/8" in texts[2]


async def test_an_expired_access_token_is_refreshed_once_and_the_reply_retried(
    obot: Bot, oa: FakeZaloOa
) -> None:
    await say(oa, CITIZEN, "/help")
    oa.expire_access()  # -216 on the next send
    attempts = oa.send_attempts
    [reply] = await say(oa, CITIZEN, "/help")
    assert "Quét mã QR" in reply.text
    assert oa.send_attempts == attempts + 2  # refused once, then sent with the new token
    assert oa.refreshes == 2 and oa.refused_refreshes == 0
    [row] = await obot.scalars(select(ZaloOaToken))
    assert (row.refresh_token, row.generation) == ("rt-2", 2)

    # Another process sharing the database reads the stored pair: no second refresh (a
    # spent refresh token would be refused).
    other = OaTokens(
        obot.config.zalo_oa,
        obot.runtime.channels["zalo_oa"].api,  # type: ignore[attr-defined]
        obot.runtime.ctx.sessions,
        obot.clock,
    )
    assert await other.access() == "at-2" and oa.refreshes == 2
    # The token is refreshed before it runs out, not after.
    obot.clock.advance(seconds=90000 - 200)
    await say(oa, CITIZEN, "/help")
    assert oa.refreshes == 3 and oa.refused_refreshes == 0


async def test_a_quota_answer_on_a_reply_is_ridden_out(obot: Bot, oa: FakeZaloOa) -> None:
    oa.fail_send(429)
    [reply] = await say(oa, CITIZEN, "/help")
    assert "Quét mã QR" in reply.text


async def test_a_reminder_to_someone_silent_for_7_days_is_undeliverable_and_admins_told_once(
    obot: Bot, oa: FakeZaloOa
) -> None:
    payload = await invite_payload(obot, "PTP")
    joined = await say(oa, HEAD, payload)
    assert "Đăng ký thành công" in joined[-1].text
    [member] = await obot.scalars(select(Member).where(Member.channel == "zalo_oa"))
    assert member.unit_code == "PTP"
    oa.quiet.add(HEAD)  # a week without writing to the OA
    obot.tg.mark(ADMIN)
    await obot.say(ADMIN, "/nhacnho")
    [notice] = await obot.tg.wait_for(ADMIN, timeout=15)
    assert "Zalo OA" in notice.body and "7 ngày" in notice.body and "Phòng Tư pháp" in notice.body

    async def undeliverable() -> bool:
        rows = await obot.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == HEAD))
        return bool(rows) and rows[0].status == "undeliverable"

    await until(undeliverable, timeout=15)
    await obot.idle()
    assert [m.text for m in oa.sent_to(OA_ADMIN) if "7 ngày" in m.text] == []  # not via the OA
    rows = await obot.scalars(
        select(OutboxMessage).where(OutboxMessage.dedupe_key.like("undeliverable:%"))
    )
    assert len(rows) == len(obot.runtime.ctx.admin_accounts()) - 1  # each admin elsewhere, once
