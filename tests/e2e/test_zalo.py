"""The same bot on Zalo (issue 7), end to end: the real start-up code runs the Zalo channel
beside Telegram, against a fake Zalo Bot API server (and the fake Telegram one).

Zalo has no buttons and no deep links: every choice is typed (a digit presses the n-th
choice shown; words work too), and survey and invitation codes are sent as messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.channels.zalo import ZALO_TYPE_NUMBER
from bot.usecases.people import citizen_key
from bot.usecases.surveying import respondent_key
from db.models import (
    ChatOffer,
    Member,
    OutboxMessage,
    Round,
    Submission,
    SubmissionValue,
    SurveyResponse,
)
from scheduler.reminders import REPORT_BUTTON_DATA
from surveys import i18n
from surveys import texts as T
from surveys.survey_machine import field_of
from tests.e2e.flows import answer_for, invite_payload, register
from tests.support.fakes.telegram_api import FakeTelegram
from tests.support.fakes.zalo_api import FakeZalo, ZaloSent
from tests.support.harness import (
    ADMIN,
    ZALO_ADMIN,
    Bot,
    BotProcess,
    FakeClock,
    database_url,
    free_port,
    running_bot,
    start_bot,
    texts,
    wait_until,
    write_config,
    zalo_config,
)
from tests.support.polling import until

TG_HEAD = 501  # Phòng Nội vụ's head on Telegram
ZALO_HEAD = "7d0a5c1e9b2f4a6c8e10"  # a unit head's Zalo user id
CITIZEN = "c91b2d3e4f5a6b7c8d9e"  # a citizen's Zalo user id
SECRET = "zalo-Hook_secret-123"


@pytest.fixture
async def zbot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path, clock, zalo=True) as running:
        await settle(running)
        yield running


def offers_of(bot: Bot, chat: str) -> Any:
    return select(ChatOffer).where(ChatOffer.chat_id == offer_key(bot, chat))


def offer_key(bot: Bot, chat: str) -> str:
    """What a chat's numbered choices are stored under: a keyed hash, not the Zalo id."""
    return citizen_key(bot.runtime.ctx, "zalo-offer", chat)


async def settle(bot: Bot) -> None:
    """Wait for the start-up tick (it opens the round) so it does not race the test."""
    for _ in range(200):
        if await bot.scalars(select(Round)):
            await bot.idle()
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the start-up tick never opened a round")


def body(messages: list[ZaloSent]) -> str:
    return "\n".join(m.text for m in messages)


async def join_on_zalo(bot: Bot, user: str, unit: str, name: str = "Nguyễn Văn Zalo") -> None:
    payload = await invite_payload(bot, unit)
    replies = await bot.zsay(user, payload, name=name)  # no /start payload on Zalo
    assert "Đăng ký thành công" in body(replies), body(replies)


async def answer_to_summary(bot: Bot, user: str, last: str) -> str:
    """Type an answer to every report question until the summary; the summary's text."""
    for _ in range(100):
        if "Gửi báo cáo" in last:
            return last
        replies = await bot.zsay(user, answer_for(last))
        last = replies[-1].text
    raise AssertionError("no summary after 100 answers")


# --------------------------------------------------------------------------- registration


async def test_an_invitation_sent_as_a_message_registers_a_zalo_account(zbot: Bot) -> None:
    await join_on_zalo(zbot, ZALO_HEAD, "PNV", name="Trần Thị Zalo")
    [member] = await zbot.scalars(select(Member).where(Member.channel == "zalo"))
    assert (member.unit_code, member.user_id, member.chat_id) == ("PNV", ZALO_HEAD, ZALO_HEAD)
    assert member.display_name == "Trần Thị Zalo"
    assert member.person_id is None  # one account so far

    helped = body(await zbot.zsay(ZALO_HEAD, "/help"))
    assert "Phòng Nội vụ" in helped and "/lienket" in helped
    # The same invitation a second time is refused (single use), from anyone.
    again = await invite_payload(zbot, "PNV")
    assert "Đăng ký thành công" in body(await zbot.zsay("other-user", again))
    assert T.INVITE_INVALID.format(**zbot.catalogue.org.words.values()) in body(
        await zbot.zsay("third-user", again)
    )


# --------------------------------------------------------------------------- reports


