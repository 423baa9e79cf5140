"""Citizen satisfaction surveys end to end, through the fake Bot API server (issue 5).

Points used: ``dkdd-huyen`` (land registration office: questionnaire tthc with the field fixed
to đất đai, so three ratings and a comment, "Câu 1/4" … "Câu 4/4"), ``mc-huyen`` (the
district's one-stop counter: the field question first, "Câu 1/5"), ``p-tnmt`` (questionnaire
hanh_chinh, target 15).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.usecases.people import citizen_key
from db.models import (
    Conversation,
    OfficialSurveyFigure,
    OutboxMessage,
    SurveyDailyCount,
    SurveyLink,
    SurveyResponse,
)
from surveys import texts as T
from surveys.numbers import format_percent
from surveys.scoring import satisfaction_rate
from tests.e2e.flows import register
from tests.integration.test_poster import png_encodes
from tests.support.fakes.telegram_api import SentMessage
from tests.support.harness import ADMIN, OTHER_ADMIN, Bot, FakeClock, running_bot, texts
from tests.support.polling import until

CITIZEN = 731_245_998
OTHER = 731_245_999
HEAD = 501
GROUP = -100_777
LAND = "s-dkdd-huyen"
THANKS_TTHC = "Cảm ơn ông/bà đã góp ý!"


def respondent(bot: Bot, user: int) -> str:
    secret = bot.config.survey.secret.encode()
    return hmac.new(secret, f"telegram:{user}".encode(), hashlib.sha256).hexdigest()


async def survey(bot: Bot, user: int, payload: str, answers: list[str], **who: str) -> SentMessage:
    """Open ``payload`` and type every (valid) answer in one go, as a quick citizen does;
    the bot's answer to the last one. Each valid input gets exactly one message back."""
    bot.new_to(user)
    bot.tg.mark(user)
    for text in [f"/start {payload}", *answers]:
        bot.tg.user_sends(user, text, **who)
    replies = await bot.tg.wait_for(user, count=1 + len(answers))
    await bot.idle()
    assert "Câu 1/" in replies[0].body, texts(replies)
    assert bot.new_to(user) == replies, texts(bot.new_to(user))
    return replies[-1]


async def each_answered(bot: Bot, user: int, inputs: list[str]) -> list[SentMessage]:
    """Send every input at once; the bot answers each with exactly one message, in order."""
    bot.new_to(user)
    bot.tg.mark(user)
    for text in inputs:
        bot.tg.user_sends(user, text)
    replies = await bot.tg.wait_for(user, count=len(inputs))
    await bot.idle()
    assert bot.new_to(user) == replies
    return replies


async def responses(bot: Bot) -> list[SurveyResponse]:
    return await bot.scalars(select(SurveyResponse).order_by(SurveyResponse.id))


async def daily(bot: Bot) -> list[tuple[object, ...]]:
    rows = await bot.scalars(select(SurveyDailyCount))
    return sorted(
        (
            r.point_code,
            r.field,
            r.target,
            r.level1,
            r.level2,
            r.level3,
            r.level4,
            r.level5,
            r.respondents,
            r.fully_satisfied,
        )
        for r in rows
    )


def line_of(text: str, start: str) -> str:
    found = [line for line in text.splitlines() if line.startswith(start)]
    assert len(found) == 1, f"no single line starting {start!r} in:\n{text}"
    return found[0]


async def status_text(bot: Bot) -> str:
    return texts(await bot.say(ADMIN, "/trangthai"))


# --------------------------------------------------------------------------- the flow


