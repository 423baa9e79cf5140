"""The indicator-report conversation of a unit head, as a pure state machine.

The caller supplies a ``Sheet`` (what is asked, targets, previous values, what is stored)
and feeds inputs; the machine answers with the next state and replies, and with
``ReportStep.submit`` once the person confirms. Nothing here touches a database or a
platform. The state is a JSON-able dict so it can be kept in the database between messages.

Stages of the state (``state["stage"]``):

* ``ask``          one item; ``part`` is ``den`` then ``num`` for a ratio (the total first,
                   clerk wording), ``one`` for a percent or a count;
* ``skip_reason``  the item does not apply to the unit: why;
* ``confirm``      the value moved more than 50 % from the unit's previous round: sure?
* ``summary``      every value with its percentage and the year's target: send, change, cancel;
* ``pick``         which item to change.

Every answer that reaches ``submit`` has passed :func:`problem`; a value that moved more than
50 % has been confirmed (typed, or given by quick entry, and then kept by the person).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from surveys import texts as T
from surveys.conversation import Input, Pressed, Reply, State, Step, Text, fold
from surveys.numbers import NumberError, format_number, format_percent, parse_number, parse_pair
from surveys.scoring import is_met, ratio_percent

Answer = dict[str, Any]  # {"num", "den"} | {"value"} | {"skip": reason}
BIG_CHANGE = 0.5  # a move of more than 50 % from the previous round asks "are you sure?"
MAX_COUNT = 1_000_000_000  # no unit of a district handles a billion records in a quarter
SKIP_REASON_MAX = 300  # submission_values.skip_reason is String(300)
SKIP_WORDS = ("khong ap dung", "bo qua", "kad")
KEEP_WORDS = ("=", "giu nguyen")
BACK_WORDS = ("quay lai", "tro lai")
SEND_WORDS = ("gui", "gui bao cao")
EDIT_WORDS = ("sua", "sua mot muc")
CANCEL_WORDS = ("huy",)
SURE_WORDS = ("dung", "co", "giu", "giu so nay", "chac chan")
RETYPE_WORDS = ("nhap lai", "khong")

# Choices carried by buttons (the bot layer wraps them into tokened callback data).
SEND, EDIT, CANCEL, SKIP, SAME, BACK, KEEP, RETYPE = (
    "send",
    "edit",
    "cancel",
    "skip",
    "same",
    "back",
    "keep",
    "retype",
)


@dataclass(frozen=True)
class Item:
    code: str
    kind: Literal["ratio", "percent", "count"]
    name: str
    purpose: str = ""
    numerator_label: str = ""
    denominator_label: str = ""
    target: float | None = None
    direction: str = "min"
    previous: float | None = None  # last round's figure (the percent for a ratio)


@dataclass(frozen=True)
class Sheet:
    unit_name: str
    period: str
    items: tuple[Item, ...]
    stored: Mapping[str, Answer] = field(default_factory=dict)  # a sent submission's values
    year: int | None = None  # the year whose targets apply (the round's deadline year)

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code.strip().lower()), None)


@dataclass
class ReportStep(Step):
    submit: dict[str, Answer] | None = None


# --------------------------------------------------------------------------- values


def figure(item: Item, answer: Answer) -> float | None:
    """The number compared with targets and with the previous round (None: skipped, 0/0)."""
    if "skip" in answer:
        return None
    if item.kind == "ratio":
        return ratio_percent(float(answer["num"]), float(answer["den"]))
    return float(answer["value"])


def describe(item: Item, answer: Answer) -> str:
    if "skip" in answer:
        return T.REPORT_SKIPPED.format(reason=answer["skip"])
    if item.kind == "ratio":
        pair = f"{format_number(answer['num'])}/{format_number(answer['den'])}"
        share = figure(item, answer)
        if share is None:
            return f"{pair} ({T.NOTHING_IN_PERIOD})"
        return f"{pair} = {format_percent(share)}"
    if item.kind == "percent":
        return format_percent(answer["value"])
    return format_number(answer["value"])


def _count_problem(value: Any) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return T.NUMBER_PROBLEMS["not_a_number"]
    if not math.isfinite(value) or value < 0:
        return T.NUMBER_PROBLEMS["not_a_number"]
    if value > MAX_COUNT:
        return T.COUNT_TOO_BIG.format(limit=format_number(MAX_COUNT))
    if value != int(value):
        return T.COUNT_WHOLE
    return None


def problem(item: Item, answer: Answer) -> str | None:
    """Why an answer breaks the item's validation rule, or None when it is acceptable.

    The single place where the rules live: a ratio is two whole counts with the numerator
    not above the denominator, a percent lies within 0-100, a count is whole, a skip has a
    reason in words. Both typed answers and quick entry go through it.
    """
    if "skip" in answer:
        reason = answer["skip"]
        if not isinstance(reason, str) or not reason.strip():
            return T.SKIP_REASON_EMPTY
        if not any(c.isalpha() for c in reason) or len(reason) > SKIP_REASON_MAX:
            return T.SKIP_REASON_WORDS
        return None
    if item.kind == "ratio":
        num, den = answer.get("num"), answer.get("den")
        trouble = _count_problem(den) or _count_problem(num)
        if trouble is not None:
            return trouble
        assert isinstance(num, int | float) and isinstance(den, int | float)
        if num > den:
            return T.NUMERATOR_TOO_BIG.format(num=format_number(num), den=format_number(den))
        return None
    value = answer.get("value")
    if item.kind == "percent":
        if not isinstance(value, int | float) or isinstance(value, bool):
            return T.NUMBER_PROBLEMS["not_a_number"]
        return None if math.isfinite(value) and 0 <= value <= 100 else T.PERCENT_RANGE
    return _count_problem(value)


def big_change(item: Item, answer: Answer) -> bool:
    """Whether the figure moved more than 50 % from the unit's previous round.

    From a previous 0, any other figure is a big move (the relative change is unbounded).
    """
    new = figure(item, answer)
    if new is None or item.previous is None:
        return False
    if item.previous == 0:
        return new != 0
    return abs(new - item.previous) / abs(item.previous) > BIG_CHANGE


def _read_number(text: str, item: Item, part: str) -> float | str:
    """The number typed, or the message explaining why it is not one."""
    allow_percent = item.kind == "percent"
    if not allow_percent and text.strip().endswith("%"):
        return T.COUNT_NOT_PERCENT
    try:
        value: Decimal = parse_number(text, allow_percent=allow_percent)
    except NumberError as exc:
        return _number_message(exc)
    return float(value)


def _number_message(exc: NumberError) -> str:
    return T.NUMBER_PROBLEMS.get(str(exc.problem), T.NUMBER_PROBLEMS["not_a_number"]) + (
        T.NUMBER_EXAMPLE
    )


# --------------------------------------------------------------------------- rendering


def _item_head(sheet: Sheet, index: int) -> str:
    item = sheet.items[index]
    head = f"{T.progress(index + 1, len(sheet.items))} — {item.code}. {item.name}"
    if item.purpose:
        head += f"\n({item.purpose})"
    return head


def _question(sheet: Sheet, state: State) -> Reply:
    index, part = state["i"], state["part"]
    item = sheet.items[index]
    lines = [_item_head(sheet, index)]
    current = state["answers"].get(item.code)
    editing = bool(state.get("edit")) and current is not None
    if editing and part != "num":
        lines.append(T.current_value(describe(item, current)))
    if part == "den":
        lines.append(T.ASK_DENOMINATOR.format(label=item.denominator_label))
    elif part == "num":
        den = format_number(state.get("den") or 0)
        lines.append(T.ASK_NUMERATOR.format(label=item.numerator_label, den=den))
    elif item.kind == "percent":
        lines.append(T.ASK_PERCENT)
    else:
        lines.append(T.ASK_COUNT)
    if part == "num":
        row: tuple[tuple[str, str], ...] = ((T.BACK_TO_DENOMINATOR, BACK),)
    else:
        row = ((T.SKIP_BUTTON, SKIP),) + (((T.KEEP_BUTTON, SAME),) if editing else ())
    return Reply("\n".join(lines), (row,), free_text=True)


def _target_text(sheet: Sheet, item: Item, answer: Answer) -> str:
    if item.target is None or "skip" in answer or item.kind == "count":
        return ""
    sign = "≥" if item.direction == "min" else "≤"
    note = T.TARGET_NOTE.format(
        year=sheet.year if sheet.year is not None else "",
        sign=sign,
        target=format_percent(item.target, 0),
    )
    met = is_met(figure(item, answer), item.target, item.direction)
    verdict = "" if met is None else (f" — {T.MET}" if met else f" — {T.NOT_MET}")
    return f" ({note}{verdict})"


def summary(sheet: Sheet, answers: Mapping[str, Answer]) -> Reply:
    lines = [T.summary_header(sheet.unit_name, sheet.period)]
    for item in sheet.items:
        answer = answers.get(item.code)
        if answer is None:
            lines.append(f"• {item.code}. {item.name}: {T.REPORT_NOT_ENTERED}")
            continue
        flag = " ⚠️" if big_change(item, answer) else ""
        shown = describe(item, answer) + _target_text(sheet, item, answer)
        lines.append(f"• {item.code}. {item.name}: {shown}{flag}")
    lines.append(T.SUMMARY_HINT)
    return Reply(
        "\n".join(lines),
        (
            ((T.SUMMARY_SEND, SEND),),
            ((T.SUMMARY_EDIT, EDIT), (T.SUMMARY_CANCEL, CANCEL)),
        ),
    )


def _pick(sheet: Sheet) -> Reply:
    rows = tuple(
        tuple((item.code, item.code) for item in sheet.items[i : i + 4])
        for i in range(0, len(sheet.items), 4)
    )
    return Reply(T.PICK_ITEM, (*rows, ((T.BACK_BUTTON, BACK),)))


def _confirm_reply(item: Item, answer: Answer) -> Reply:
    previous = item.previous or 0
    old = format_number(previous) if item.kind == "count" else format_percent(previous)
    return Reply(
        T.big_change(describe(item, answer), old),
        (((T.CONFIRM_KEEP, KEEP), (T.CONFIRM_RETYPE, RETYPE)),),
    )


def _skip_reply() -> Reply:
    return Reply(T.ASK_SKIP_REASON, (((T.BACK_BUTTON, BACK),),), free_text=True)


# --------------------------------------------------------------------------- machine


def start(
    sheet: Sheet,
    answers: Mapping[str, Answer] | None = None,
    accepted: Mapping[str, Answer] | None = None,
) -> ReportStep:
    """Begin a report.

    ``accepted`` are answers already checked and confirmed (an unfinished conversation's);
    ``answers`` are new ones (a quick entry): each is checked again, and one that moved more
    than 50 % from the previous round is asked about before it is accepted. The report
    starts at the summary when everything is known (a correction, a full quick entry),
    otherwise at the first unanswered item.
    """
    known: dict[str, Answer] = {}
    for code, answer in {**sheet.stored, **(accepted or {})}.items():
        item = sheet.item(code)
        if item is not None and problem(item, answer) is None:
            known[item.code] = dict(answer)
    unconfirmed: dict[str, Answer] = {}
    for code, answer in (answers or {}).items():
        item = sheet.item(code)
        if item is None or problem(item, answer) is not None:
            continue
        if big_change(item, answer) and known.get(item.code) != answer:
            unconfirmed[item.code] = dict(answer)
        else:
            known[item.code] = dict(answer)
    state: State = {
        "answers": known,
        "unconfirmed": unconfirmed,
        "stage": "ask",
        "i": 0,
        "code": "",
        "part": "",
        "edit": False,
    }
    return _next(sheet, state, [])


def resume(sheet: Sheet, state: State) -> ReportStep:
    """Say again where a report stands (after /baocao on an unfinished one, or a restart)."""
    repaired = _repair(sheet, state)
    if repaired is None:
        return _next(sheet, _clean(sheet, state), [])
    return ReportStep(repaired, [_current(sheet, repaired)])


def position(state: State) -> int:
    """The 1-based number of the item the report is at (for "chỉ tiêu 3/7")."""
    index = state.get("i", 0)
    return index + 1 if isinstance(index, int) else 1


def _current(sheet: Sheet, state: State) -> Reply:
    stage = state["stage"]
    if stage == "summary":
        return summary(sheet, state["answers"])
    if stage == "pick":
        return _pick(sheet)
    if stage == "skip_reason":
        return _skip_reply()
    if stage == "confirm":
        return _confirm_reply(sheet.items[state["i"]], state["pending"])
    return _question(sheet, state)


def _clean(sheet: Sheet, state: State) -> State:
    """A state reset to the next unanswered item, keeping the still valid answers."""
    answers = {
        code: answer
        for code, answer in dict(state.get("answers") or {}).items()
        if (item := sheet.item(code)) is not None and problem(item, answer) is None
    }
    return {
        "answers": answers,
        "unconfirmed": {},
        "stage": "ask",
        "i": 0,
        "code": "",
        "edit": False,
    }


def _repair(sheet: Sheet, state: State) -> State | None:
    """The state if it still fits the sheet (the catalogue or the round may have changed
    between two messages), else None."""
    stage = state.get("stage")
    if not isinstance(state.get("answers"), dict):
        return None
    if stage in ("summary", "pick"):
        return state
    if stage not in ("ask", "skip_reason", "confirm"):
        return None
    index = state.get("i")
    if not isinstance(index, int) or not 0 <= index < len(sheet.items):
        return None
    item = sheet.items[index]
    if item.code != state.get("code"):
        return None
    if stage == "ask":
        expected = ("den", "num") if item.kind == "ratio" else ("one",)
        if state.get("part") not in expected:
            return None
        if state["part"] == "num" and not isinstance(state.get("den"), int | float):
            return None
    if stage == "confirm" and not isinstance(state.get("pending"), dict):
        return None
    return state


def _ask(sheet: Sheet, state: State, index: int, replies: list[Reply]) -> ReportStep:
    item = sheet.items[index]
    state.update(
        stage="ask", i=index, code=item.code, part="den" if item.kind == "ratio" else "one"
    )
    state.pop("den", None)
    state.pop("pending", None)
    replies.append(_question(sheet, state))
    return ReportStep(state, replies)


def _to_summary(sheet: Sheet, state: State, replies: list[Reply]) -> ReportStep:
    state.update(stage="summary", edit=False, part="")
    for key in ("den", "pending"):
        state.pop(key, None)
    replies.append(summary(sheet, state["answers"]))
    return ReportStep(state, replies)


def _next(sheet: Sheet, state: State, replies: list[Reply]) -> ReportStep:
    """Ask about the next unconfirmed quick-entry value, else move to the next unanswered
    item (not when changing one item from the summary), else to the summary."""
    answers: dict[str, Answer] = state["answers"]
    unconfirmed: dict[str, Answer] = state.get("unconfirmed") or {}
    for index, item in enumerate(sheet.items):
        if item.code in unconfirmed:
            pending = unconfirmed.pop(item.code)
            state["unconfirmed"] = unconfirmed
            state.update(stage="confirm", i=index, code=item.code, pending=pending, part="")
            state.pop("den", None)
            replies.append(_confirm_reply(item, pending))
            return ReportStep(state, replies)
    state["unconfirmed"] = {}
    if not state.get("edit"):
        for index, item in enumerate(sheet.items):
            if item.code not in answers:
                return _ask(sheet, state, index, replies)
    return _to_summary(sheet, state, replies)


def _accept(sheet: Sheet, state: State, answer: Answer, replies: list[Reply]) -> ReportStep:
    item = sheet.items[state["i"]]
    trouble = problem(item, answer)
    if trouble is not None:
        replies.append(Reply(trouble))
        return _ask(sheet, state, state["i"], replies)
    if big_change(item, answer) and state["answers"].get(item.code) != answer:
        state.update(stage="confirm", pending=answer, part="")
        state.pop("den", None)
        replies.append(_confirm_reply(item, answer))
        return ReportStep(state, replies)
    state["answers"][item.code] = answer
    state.pop("pending", None)
    return _next(sheet, state, replies)


def step(sheet: Sheet, state: State, given: Input) -> ReportStep:
    """Feed one input to the conversation."""
    repaired = _repair(sheet, state)
    if repaired is None:
        return _next(sheet, _clean(sheet, state), [])
    state = repaired
    choice = given.choice if isinstance(given, Pressed) else None
    typed = given.text.strip() if isinstance(given, Text) else ""
    word = fold(typed)
    stage = state["stage"]
    if stage == "summary":
        return _on_summary(sheet, state, choice, word)
    if stage == "pick":
        return _on_pick(sheet, state, choice, typed, word)
    if stage == "confirm":
        return _on_confirm(sheet, state, choice, typed, word)
    if stage == "skip_reason":
        return _on_skip_reason(sheet, state, choice, typed, word)
    return _on_ask(sheet, state, choice, typed, word)


def _on_summary(sheet: Sheet, state: State, choice: str | None, word: str) -> ReportStep:
    if choice == SEND or (choice is None and word in SEND_WORDS):
        answers: dict[str, Answer] = state["answers"]
        if any(item.code not in answers for item in sheet.items):
            return _next(sheet, state, [])
        return ReportStep(None, [], submit={i.code: dict(answers[i.code]) for i in sheet.items})
    if choice == EDIT or (choice is None and word in EDIT_WORDS):
        state["stage"] = "pick"
        return ReportStep(state, [_pick(sheet)])
    if choice == CANCEL or (choice is None and word in CANCEL_WORDS):
        return ReportStep(None, [Reply(T.CANCELLED)])
    return ReportStep(state, [summary(sheet, state["answers"])])


def _on_pick(sheet: Sheet, state: State, choice: str | None, typed: str, word: str) -> ReportStep:
    if choice == BACK or (choice is None and word in BACK_WORDS + CANCEL_WORDS):
        return _to_summary(sheet, state, [])
    code = (choice or typed).strip().lower()
    item = sheet.item(code)
    if item is None and code.isascii() and code.isdigit() and 1 <= int(code) <= len(sheet.items):
        item = sheet.items[int(code) - 1]  # a position, when no item has that code
    if item is None:
        return ReportStep(state, [_pick(sheet)])
    state["edit"] = True
    return _ask(sheet, state, sheet.items.index(item), [])


def _on_confirm(
    sheet: Sheet, state: State, choice: str | None, typed: str, word: str
) -> ReportStep:
    item = sheet.items[state["i"]]
    if choice == KEEP or (choice is None and word in SURE_WORDS):
        state["answers"][item.code] = state.pop("pending")
        return _next(sheet, state, [])
    if choice == RETYPE or (choice is None and word in RETYPE_WORDS):
        return _ask(sheet, state, state["i"], [])
    if choice is None and typed[:1].isdigit():
        # A new figure typed instead of answering: take it as the answer to the question.
        _ask(sheet, state, state["i"], [])
        return step(sheet, state, Text(typed))
    return ReportStep(state, [_confirm_reply(item, state["pending"])])


def _on_skip_reason(
    sheet: Sheet, state: State, choice: str | None, typed: str, word: str
) -> ReportStep:
    if choice == BACK or (choice is None and word in BACK_WORDS):
        return _ask(sheet, state, state["i"], [])
    if choice is not None or not typed:
        return ReportStep(state, [Reply(T.SKIP_REASON_EMPTY), _skip_reply()])
    answer: Answer = {"skip": typed[:SKIP_REASON_MAX]}
    trouble = problem(sheet.items[state["i"]], answer)
    if trouble is not None:
        return ReportStep(state, [Reply(trouble), _skip_reply()])
    state["stage"] = "ask"
    return _accept(sheet, state, answer, [])


def _on_ask(sheet: Sheet, state: State, choice: str | None, typed: str, word: str) -> ReportStep:
    item = sheet.items[state["i"]]
    part = state["part"]
    current = state["answers"].get(item.code)
    if part != "num" and (choice == SKIP or (choice is None and word in SKIP_WORDS)):
        state["stage"] = "skip_reason"
        return ReportStep(state, [_skip_reply()])
    if (
        part != "num"
        and state.get("edit")
        and current is not None
        and (choice == SAME or (choice is None and word in KEEP_WORDS))
    ):
        return _to_summary(sheet, state, [])
    if part == "num" and (choice == BACK or (choice is None and word in BACK_WORDS)):
        state.update(part="den")
        state.pop("den", None)
        return ReportStep(state, [_question(sheet, state)])
    if choice is not None:
        return ReportStep(state, [_question(sheet, state)])
    if part == "den" and "/" in typed:
        # "120/150" typed at once: the numerator over the total.
        try:
            num, den = parse_pair(typed)
        except NumberError as exc:
            return ReportStep(state, [Reply(_number_message(exc)), _question(sheet, state)])
        return _accept(sheet, state, {"num": float(num), "den": float(den)}, [])
    number = _read_number(typed, item, part)
    if isinstance(number, str):
        return ReportStep(state, [Reply(number), _question(sheet, state)])
    if part == "den":
        trouble = _count_problem(number)
        if trouble is not None:
            return ReportStep(state, [Reply(trouble), _question(sheet, state)])
        state.update(part="num", den=number)
        return ReportStep(state, [_question(sheet, state)])
    if part == "num":
        answer: Answer = {"num": number, "den": state["den"]}
        trouble = problem(item, answer)
        if trouble is not None:  # ask the numerator again; "Sửa tổng số" goes back
            return ReportStep(state, [Reply(trouble), _question(sheet, state)])
        return _accept(sheet, state, answer, [])
    return _accept(sheet, state, {"value": number}, [])


# --------------------------------------------------------------------------- quick entry

_PART = re.compile(r"^([0-9]{1,2}[a-zA-Z]?)=(.*)$")
_SPACED = re.compile(r"\s*([=/])\s*")


@dataclass(frozen=True)
class QuickEntry:
    answers: dict[str, Answer]
    unknown: tuple[str, ...]
    malformed: tuple[str, ...]  # each "part (why)"


def parse_quick(sheet: Sheet, text: str) -> QuickEntry:
    """Parse ``2=120/150 5c=300/520 11b=64``: every part is checked like a typed answer.

    Parts are separated by spaces or ``;`` (spaces around ``=`` and ``/`` are allowed).
    A code the unit does not report in this round is *unknown*; a part that is not
    ``code=value``, or whose value breaks the item's rule, is *malformed* with the reason.
    """
    answers: dict[str, Answer] = {}
    unknown: list[str] = []
    malformed: list[str] = []
    for part in _SPACED.sub(r"\1", text).replace(";", " ").split():
        match = _PART.match(part)
        if not match:
            malformed.append(part)
            continue
        code, raw = match.group(1).lower(), match.group(2)
        item = sheet.item(code)
        if item is None:
            unknown.append(code)
            continue
        if item.code in answers:
            malformed.append(f"{part} ({T.QUICK_DUPLICATE})")
            continue
        answer, trouble = _quick_value(item, raw)
        if answer is not None:
            trouble = problem(item, answer)
        if trouble is not None or answer is None:
            malformed.append(f"{part} ({trouble})")
            continue
        answers[item.code] = answer
    return QuickEntry(answers, tuple(unknown), tuple(malformed))


def _quick_value(item: Item, raw: str) -> tuple[Answer | None, str | None]:
    if item.kind == "ratio":
        if "/" not in raw:
            return None, T.QUICK_NEEDS_PAIR.format(code=item.code)
        try:
            num, den = parse_pair(raw)
        except NumberError as exc:
            return None, T.NUMBER_PROBLEMS.get(str(exc.problem), T.NUMBER_PROBLEMS["not_a_number"])
        return {"num": float(num), "den": float(den)}, None
    if "/" in raw:
        return None, T.QUICK_ONE_NUMBER
    number = _read_number(raw, item, "one")
    if isinstance(number, str):
        return None, number.removesuffix(T.NUMBER_EXAMPLE)
    return {"value": number}, None


# --------------------------------------------------------------------------- the desk's form


def form_answer(
    item: Item, den: str = "", num: str = "", value: str = "", skip: bool = False, reason: str = ""
) -> tuple[Answer | None, str | None]:
    """The answer typed into the desk's form fields of ``item``, and why it is refused.

    The same reading and rules as a typed chat answer (:func:`_read_number`,
    :func:`problem`); ``(None, None)`` when nothing was entered. A refused answer is still
    returned when it could be read, so the page can say what is wrong with it.
    """
    if skip:
        answer: Answer = {"skip": reason.strip()}
        return answer, problem(item, answer) and (
            T.DESK_SKIP_NEEDS_REASON if not reason.strip() else problem(item, answer)
        )
    if item.kind == "ratio":
        if not den.strip() and not num.strip():
            return None, None
        if not den.strip() or not num.strip():
            return None, T.DESK_NUMERATOR_MISSING
        total = _read_number(den, item, "den")
        if isinstance(total, str):
            return None, total
        part = _read_number(num, item, "num")
        if isinstance(part, str):
            return None, part
        answer = {"num": part, "den": total}
        return answer, problem(item, answer)
    if not value.strip():
        return None, None
    number = _read_number(value, item, "one")
    if isinstance(number, str):
        return None, number
    answer = {"value": number}
    return answer, problem(item, answer)


def verdict(sheet: Sheet, item: Item, answer: Answer) -> bool | None:
    """Whether the answer reaches the item's target for the sheet's year (None: no target,
    a count, skipped, nothing in the period) — the summary's "đạt" / "chưa đạt"."""
    if item.target is None or "skip" in answer or item.kind == "count":
        return None
    return is_met(figure(item, answer), item.target, item.direction)