async def test_a_full_report_typed_on_zalo_survives_a_restart_at_the_summary(zbot: Bot) -> None:
    await join_on_zalo(zbot, ZALO_HEAD, "PNV")
    replies = await zbot.zsay(ZALO_HEAD, "/baocao")
    first = replies[-1].text
    assert "Chỉ tiêu 1/" in first
    assert "(hoặc gõ: Không áp dụng cho đơn vị)" in first  # digits are the answer here

    # The first indicator does not apply: its choice is typed in words, then the reason.
    asked = await zbot.zsay(ZALO_HEAD, "Không áp dụng cho đơn vị")
    assert T.ASK_SKIP_REASON in asked[-1].text
    nxt = await zbot.zsay(ZALO_HEAD, "Đơn vị không có hồ sơ loại này")
    summary = await answer_to_summary(zbot, ZALO_HEAD, nxt[-1].text)
    assert "1. Gửi báo cáo" in summary and "2. Sửa một mục" in summary and "3. Hủy" in summary
    assert len(summary) <= 2000
    [offer] = await zbot.scalars(offers_of(zbot, ZALO_HEAD))
    assert [label for label, _ in offer.buttons] == [
        T.SUMMARY_SEND,
        T.SUMMARY_EDIT,
        T.SUMMARY_CANCEL,
    ]

    # Which choice "1" is survives a restart: it is stored, not held in memory.
    await zbot.restart()
    await settle(zbot)
    done = await zbot.zsay(ZALO_HEAD, "1")
    assert "Đã ghi nhận báo cáo" in body(done), body(done)

    [submission] = await zbot.scalars(select(Submission))
    assert submission.unit_code == "PNV" and not submission.by_admin
    values = await zbot.scalars(
        select(SubmissionValue).where(SubmissionValue.submission_id == submission.id)
    )
    skipped = [v for v in values if v.skip_reason is not None]
    assert [v.skip_reason for v in skipped] == ["Đơn vị không có hồ sơ loại này"]
    assert len(values) > 5 and all(v.value is not None for v in values if v.skip_reason is None)
    # The summary's choices are spent: the offer is gone with the conversation.
    assert await zbot.scalars(offers_of(zbot, ZALO_HEAD)) == []
    assert T.NOT_UNDERSTOOD in body(await zbot.zsay(ZALO_HEAD, "1"))


async def test_a_digit_for_a_question_that_moved_on_changes_nothing(zbot: Bot) -> None:
    """An offer left over (a crash between the answer and storing the new offer) carries
    the old question's sequence number: the core refuses it and shows the current one."""
    await join_on_zalo(zbot, ZALO_HEAD, "PNV")
    first = await zbot.zsay(ZALO_HEAD, "/baocao")
    [old] = await zbot.scalars(offers_of(zbot, ZALO_HEAD))
    assert old.free_text  # a number question: its choice is typed in words
    assert old.buttons[0][1].endswith(":0.skip")
    moved = await zbot.zsay(ZALO_HEAD, answer_for(first[-1].text))
    async with zbot.runtime.ctx.sessions.begin() as session:
        row = await session.get(ChatOffer, ("zalo", offer_key(zbot, ZALO_HEAD)))
        assert row is not None and ":1." in row.buttons[0][1]  # the next question
        row.buttons, row.free_text = old.buttons, False  # as if the new offer was lost
    replies = await zbot.zsay(ZALO_HEAD, "1")
    assert T.BUTTON_STALE in body(replies)
    assert replies[-1].text == moved[-1].text  # the current question again, unchanged
    assert T.ASK_SKIP_REASON not in body(replies)


# --------------------------------------------------------------------------- surveys


