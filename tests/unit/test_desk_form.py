"""The desk form's reading of fields: the chat's own rules (report_machine.problem,
big_change), a change over 50 % held until confirmed, what was typed kept on refusal."""

from __future__ import annotations

from typing import Any

from bot.usecases import desk
from surveys import texts as T
from surveys.report_machine import Item, Sheet, form_answer

RATIO = Item("5c", "ratio", "Hồ sơ trực tuyến", target=50.0, previous=50.0)
PERCENT = Item("8b", "percent", "Giảm chi")
COUNT = Item("x", "count", "Số lượng")


def test_form_answer_reads_numbers_as_chat_does() -> None:
    assert form_answer(RATIO, den="1.234", num="617") == ({"num": 617.0, "den": 1234.0}, None)
    assert form_answer(RATIO) == (None, None)
    assert form_answer(RATIO, den="10", num="") == (None, T.DESK_NUMERATOR_MISSING)
    answer, trouble = form_answer(RATIO, den="20", num="30")
    assert answer == {"num": 30.0, "den": 20.0} and trouble and "không được lớn hơn" in trouble
    assert form_answer(PERCENT, value="85,5") == ({"value": 85.5}, None)
    assert form_answer(PERCENT, value="120")[1] == T.PERCENT_RANGE
    assert form_answer(COUNT, value="2,5")[1] == T.COUNT_WHOLE
    assert form_answer(COUNT, value="12%")[1] == T.COUNT_NOT_PERCENT
    assert form_answer(RATIO, skip=True, reason="") == ({"skip": ""}, T.DESK_SKIP_NEEDS_REASON)
    assert form_answer(RATIO, skip=True, reason="123")[1] == T.SKIP_REASON_WORDS
    assert form_answer(RATIO, skip=True, reason="Không có thủ tục") == (
        {"skip": "Không có thủ tục"},
        None,
    )


def _draft(answers: dict[str, Any] | None = None) -> desk.Draft:
    sheet = Sheet("Phòng Nội vụ", "Quý IV/2026", (RATIO, PERCENT), year=2026)
    found = desk.Draft(None, None, sheet, dict(answers or {}), None, False)  # type: ignore[arg-type]
    found.fields = [desk.FormField(i, 5, desk.typed(i, None)) for i in sheet.items]
    return found


def test_a_change_over_half_waits_for_are_you_sure() -> None:
    found = _draft({"5c": {"num": 1.0, "den": 2.0}})
    kept = desk.read_form(found, {"5c-num": "95", "5c-den": "100", "8b-value": "abc"})
    five_c, eight_b = found.fields
    assert five_c.ask_confirm and five_c.error and "có chắc chắn không" in five_c.error.lower()
    assert kept["5c"] == {"num": 1.0, "den": 2.0}  # the draft's own until confirmed
    assert five_c.shown["num"] == "95"  # what was typed stays in the field
    assert eight_b.error and eight_b.shown["value"] == "abc" and "8b" not in kept
    found = _draft({"5c": {"num": 1.0, "den": 2.0}})
    kept = desk.read_form(found, {"5c-num": "95", "5c-den": "100", "5c-sure": "1"})
    assert kept["5c"] == {"num": 95.0, "den": 100.0} and not found.fields[0].error


def test_a_figure_within_half_needs_no_confirmation() -> None:
    found = _draft()
    kept = desk.read_form(found, {"5c-num": "60", "5c-den": "100", "8b-value": "12"})
    assert kept == {"5c": {"num": 60.0, "den": 100.0}, "8b": {"value": 12.0}}
    assert found.errors == 0


def test_an_autosave_reads_only_the_items_it_names() -> None:
    found = _draft({"5c": {"num": 60.0, "den": 100.0}})  # answered in the chat meanwhile
    kept = desk.read_form(found, {"5c-num": "", "5c-den": "", "8b-value": "12"}, only={"8b"})
    assert kept == {"5c": {"num": 60.0, "den": 100.0}, "8b": {"value": 12.0}}
    five_c = found.fields[0]
    assert five_c.shown["num"] == "" and five_c.error is None  # not read at all
    # the whole form ("Lưu nháp") reads every field: an emptied 5c leaves the draft
    found = _draft({"5c": {"num": 60.0, "den": 100.0}})
    assert desk.read_form(found, {"8b-value": "12"}) == {"8b": {"value": 12.0}}