async def test_a_deep_link_starts_the_survey_at_once_and_counts_it_anonymously(bot: Bot) -> None:
    who = {"first_name": "Trần Thị Bình", "username": "binh_tran"}
    [first] = await bot.say(CITIZEN, f"/start {LAND}", **who)  # no menu, no "press start"
    assert first.body.startswith("📋 Chi nhánh Văn phòng Đăng ký đất đai huyện Long Phú\n")
    assert "\n\nCâu 1/7. " in first.body
    assert "1 — Rất không hài lòng" in first.body and "5 — Rất hài lòng" in first.body
    assert first.reply_markup is not None
    # one row of five buttons, and the switch to the other languages
    row, languages = first.reply_markup["inline_keyboard"]
    assert [b["text"] for b in row] == ["1", "2", "3", "4", "5"]
    assert [b["text"] for b in languages] == ["🇰🇭 ខ្មែរ", "🇬🇧 EN"]

    second = (await bot.say(CITIZEN, "4", **who))[-1]  # a typed digit
    assert second.body.startswith("Câu 2/7. ")
    third = (await bot.press(CITIZEN, second, "5"))[-1]  # a button
    assert third.body.startswith("Câu 3/7. ")
    hint, again = await bot.say(CITIZEN, "7", **who)
    assert hint.body == T.SURVEY_RATING_HINT and again.body == third.body
    fourth = (await bot.say(CITIZEN, "3", **who))[-1]
    assert fourth.body.startswith("Câu 4/7. ")
    asked = (await bot.say(CITIZEN, "4", **who))[-1]
    assert asked.body == "Câu 5/7. Ông/Bà có phản ánh, kiến nghị không?"
    comment = (await bot.press(CITIZEN, asked, "Không"))[-1]  # no feedback: no 5th element
    assert comment.body.startswith("Câu 6/6. ")
    assert [label for label, _ in comment.buttons()] == ["Bỏ qua"]
    [thanks] = await bot.press(CITIZEN, comment, "Bỏ qua")
    assert thanks.body == str(bot.catalogue.questionnaires["tthc"].thanks)

    [response] = await responses(bot)
    assert response.status == "counted" and response.field == "dat_dai"
    assert response.answers == {
        "tiep_can": 4, "thu_tuc": 5, "cong_chuc": 3, "ket_qua": 4, "co_phan_anh": "khong",
    }  # fmt: skip
    assert response.respondent == respondent(bot, CITIZEN)
    assert response.day == date(2026, 11, 20) and response.record_code is None
    stored = repr(
        [vars(r) for r in await responses(bot)]
        + [vars(r) for r in await bot.scalars(select(SurveyDailyCount))]
        + [vars(c) for c in await bot.scalars(select(Conversation))]
    )
    for secret in (str(CITIZEN), "Trần Thị Bình", "binh_tran"):
        assert secret not in stored
    # the four ratings count for 14 and for 15 (SIPAS at the one-stop counter)
    assert await daily(bot) == [
        ("dkdd-huyen", "dat_dai", "14", 0, 0, 1, 2, 1, 1, 0),
        ("dkdd-huyen", "dat_dai", "15", 0, 0, 1, 2, 1, 1, 0),
    ]
    assert await bot.scalars(select(Conversation)) == []


async def test_the_field_answer_decides_14a_by_the_years_field_set(tmp_path: Path) -> None:
    """2025: đất đai and xây dựng count for 14a; from 2026 đầu tư counts too."""
    async with running_bot(tmp_path, FakeClock(datetime(2025, 11, 20, 9, 0))) as bot:
        await survey(bot, CITIZEN, "s-mc-huyen", ["3", "5", "5", "5", "5", "2", "bỏ qua"])
        await survey(bot, OTHER, "s-mc-huyen", ["Đất đai", "4", "4", "2", "4", "2", "bỏ qua"])
        text = await status_text(bot)  # 3 = Đầu tư; "2" = Không (no feedback)
        assert "QUÝ IV/2025" in text.upper()
        assert "(2 người, n=8 câu trả lời" in line_of(text, "• 14. ")
        assert "(1 người, n=4 câu trả lời" in line_of(text, "• 14a. ")

        bot.clock.set_local(datetime(2026, 11, 20, 9, 0))
        await survey(bot, CITIZEN, "s-mc-huyen", ["3", "5", "5", "5", "5", "2", "bỏ qua"])
        await survey(bot, OTHER, "s-mc-huyen", ["1", "4", "4", "2", "4", "2", "bỏ qua"])
        text = await status_text(bot)
        assert "QUÝ IV/2026" in text.upper()
        assert "(2 người, n=8 câu trả lời" in line_of(text, "• 14a. ")
        fields = Counter((r.day.year, r.field, r.status) for r in await responses(bot))
        assert fields == {
            (2025, "dau_tu", "counted"): 1,
            (2025, "dat_dai", "counted"): 1,
            (2026, "dau_tu", "counted"): 1,
            (2026, "dat_dai", "counted"): 1,
        }