async def test_a_full_survey_typed_on_zalo_counts_once(zbot: Bot) -> None:
    first = await zbot.zsay(CITIZEN, "S-MC-HUYEN")  # the code on the poster, any case
    question = first[-1].text
    assert "Câu 1/8" in question
    assert "1. Đất đai" in question and "2. Xây dựng" in question
    assert "1. 1. Đất đai" not in question  # no double numbering

    rating = await zbot.zsay(CITIZEN, "2")  # Xây dựng
    assert "Câu 2/8" in rating[-1].text
    assert ZALO_TYPE_NUMBER.format(n=5) in rating[-1].text
    for n, digit in enumerate(["5", "4", "4"], start=3):
        assert f"Câu {n}/8" in (await zbot.zsay(CITIZEN, digit))[-1].text
    asked = await zbot.zsay(CITIZEN, "2")
    assert "Câu 6/8. Ông/Bà có phản ánh, kiến nghị không?" in asked[-1].text
    assert "1. Có" in asked[-1].text and "2. Không" in asked[-1].text
    comment = await zbot.zsay(CITIZEN, "2")  # Không: the fifth element is not asked
    assert "Câu 7/7" in comment[-1].text and "(hoặc gõ: Bỏ qua)" in comment[-1].text
    thanks = await zbot.zsay(CITIZEN, "Thủ tục nhanh, cán bộ nhiệt tình")
    assert "Cảm ơn ông/bà đã góp ý!" in body(thanks)

    [response] = await zbot.scalars(select(SurveyResponse))
    assert response.status == "counted" and response.point_code == "mc-huyen"
    assert response.answers == {
        "field": "xay_dung",
        "tiep_can": 5,
        "thu_tuc": 4,
        "cong_chuc": 4,
        "ket_qua": 2,
        "co_phan_anh": "khong",
        "gop_y": "Thủ tục nhanh, cán bộ nhiệt tình",
    }
    questionnaire = zbot.catalogue.questionnaires["tthc"]
    point = zbot.catalogue.point("mc-huyen")
    assert point is not None
    assert response.field == field_of(questionnaire, point, response.answers)
    # Citizens are hashed per platform: the Zalo id nowhere, "zalo:<id>" in the HMAC.
    assert response.respondent == respondent_key(zbot.runtime.ctx, "zalo", CITIZEN)
    # A low rating with a comment reaches the admins, on Zalo too, without who sent it.
    assert zbot.zalo is not None
    [alert] = await zbot.zalo.wait_for(ZALO_ADMIN, timeout=15)
    assert "Thủ tục nhanh, cán bộ nhiệt tình" in alert.text and CITIZEN not in alert.text
    again = await zbot.zsay(CITIZEN, "s-mc-huyen")
    assert "Hôm nay ông/bà đã đánh giá" in body(again)
    # A code that is not a point's is ordinary text, not a survey.
    assert T.NOT_UNDERSTOOD in body(await zbot.zsay(CITIZEN, "s-khong-co"))


async def test_no_table_holds_a_zalo_citizens_id_finished_abandoned_or_expired(
    zbot: Bot,
) -> None:
    """Issue 19: an abandoned Zalo survey used to leave the citizen's raw id in
    ``chat_offers`` (the numbered choices shown) and ``conversations``."""
    from tests.e2e.test_surveys import stored_texts

    finisher, leaver, sleeper = "zc-finisher-4411", "zc-leaver-5522", "zc-sleeper-6633"
    await zbot.zsay(finisher, "s-dkdd-huyen")
    for answer in ("4", "5", "4", "4", "2"):  # four SIPAS ratings, "2. Không" feedback
        await zbot.zsay(finisher, answer)
    assert "Cảm ơn" in body(await zbot.zsay(finisher, "bỏ qua"))
    await zbot.zsay(leaver, "s-dkdd-huyen")
    await zbot.zsay(leaver, "3")  # and walks away, with the next choices offered
    await zbot.zsay(sleeper, "s-dkdd-huyen")
    zbot.clock.advance(minutes=31)
    assert "hết hạn" in body(await zbot.zsay(sleeper, "4"))
    assert await zbot.scalars(select(ChatOffer)) != []  # the scan sees the offers' table
    stored = "\n".join(await stored_texts(zbot))
    for citizen in (finisher, leaver, sleeper):
        assert citizen not in stored


