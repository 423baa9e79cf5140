"""The survey as a pure state machine, the shipped questionnaires, and the 14a year rule."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.usecases.settings import OrgConfig
from db import repo
from reports.status import fields_for
from surveys import survey_machine
from surveys import texts as T
from surveys.catalogue import (
    Catalogue,
    CatalogueError,
    Indicator,
    ServicePoint,
    load_catalogue,
    load_questionnaire,
)
from surveys.conversation import Input, Pressed, Reply, State, Text

LABELS = ["Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"]


def _shipped() -> Catalogue:
    org = OrgConfig()
    return load_catalogue(org.units, org.indicators, org.points, org.questionnaires)


CATALOGUE = _shipped()


@pytest.fixture
def cat() -> Catalogue:
    return CATALOGUE


def _point(cat: Catalogue, code: str) -> ServicePoint:
    point = cat.point(code)
    assert point is not None
    return point


class Run:
    """Drives the machine for one point, as the bot does (a deep copy of state per step)."""

    def __init__(self, cat: Catalogue, point: str) -> None:
        self.point = _point(cat, point)
        self.questionnaire = cat.questionnaires[self.point.questionnaire]
        first = survey_machine.start(self.questionnaire, self.point)
        self.state: State | None = first.state
        self.replies = first.replies
        self.done: dict[str, Any] | None = None

    @property
    def question(self) -> Reply:
        return self.replies[-1]

    def give(self, given: Input) -> list[Reply]:
        assert self.state is not None
        step = survey_machine.step(self.questionnaire, self.point, self.state, given)
        self.state, self.replies, self.done = step.state, step.replies, step.done
        return step.replies

    def say(self, text: str) -> list[Reply]:
        return self.give(Text(text))

    def press(self, label: str) -> list[Reply]:
        [data] = [d for row in self.question.choices for lbl, d in row if label in lbl]
        return self.give(Pressed(data))


# --------------------------------------------------------------------------- the data files


def test_questionnaires_have_at_most_eight_questions_and_the_five_national_labels(
    cat: Catalogue,
) -> None:
    assert set(cat.questionnaires) == {"tthc", "hanh_chinh", "y_te_giao_duc", "quay"}
    for questionnaire in cat.questionnaires.values():
        assert 1 <= len(questionnaire.questions) <= 8, questionnaire.code
        ratings = [q for q in questionnaire.questions if q.kind == "rating"]
        assert ratings, questionnaire.code
        for q in ratings:
            assert [o.label.vi for o in q.options] == LABELS
            assert [o.value for o in q.options] == ["1", "2", "3", "4", "5"]
        # the last question is an optional comment, so that a complaint can reach the admins
        last = questionnaire.questions[-1]
        assert last.kind == "text" and last.optional


def test_each_questionnaire_feeds_its_target(cat: Catalogue) -> None:
    survey_codes = {i.code for i in cat.indicators.survey_targets()}
    feeds = {
        code: {t for q in qn.questions for t in q.feeds} for code, qn in cat.questionnaires.items()
    }
    # the one-stop counters' SIPAS questionnaire feeds 14 (14a by field) and 15
    assert feeds == {
        "tthc": {"14", "15"}, "hanh_chinh": {"15"}, "y_te_giao_duc": {"16"}, "quay": {"14"}
    }
    assert set().union(*feeds.values()) <= survey_codes


def test_the_tthc_field_question_offers_every_field_target_14a_needs(cat: Catalogue) -> None:
    [field_q] = [q for q in cat.questionnaires["tthc"].questions if q.sets_field]
    offered = {o.value for o in field_q.options}
    target_14a = cat.indicators.get("14a")
    assert target_14a is not None
    for fields in target_14a.fields_by_year.values():
        assert set(fields) <= offered
    assert {"dat_dai", "xay_dung", "dau_tu", "ho_tich", "chung_thuc", "khac"} == offered


@pytest.mark.parametrize("code", ["tthc", "hanh_chinh"])
def test_sipas_five_elements_are_five_ratings(cat: Catalogue, code: str) -> None:
    ratings = [q for q in cat.questionnaires[code].questions if q.kind == "rating"]
    elements = ("tiếp cận dịch vụ", "thủ tục hành chính", "công chức trực tiếp giải quyết",
                "kết quả giải quyết", "tiếp nhận, xử lý phản ánh, kiến nghị")  # fmt: skip
    assert len(ratings) == len(elements)
    for q, element in zip(ratings, elements, strict=True):
        assert element in q.text.vi.lower(), (q.id, element)
    [feedback] = [q for q in ratings if q.only_if is not None]
    assert feedback.id == "phan_anh" and feedback.only_if is not None
    assert (feedback.only_if.question, feedback.only_if.answer) == ("co_phan_anh", "co")


def test_health_and_education_points_fix_their_field(cat: Catalogue) -> None:
    points = [p for p in cat.points if p.questionnaire == "y_te_giao_duc"]
    assert points
    assert all(p.field in ("y_te", "giao_duc") for p in points)
    assert not any(q.sets_field for q in cat.questionnaires["y_te_giao_duc"].questions)


def test_a_ninth_question_is_refused(tmp_path: Path) -> None:
    questions = "".join(
        f'[[question]]\nid = "q{n}"\nkind = "rating"\ntext = "Câu {n}?"\nfeeds = ["15"]\n'
        for n in range(9)
    )
    path = tmp_path / "long.toml"
    path.write_text(f'code = "dai"\ntitle = "Dài"\n{questions}', encoding="utf-8")
    with pytest.raises(CatalogueError, match="tối đa 8 câu hỏi"):
        load_questionnaire(path)


YES_NO = (
    '[[question]]\nid = "co"\nkind = "choice"\ntext = "Có phản ánh không?"\n'
    'options = [{ value = "co", label = "Có" }, { value = "khong", label = "Không" }]\n'
)


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ('{ question = "sau", answer = "co" }', "'sau' phải là id một câu lựa chọn ở phía trên"),
        ('{ question = "co", answer = "roi" }', "'roi' không phải phương án của câu 'co'"),
        ('{ question = "co" }', "khóa 'answer' phải là chuỗi"),
        ('{ question = "co", answer = "co", when = 1 }', "khóa 'when'"),
    ],
)
def test_a_condition_must_name_an_earlier_choice_and_its_option(
    tmp_path: Path, condition: str, message: str
) -> None:
    path = tmp_path / "dieu_kien.toml"
    path.write_text(
        f'code = "dk"\ntitle = "Điều kiện"\n{YES_NO}'
        f'[[question]]\nid = "xu_ly"\nkind = "rating"\ntext = "Xử lý?"\nfeeds = ["15"]\n'
        f"only_if = {condition}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError, match=re.escape(message)):
        load_questionnaire(path)


# --------------------------------------------------------------------------- the flow


def test_start_shows_the_point_and_the_first_rating_as_one_row_of_five_buttons(
    cat: Catalogue,
) -> None:
    run = Run(cat, "dkdd-huyen")  # land office: field fixed: 4 ratings, yes/no, (5th), comment
    [question] = run.replies  # the point, the intro and the first question in one message
    assert question.text.startswith("📋 Chi nhánh Văn phòng Đăng ký đất đai huyện Long Phú\n")
    intro = cat.questionnaires["tthc"].intro
    assert intro is not None and intro.vi in question.text
    assert "\n\nCâu 1/7. " in question.text
    # the rating, then the one-tap switch to the questionnaire's other languages
    assert [[label for label, _ in row] for row in question.choices] == [
        ["1", "2", "3", "4", "5"],
        ["🇰🇭 ខ្មែរ", "🇬🇧 EN"],
    ]
    for n, label in enumerate(LABELS, start=1):
        assert f"{n} — {label}" in question.text


def test_buttons_digits_and_labels_all_answer_a_rating(cat: Catalogue) -> None:
    run = Run(cat, "dkdd-huyen")
    assert run.press("4")[0].text.startswith("Câu 2/7. ")
    assert run.say(" 5 ")[0].text.startswith("Câu 3/7. ")
    assert run.say("Bình thường")[0].text.startswith("Câu 4/7. ")
    assert run.say("4")[0].text == "Câu 5/7. Ông/Bà có phản ánh, kiến nghị không?"
    # no feedback given: the feedback element is not asked, and the count says so
    assert run.say("Không")[0].text.startswith("Câu 6/6. ")
    assert run.question.free_text
    assert [lbl for row in run.question.choices for lbl, _ in row] == [T.SURVEY_SKIP]
    assert run.press(T.SURVEY_SKIP) == []
    assert run.state is None
    assert run.done == {
        "tiep_can": 4, "thu_tuc": 5, "cong_chuc": 3, "ket_qua": 4, "co_phan_anh": "khong",
    }  # fmt: skip


def test_the_feedback_element_is_asked_only_after_yes(cat: Catalogue) -> None:
    run = Run(cat, "dkdd-huyen")
    for rating in ("5", "4", "4", "5"):
        run.say(rating)
    assert [row[0][0] for row in run.question.choices][:2] == ["1. Có", "2. Không"]
    [feedback] = run.press("Có")
    assert feedback.text.startswith(
        "Câu 6/7. Ông/Bà đánh giá việc tiếp nhận, xử lý phản ánh, kiến nghị của mình ở mức nào?"
    )
    assert run.say("2")[0].text.startswith("Câu 7/7. ")
    run.say("bỏ qua")
    assert run.done is not None and run.done["phan_anh"] == 2
    # its rating counts for 14 and 15 like the other four elements
    by_target = survey_machine.ratings_by_target(run.questionnaire, run.done)
    assert by_target == {"14": [5, 4, 4, 5, 2], "15": [5, 4, 4, 5, 2]}


@pytest.mark.parametrize("typed", ["0", "6", "4,5", "bốn", "", "45", "hai long lam"])
def test_anything_else_gets_a_hint_and_the_same_question(cat: Catalogue, typed: str) -> None:
    run = Run(cat, "dkdd-huyen")
    before, question = dict(run.state or {}), run.question
    hint, again = run.say(typed)
    assert hint.text == T.SURVEY_RATING_HINT
    assert again.text.startswith("Câu 1/7. ") and question.text.endswith(again.text)
    assert again.choices == question.choices
    assert run.state == before and run.done is None


def test_a_button_left_on_an_earlier_question_does_not_answer_the_current_one(
    cat: Catalogue,
) -> None:
    run = Run(cat, "dkdd-huyen")
    first = run.question
    run.say("2")  # typed, so question 1's buttons stay on the screen
    second = run.question
    [old_five] = [d for lbl, d in first.choices[0] if lbl == "5"]
    hint, again = run.give(Pressed(old_five))
    assert hint.text == T.SURVEY_OLD_BUTTON and again == second
    assert run.state is not None and run.state["answers"] == {"tiep_can": 2}
    forged = run.give(Pressed("1.9"))  # the right question, a level that does not exist
    assert forged[0].text == T.BUTTON_EXPIRED and run.state["answers"] == {"tiep_can": 2}


def test_the_field_question_takes_a_button_its_number_or_its_name(cat: Catalogue) -> None:
    run = Run(cat, "mc-huyen")
    assert "\n\nCâu 1/8. " in run.question.text
    labels = [row[0][0] for row in run.question.choices]
    assert labels[:3] == ["1. Đất đai", "2. Xây dựng", "3. Đầu tư"]
    hint, _ = run.say("9")
    assert hint.text == T.SURVEY_CHOICE_HINT.format(n=6)
    run.say("3")
    assert run.state is not None and run.state["answers"] == {"field": "dau_tu"}
    other = Run(cat, "mc-huyen")
    other.say("xây dựng")
    assert other.state is not None and other.state["answers"] == {"field": "xay_dung"}
    third = Run(cat, "mc-huyen")
    third.press("Chứng thực")
    assert third.state is not None and third.state["answers"] == {"field": "chung_thuc"}


def test_comments_are_kept_skipped_or_refused_when_too_long(cat: Catalogue) -> None:
    for skip in ("bỏ qua", "Bo qua", "không", "-"):
        run = Run(cat, "dkdd-huyen")
        for answer in ("5", "5", "5", "5", "2"):  # four ratings, "2. Không"
            run.say(answer)
        run.say(skip)
        assert run.done == {
            "tiep_can": 5, "thu_tuc": 5, "cong_chuc": 5, "ket_qua": 5, "co_phan_anh": "khong",
        }  # fmt: skip
    run = Run(cat, "dkdd-huyen")
    for answer in ("1", "1", "1", "1", "2"):
        run.say(answer)
    hint, again = run.say("x" * (survey_machine.COMMENT_MAX + 1))
    assert hint.text == T.SURVEY_TEXT_TOO_LONG.format(limit=survey_machine.COMMENT_MAX)
    assert again.text.startswith("Câu 6/6. ")
    run.say("  Chờ quá lâu, không ai hướng dẫn  ")
    assert run.done is not None and run.done["gop_y"] == "Chờ quá lâu, không ai hướng dẫn"


def test_field_of_prefers_the_points_fixed_field(cat: Catalogue) -> None:
    tthc = cat.questionnaires["tthc"]
    assert survey_machine.field_of(tthc, _point(cat, "mc-huyen"), {"field": "dau_tu"}) == "dau_tu"
    assert survey_machine.field_of(tthc, _point(cat, "mc-huyen"), {}) is None
    assert survey_machine.field_of(tthc, _point(cat, "dkdd-huyen"), {"field": "khac"}) == "dat_dai"


def test_ratings_are_grouped_by_target_and_counted_once_per_respondent(cat: Catalogue) -> None:
    tthc = cat.questionnaires["tthc"]
    answers = {"field": "dat_dai", "tiep_can": 5, "ket_qua": 3, "gop_y": "Tốt"}  # two missing
    by_target = survey_machine.ratings_by_target(tthc, answers)
    assert by_target == {"14": [5, 3], "15": [5, 3]}  # the field and the comment are no ratings
    row = repo.daily_count_row(date(2026, 11, 20), "dkdd-huyen", "dat_dai", "14", [5, 3], "web")
    assert row == {
        "day": date(2026, 11, 20),
        "channel": "web",
        "point_code": "dkdd-huyen",
        "field": "dat_dai",
        "target": "14",
        **{"level1": 0, "level2": 0, "level3": 1, "level4": 0, "level5": 1},
        "respondents": 1,
        "fully_satisfied": 0,  # a 3: not every rating is 4 or 5
        "answers_sq": 4.0,  # m = 2 answers for the target
        "satisfied_sq": 1.0,  # y = 1 of them at 4–5
        "satisfied_answers": 2.0,
    }
    assert repo.daily_count_row(row["day"], "p", "", "14", [4, 5])["fully_satisfied"] == 1


def test_only_a_low_rating_with_a_comment_goes_to_the_admins(cat: Catalogue) -> None:
    tthc = cat.questionnaires["tthc"]
    low = {"tiep_can": 4, "ket_qua": 2, "cong_chuc": 3, "gop_y": "Trễ hẹn 5 ngày"}
    assert survey_machine.low_rating_comment(tthc, low) == (2, "Trễ hẹn 5 ngày")
    assert survey_machine.low_rating_comment(tthc, {**low, "ket_qua": 1}) == (1, "Trễ hẹn 5 ngày")
    assert survey_machine.low_rating_comment(tthc, {**low, "ket_qua": 3}) is None
    no_comment = {k: v for k, v in low.items() if k != "gop_y"}
    assert survey_machine.low_rating_comment(tthc, no_comment) is None


inputs = st.one_of(
    st.builds(Text, st.sampled_from(["1", "3", "5", "0", "7", "bỏ qua", "abc", "2", "Khác"])),
    st.builds(
        Pressed,
        st.builds(
            lambda i, v: f"{i}.{v}",
            st.integers(0, 5),
            st.sampled_from(["1", "4", "5", "9", "skip", "dau_tu", "x"]),
        ),
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    point=st.sampled_from(["mc-huyen", "dkdd-huyen", "p-tnmt", "ttyt-huyen"]),
    seq=st.lists(inputs, max_size=25),
)
def test_whatever_is_typed_or_pressed_only_valid_answers_come_out(
    point: str, seq: list[Input]
) -> None:
    run = Run(CATALOGUE, point)
    asked = survey_machine.questions(run.questionnaire, run.point)
    for given_input in seq:
        if run.state is None:
            break
        index = run.state["i"]
        replies = run.give(given_input)
        if run.state is not None:
            # progress never goes back and skips only a question the answers leave out
            answers = run.state["answers"]
            order = survey_machine.asked(asked, answers)
            now = run.state["i"]
            assert now == index or (now > index and order[order.index(now) - 1] == index)
            at = order.index(now) + 1
            assert replies[-1].text.startswith(f"Câu {at}/{len(order)}. ")
    if run.done is not None:
        by_id = {q.id: q for q in asked}
        assert set(run.done) <= set(by_id)
        # the feedback element is answered only after "yes"
        assert ("phan_anh" in run.done) <= (run.done.get("co_phan_anh") in (None, "co"))
        for qid, value in run.done.items():
            q = by_id[qid]
            if q.kind == "rating":
                assert value in (1, 2, 3, 4, 5)
            elif q.kind == "choice":
                assert value in {o.value for o in q.options}
            else:
                assert isinstance(value, str) and value


# --------------------------------------------------------------------------- target 14a by year


def test_14a_counts_land_and_construction_until_2025_and_adds_investment_after(
    cat: Catalogue,
) -> None:
    target = cat.indicators.get("14a")
    assert target is not None and target.part_of == "14"
    land_construction = ("dat_dai", "xay_dung")
    with_investment = ("dat_dai", "xay_dung", "dau_tu")
    assert fields_for(target, 2023) == land_construction
    assert fields_for(target, 2025) == land_construction
    for year in (2026, 2028, 2030):
        assert fields_for(target, year) == with_investment
    assert fields_for(target, 2031) == with_investment  # the last target stays in force


def test_fields_for_an_indicator_without_fields_is_empty() -> None:
    plain = Indicator(code="14", target_no=14, name="TTHC", kind="survey")
    assert fields_for(plain, 2025) == ()