async def test_a_low_rating_with_a_comment_reaches_the_admins_without_who_sent_it(
    bot: Bot,
) -> None:
    registered = await bot.say(ADMIN, "/start", chat_id=GROUP, chat_type="group")
    assert T.GROUP_REGISTERED.format(**bot.catalogue.org.words.values()) in texts(registered)
    who = {"first_name": "Lê Văn Cường", "username": "cuong_le"}
    complaint = "Cán bộ yêu cầu nộp thêm giấy tờ không có trong quy định"
    thanks = await survey(bot, CITIZEN, LAND, ["2", "1", "2", "2", "2", complaint], **who)
    assert THANKS_TTHC in thanks.body
    for chat in (ADMIN, OTHER_ADMIN, GROUP):
        [alert] = await bot.tg.wait_for(chat, predicate=lambda m: "Phản ánh" in m.body)
        assert complaint in alert.body and "mức 1/5" in alert.body
        assert "Chi nhánh Văn phòng Đăng ký đất đai" in alert.body and "20/11/2026" in alert.body
        for secret in (str(CITIZEN), "Lê Văn Cường", "cuong_le"):
            assert secret not in alert.body
    rows = await bot.scalars(select(OutboxMessage))
    assert sorted(r.chat_id for r in rows) == sorted([str(ADMIN), str(OTHER_ADMIN), str(GROUP)])
    assert all(str(CITIZEN) not in f"{r.text}{r.dedupe_key}" for r in rows)

    # A comment with no low rating, or a low rating with no comment, stays in the database.
    await survey(bot, OTHER, LAND, ["3", "4", "3", "3", "2", "Phòng chờ hơi nóng"])
    await survey(bot, OTHER + 1, LAND, ["1", "1", "1", "1", "2", "bỏ qua"])
    await bot.idle()
    assert len(await bot.scalars(select(OutboxMessage))) == 3
    for chat in (ADMIN, OTHER_ADMIN, GROUP):
        assert sum("Phản ánh" in m.body for m in bot.tg.sent_to(chat)) == 1


# --------------------------------------------------------------------------- counting once


async def test_one_person_counts_once_per_point_per_day(bot: Bot) -> None:
    await survey(bot, CITIZEN, LAND, ["5", "5", "5", "5", "2", "bỏ qua"])
    [again] = await bot.say(CITIZEN, f"/start {LAND}")
    assert again.body == T.SURVEY_ALREADY_COUNTED.format(
        point="Chi nhánh Văn phòng Đăng ký đất đai huyện Long Phú"
    )
    assert "Câu" not in again.body and len(await responses(bot)) == 1

    elsewhere = await survey(bot, CITIZEN, "s-p-tnmt", ["4", "4", "4", "4", "2", "bỏ qua"])
    assert "Cảm ơn ông/bà đã góp ý" in elsewhere.body
    bot.clock.advance(days=1)
    await survey(bot, CITIZEN, LAND, ["3", "3", "3", "3", "2", "bỏ qua"])

    counted = [(r.point_code, r.day.day) for r in await responses(bot) if r.status == "counted"]
    assert counted == [("dkdd-huyen", 20), ("p-tnmt", 20), ("dkdd-huyen", 21)]
    # respondents: the two at the land office count for 14 and 15, p-tnmt's for 15
    assert sum(row[8] for row in await daily(bot)) == 5