async def test_a_khmer_survey_typed_on_zalo_gives_its_hints_in_khmer(zbot: Bot) -> None:
    first = await zbot.zsay(CITIZEN, "KM-S-DKDD-HUYEN")  # a Khmer poster's code, any case
    question = body(first)
    assert "សំណួរ 1/7" in question
    assert i18n.translate("km", ZALO_TYPE_NUMBER).format(n=5) in question
    assert "🇻🇳 Tiếng Việt" not in question and "Tiếng Việt · EN" in question  # type to switch
    for digit in ("៥", "4", "5", "៤", "២"):  # Khmer digits too; ២ = "គ្មាន" (no feedback)
        last = await zbot.zsay(CITIZEN, digit)
    assert "(ឬវាយ៖ រំលង)" in body(last)
    thanks = await zbot.zsay(CITIZEN, "រំលង")
    questionnaire = zbot.catalogue.questionnaires["tthc"]
    assert questionnaire.thanks is not None and questionnaire.thanks("km") in body(thanks)
    [response] = await zbot.scalars(select(SurveyResponse))
    assert response.status == "counted"
    assert response.answers == {
        "tiep_can": 5, "thu_tuc": 4, "cong_chuc": 5, "ket_qua": 4, "co_phan_anh": "khong",
    }  # fmt: skip


# --------------------------------------------------------------------------- reminders


async def test_reminders_fan_out_to_telegram_and_zalo_and_a_digit_opens_the_report(
    zbot: Bot,
) -> None:
    assert zbot.zalo is not None
    await register(zbot, TG_HEAD, "PNV")
    await join_on_zalo(zbot, ZALO_HEAD, "PTP")
    zbot.tg.mark(TG_HEAD)
    zbot.zalo.mark(ZALO_HEAD)

    queued = await zbot.say(ADMIN, "/nhacnho")
    assert "Đã xếp 2 lời nhắc" in texts(queued), texts(queued)
    [on_zalo] = await zbot.zalo.wait_for(ZALO_HEAD, timeout=15)
    [on_telegram] = await zbot.tg.wait_for(TG_HEAD, timeout=15)
    await zbot.idle()
    assert "Phòng Tư pháp" in on_zalo.text and "1. Nhập báo cáo" in on_zalo.text
    assert "Phòng Nội vụ" in on_telegram.body
    assert [d for _, d in on_telegram.buttons()] == [REPORT_BUTTON_DATA]
    rows = await zbot.scalars(select(OutboxMessage).order_by(OutboxMessage.channel))
    assert [(r.channel, r.status) for r in rows] == [("telegram", "sent"), ("zalo", "sent")]

    zbot.znew_to(ZALO_HEAD)
    opened = await zbot.zsay(ZALO_HEAD, "1")  # presses "Nhập báo cáo"
    assert "Báo cáo" in body(opened) and "Chỉ tiêu 1/" in opened[-1].text, body(opened)


async def test_a_404_fails_the_message_but_does_not_mark_the_member_unreachable(
    zbot: Bot,
) -> None:
    """Zalo documents 404 as "Not found", not as "blocked": the reminder fails, the member
    stays reachable and nobody is told the person blocked the bot."""
    assert "/trangthai" in body(await zbot.zsay(ZALO_ADMIN, "/help"))
    await join_on_zalo(zbot, ZALO_HEAD, "PTP")
    assert zbot.zalo is not None
    zbot.zalo.block(ZALO_HEAD)
    await zbot.say(ADMIN, "/nhacnho")

    async def failed() -> bool:
        rows = await zbot.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == ZALO_HEAD))
        return bool(rows) and rows[0].status == "failed"

    await until(failed, timeout=15)
    await zbot.idle()
    [member] = await zbot.scalars(select(Member).where(Member.channel == "zalo"))
    assert member.unreachable_at is None
    assert not any("đã chặn bot" in m.text for m in zbot.zalo.sent_to(ZALO_ADMIN))


async def test_a_configured_blocked_answer_marks_zalo_members_unreachable(
    tmp_path: Path, clock: FakeClock
) -> None:
    extra = 'blocked_descriptions = ["user not found"]\n'
    async with running_bot(tmp_path, clock, zalo=True, zalo_extra=extra) as zbot:
        await settle(zbot)
        await join_on_zalo(zbot, ZALO_HEAD, "PTP")
        assert zbot.zalo is not None
        zbot.zalo.block(ZALO_HEAD)
        await zbot.say(ADMIN, "/nhacnho")
        [alert] = await zbot.zalo.wait_for(ZALO_ADMIN, timeout=15)
        await zbot.idle()
        assert "Phòng Tư pháp" in alert.text and "đã chặn bot" in alert.text
        [member] = await zbot.scalars(select(Member).where(Member.channel == "zalo"))
        assert member.unreachable_at is not None
        [row] = await zbot.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == ZALO_HEAD)
        )
        assert row.status == "unreachable"


