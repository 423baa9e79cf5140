"""A citizen's satisfaction survey as a pure state machine.

Ratings are a row of buttons and also typed digits 1–5; choices are buttons and also their
number or label; free text can be skipped by a button or by typing "bỏ qua". The finished
answers come back in ``SurveyStep.done``; the caller stores them (and decides whether this
person already counted today).

A button carries the index of the question it belongs to (``"2.4"`` = rating 4 for the third
question), so pressing a button left on an earlier question's message never answers the
current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import texts as T
from surveys.catalogue import Question, Questionnaire, ServicePoint
from surveys.conversation import Input, Pressed, Reply, State, Step, fold

COMMENT_MAX = 1000
SKIP = "skip"
SKIP_WORDS = frozenset({"bo qua", "khong", "khong co", "-"})


@dataclass
class SurveyStep(Step):
    done: dict[str, Any] | None = None  # answers by question id, when finished


def questions(questionnaire: Questionnaire, point: ServicePoint) -> tuple[Question, ...]:
    return questionnaire.questions_for(point)


def choice_data(index: int, value: str) -> str:
    """What a button of question ``index`` carries: ``"<index>.<value>"``."""
    return f"{index}.{value}"


def _ask(qs: tuple[Question, ...], index: int) -> Reply:
    q = qs[index]
    head = f"{T.survey_progress(index + 1, len(qs))}. {q.text}"
    if q.kind == "rating":
        labels = "\n".join(f"{o.value} — {o.label}" for o in q.options)
        row = tuple((o.value, choice_data(index, o.value)) for o in q.options)
        return Reply(f"{head}\n{labels}", (row,))
    if q.kind == "choice":
        rows = tuple(
            ((f"{n}. {o.label}", choice_data(index, o.value)),)
            for n, o in enumerate(q.options, start=1)
        )
        return Reply(head, rows)
    skip = (((T.SURVEY_SKIP, choice_data(index, SKIP)),),) if q.optional else ()
    return Reply(head, skip, free_text=True)


def start(questionnaire: Questionnaire, point: ServicePoint) -> SurveyStep:
    """The point's name, the questionnaire's intro and the first question, in one message."""
    state: State = {"i": 0, "answers": {}}
    first = _ask(questions(questionnaire, point), 0)
    intro = T.survey_start(point.name, questionnaire.intro)
    return SurveyStep(state, [Reply(f"{intro}\n\n{first.text}", first.choices, first.free_text)])


def resume(questionnaire: Questionnaire, point: ServicePoint, state: State) -> SurveyStep:
    return SurveyStep(state, [_ask(questions(questionnaire, point), state["i"])])


def _interpret(q: Question, index: int, given: Input) -> tuple[Any, str | None]:
    """(value, None) when the input answers ``q`` (value None: skipped); (..., hint) when not."""
    if isinstance(given, Pressed):
        at, _, choice = given.choice.partition(".")
        if at != str(index):
            return ..., T.SURVEY_OLD_BUTTON
        if q.kind == "text":
            return (None, None) if choice == SKIP and q.optional else (..., T.BUTTON_EXPIRED)
        if any(o.value == choice for o in q.options):
            return (int(choice) if q.kind == "rating" else choice), None
        return ..., T.BUTTON_EXPIRED
    typed = given.text.strip()
    if q.kind == "text":
        if q.optional and fold(typed) in SKIP_WORDS:
            return None, None
        if len(typed) > COMMENT_MAX:
            return ..., T.SURVEY_TEXT_TOO_LONG.format(limit=COMMENT_MAX)
        return (typed or None), None
    if q.kind == "rating":
        if typed in {"1", "2", "3", "4", "5"}:
            return int(typed), None
        named = [o.value for o in q.options if fold(o.label) == fold(typed)]
        if named:  # "hài lòng" typed in words (a platform without buttons)
            return int(named[0]), None
        return ..., T.SURVEY_RATING_HINT
    if typed.isdigit() and 1 <= int(typed) <= len(q.options):
        return q.options[int(typed) - 1].value, None
    match = [o.value for o in q.options if fold(o.label) == fold(typed)]
    if match:
        return match[0], None
    return ..., T.SURVEY_CHOICE_HINT.format(n=len(q.options))


def step(
    questionnaire: Questionnaire, point: ServicePoint, state: State, given: Input
) -> SurveyStep:
    qs = questions(questionnaire, point)
    index: int = state["i"]
    q = qs[index]
    value, hint = _interpret(q, index, given)
    if hint is not None:
        return SurveyStep(state, [Reply(hint), _ask(qs, index)])
    if value is not None:
        state["answers"][q.id] = value
    if index + 1 < len(qs):
        state["i"] = index + 1
        return SurveyStep(state, [_ask(qs, index + 1)])
    return SurveyStep(None, [], done=dict(state["answers"]))


def field_of(
    questionnaire: Questionnaire, point: ServicePoint, answers: dict[str, Any]
) -> str | None:
    """The response's field: fixed by the point, else the answer to the field question."""
    if point.field:
        return point.field
    for q in questionnaire.questions:
        if q.sets_field and q.id in answers:
            return str(answers[q.id])
    return None


def low_rating_comment(
    questionnaire: Questionnaire, answers: dict[str, Any]
) -> tuple[int, str] | None:
    """(lowest rating, comment) when a rating of 1 or 2 came with a comment, for the admins."""
    ratings = [
        int(answers[q.id])
        for q in questionnaire.questions
        if q.kind == "rating" and q.id in answers
    ]
    comments = [
        str(answers[q.id])
        for q in questionnaire.questions
        if q.kind == "text" and answers.get(q.id)
    ]
    if ratings and min(ratings) <= 2 and comments:
        return min(ratings), " ".join(comments)
    return None
