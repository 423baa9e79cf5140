"""The indicator-report conversation of a unit head, as a pure state machine.

The caller supplies a ``Sheet`` (what is asked, targets, previous values, what is stored)
and feeds inputs; the machine answers with the next state and replies, and with
``Step.submit`` once the person confirms. Nothing here touches a database or a platform.
The state is a JSON-able dict so it can be kept in the database between messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from bot import texts as T
from surveys.conversation import Input, Pressed, Reply, State, Step, Text, fold
from surveys.numbers import NumberError, format_number, format_percent, parse_number, parse_pair
from surveys.scoring import is_met, ratio_percent

Answer = dict[str, Any]  # {"num", "den"} | {"value"} | {"skip": reason}
BIG_CHANGE = 0.5
SKIP_REASON_MAX = 300
SKIP_WORDS = ("khong ap dung", "bo qua")


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
    previous: float | None = None  # last round's figure (percent for ratios)


@dataclass(frozen=True)
class Sheet:
    unit_name: str
    period: str
    items: tuple[Item, ...]
    stored: Mapping[str, Answer] = field(default_factory=dict)  # a sent submission's values

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code.lower()), None)


@dataclass
class ReportStep(Step):
    submit: dict[str, Answer] | None = None


# --------------------------------------------------------------------------- values


def figure(item: Item, answer: Answer) -> float | None:
    """The number compared with targets and with the previous round."""
    if "skip" in answer:
        return None
    if item.kind == "ratio":
        return ratio_percent(float(answer["num"]), float(answer["den"]))
    return float(answer["value"])


def describe(item: Item, answer: Answer) -> str:
    if "skip" in answer:
        return f"không áp dụng (lý do: {answer['skip']})"
    if item.kind == "ratio":
        num, den = answer["num"], answer["den"]
        return f"{format_number(num)}/{format_number(den)} = {format_percent(figure(item, answer))}"
    if item.kind == "percent":
        return format_percent(answer["value"])
    return format_number(answer["value"])


def problem(item: Item, answer: Answer) -> str | None:
    """Why an answer breaks the item's validation rule, or None when it is acceptable."""
    if "skip" in answer:
        return None if str(answer["skip"]).strip() else T.SKIP_REASON_EMPTY
    if item.kind == "ratio":
        num, den = float(answer["num"]), float(answer["den"])
        if num != int(num) or den != int(den):
            return T.COUNT_WHOLE
        if num > den:
            return T.NUMERATOR_TOO_BIG.format(num=format_number(num), den=format_number(den))
        return None
    value = float(answer["value"])
    if item.kind == "percent" and not 0 <= value <= 100:
        return T.PERCENT_RANGE
    if item.kind == "count" and value != int(value):
        return T.COUNT_WHOLE
    return None


def big_change(item: Item, answer: Answer) -> bool:
    new = figure(item, answer)
    if new is None or item.previous is None or item.previous == 0:
        return False
    return abs(new - item.previous) / item.previous > BIG_CHANGE


def _number(text: str, allow_percent: bool) -> float | str:
    """The number typed, or the error message to show."""
    try:
        value: Decimal = parse_number(text, allow_percent=allow_percent)
    except NumberError as exc:
        return T.NUMBER_PROBLEMS.get(str(exc.problem), T.NUMBER_PROBLEMS["not_a_number"]) + (
            T.NUMBER_EXAMPLE
        )
    return float(value)


# --------------------------------------------------------------------------- rendering


def _question(sheet: Sheet, index: int, part: str, den: float | None) -> Reply:
    item = sheet.items[index]
    head = f"{T.progress(index + 1, len(sheet.items))} — {item.code}. {item.name}"
    if item.purpose:
        head += f"\n({item.purpose})"
    if part == "den":
        ask = T.ASK_DENOMINATOR.format(label=item.denominator_label)
    elif part == "num":
        ask = T.ASK_NUMERATOR.format(label=item.numerator_label, den=format_number(den or 0))
    elif item.kind == "percent":
        ask = T.ASK_PERCENT
    else:
        ask = T.ASK_COUNT
    choices = ((T.SKIP_BUTTON, "skip"),) if part != "num" else ()
    return Reply(f"{head}\n{ask}", (choices,) if choices else (), free_text=True)