async def test_a_race_past_the_first_check_is_thanked_but_not_counted(bot: Bot) -> None:
    """Another process counted this person here today while their survey was open."""
    await survey(bot, CITIZEN, LAND, ["5", "5", "5", "5", "2"])
    async with bot.runtime.ctx.sessions.begin() as session:
        session.add(
            SurveyResponse(
                point_code="dkdd-huyen",
                questionnaire="tthc",
                respondent=respondent(bot, CITIZEN),
                day=date(2026, 11, 20),
                status="counted",
                answers={"tiep_can": 1},
                started_at=bot.clock(),
            )
        )
    [reply] = await bot.say(CITIZEN, "bỏ qua")
    assert reply.body == T.SURVEY_REPEAT
    assert sorted(r.status for r in await responses(bot)) == ["counted", "repeat"]
    assert await daily(bot) == []  # the repeat added nothing


async def test_unfinished_surveys_never_count_and_expire_after_30_minutes(bot: Bot) -> None:
    await survey(bot, CITIZEN, LAND, ["5"])
    [open_one] = await responses(bot)
    assert open_one.status == "open" and await daily(bot) == []  # nothing counted yet
    bot.clock.advance(minutes=29)
    assert (await bot.say(CITIZEN, "4"))[-1].body.startswith("Câu 3/7. ")
    bot.clock.advance(minutes=2)  # 31 minutes after the start
    [expired] = await bot.say(CITIZEN, "4")
    assert expired.body == T.SURVEY_EXPIRED.format(minutes=30)
    [response] = await responses(bot)
    assert response.status == "expired" and response.answers == {}
    assert await bot.scalars(select(Conversation)) == []
    assert "chưa hiểu" in texts(await bot.say(CITIZEN, "5"))

    # Starting another survey abandons the one left open.
    await survey(bot, OTHER, LAND, ["5", "5"])
    await survey(bot, OTHER, "s-p-tnmt", [])
    statuses = [(r.point_code, r.status) for r in await responses(bot) if r.id != response.id]
    assert statuses == [("dkdd-huyen", "expired"), ("p-tnmt", "open")]
    assert await daily(bot) == []


async def test_more_than_20_starts_an_hour_are_refused_politely(bot: Bot) -> None:
    points = ["dkdd-huyen", "p-tnmt", "mc-huyen", "ttyt-huyen"]
    for n in range(20):
        bot.tg.user_sends(CITIZEN, f"/start s-{points[n % 4]}")
    await until(lambda: sum("Câu 1/" in m.body for m in bot.tg.sent_to(CITIZEN)) == 20)
    await bot.idle()
    [refused] = await bot.say(CITIZEN, "/start s-tyt-long-duc")
    assert refused.body == T.SURVEY_TOO_MANY
    assert len(await responses(bot)) == 20
    bot.clock.advance(minutes=61)
    assert "Câu 1/" in texts(await bot.say(CITIZEN, "/start s-tyt-long-duc"))


async def test_a_qr_code_scanned_mid_report_does_not_throw_the_report_away(bot: Bot) -> None:
    await register(bot, HEAD, "PNV")
    question = (await bot.say(HEAD, "/baocao"))[-1]
    assert "Chỉ tiêu 1/" in question.body
    [busy] = await bot.say(HEAD, f"/start {LAND}")
    assert busy.body == T.SURVEY_BUSY_REPORT
    [conv] = await bot.scalars(select(Conversation))
    assert conv.kind == "report" and await responses(bot) == []


# --------------------------------------------------------------------------- links and buttons