# --------------------------------------------------------------------------- linking


async def test_a_report_begun_on_telegram_is_finished_on_zalo_after_linking(zbot: Bot) -> None:
    await register(zbot, TG_HEAD, "PNV")
    last = (await zbot.say(TG_HEAD, "/baocao"))[-1]
    for _ in range(3):  # a ratio (two numbers), then one more number
        last = (await zbot.say(TG_HEAD, answer_for(last.body)))[-1]
    position = re.search(r"Chỉ tiêu (\d+)/", last.body)
    assert position is not None and position.group(1) != "1", last.body

    given = texts(await zbot.say(TG_HEAD, "/lienket"))
    found = re.search(r"\b(\d{6})\b", given)
    assert found is not None, given
    code = found.group(1)

    # A wrong code first: refused, and the right one still works afterwards.
    wrong = "000000" if code != "000000" else "111111"
    assert T.LINK_INVALID in body(await zbot.zsay(ZALO_HEAD, f"/lienket {wrong}"))
    linked = await zbot.zsay(ZALO_HEAD, f"/lienket {code}")
    assert "Liên kết thành công" in body(linked), body(linked)
    assert T.LINK_INVALID in body(await zbot.zsay("someone-else", code))  # single use

    resumed = await zbot.zsay(ZALO_HEAD, "/baocao")
    assert f"chỉ tiêu {position.group(1)}/" in resumed[0].text, body(resumed)
    summary = await answer_to_summary(zbot, ZALO_HEAD, resumed[-1].text)
    assert "Gửi báo cáo" in summary
    done = await zbot.zsay(ZALO_HEAD, "gửi")  # words work too
    assert "Đã ghi nhận báo cáo" in body(done)

    members = await zbot.scalars(select(Member).order_by(Member.id))
    telegram, zalo = members
    assert (telegram.channel, zalo.channel) == ("telegram", "zalo")
    assert zalo.unit_code == telegram.unit_code == "PNV"
    assert telegram.person_id == zalo.person_id == telegram.id
    [submission] = await zbot.scalars(select(Submission))
    assert submission.member_id == zalo.id
    # Both accounts see one conversation: nothing is left open on either side.
    assert T.NOTHING_TO_CANCEL in texts(await zbot.say(TG_HEAD, "/huy"))


async def test_linking_needs_a_registered_member_and_refuses_another_unit(zbot: Bot) -> None:
    assert T.LINK_MEMBER_ONLY in body(await zbot.zsay(CITIZEN, "/lienket"))
    assert T.LINK_USAGE in body(await zbot.zsay(CITIZEN, "/lienket 12ab"))
    await register(zbot, TG_HEAD, "PNV")
    await join_on_zalo(zbot, ZALO_HEAD, "PTP")
    code = re.search(r"\b(\d{6})\b", texts(await zbot.say(TG_HEAD, "/link")))
    assert code is not None
    refused = await zbot.zsay(ZALO_HEAD, f"/lienket {code.group(1)}")
    assert "Phòng Tư pháp" in body(refused) and "không liên kết thêm" in body(refused)
    assert len(await zbot.scalars(select(Member))) == 2


# --------------------------------------------------------------------------- processes


async def test_run_polls_telegram_and_zalo_together_and_stops_cleanly(tmp_path: Path) -> None:
    async with FakeTelegram() as tg, FakeZalo() as zalo:
        config = write_config(tmp_path, tg, zalo_config(zalo))
        process = await start_bot(config, tmp_path / "bot.log")
        try:
            zalo.user_sends(CITIZEN, "/help")
            [on_zalo] = await zalo.wait_for(CITIZEN, timeout=30)
            tg.user_sends(ADMIN, "/help")
            [on_telegram] = await tg.wait_for(ADMIN, timeout=30)
            assert "Quét mã QR" in on_zalo.text and "/trangthai" in on_telegram.body
            assert any(method == "deleteWebhook" for method, _ in zalo.requests)  # polling
        finally:
            assert await process.stop() == 0
    assert "Traceback" not in process.output()