def _target_text(item: Item, answer: Answer) -> str:
    if item.target is None or "skip" in answer:
        return ""
    sign = "≥" if item.direction == "min" else "≤"
    met = is_met(figure(item, answer), item.target, item.direction)
    verdict = "" if met is None else (f": {T.MET}" if met else f": {T.NOT_MET}")
    return f" (mục tiêu {sign} {format_percent(item.target, 0)}{verdict})"


def summary(sheet: Sheet, answers: Mapping[str, Answer]) -> Reply:
    lines = [T.summary_header(sheet.unit_name, sheet.period)]
    for item in sheet.items:
        answer = answers.get(item.code)
        if answer is None:
            lines.append(f"• {item.code}. {item.name}: (chưa nhập)")
            continue
        flag = " ⚠️" if big_change(item, answer) else ""
        shown = describe(item, answer) + _target_text(item, answer)
        lines.append(f"• {item.code}. {item.name}: {shown}{flag}")
    lines.append(T.SUMMARY_HINT)
    return Reply(
        "\n".join(lines),
        (
            ((T.SUMMARY_SEND, "send"),),
            ((T.SUMMARY_EDIT, "edit"), (T.SUMMARY_CANCEL, "cancel")),
        ),
    )


def _pick(sheet: Sheet) -> Reply:
    rows = tuple(
        tuple((item.code, item.code) for item in sheet.items[i : i + 4])
        for i in range(0, len(sheet.items), 4)
    )
    return Reply(T.PICK_ITEM, rows)


# --------------------------------------------------------------------------- machine


def start(sheet: Sheet, answers: Mapping[str, Answer] | None = None) -> ReportStep:
    """Begin a report: at the summary when everything is known (a correction, a quick
    entry), otherwise at the first unanswered item."""
    known = {**sheet.stored, **(answers or {})}
    state: State = {"answers": known, "stage": "ask", "i": 0, "part": "", "edit": False}
    return _next(sheet, state, [])


def resume(sheet: Sheet, state: State) -> ReportStep:
    """Say again where a report stands (after /baocao on an unfinished one, or a restart)."""
    return ReportStep(state, [_current(sheet, state)])


def _current(sheet: Sheet, state: State) -> Reply:
    stage = state["stage"]
    if stage == "summary":
        return summary(sheet, state["answers"])
    if stage == "pick":
        return _pick(sheet)
    if stage == "skip_reason":
        return Reply(T.ASK_SKIP_REASON)
    if stage == "confirm":
        item = sheet.items[state["i"]]
        return _confirm_reply(item, state["pending"])
    return _question(sheet, state["i"], state["part"], state.get("den"))


def _confirm_reply(item: Item, answer: Answer) -> Reply:
    old = (
        format_percent(item.previous) if item.kind != "count" else format_number(item.previous or 0)
    )
    return Reply(
        T.big_change(describe(item, answer), old),
        (((T.CONFIRM_KEEP, "keep"), (T.CONFIRM_RETYPE, "retype")),),
    )


def _next(sheet: Sheet, state: State, replies: list[Reply]) -> ReportStep:
    """Move to the next unanswered item, or to the summary when none is left."""
    answers: dict[str, Answer] = state["answers"]
    if not state.get("edit"):
        for index, item in enumerate(sheet.items):
            if item.code not in answers:
                state.update(stage="ask", i=index, part="den" if item.kind == "ratio" else "one")
                state.pop("den", None)
                replies.append(_question(sheet, index, state["part"], None))
                return ReportStep(state, replies)
    state.update(stage="summary", edit=False)
    state.pop("den", None)
    replies.append(summary(sheet, answers))
    return ReportStep(state, replies)


def _accept(sheet: Sheet, state: State, answer: Answer, replies: list[Reply]) -> ReportStep:
    item = sheet.items[state["i"]]
    trouble = problem(item, answer)
    if trouble is not None:
        part = "den" if item.kind == "ratio" else "one"
        state.update(stage="ask", part=part)
        replies += [Reply(trouble), _question(sheet, state["i"], part, None)]
        return ReportStep(state, replies)
    if big_change(item, answer):
        state.update(stage="confirm", pending=answer)
        replies.append(_confirm_reply(item, answer))
        return ReportStep(state, replies)
    state["answers"][item.code] = answer
    state.pop("pending", None)
    return _next(sheet, state, replies)