async def test_forged_or_unknown_deep_links_get_a_clear_message(bot: Bot) -> None:
    payloads = [
        "s-khong-co-diem",
        "r-AbCdEfGhIjKlMnOp",
        "s-",
        "r-",
        "x-mc-huyen",
        "s-MC-HUYEN--",
        "r-" + "A" * 60,
    ]
    replies = await each_answered(bot, CITIZEN, [f"/start {p}" for p in payloads])
    assert [r.body for r in replies] == [T.SURVEY_UNKNOWN] * len(payloads)
    assert await responses(bot) == []
    assert await bot.scalars(select(Conversation)) == []


async def test_old_buttons_change_nothing(bot: Bot) -> None:
    first = (await bot.say(CITIZEN, f"/start {LAND}"))[-1]
    second = (await bot.press(CITIZEN, first, "4"))[-1]
    third = (await bot.press(CITIZEN, second, "5"))[-1]
    fourth = (await bot.press(CITIZEN, third, "4"))[-1]
    fifth = (await bot.press(CITIZEN, fourth, "4"))[-1]
    sixth = (await bot.press(CITIZEN, fifth, "Không"))[-1]
    await bot.press(CITIZEN, sixth, "Bỏ qua")
    before = (await daily(bot), [(r.status, r.answers) for r in await responses(bot)])

    # The finished survey's first question, pressed again (its keyboard is already gone).
    [stale] = await bot.press_data(CITIZEN, first, first.button_data("1"), strict=False)
    assert stale.body == T.BUTTON_EXPIRED
    assert (await daily(bot), [(r.status, r.answers) for r in await responses(bot)]) == before

    # Pressed during another survey, it does not answer that one either.
    current = (await bot.say(CITIZEN, "/start s-p-tnmt"))[-1]
    [stale] = await bot.press_data(CITIZEN, second, second.button_data("1"), strict=False)
    assert stale.body == T.BUTTON_EXPIRED
    nxt = (await bot.say(CITIZEN, "4"))[-1]
    assert nxt.body.startswith("Câu 2/7. ")
    # A button of this survey's first question (still on screen: it was answered by typing).
    hint, again = await bot.press(CITIZEN, current, "2")
    assert hint.body == T.SURVEY_OLD_BUTTON and again.body == nxt.body
    [open_response] = [r for r in await responses(bot) if r.status == "open"]
    async with bot.runtime.ctx.sessions() as session:
        key = citizen_key(bot.runtime.ctx, "telegram", str(CITIZEN))
        assert await session.get(Conversation, ("telegram", str(CITIZEN))) is None
        conv = await session.get(Conversation, ("telegram", key))
        assert conv is not None and conv.state["m"]["answers"] == {"tiep_can": 4}
    assert open_response.point_code == "p-tnmt"
    assert (await daily(bot), [(r.status, r.answers) for r in await responses(bot)][:1]) == before


async def test_staff_make_one_time_record_links_that_count_once(bot: Bot) -> None:
    await register(bot, HEAD, "VP")  # Văn phòng HĐND và UBND runs the district's counter
    [poster] = await bot.say(HEAD, "/qr mc-huyen 000.00.25.H56-241120-0001")
    assert poster.method == "sendPhoto" and poster.file_bytes is not None
    link = next(w for w in poster.body.split() if w.startswith("https://t.me/"))
    assert link.startswith("https://t.me/cchc_test_bot?start=r-")
    assert "000.00.25.H56-241120-0001" in poster.body
    assert png_encodes(poster.file_bytes, link)
    payload = link.split("start=", 1)[1]
    [stored] = await bot.scalars(select(SurveyLink))
    assert stored.record_code == "000.00.25.H56-241120-0001" and payload[2:] not in repr(
        vars(stored)
    )

    # Two citizens open the same link; the first to finish counts, the other is told.
    await bot.say(OTHER, f"/start {payload}")
    done = await survey(bot, CITIZEN, payload, ["1", "5", "5", "5", "5", "2", "bỏ qua"])
    assert THANKS_TTHC in done.body
    for answer in ["1", "4", "4", "4", "4", "2"]:
        bot.tg.user_sends(OTHER, answer)
    await bot.tg.wait_for(OTHER, predicate=lambda m: "Câu 7/7" in m.body)
    [late] = await bot.say(OTHER, "bỏ qua")
    assert late.body == T.SURVEY_LINK_USED
    [used] = await bot.say(OTHER + 1, f"/start {payload}")
    assert used.body == T.SURVEY_LINK_USED

    rows = [(r.status, r.record_code) for r in await responses(bot)]
    assert sorted(rows) == [
        ("counted", "000.00.25.H56-241120-0001"),
        ("repeat", "000.00.25.H56-241120-0001"),
    ]
    assert sum(row[8] for row in await daily(bot)) == 2  # one person, for 14 and 15


