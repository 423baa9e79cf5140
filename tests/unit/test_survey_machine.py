"""The survey as a pure state machine, the shipped questionnaires, and the 14a year rule."""

from __future__ import annotations

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


def test_questionnaires_have_at_most_five_questions_and_the_five_national_labels(
    cat: Catalogue,
) -> None:
    assert set(cat.questionnaires) == {"tthc", "hanh_chinh", "y_te_giao_duc", "quay"}
    for questionnaire in cat.questionnaires.values():
        assert 1 <= len(questionnaire.questions) <= 5, questionnaire.code
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
    assert feeds == {
        "tthc": {"14"}, "hanh_chinh": {"15"}, "y_te_giao_duc": {"16"}, "quay": {"14"}
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


def test_hanh_chinh_covers_the_five_sipas_elements(cat: Catalogue) -> None:
    wording = " ".join(
        q.text.vi.lower() for q in cat.questionnaires["hanh_chinh"].questions if q.kind == "rating"
    )
    for element in ("tiếp cận", "thủ tục", "công chức", "kết quả", "góp ý, phản ánh, kiến nghị"):
        assert element in wording, element


def test_health_and_education_points_fix_their_field(cat: Catalogue) -> None:
    points = [p for p in cat.points if p.questionnaire == "y_te_giao_duc"]
    assert points
    assert all(p.field in ("y_te", "giao_duc") for p in points)
    assert not any(q.sets_field for q in cat.questionnaires["y_te_giao_duc"].questions)


def test_a_sixth_question_is_refused(tmp_path: Path) -> None:
    questions = "".join(
        f'[[question]]\nid = "q{n}"\nkind = "rating"\ntext = "Câu {n}?"\nfeeds = ["15"]\n'
        for n in range(6)
    )
    path = tmp_path / "long.toml"
    path.write_text(f'code = "dai"\ntitle = "Dài"\n{questions}', encoding="utf-8")
    with pytest.raises(CatalogueError, match="tối đa 5 câu hỏi"):
        load_questionnaire(path)


# --------------------------------------------------------------------------- the flow


def test_start_shows_the_point_and_the_first_rating_as_one_row_of_five_buttons(
    cat: Catalogue,
) -> None:
    run = Run(cat, "dkdd-huyen")  # land office: field fixed, so 3 ratings + comment
    [question] = run.replies  # the point, the intro and the first question in one message
    assert question.text.startswith("📋 Chi nhánh Văn phòng Đăng ký đất đai huyện Long Phú\n")
    intro = cat.questionnaires["tthc"].intro
    assert intro is not None and intro.vi in question.text
    assert "\n\nCâu 1/4. " in question.text
    # the rating, then the one-tap switch to the questionnaire's other languages
    assert [[label for label, _ in row] for row in question.choices] == [
        ["1", "2", "3", "4", "5"],
        ["🇰🇭 ខ្មែរ", "🇬🇧 EN"],
    ]
    for n, label in enumerate(LABELS, start=1):
        assert f"{n} — {label}" in question.text


def test_buttons_digits_and_labels_all_answer_a_rating(cat: Catalogue) -> None:
    run = Run(cat, "dkdd-huyen")
    assert run.press("4")[0].text.startswith("Câu 2/4. ")
    assert run.say(" 5 ")[0].text.startswith("Câu 3/4. ")
    assert run.say("Bình thường")[0].text.startswith("Câu 4/4. ")
    assert run.question.free_text
    assert [lbl for row in run.question.choices for lbl, _ in row] == [T.SURVEY_SKIP]
    assert run.press(T.SURVEY_SKIP) == []
    assert run.state is None
    assert run.done == {"tiep_nhan": 4, "ket_qua": 5, "chung": 3}


@pytest.mark.parametrize("typed", ["0", "6", "4,5", "bốn", "", "45", "hai long lam"])
def test_anything_else_gets_a_hint_and_the_same_question(cat: Catalogue, typed: str) -> None:
    run = Run(cat, "dkdd-huyen")
    before, question = dict(run.state or {}), run.question
    hint, again = run.say(typed)
    assert hint.text == T.SURVEY_RATING_HINT
    assert again.text.startswith("Câu 1/4. ") and question.text.endswith(again.text)
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
    assert run.state is not None and run.state["answers"] == {"tiep_nhan": 2}
    forged = run.give(Pressed("1.9"))  # the right question, a level that does not exist
    assert forged[0].text == T.BUTTON_EXPIRED and run.state["answers"] == {"tiep_nhan": 2}


def test_the_field_question_takes_a_button_its_number_or_its_name(cat: Catalogue) -> None:
    run = Run(cat, "mc-huyen")
    assert "\n\nCâu 1/5. " in run.question.text
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
        for _ in range(3):
            run.say("5")
        run.say(skip)
        assert run.done == {"tiep_nhan": 5, "ket_qua": 5, "chung": 5}
    run = Run(cat, "dkdd-huyen")
    for _ in range(3):
        run.say("1")
    hint, again = run.say("x" * (survey_machine.COMMENT_MAX + 1))
    assert hint.text == T.SURVEY_TEXT_TOO_LONG.format(limit=survey_machine.COMMENT_MAX)
    assert again.text.startswith("Câu 4/4. ")
    run.say("  Chờ quá lâu, không ai hướng dẫn  ")
    assert run.done is not None and run.done["gop_y"] == "Chờ quá lâu, không ai hướng dẫn"


def test_field_of_prefers_the_points_fixed_field(cat: Catalogue) -> None:
    tthc = cat.questionnaires["tthc"]
    assert survey_machine.field_of(tthc, _point(cat, "mc-huyen"), {"field": "dau_tu"}) == "dau_tu"
    assert survey_machine.field_of(tthc, _point(cat, "mc-huyen"), {}) is None
    assert survey_machine.field_of(tthc, _point(cat, "dkdd-huyen"), {"field": "khac"}) == "dat_dai"


def test_ratings_are_grouped_by_target_and_counted_once_per_respondent(cat: Catalogue) -> None:
    tthc = cat.questionnaires["tthc"]
    answers = {"field": "dat_dai", "tiep_nhan": 5, "chung": 3, "gop_y": "Tốt"}  # ket_qua skipped
    by_target = survey_machine.ratings_by_target(tthc, answers)
    assert by_target == {"14": [5, 3]}  # the field and the comment are no ratings
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
    low = {"tiep_nhan": 4, "ket_qua": 2, "chung": 3, "gop_y": "Trễ hẹn 5 ngày"}
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
            # progress never goes back and never skips a question
            assert run.state["i"] in (index, index + 1)
            assert replies[-1].text.startswith(f"Câu {run.state['i'] + 1}/{len(asked)}. ")
    if run.done is not None:
        by_id = {q.id: q for q in asked}
        assert set(run.done) <= set(by_id)
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
