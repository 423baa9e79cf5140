"""The walking skeleton end to end: registration, /remind, /report, /status, a survey."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Member, Submission, SubmissionValue, SurveyResponse
from tests.e2e.flows import answer_until_summary, invite_payload, register
from tests.support.harness import ADMIN, Bot, texts

HEAD = 501
CITIZEN = 777


async def test_invite_registers_once_and_only_once(bot: Bot) -> None:
    payload = await invite_payload(bot, "PNV")
    first = await bot.say(HEAD, f"/start {payload}")
    assert "Đăng ký thành công" in texts(first) and "Phòng Nội vụ" in texts(first)
    reused = await bot.say(502, f"/start {payload}")
    assert "không hợp lệ, đã được sử dụng hoặc đã hết hạn" in texts(reused)
    members = await bot.scalars(select(Member))
    assert [(m.user_id, m.unit_code) for m in members] == [(str(HEAD), "PNV")]


async def test_expired_invite_is_refused(bot: Bot) -> None:
    payload = await invite_payload(bot, "PTP")
    bot.clock.advance(days=8)  # invitations last 7 days by default
    reply = await bot.say(HEAD, f"/start {payload}")
    assert "hết hạn" in texts(reply)
    assert await bot.scalars(select(Member)) == []


async def test_remind_report_and_status(bot: Bot) -> None:
    await register(bot, HEAD, "PNV")

    queued = await bot.say(ADMIN, "/remind")
    assert "Đã xếp 1 lời nhắc" in texts(queued)
    [reminder] = await bot.tg.wait_for(HEAD, predicate=lambda m: "Nhắc nộp" in m.body)
    assert "Quý IV/2026" in reminder.body and "trước ngày 15/12/2026" in reminder.body
    assert any("Nhập báo cáo" in label for label, _ in reminder.buttons())
    again = await bot.say(ADMIN, "/nhacnho")
    assert "Không có lời nhắc mới" in texts(again)  # at most once per recipient per day

    replies = await bot.press(HEAD, reminder, "Nhập báo cáo")
    assert "Báo cáo Quý IV/2026 (cả năm) của Phòng Nội vụ" in texts(replies)
    question = replies[-1]
    assert "Chỉ tiêu 1/" in question.body

    wrong = await bot.say(HEAD, "một trăm")
    assert "Đây không phải là một số" in wrong[0].body
    assert wrong[-1].body == question.body  # the same question again

    summary = await answer_until_summary(bot, HEAD, question)
    assert "TÓM TẮT BÁO CÁO" in summary.body
    stored = await bot.press(HEAD, summary, "Gửi")
    assert "Đã ghi nhận báo cáo" in texts(stored)

    [submission] = await bot.scalars(select(Submission))
    assert submission.unit_code == "PNV" and not submission.late
    values = await bot.scalars(select(SubmissionValue))
    due = bot.catalogue.indicators.due_from(bot.catalogue.org.unit("PNV"))  # type: ignore[arg-type]
    assert {v.indicator_code for v in values} == {i.code for i in due}

    status = texts(await bot.say(ADMIN, "/status"))
    total = len(bot.catalogue.org.reporting_units())
    assert f"Đã nộp: 1/{total} đơn vị" in status
    assert "Phòng Tư pháp" in status  # still missing
    assert "Chưa nộp" in status


async def test_status_is_for_admins_only(bot: Bot) -> None:
    await register(bot, HEAD, "PNV")
    for user in (HEAD, CITIZEN):
        reply = await bot.say(user, "/trangthai")
        assert "chỉ dành cho cán bộ Phòng Nội vụ" in texts(reply)
        assert "TÌNH HÌNH" not in texts(reply)


async def test_citizen_survey_by_buttons_and_digits(bot: Bot) -> None:
    replies = await bot.say(CITIZEN, "/start s-mc-huyen")
    assert "Câu 1/" in replies[-1].body
    last = replies[-1]
    for _ in range(10):
        buttons = last.buttons()
        if "Câu" not in last.body:
            break
        if [lbl for lbl, _ in buttons] == ["1", "2", "3", "4", "5"]:
            replies = await bot.say(CITIZEN, "5")  # a rating typed as a digit
        elif buttons and "Bỏ qua" in buttons[0][0]:
            replies = await bot.press(CITIZEN, last, "Bỏ qua")
        elif buttons:
            replies = await bot.press_data(CITIZEN, last, buttons[0][1])
        else:
            replies = await bot.say(CITIZEN, "Cán bộ hướng dẫn rất tận tình")
        last = replies[-1]
    assert "Cảm ơn" in last.body
    [response] = await bot.scalars(select(SurveyResponse))
    assert response.status == "counted" and response.respondent != str(CITIZEN)
    status = texts(await bot.say(ADMIN, "/status"))
    ratings = sum(1 for q in bot.catalogue.questionnaires["tthc"].questions if q.kind == "rating")
    assert f"1 người, n={ratings} câu trả lời" in status


async def test_restart_mid_report_resumes_at_the_same_question(bot: Bot) -> None:
    await register(bot, HEAD, "PNV")
    first = (await bot.say(HEAD, "/baocao"))[-1]
    assert "Chỉ tiêu 1/" in first.body
    second = (await bot.say(HEAD, "200"))[-1]  # first item's first number
    third = (await bot.say(HEAD, "150"))[-1]
    assert "Chỉ tiêu 2/" in third.body or "Chỉ tiêu 1/" in second.body

    await bot.restart()

    resumed = await bot.say(HEAD, "/baocao")
    assert "Tiếp tục báo cáo" in texts(resumed)
    assert resumed[-1].body == third.body
    summary = await answer_until_summary(bot, HEAD, resumed[-1])
    first_code = bot.catalogue.indicators.due_from(bot.catalogue.org.unit("PNV"))[0]  # type: ignore[arg-type]
    assert f"{first_code.code}. " in summary.body and "150/200" in summary.body


async def test_help_depends_on_role(bot: Bot) -> None:
    await register(bot, HEAD, "PNV")
    member_help = texts(await bot.say(HEAD, "/help"))
    assert "/baocao" in member_help and "/trangthai" not in member_help
    admin_help = texts(await bot.say(ADMIN, "/help"))
    assert "/trangthai" in admin_help and "/nhacnho" in admin_help
    citizen_help = texts(await bot.say(CITIZEN, "/help"))
    assert "Quét mã QR" in citizen_help and "/baocao" not in citizen_help


async def test_unknown_command_and_free_text_get_an_answer(bot: Bot) -> None:
    assert "chưa hiểu lệnh" in texts(await bot.say(CITIZEN, "/xoa_het"))
    assert "chưa hiểu tin nhắn" in texts(await bot.say(CITIZEN, "xin chào"))
    assert "quá dài" in texts(await bot.say(CITIZEN, "a" * 3000))