async def test_qr_in_chat_is_for_staff_and_their_own_points(bot: Bot) -> None:
    [refused] = await bot.say(CITIZEN, "/qr mc-huyen")
    assert refused.body == T.QR_STAFF_ONLY.format(**bot.catalogue.org.words.values())
    await register(bot, HEAD, "PTP")  # Phòng Tư pháp runs no service point
    [other] = await bot.say(HEAD, "/qr mc-huyen HS-1")
    assert other.method == "sendMessage" and "Không có điểm khảo sát mã “mc-huyen”" in other.body
    [usage] = await bot.say(ADMIN, "/qr")
    assert "Cách dùng: /qr" in usage.body and "tyt-long-duc" in usage.body
    [bad] = await bot.say(ADMIN, "/qr mc-huyen HS#1")
    assert bad.body == T.QR_BAD_RECORD.format(record="HS#1")
    [poster] = await bot.say(ADMIN, "/qr TTYT-HUYEN")
    assert poster.method == "sendPhoto" and poster.file_bytes is not None
    assert png_encodes(poster.file_bytes, "https://t.me/cchc_test_bot?start=s-ttyt-huyen")
    assert "Trung tâm Y tế huyện Long Phú" in poster.body
    # A commune health station is run by the district health centre: its head may print it.
    await register(bot, HEAD + 1, "TTYT")
    [station] = await bot.say(HEAD + 1, "/qr tyt-long-duc")
    assert station.method == "sendPhoto"
    assert await bot.scalars(select(SurveyLink)) == []  # no record code, no one-time link


# --------------------------------------------------------------------------- official figures


async def test_official_survey_figures_are_shown_beside_the_bots_own(bot: Bot) -> None:
    assert (await bot.say(CITIZEN, "/khaosat_chinhthuc 14 87,5"))[0].body == T.ADMIN_ONLY.format(
        **bot.catalogue.org.words.values()
    )
    [usage] = await bot.say(ADMIN, "/khaosat_chinhthuc")
    assert "Cách dùng" in usage.body and "14, 14a, 15, 16" in usage.body
    refused = {
        "17 80": T.OFFICIAL_BAD_TARGET.format(code="17", codes="14, 14a, 15, 16"),
        "14 120": T.OFFICIAL_BAD_VALUE.format(text="120"),
        "14 tám mươi": T.OFFICIAL_BAD_VALUE.format(text="tám"),
        "14 87,5 0": T.OFFICIAL_BAD_SAMPLE.format(text="0"),
        "14 87,5 12,5": T.OFFICIAL_BAD_SAMPLE.format(text="12,5"),
        "15 80 400 2020-Q1": T.ROUND_UNKNOWN.format(key="2020-Q1"),
    }
    replies = await each_answered(bot, ADMIN, [f"/khaosat_chinhthuc {a}" for a in refused])
    assert [r.body for r in replies] == list(refused.values())
    assert await bot.scalars(select(OfficialSurveyFigure)) == []

    [saved] = await bot.say(ADMIN, "/khaosat_chinhthuc 14 87,5 400")
    assert "87,5%" in saved.body and "400" in saved.body and "Quý IV/2026" in saved.body
    await bot.say(ADMIN, "/official 16 91%")
    await survey(bot, CITIZEN, LAND, ["5", "5", "4", "5", "2", "bỏ qua"])

    text = await status_text(bot)
    line_14 = line_of(text, "• 14. ")
    assert "chưa đủ dữ liệu (1 người, n=4 câu trả lời" in line_14
    assert line_14.endswith("(khảo sát chính thức: 87,5%)")
    assert line_of(text, "• 16. ").endswith("(khảo sát chính thức: 91%)")
    assert "chính thức" not in line_of(text, "• 15. ")
    assert "(1 người, n=4 câu trả lời" in line_of(text, "• 15. ")  # SIPAS feeds 15 too

    await bot.say(ADMIN, "/khaosat_chinhthuc 14 88")  # a correction: the latest is shown
    line_14 = line_of(await status_text(bot), "• 14. ")
    assert line_14.endswith("(khảo sát chính thức: 88%)") and "(1 người, n=4" in line_14
    figures = await bot.scalars(select(OfficialSurveyFigure).order_by(OfficialSurveyFigure.id))
    assert [(f.target, f.value, f.sample) for f in figures] == [
        ("14", 87.5, 400),
        ("16", 91.0, None),
        ("14", 88.0, None),
    ]
    assert await daily(bot) == [
        ("dkdd-huyen", "dat_dai", "14", 0, 0, 0, 1, 3, 1, 1),
        ("dkdd-huyen", "dat_dai", "15", 0, 0, 0, 1, 3, 1, 1),
    ]


