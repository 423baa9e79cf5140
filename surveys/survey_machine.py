"""A citizen's satisfaction survey as a pure state machine.

Ratings are a row of buttons and also typed digits 1–5; choices are buttons and also their
number or label; free text can be skipped by a button or by typing "bỏ qua". The finished
answers come back in ``SurveyStep.done``; the caller stores them (and decides whether this
person already counted today).

A button carries the index of the question it belongs to (``"2.4"`` = rating 4 for the third
question), so pressing a button left on an earlier question's message never answers the
current one.

The survey speaks the language kept in its state (``"lang"``): the questionnaire's own
wording in that language, and the bot's sentences from the citizens' catalogue. The first
question carries a one-tap switch to the questionnaire's other languages (``"L.km"``), and a
language can also be typed by name ("KM", "English"). Answers are values ("4", "dat_dai"),
never labels, so the figures do not depend on the language they were given in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from surveys import i18n
from surveys import texts as T
from surveys.catalogue import Question, Questionnaire, ServicePoint
from surveys.conversation import Input, Pressed, Reply, State, Step, fold
from surveys.scoring import RATING_LABELS

COMMENT_MAX = 1000
SKIP = "skip"
# What skips a comment, typed in any of the languages (compared folded)
SKIP_WORDS = frozenset(
    fold(w) for w in ("bỏ qua", "không", "không có", "-", "skip", "no", "none", "រំលង", "ទេ")
)
LANGUAGE_PREFIX = "L."
# A language typed by name switches the survey to it (compared folded)
LANGUAGE_WORDS: dict[str, str] = {
    fold(word): language
    for language, words in {
        "vi": ("vi", "tiếng việt", "vietnamese"),
        "km": ("km", "khmer", "ខ្មែរ", "ភាសាខ្មែរ"),
        "en": ("en", "english"),
    }.items()
    for word in words
}
_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")


@dataclass
class SurveyStep(Step):
    done: dict[str, Any] | None = None  # answers by question id, when finished


def questions(questionnaire: Questionnaire, point: ServicePoint) -> tuple[Question, ...]:
    return questionnaire.questions_for(point)


def languages(questionnaire: Questionnaire) -> tuple[str, ...]:
    """The languages a survey can run in: the questionnaire's that the bot also speaks."""
    return tuple(lang for lang in questionnaire.languages if lang in i18n.LANGUAGES)


def initial_language(questionnaire: Questionnaire, *wanted: str | None) -> str:
    """The first wanted language (the link's, then the app's) this survey has; else Vietnamese."""
    for code in wanted:
        found = i18n.supported(code)
        if found is not None and found in languages(questionnaire):
            return found
    return i18n.SOURCE


def choice_data(index: int, value: str) -> str:
    """What a button of question ``index`` carries: ``"<index>.<value>"``."""
    return f"{index}.{value}"


def asked(qs: tuple[Question, ...], answers: dict[str, Any]) -> list[int]:
    """The indices of the questions asked given ``answers`` so far: a conditional question
    counts while its choice is unanswered, and drops out when the choice does not open it."""
    return [n for n, q in enumerate(qs) if q.asked_given(answers) is not False]


def _next(qs: tuple[Question, ...], index: int, answers: dict[str, Any]) -> int | None:
    """The next question after ``index`` to ask, skipping those the answers leave out."""
    return next((n for n in asked(qs, answers) if n > index), None)


def _ask(
    questionnaire: Questionnaire,
    qs: tuple[Question, ...],
    index: int,
    lang: str,
    answers: dict[str, Any] | None = None,
) -> Reply:
    q = qs[index]
    order = asked(qs, answers or {})
    position = order.index(index) + 1 if index in order else index + 1
    progress = i18n.translate(lang, T.SURVEY_PROGRESS).format(index=position, total=len(order))
    head = f"{progress}. {q.text(lang)}"
    switch: tuple[tuple[tuple[str, str], ...], ...] = ()
    if index == 0:
        switch = (
            tuple(
                (i18n.SWITCH_LABELS[other], LANGUAGE_PREFIX + other)
                for other in languages(questionnaire)
                if other != lang
            ),
        )
        switch = switch if switch[0] else ()
    if q.kind == "rating":
        labels = "\n".join(
            f"{o.value} — {i18n.translate(lang, RATING_LABELS[int(o.value)])}" for o in q.options
        )
        row = tuple((o.value, choice_data(index, o.value)) for o in q.options)
        return Reply(f"{head}\n{labels}", (row, *switch))
    if q.kind == "choice":
        rows = tuple(
            ((f"{n}. {o.label(lang)}", choice_data(index, o.value)),)
            for n, o in enumerate(q.options, start=1)
        )
        return Reply(head, (*rows, *switch))
    skip_label = i18n.translate(lang, T.SURVEY_SKIP)
    skip = (((skip_label, choice_data(index, SKIP)),),) if q.optional else ()
    return Reply(head, (*skip, *switch), free_text=True)