async def test_each_platform_keeps_its_own_sending_rate(zbot: Bot) -> None:
    dispatcher = zbot.runtime.dispatcher
    assert dispatcher is not None
    zalo = dispatcher.limiter_for("zalo")
    assert zalo.per_second == zbot.config.zalo.messages_per_second == 10.0
    assert dispatcher.limiter_for("zalo") is zalo
    telegram = dispatcher.limiter_for("telegram")
    assert telegram is dispatcher.limiter and telegram.per_second == 25.0
    zalo.pause(30.0)  # Zalo's 429 holds Zalo's sends only
    assert telegram.paused_until < zalo.paused_until


# --------------------------------------------------------------------------- webhook


def zalo_only_config(tmp: Path, zalo: FakeZalo, port: int) -> Path:
    path = tmp / "config.toml"
    path.write_text(
        f"""
[database]
url = "{database_url(tmp)}"

[survey]
secret = "a-test-secret-of-enough-length"

[zalo]
enabled = true
token = "{zalo.token}"
base_url = "{zalo.base_url}"
webhook_url = "https://cchc.example.gov.vn/zalo/hook"
webhook_secret = "{SECRET}"
webhook_listen = "127.0.0.1"
webhook_port = {port}
webhook_path = "zalo/hook"
""",
        encoding="utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def zalo_webhook_bot(
    tmp: Path, shape: str = "flat"
) -> AsyncIterator[tuple[FakeZalo, BotProcess, int]]:
    port = free_port()
    async with FakeZalo() as zalo:
        zalo.webhook_shape = shape
        zalo.proxy_to = f"http://127.0.0.1:{port}"  # nginx in front, terminating HTTPS
        process = await start_bot(zalo_only_config(tmp, zalo, port), tmp / "bot.log", "--webhook")
        try:
            await wait_until(lambda: bool(zalo.webhook_url), process)
            yield zalo, process, port
        finally:
            await process.stop()


async def post(port: int, headers: dict[str, str], user: str, flat: bool = False) -> int:
    update: dict[str, object] = {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": user, "display_name": "Khách", "is_bot": False},
            "chat": {"id": user, "chat_type": "PRIVATE"},
            "text": "/help",
            "message_id": f"x-{user}",
            "date": 1_750_316_131_602,
        },
    }
    if not flat:
        update = {"ok": True, "result": update}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/zalo/hook", json=update, headers=headers
        ) as response,
    ):
        return response.status


@pytest.mark.parametrize("shape", ["flat", "wrapped"])
async def test_zalo_alone_in_webhook_mode_refuses_a_wrong_secret(
    tmp_path: Path, shape: str
) -> None:
    async with zalo_webhook_bot(tmp_path, shape) as (zalo, process, port):
        assert zalo.webhook_url == "https://cchc.example.gov.vn/zalo/hook"
        assert zalo.webhook_secret == SECRET
        assert not any(method == "getUpdates" for method, _ in zalo.requests)

        zalo.user_sends(CITIZEN, "/help")  # pushed by the fake with the right secret
        [reply] = await zalo.wait_for(CITIZEN, timeout=30)
        assert "Quét mã QR" in reply.text
        assert zalo.pending_updates == 0

        wrong = await post(port, {"X-Bot-Api-Secret-Token": "not-the-secret"}, "intruder")
        missing = await post(port, {}, "intruder")
        assert (wrong, missing) == (403, 403)

        assert await post(port, {"X-Bot-Api-Secret-Token": SECRET}, "guest") == 200
        [answer] = await zalo.wait_for("guest", timeout=30)
        assert "Quét mã QR" in answer.text
        assert await post(port, {"X-Bot-Api-Secret-Token": SECRET}, "flat", flat=True) == 200
        [answer] = await zalo.wait_for("flat", timeout=30)
        assert "Quét mã QR" in answer.text
        # The same message POSTed again (Zalo retrying) is answered once.
        assert await post(port, {"X-Bot-Api-Secret-Token": SECRET}, "flat", flat=True) == 200
        zalo.user_sends("flat", "/help")  # a later message shows the retry was dropped
        [later] = await zalo.wait_for("flat", timeout=30)
        assert "Quét mã QR" in later.text and len(zalo.sent_to("flat")) == 2

        assert await process.stop() == 0  # a clean stop: nothing is left being handled
        assert zalo.sent_to("intruder") == []  # the refused updates were not handled
    assert "Traceback" not in process.output()