# --------------------------------------------------------------------------- many at once


def ratings_of(n: int) -> tuple[int, int, int, int]:
    return (n % 5) + 1, (n * 3 % 5) + 1, (n * 7 % 5) + 1, (n * 2 % 5) + 1


ASKED = re.compile(r"Câu (\d)/\d\. ")


async def test_200_citizens_answering_at_once_are_each_counted_exactly_once(bot: Bot) -> None:
    """Everyone's updates are queued at once, interleaved at random (each person's own in
    order): 150 type their digits; 50 press each button as its question reaches them."""
    tg = bot.tg
    citizens = list(range(600_000, 600_200))
    pressers = {c for c in citizens if c % 4 == 0}
    # rated 5, 3, 4, 4 and no feedback ("2" = Không): a 2 with a comment would go to the
    # admins, which this test does not want
    commenters = {c for c in citizens if c % 10 == 4 and c not in pressers}

    def typed(c: int) -> list[str]:
        last = f"Góp ý của người số {c}" if c in commenters else "bỏ qua"
        return [*map(str, ratings_of(c)), "2", last]

    queues = {c: [f"/start {LAND}", *([] if c in pressers else typed(c))] for c in citizens}
    rng = random.Random(5)
    while queues:
        c = rng.choice(list(queues))
        tg.user_sends(c, queues[c].pop(0))
        if not queues[c]:
            del queues[c]

    thanked: Counter[int] = Counter()
    latest: dict[int, SentMessage] = {}
    pressed: set[tuple[int, int]] = set()
    cursor = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while sum(thanked.values()) < len(citizens):
        assert loop.time() < deadline, f"only {sum(thanked.values())} thanked"
        for m in tg.sent[cursor:]:
            if m.method == "sendMessage":
                latest[m.chat_id] = m
                thanked[m.chat_id] += m.body.startswith(THANKS_TTHC)
        cursor = len(tg.sent)
        for c in pressers:
            m = latest.get(c)
            asked = ASKED.search(m.body) if m is not None else None
            if m is None or asked is None or (c, m.message_id) in pressed:
                continue
            pressed.add((c, m.message_id))
            step = int(asked.group(1)) - 1
            labels = [*map(str, ratings_of(c)), "2. Không", "Bỏ qua"]
            label = labels[step]
            tg.user_presses(c, m, m.button_data(label))
        await asyncio.sleep(0.02)
    await bot.idle()

    assert thanked == dict.fromkeys(citizens, 1)
    assert len(pressed) == 6 * len(pressers)
    rows = await responses(bot)
    assert len(rows) == 200 and {r.status for r in rows} == {"counted"}
    assert {r.respondent for r in rows} == {respondent(bot, c) for c in citizens}
    for r in rows:
        assert r.answers["tiep_can"] in range(1, 6) and r.answers["co_phan_anh"] == "khong"
    levels = Counter(level for c in citizens for level in ratings_of(c))
    for target, row in zip(("14", "15"), await daily(bot), strict=True):
        (point, field, got, *counts, people, fully) = row
        assert (point, field, got) == ("dkdd-huyen", "dat_dai", target)
        assert counts == [levels[n] for n in range(1, 6)] and sum(counts) == 800
        assert people == 200
        assert fully == sum(all(r >= 4 for r in ratings_of(c)) for c in citizens)
    assert sum(bool(r.answers.get("gop_y")) for r in rows) == len(commenters) == 10
    assert await bot.scalars(select(OutboxMessage)) == []  # no low rating came with a comment

    rate = satisfaction_rate(levels)
    line_14 = line_of(await status_text(bot), "• 14. ")
    # the interval is over respondents (4 answers each, not independent): wider than
    # Wilson's on the 800 answers
    assert f"{format_percent(rate.rate)} (200 người, n=800 câu trả lời, KTC 95%: " in line_14
    found = re.search(r"KTC 95%: ([\d,]+)%–([\d,]+)%", line_14)
    assert found is not None
    low, high = (float(x.replace(",", ".")) for x in found.groups())
    assert rate.low is not None and rate.high is not None
    assert low <= rate.low and high >= rate.high