def _opening(questionnaire: Questionnaire, point: ServicePoint, lang: str) -> Reply:
    """The point's name, the questionnaire's intro and the first question, in one message."""
    first = _ask(questionnaire, questions(questionnaire, point), 0, lang)
    intro_text = questionnaire.intro(lang) if questionnaire.intro is not None else ""
    intro = T.survey_start(point.name_in(lang), intro_text)
    return Reply(f"{intro}\n\n{first.text}", first.choices, first.free_text)


def start(questionnaire: Questionnaire, point: ServicePoint, lang: str = "vi") -> SurveyStep:
    state: State = {"i": 0, "answers": {}, "lang": lang}
    return SurveyStep(state, [_opening(questionnaire, point, lang)])


def language_of(state: State) -> str:
    lang = state.get("lang", i18n.SOURCE)
    return lang if isinstance(lang, str) and lang in i18n.LANGUAGES else i18n.SOURCE


def _switch_to(questionnaire: Questionnaire, q: Question, given: Input) -> str | None:
    """The language this input asks for (a switch button, or its name typed where no free
    text is expected), if the questionnaire has it."""
    if isinstance(given, Pressed):
        wanted = (
            given.choice[len(LANGUAGE_PREFIX) :]
            if given.choice.startswith(LANGUAGE_PREFIX)
            else None
        )
    elif q.kind != "text":
        wanted = LANGUAGE_WORDS.get(fold(given.text))
    else:
        wanted = None
    return wanted if wanted in languages(questionnaire) else None


def _interpret(q: Question, index: int, given: Input, lang: str) -> tuple[Any, str | None]:
    """(value, None) when the input answers ``q`` (value None: skipped); (..., hint) when not."""

    def hint(message: str, **values: object) -> tuple[Any, str]:
        return ..., i18n.translate(lang, message).format(**values)

    if isinstance(given, Pressed):
        at, _, choice = given.choice.partition(".")
        if at != str(index):
            return hint(T.SURVEY_OLD_BUTTON)
        if q.kind == "text":
            return (None, None) if choice == SKIP and q.optional else hint(T.BUTTON_EXPIRED)
        if any(o.value == choice for o in q.options):
            return (int(choice) if q.kind == "rating" else choice), None
        return hint(T.BUTTON_EXPIRED)
    typed = given.text.strip()
    if q.kind == "text":
        if q.optional and fold(typed) in SKIP_WORDS:
            return None, None
        if len(typed) > COMMENT_MAX:
            return hint(T.SURVEY_TEXT_TOO_LONG, limit=COMMENT_MAX)
        return (typed or None), None
    digits = typed.translate(_KHMER_DIGITS)
    if q.kind == "rating":
        if digits in {"1", "2", "3", "4", "5"}:
            return int(digits), None
        # "hài lòng" typed in words (a platform without buttons), in any language
        for level, label in RATING_LABELS.items():
            if any(fold(typed) == fold(i18n.translate(other, label)) for other in i18n.LANGUAGES):
                return level, None
        return hint(T.SURVEY_RATING_HINT)
    if digits.isascii() and digits.isdigit() and 1 <= int(digits) <= len(q.options):
        return q.options[int(digits) - 1].value, None
    match = [
        o.value
        for o in q.options
        if any(fold(typed) == fold(label) for label in o.label.by_language.values())
    ]
    if match:
        return match[0], None
    return hint(T.SURVEY_CHOICE_HINT, n=len(q.options))


def step(
    questionnaire: Questionnaire, point: ServicePoint, state: State, given: Input
) -> SurveyStep:
    qs = questions(questionnaire, point)
    index: int = state["i"]
    q = qs[index]
    switch = _switch_to(questionnaire, q, given)
    if switch is not None:
        state["lang"] = switch
        again = _opening(questionnaire, point, switch) if index == 0 else None
        answered = state["answers"]
        return SurveyStep(state, [again or _ask(questionnaire, qs, index, switch, answered)])
    lang = language_of(state)
    value, hint = _interpret(q, index, given, lang)
    answers: dict[str, Any] = state["answers"]
    if hint is not None:
        return SurveyStep(state, [Reply(hint), _ask(questionnaire, qs, index, lang, answers)])
    if value is not None:
        answers[q.id] = value
    following = _next(qs, index, answers)
    if following is not None:
        state["i"] = following
        return SurveyStep(state, [_ask(questionnaire, qs, following, lang, answers)])
    return SurveyStep(None, [], done=dict(answers))


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


def ratings_by_target(
    questionnaire: Questionnaire, answers: dict[str, Any]
) -> dict[str, list[int]]:
    """The ratings given, grouped by the plan target each question feeds (``{"14": [4, 5]}``)."""
    by_target: dict[str, list[int]] = {}
    for q in questionnaire.questions:
        if q.kind == "rating" and q.id in answers:
            for target in q.feeds:
                by_target.setdefault(target, []).append(int(answers[q.id]))
    return by_target


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
