"""The pure parts of ZNS reminders: phone numbers (surveys.phones), the template's data
(bot.usecases.zns) and what a ZNS error means for the outbox (bot.channels.zalo_zns)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.app.logs import _value
from bot.channels.zalo_oa_api import ZaloOaApiError, ZaloOaNetworkError
from bot.channels.zalo_zns import failure_of
from bot.usecases.zns import (
    ReminderFacts,
    chat_of,
    decode_payload,
    encode_payload,
    member_of,
    template_data,
)
from surveys import phones


@pytest.mark.parametrize(
    "typed",
    [
        "0912 345 678",
        "0912.345.678",
        "0912-345-678",
        "+84 912 345 678",
        "84912345678",
        "(+84) 912 345 678",
        " 0912345678 ",
    ],
)
def test_the_forms_people_type_become_84_and_nine_digits(typed: str) -> None:
    assert phones.normalise(typed) == "84912345678"


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("0281234567", "không phải số di động"),  # a landline area code
        ("0612345678", "không phải số di động"),
        ("091234567", "10 chữ số"),
        ("09123456789", "10 chữ số"),
        ("+1 415 555 0100", "+84"),
        ("０９１２３４５６７８", "chỉ gồm chữ số"),  # full-width digits
        ("abc", "chỉ gồm chữ số"),
        ("", "chỉ gồm chữ số"),
    ],
)
def test_anything_else_is_refused_with_a_reason(typed: str, why: str) -> None:
    with pytest.raises(phones.PhoneError, match=re.escape(why)):
        phones.normalise(typed)


def test_every_mobile_prefix_is_accepted() -> None:
    for prefix in ("32", "39", "52", "56", "58", "59", "70", "79", "81", "89", "90", "99"):
        assert phones.normalise(f"0{prefix}1234567") == f"84{prefix}1234567"


def test_numbers_are_shown_and_logged_masked() -> None:
    assert phones.masked("84912345678") == "091****678"
    assert phones.national("84912345678") == "0912345678"
    for line in ("số 0912345678 đã lưu", "phone=84912345678", "gõ 0912 345 678", "+84 912-345-678"):
        assert "091****678" in _value(line) and "345" not in _value(line)
    assert _value("8811223344556677002") == "8811223344556677002"  # ids untouched


FACTS = ReminderFacts(
    unit="Phòng Tư pháp",
    unit_code="PTP",
    name="Nguyễn Văn A",
    period="Quý IV/2026",
    deadline=date(2026, 12, 14),
    today=date(2026, 11, 20),
    recipient="UBND huyện Long Phú (qua Phòng Nội vụ)",
)


def test_the_template_data_has_the_configured_names_and_the_bot_s_values() -> None:
    params = (
        ("ten_don_vi", "unit"),
        ("han", "deadline"),
        ("cuoi", "last_day"),
        ("con", "days_left"),
        ("tt", "status"),
        ("ky", "period"),
    )
    assert template_data(params, FACTS) == {
        "ten_don_vi": "Phòng Tư pháp",
        "han": "15/12/2026",  # "trước ngày 15/12/2026", as the chat reminder says it
        "cuoi": "14/12/2026",
        "con": "24",
        "tt": "còn 24 ngày",
        "ky": "Quý IV/2026",
    }


def test_the_status_on_the_last_day_and_after_it() -> None:
    params = (("tt", "status"), ("con", "days_left"))
    last = ReminderFacts(**{**FACTS.__dict__, "today": date(2026, 12, 14)})
    late = ReminderFacts(**{**FACTS.__dict__, "today": date(2026, 12, 16)})
    assert template_data(params, last) == {"tt": "hôm nay là ngày cuối", "con": "0"}
    assert template_data(params, late) == {"tt": "đã quá hạn 2 ngày", "con": "0"}


def test_the_payload_and_chat_id_round_trip() -> None:
    text = encode_payload("cchc123", {"a": "Phòng Tư pháp"})
    assert decode_payload(text) == ("cchc123", {"a": "Phòng Tư pháp"})
    assert member_of(chat_of(12)) == 12 and member_of("84912345678") is None
    with pytest.raises(ValueError):
        decode_payload("[]")


def api(code: int, status: int = 200) -> ZaloOaApiError:
    return ZaloOaApiError("zns", status, code, "message")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ZaloOaNetworkError("zns", "timed out", timed_out=True), "transient"),
        (api(-100), "transient"),  # unknown error: "thử lại sau"
        (api(500, 500), "transient"),
        (api(429, 429), "retry_after"),
        (api(-124), "paused"),  # the token refused even after the refresh
        (api(-118), "paused"),  # a dead refresh token
        (api(-108), "permanent"),  # the phone number
        (api(-109), "permanent"),  # the template id
        (api(-112), "permanent"),  # the template data
        (api(-139), "permanent"),  # anything else Zalo refuses: give up
    ],
)
def test_zns_errors_are_retried_paused_or_given_up(error: Exception, kind: str) -> None:
    assert failure_of(error, frozenset(), 30.0, 300.0).kind == kind  # type: ignore[arg-type]


def test_retry_codes_make_a_code_passing() -> None:
    assert failure_of(api(-133), frozenset({-133}), 30.0, 300.0).kind == "transient"
    assert "số điện thoại" in failure_of(api(-108), frozenset(), 30.0, 300.0).detail
