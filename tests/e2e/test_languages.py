"""Citizens answer in Vietnamese, Khmer or English, end to end (issue 10).

Each shipped questionnaire is completed in each language through the fake Bot API server;
the answers stored and the figures counted are the same whatever the language.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import SurveyDailyCount, SurveyResponse
from surveys import i18n
from surveys import texts as T
from surveys.catalogue import Questionnaire, ServicePoint
from surveys.scoring import RATING_LABELS
from tests.integration.test_poster import png_encodes
from tests.support.fakes.telegram_api import SentMessage
from tests.support.harness import ADMIN, Bot, texts

# One point per questionnaire; each has its field fixed or asks it first.
POINTS = {"tthc": "mc-huyen", "hanh_chinh": "p-tnmt", "y_te_giao_duc": "ttyt-huyen"}
COMMENT = {"vi": "Cán bộ tận tình", "km": "មន្ត្រីយកចិត្តទុកដាក់", "en": "Helpful staff"}


def _catalogue(bot: Bot, code: str) -> tuple[Questionnaire, ServicePoint]:
    point = bot.catalogue.point(code)
    assert point is not None
    return bot.catalogue.questionnaires[point.questionnaire], point


def _open_link(language: str, point: str) -> tuple[str, str]:
    """The /start text and the app language a citizen has: Khmer from a Khmer poster's link
    (the app in Vietnamese), English from the app's language (a plain link), Vietnamese
    from both."""
    if language == "km":
        return f"/start km-s-{point}", "vi"
    return f"/start s-{point}", language


async def complete(bot: Bot, user: int, point_code: str, language: str) -> list[SentMessage]:
    """Answer every question of the point's survey in ``language``: the first option of a
    choice, ratings 5, 4, 5, … pressed as buttons, the comment typed. Checks each question
    is asked in the language; returns every message the bot sent."""
    questionnaire, point = _catalogue(bot, point_code)
    questions = questionnaire.questions_for(point)
    start, app_language = _open_link(language, point_code)
    seen = await bot.say(user, start, language_code=app_language)
    [first] = seen
    intro = questionnaire.intro
    assert intro is not None and intro(language) in first.body
    assert first.body.startswith(f"📋 {point.name_in(language)}\n")
    for index, question in enumerate(questions):
        [asked] = seen[-1:]
        progress = i18n.translate(language, T.SURVEY_PROGRESS).format(
            index=index + 1, total=len(questions)
        )
        assert f"{progress}. {question.text(language)}" in asked.body, asked.body
        if question.kind == "rating":
            assert f"5 — {i18n.translate(language, RATING_LABELS[5])}" in asked.body
            seen = await bot.press_data(user, asked, asked.buttons()[4 if index % 2 else 3][1])
        elif question.kind == "choice":
            label, data = asked.buttons()[0]
            assert label == f"1. {question.options[0].label(language)}"
            seen = await bot.press_data(user, asked, data)
        else:
            assert asked.buttons()[0][0] == i18n.translate(language, T.SURVEY_SKIP)
            seen = await bot.say(user, COMMENT[language], language_code=app_language)
    return seen


async def daily_counts(bot: Bot, point: str) -> dict[str, tuple[int, ...]]:
    rows = await bot.scalars(select(SurveyDailyCount).where(SurveyDailyCount.point_code == point))
    return {
        r.target: (r.level1, r.level2, r.level3, r.level4, r.level5, r.respondents) for r in rows
    }


@pytest.mark.parametrize("questionnaire", sorted(POINTS))
async def test_each_questionnaire_in_each_language_counts_the_same(
    bot: Bot, questionnaire: str
) -> None:
    point_code = POINTS[questionnaire]
    questionnaire_, _ = _catalogue(bot, point_code)
    assert questionnaire_.languages == ("vi", "km", "en")
    before: dict[str, tuple[int, ...]] = {}
    for n, language in enumerate(i18n.LANGUAGES):
        [thanks] = await complete(bot, 731_300_000 + n, point_code, language)
        assert questionnaire_.thanks is not None
        assert thanks.body == questionnaire_.thanks(language)
        if language == "vi":
            before = await daily_counts(bot, point_code)
            assert before
    # The Khmer and the English answers count exactly as the Vietnamese one did.
    after = await daily_counts(bot, point_code)
    assert after == {target: tuple(3 * v for v in levels) for target, levels in before.items()}
    answers = await bot.scalars(select(SurveyResponse).order_by(SurveyResponse.id))
    assert [r.status for r in answers] == ["counted"] * 3
    assert [r.language for r in answers] == list(i18n.LANGUAGES)  # kept, for the record
    without_comment = [
        {k: v for k, v in r.answers.items() if v not in COMMENT.values()} for r in answers
    ]
    assert without_comment[0] == without_comment[1] == without_comment[2]
    assert answers[0].field == answers[1].field == answers[2].field
    comments = {v for r in answers for v in r.answers.values() if v in COMMENT.values()}
    assert comments == set(COMMENT.values())  # a comment is kept as written


async def test_the_first_question_switches_language_in_one_tap_and_by_name(bot: Bot) -> None:
    questionnaire, point = _catalogue(bot, "dkdd-huyen")
    citizen = 731_310_001
    [first] = await bot.say(citizen, "/start s-dkdd-huyen", language_code="vi")
    assert "Câu 1/7" in first.body
    [khmer] = await bot.press(citizen, first, "ខ្មែរ")
    assert khmer.body.startswith(f"📋 {point.name_in('km')}\n")
    assert "សំណួរ 1/7" in khmer.body and questionnaire.questions[1].text("km") in khmer.body
    assert [label for label, _ in khmer.buttons()][5:] == ["🇻🇳 Tiếng Việt", "🇬🇧 EN"]
    [english] = await bot.say(citizen, "English")  # typed by name, in any case
    assert "Question 1/7" in english.body
    second = (await bot.say(citizen, "៥"))[-1]  # a Khmer digit is a rating too
    assert second.body.startswith("Question 2/7. ")
    assert not [b for b, _ in second.buttons() if "EN" in b or "ខ្មែរ" in b]  # first only
    [hint, again] = await bot.say(citizen, "ok")
    assert hint.body == i18n.translate("en", T.SURVEY_RATING_HINT)
    assert again.body == second.body
    for answer in ("4", "5", "4"):
        last = await bot.say(citizen, answer)
    last = await bot.press(citizen, last[-1], "No")
    [skip_comment] = await bot.press(citizen, last[-1], "Skip")
    assert questionnaire.thanks is not None and skip_comment.body == questionnaire.thanks("en")
    [response] = await bot.scalars(select(SurveyResponse))
    assert response.status == "counted" and response.language == "en"  # the one it ended in
    assert response.answers == {
        "tiep_can": 5, "thu_tuc": 4, "cong_chuc": 5, "ket_qua": 4, "co_phan_anh": "khong",
    }  # fmt: skip


async def test_a_citizens_app_language_is_used_outside_surveys_and_never_for_officials(
    bot: Bot,
) -> None:
    [welcome] = await bot.say(731_320_001, "/start", language_code="km")
    assert welcome.body == i18n.translate("km", T.WELCOME_CITIZEN).format(
        **bot.catalogue.org.words.values()
    )
    [unknown] = await bot.say(731_320_002, "/khongco", language_code="en-GB")
    assert unknown.body == i18n.translate("en", T.UNKNOWN_COMMAND)
    [refused] = await bot.say(731_320_002, "/trangthai", language_code="en")
    assert refused.body == i18n.translate("en", T.ADMIN_ONLY).format(
        **bot.catalogue.org.words.values()
    )
    [french] = await bot.say(731_320_003, "/start", language_code="fr")
    assert french.body == T.WELCOME_CITIZEN.format(
        **bot.catalogue.org.words.values()
    )  # not shipped: Vietnamese
    # An admin with a Khmer app still gets Vietnamese.
    [help_] = await bot.say(ADMIN, "/help", language_code="km")
    assert help_.body.startswith("Chức năng dành cho Phòng Nội vụ")
    # Expired buttons and overlong messages are told in the citizen's language too.
    [long] = await bot.say(731_320_001, "x" * 3000, language_code="km")
    assert long.body == i18n.translate("km", T.TOO_LONG).format(limit=2000)


async def test_an_already_counted_citizen_is_told_in_the_links_language(bot: Bot) -> None:
    citizen = 731_330_001
    await complete(bot, citizen, "p-tnmt", "km")
    [again] = await bot.say(citizen, "/start km-s-p-tnmt")
    _, point = _catalogue(bot, "p-tnmt")
    assert again.body == i18n.translate("km", T.SURVEY_ALREADY_COUNTED).format(
        point=point.name_in("km")
    )


async def test_qr_in_khmer_prints_a_khmer_poster_whose_link_opens_the_khmer_survey(
    bot: Bot,
) -> None:
    [poster] = await bot.say(ADMIN, "/qr mc-huyen km")
    assert poster.method == "sendPhoto", texts([poster])
    link = "https://t.me/cchc_test_bot?start=km-s-mc-huyen"
    assert link in poster.body
    assert poster.file_bytes is not None and png_encodes(poster.file_bytes, link)
    [first] = await bot.say(731_340_001, "/start km-s-mc-huyen", language_code="en")
    assert "សំណួរ 1/8" in first.body  # the link's language wins over the app's
    [plain] = await bot.say(ADMIN, "/qr mc-huyen")
    assert "start=s-mc-huyen" in plain.body  # Vietnamese, the default, has no prefix
    [one_time] = await bot.say(ADMIN, "/qr mc-huyen HS-9 en")  # a record link, in English
    assert one_time.method == "sendPhoto" and "start=en-r-" in one_time.body