def step(sheet: Sheet, state: State, given: Input) -> ReportStep:
    """Feed one input to the conversation."""
    stage = state["stage"]
    choice = given.choice if isinstance(given, Pressed) else None
    typed = given.text.strip() if isinstance(given, Text) else ""
    word = fold(typed)

    if stage == "summary":
        if choice == "send" or word in ("gui", "gui bao cao", "1"):
            answers = dict(state["answers"])
            missing = [i.code for i in sheet.items if i.code not in answers]
            if missing:
                return _next(sheet, state, [])
            return ReportStep(None, [], submit=answers)
        if choice == "edit" or word in ("sua", "2"):
            state["stage"] = "pick"
            return ReportStep(state, [_pick(sheet)])
        if choice == "cancel" or word in ("huy", "3"):
            return ReportStep(None, [Reply(T.CANCELLED)])
        return ReportStep(state, [summary(sheet, state["answers"])])

    if stage == "pick":
        code = (choice or typed).strip().lower()
        if code.isdigit() and not sheet.item(code) and 1 <= int(code) <= len(sheet.items):
            code = sheet.items[int(code) - 1].code
        item = sheet.item(code)
        if item is None:
            return ReportStep(state, [_pick(sheet)])
        index = sheet.items.index(item)
        part = "den" if item.kind == "ratio" else "one"
        state.update(stage="ask", i=index, part=part, edit=True)
        return ReportStep(state, [_question(sheet, index, part, None)])

    if stage == "confirm":
        item = sheet.items[state["i"]]
        if choice == "keep" or word in ("dung", "co", "giu", "1"):
            state["answers"][item.code] = state.pop("pending")
            return _next(sheet, state, [])
        if choice == "retype" or word in ("nhap lai", "khong", "2"):
            state.pop("pending", None)
            part = "den" if item.kind == "ratio" else "one"
            state.update(stage="ask", part=part)
            return ReportStep(state, [_question(sheet, state["i"], part, None)])
        return ReportStep(state, [_confirm_reply(item, state["pending"])])

    if stage == "skip_reason":
        if choice is not None or not typed:
            return ReportStep(state, [Reply(T.SKIP_REASON_EMPTY)])
        return _accept(sheet, state, {"skip": typed[:SKIP_REASON_MAX]}, [])

    # stage == "ask"
    item = sheet.items[state["i"]]
    part = state["part"]
    if (choice == "skip" or word in SKIP_WORDS) and part != "num":
        state["stage"] = "skip_reason"
        return ReportStep(state, [Reply(T.ASK_SKIP_REASON)])
    if choice is not None:
        return ReportStep(state, [_question(sheet, state["i"], part, state.get("den"))])
    number = _number(typed, allow_percent=item.kind == "percent")
    if isinstance(number, str):
        return ReportStep(
            state, [Reply(number), _question(sheet, state["i"], part, state.get("den"))]
        )
    if part == "den":
        if number != int(number):
            return ReportStep(
                state, [Reply(T.COUNT_WHOLE), _question(sheet, state["i"], part, None)]
            )
        state.update(part="num", den=number)
        return ReportStep(state, [_question(sheet, state["i"], "num", number)])
    if part == "num":
        answer: Answer = {"num": number, "den": state.pop("den")}
        return _accept(sheet, state, answer, [])
    return _accept(sheet, state, {"value": number}, [])


# --------------------------------------------------------------------------- quick entry

_PART = re.compile(r"^([0-9]{1,2}[a-zA-Z]?)=(.+)$")


@dataclass(frozen=True)
class QuickEntry:
    answers: dict[str, Answer]
    unknown: tuple[str, ...]
    malformed: tuple[str, ...]  # each "part: why"


def parse_quick(sheet: Sheet, text: str) -> QuickEntry:
    """Parse ``2=120/150 5c=300/520 11b=64``: every part is checked like a typed answer."""
    answers: dict[str, Answer] = {}
    unknown: list[str] = []
    malformed: list[str] = []
    for part in text.split():
        match = _PART.match(part)
        if not match:
            malformed.append(part)
            continue
        code, raw = match.group(1).lower(), match.group(2)
        item = sheet.item(code)
        if item is None:
            unknown.append(code)
            continue
        answer: Answer
        try:
            if item.kind == "ratio":
                num, den = parse_pair(raw)
                answer = {"num": float(num), "den": float(den)}
            else:
                answer = {"value": float(parse_number(raw, allow_percent=item.kind == "percent"))}
        except NumberError:
            malformed.append(part)
            continue
        trouble = problem(item, answer)
        if trouble is not None:
            malformed.append(f"{part} ({trouble})")
            continue
        answers[item.code] = answer
    return QuickEntry(answers, tuple(unknown), tuple(malformed))