async def test_a_survey_started_before_midnight_counts_for_the_day_it_is_finished(
    bot: Bot,
) -> None:
    bot.clock.set_local(datetime(2026, 11, 20, 23, 55))
    await survey(bot, CITIZEN, LAND, ["5", "5", "5"])
    bot.clock.advance(minutes=10)
    await bot.say(CITIZEN, "5")
    await bot.say(CITIZEN, "Không")
    await bot.say(CITIZEN, "bỏ qua")
    [response] = await responses(bot)
    assert response.status == "counted" and response.day == date(2026, 11, 21)
    assert response.started_at < response.completed_at  # type: ignore[operator]
    assert response.completed_at - response.started_at == timedelta(minutes=10)  # type: ignore[operator]


async def stored_texts(bot: Bot) -> list[str]:
    """Every value of every column of every table, as text (the whole schema, so a table
    added later is scanned too)."""
    from sqlalchemy import Text, cast

    from db.models import Base

    values: list[str] = []
    async with bot.runtime.ctx.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                rows = await session.execute(select(cast(column, Text)).select_from(table))
                values += [str(v) for (v,) in rows if v is not None]
    return values


async def test_no_table_holds_a_citizens_platform_id(bot: Bot) -> None:
    """A survey finished, one abandoned, one expired: the citizens' ids are nowhere."""
    finisher, leaver, sleeper = 777000111, 777000222, 777000333
    last = await survey(bot, finisher, LAND, ["4", "5", "4", "4", "2", "bỏ qua"])
    assert last.body.startswith("Cảm ơn")
    await bot.say(leaver, f"/start {LAND}")
    await bot.say(leaver, "4")
    await bot.say(sleeper, f"/start {LAND}")
    bot.clock.advance(minutes=31)
    [expired] = await bot.say(sleeper, "4")
    assert "hết hạn" in expired.body
    statuses = Counter(r.status for r in await responses(bot))
    assert statuses == {"counted": 1, "open": 1, "expired": 1}
    assert len(await bot.scalars(select(Conversation))) == 1  # the leaver's, under the hash
    stored = "\n".join(await stored_texts(bot))
    assert respondent(bot, leaver) in stored  # the scan does see the tables
    for citizen in (finisher, leaver, sleeper):
        assert str(citizen) not in stored
