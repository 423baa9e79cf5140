"""The counter tablet's survey (the kiosk) as pure functions.

A kiosk is a tablet left at a one-stop counter, as the queueing systems offices use have
(VNPT iQMS: the counter's name as a waiting screen, star buttons, reasons asked for a low
rating, back to the waiting screen by itself). Its questionnaire is an ordinary one
(``points.toml``: ``kiosk = "quay"``) read by a rule of its own:

* the rating questions come first, one screen each, five large labelled buttons;
* the other questions (reasons to choose, one or several, and an optional comment) are
  asked on one screen, and only when a rating was 1–3 (``FOLLOW_UP_BELOW``);
* the answer is finished when the last screen is; one left idle for ``IDLE_SECONDS`` is
  discarded, never counted;
* a tablet counts visits, not people: at most one counted answer per device per
  ``DEVICE_GAP_SECONDS`` (the use case keeps that rule in the database).

Answers are values ("4", ["cho_lau", "thai_do"]), never labels, as in the chat survey, so
the aggregates (``survey_machine.ratings_by_target``) are the chat's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from surveys import texts as T
from surveys.catalogue import Question, Questionnaire

IDLE_SECONDS = 60
DEVICE_GAP_SECONDS = 10
THANKS_SECONDS = 8  # the thank-you screen, before the waiting screen comes back
FOLLOW_UP_BELOW = 4  # a rating under this asks the reasons
COMMENT_MAX = 500


@dataclass(frozen=True)
class Screen:
    """What the tablet shows next: a rating question (``index`` among the ratings), the
    follow-up questions, or nothing more (the answer is complete)."""

    rating: Question | None = None
    index: int = 0
    follow_ups: tuple[Question, ...] = ()

    @property
    def complete(self) -> bool:
        return self.rating is None and not self.follow_ups


def ratings(questionnaire: Questionnaire) -> tuple[Question, ...]:
    return tuple(q for q in questionnaire.questions if q.kind == "rating")


def follow_ups(questionnaire: Questionnaire) -> tuple[Question, ...]:
    """The questions asked after a low rating (a field question is never asked here: a
    kiosk's answers take the point's own field, if it has one)."""
    return tuple(q for q in questionnaire.questions if q.kind != "rating" and not q.sets_field)


def wants_follow_up(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> bool:
    given = [int(answers[q.id]) for q in ratings(questionnaire) if q.id in answers]
    return bool(follow_ups(questionnaire)) and any(v < FOLLOW_UP_BELOW for v in given)


def next_screen(
    questionnaire: Questionnaire, answers: Mapping[str, Any], followed_up: bool
) -> Screen:
    """The screen after ``answers`` (``followed_up``: the follow-up screen was sent)."""
    for index, question in enumerate(ratings(questionnaire)):
        if question.id not in answers:
            return Screen(rating=question, index=index)
    if not followed_up and wants_follow_up(questionnaire, answers):
        return Screen(follow_ups=follow_ups(questionnaire))
    return Screen()


def rate(
    questionnaire: Questionnaire, answers: Mapping[str, Any], index: int, value: str
) -> dict[str, Any] | str:
    """The answers with rating question ``index`` answered ``value``; or what to tell the
    person (an ``N_`` sentence) when the tap is not one of the current screen's buttons."""
    qs = ratings(questionnaire)
    screen = next_screen(questionnaire, answers, followed_up=False)
    if screen.rating is None or not 0 <= index < len(qs) or qs[index] is not screen.rating:
        return T.KIOSK_OLD_SCREEN
    if value not in {o.value for o in screen.rating.options}:
        return T.KIOSK_OLD_SCREEN
    return {**answers, screen.rating.id: int(value)}


def follow_up(
    questionnaire: Questionnaire,
    answers: Mapping[str, Any],
    form: Mapping[str, Sequence[str]],
) -> dict[str, Any] | str:
    """The answers with the follow-up screen's form (question id -> the values given:
    chosen option values, or the comment typed) added; or what to tell the person.
    Nothing chosen and nothing typed is a valid answer: the reasons are optional."""
    out = dict(answers)
    for question in follow_ups(questionnaire):
        given = [v.strip() for v in form.get(question.id, ()) if v.strip()]
        if question.kind == "choice":
            known = {o.value for o in question.options}
            if any(v not in known for v in given):
                return T.KIOSK_OLD_SCREEN
            if given:
                out[question.id] = sorted(set(given), key=[o.value for o in question.options].index)
        elif given:
            text = " ".join(given)
            if len(text) > COMMENT_MAX:
                return T.SURVEY_TEXT_TOO_LONG
            out[question.id] = text
    return out
