"""The shipped sample data (Long Phú) checked against Kế hoạch 53/KH-UBND.

These read the raw TOML with ``tomllib`` on purpose: they pin the data to the seed plan,
independently of the loaders in ``surveys.catalogue``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parents[2] / "bot" / "data"
LONGPHU = DATA / "longphu"
QUESTIONNAIRES = DATA / "questionnaires"

# Section II of the seed plan, one row per metric, in catalogue order: year -> target (%).
EXPECTED_TARGETS: dict[str, dict[int, int]] = {
    "1a": {2025: 100, 2030: 100},
    "1b": {2025: 100, 2030: 100},
    "2": {2025: 80, 2030: 80},
    "3a": {2025: 80, 2030: 100},
    "3b": {2025: 30, 2030: 50},
    "4a": {2021: 20, 2022: 40, 2023: 60, 2024: 80, 2025: 100, 2030: 100},
    "4b": {2021: 15, 2022: 35, 2023: 55, 2024: 75, 2025: 95, 2026: 100, 2030: 100},
    "5a": {2025: 80, 2030: 90},
    "5b": {2025: 80, 2030: 100},
    "5c": {2025: 50, 2030: 80},
    "6": {2025: 90, 2030: 90},
    "7": {2025: 80, 2030: 80},
    "8a": {2025: 20},
    "8b": {2030: 15},
    "9": {2025: 100, 2030: 100},
    "10": {2025: 80, 2030: 80},
    "11a": {2025: 80, 2030: 90},
    "11b": {2025: 60, 2030: 70},
    "12": {2025: 50, 2030: 70},
    "13": {2025: 100, 2030: 100},
    "14": {2025: 90, 2030: 95},
    "14a": {2025: 85, 2030: 90},
    "15": {2025: 90, 2030: 95},
    "16": {2025: 85, 2030: 90},
}
SURVEY_CODES = {"14", "14a", "15", "16"}

FIELDS = {
    "dat_dai": "Đất đai",
    "xay_dung": "Xây dựng",
    "dau_tu": "Đầu tư",
    "ho_tich": "Hộ tịch",
    "chung_thuc": "Chứng thực",
    "y_te": "Y tế",
    "giao_duc": "Giáo dục",
    "khac": "Khác",
}
TTHC_FIELDS = ["dat_dai", "xay_dung", "dau_tu", "ho_tich", "chung_thuc", "khac"]

COMMUNES = {
    "UBND thị trấn Long Phú",
    "UBND thị trấn Đại Ngãi",
    "UBND xã Châu Khánh",
    "UBND xã Hậu Thạnh",
    "UBND xã Long Đức",
    "UBND xã Long Phú",
    "UBND xã Phú Hữu",
    "UBND xã Song Phụng",
    "UBND xã Tân Hưng",
    "UBND xã Tân Thạnh",
    "UBND xã Trường Khánh",
}
# Offices named in section IV and "Nơi nhận" of the seed, plus the usual ones of 2022.
OFFICES = {
    "Văn phòng HĐND và UBND huyện",
    "Phòng Nội vụ",
    "Phòng Tư pháp",
    "Phòng Tài chính - Kế hoạch",
    "Phòng Văn hóa và Thông tin",
    "Phòng Kinh tế và Hạ tầng",
    "Phòng Tài nguyên và Môi trường",
    "Phòng Lao động - Thương binh và Xã hội",
    "Phòng Giáo dục và Đào tạo",
    "Phòng Y tế",
    "Phòng Nông nghiệp và Phát triển nông thôn",
    "Phòng Dân tộc",
    "Thanh tra huyện",
}
POINT_KINDS = {"mot_cua_huyen", "mot_cua_xa", "co_quan", "y_te", "giao_duc"}
QUESTIONNAIRE_TARGET = {"tthc": "14", "hanh_chinh": "15", "y_te_giao_duc": "16", "quay": "14"}
KIOSK_QUESTIONNAIRES = {"quay"}  # the counter tablet's: one rating, then reasons
# What each questionnaire's ratings feed: at the one-stop counters the people who did a
# procedure rate SIPAS's elements, which count for 14 (14a by field) and for 15; the
# counter tablet's one rating counts for 14.
QUESTIONNAIRE_FEEDS = {
    "tthc": ["14", "15"], "hanh_chinh": ["15"], "y_te_giao_duc": ["16"], "quay": ["14"]
}
SIPAS_ELEMENTS = ["tiep_can", "thu_tuc", "cong_chuc", "ket_qua", "phan_anh"]


def _vi(wording: Any) -> str:
    """The Vietnamese of a data file's wording: a plain string, or a table of languages."""
    return str(wording["vi"] if isinstance(wording, dict) else wording)


def _all(wording: Any) -> list[str]:
    return list(wording.values()) if isinstance(wording, dict) else [wording]


def _load(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def org() -> dict[str, Any]:
    return _load(LONGPHU / "units.toml")


@pytest.fixture(scope="module")
def indicators() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = _load(LONGPHU / "indicators.toml")["indicator"]
    return data


@pytest.fixture(scope="module")
def points() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = _load(LONGPHU / "points.toml")["point"]
    return data


@pytest.fixture(scope="module")
def questionnaires() -> dict[str, dict[str, Any]]:
    return {p.stem: _load(p) for p in sorted(QUESTIONNAIRES.glob("*.toml"))}


def _units_by_code(org: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["code"]: u for u in org["unit"]}


# --------------------------------------------------------------------------- units.toml


def test_unit_codes_are_well_formed_unique_and_parents_come_first(org: dict[str, Any]) -> None:
    seen: set[str] = set()
    for unit in org["unit"]:
        code = unit["code"]
        assert re.fullmatch(r"[A-Z0-9-]{1,16}", code), code
        assert code not in seen, f"duplicate unit code {code}"
        if "parent" in unit:
            assert unit["parent"] in seen, f"{code}: parent {unit['parent']} not defined earlier"
        assert unit["kind"] in org["kinds"], f"{code}: unknown kind {unit['kind']}"
        assert unit["name"].strip()
        seen.add(code)


def test_root_is_the_district_and_does_not_report(org: dict[str, Any]) -> None:
    root = org["unit"][0]
    assert root["name"] == "UBND huyện Long Phú"
    assert "parent" not in root
    assert root["reports"] is False
    assert all("parent" in u for u in org["unit"][1:]), "only one root expected"


def test_kinds_have_the_agreed_codes(org: dict[str, Any]) -> None:
    assert {"huyen", "phong_ban", "su_nghiep", "trung_uong", "xa"} <= set(org["kinds"])


def test_all_eleven_communes_and_towns_are_present(org: dict[str, Any]) -> None:
    communes = {u["name"] for u in org["unit"] if u["kind"] == "xa"}
    assert communes == COMMUNES
    assert all(u.get("reports", True) for u in org["unit"] if u["kind"] == "xa")


def test_district_offices_of_the_seed_are_present(org: dict[str, Any]) -> None:
    offices = {u["name"] for u in org["unit"] if u["kind"] == "phong_ban"}
    assert offices >= OFFICES


def test_every_reporting_group_of_the_seed_has_units(org: dict[str, Any]) -> None:
    reporting = [u for u in org["unit"] if u.get("reports", True)]
    kinds = {u["kind"] for u in reporting}
    assert {"phong_ban", "su_nghiep", "trung_uong", "xa"} <= kinds
    central = {u["code"] for u in org["unit"] if u["kind"] == "trung_uong"}
    assert {"CCT", "KBNN", "CNVPDK", "CAH", "BHXH"} <= central


def test_fatherland_front_cooperates_but_does_not_report(org: dict[str, Any]) -> None:
    front = [u for u in org["unit"] if "MTTQ" in u["name"]]
    assert len(front) == 1
    assert front[0]["reports"] is False


# --------------------------------------------------------------------------- indicators.toml


def test_indicator_codes_in_order(indicators: list[dict[str, Any]]) -> None:
    assert [i["code"] for i in indicators] == list(EXPECTED_TARGETS)


def test_targets_equal_the_seed(indicators: list[dict[str, Any]]) -> None:
    for ind in indicators:
        got = {int(year): value for year, value in ind["targets"].items()}
        assert got == EXPECTED_TARGETS[ind["code"]], ind["code"]


# Targets the plan does not state as numbers of their own (section II of the seed): "tiếp
# tục duy trì (, cải thiện) đến năm 2030" repeats the 2025 level; 4a/4b's steps follow
# "mỗi năm tăng tối thiểu 20% ... cho đến khi đạt tỷ lệ 100%".
EXPECTED_DERIVED: dict[str, dict[int, str]] = {
    "1a": {2030: "duy_tri"},
    "1b": {2030: "duy_tri"},
    "2": {2030: "duy_tri"},
    "4a": {y: "lo_trinh" for y in (2022, 2023, 2024, 2025, 2030)},
    "4b": {y: "lo_trinh" for y in (2022, 2023, 2024, 2025, 2026, 2030)},
    "6": {2030: "duy_tri"},
    "7": {2030: "duy_tri"},
    "9": {2030: "duy_tri"},
    "10": {2030: "duy_tri"},
}
FLOWS = {"1a", "1b", "2", "3b", "5c", "7", "9", "11a", "11b", "12"}


def test_derived_targets_are_marked_as_such(indicators: list[dict[str, Any]]) -> None:
    for ind in indicators:
        got = {int(y): v for y, v in ind.get("derived", {}).items()}
        assert got == EXPECTED_DERIVED.get(ind["code"], {}), ind["code"]


def test_flows_and_stocks(indicators: list[dict[str, Any]]) -> None:
    """Records, documents, transactions, inspections happen in a period (flows); shares of
    procedures, systems, units or officials are states at a date (stocks)."""
    for ind in indicators:
        if ind["kind"] in ("ratio", "count"):
            expected = "flow" if ind["code"] in FLOWS else "stock"
            assert ind["aggregate"] == expected, ind["code"]


def test_8b_waits_for_its_baseline_and_10_13_keep_their_words(
    indicators: list[dict[str, Any]],
) -> None:
    by_code = {i["code"]: i for i in indicators}
    assert by_code["8b"]["baseline"] == [2021, 2025]
    assert "không phải cung cấp lại" in by_code["10"]["qualitative"]["2025"]
    assert "cơ cấu hợp lý" in by_code["13"]["qualitative"]["2025"]
    assert "lý luận chính trị" in by_code["13"]["qualitative"]["2030"]
    assert {i["code"] for i in indicators if "qualitative" in i} == {"10", "13"}


def test_target_numbers_match_codes(indicators: list[dict[str, Any]]) -> None:
    for ind in indicators:
        number = re.fullmatch(r"(\d+)[a-z]?", ind["code"])
        assert number is not None, ind["code"]
        assert ind["target_no"] == int(number.group(1)), ind["code"]


def test_every_indicator_is_met_from_above(indicators: list[dict[str, Any]]) -> None:
    # Every target of the seed is a floor ("tối thiểu", "đạt", "giảm bình quân 15%").
    assert all(i["direction"] == "min" for i in indicators)


def test_kinds_and_labels(indicators: list[dict[str, Any]]) -> None:
    for ind in indicators:
        code = ind["code"]
        assert ind["kind"] in ("ratio", "percent", "count", "survey"), code
        assert ind["name"].strip(), code
        assert ind["purpose"].strip(), code
        if ind["kind"] == "ratio":
            assert ind["denominator_label"].startswith("Tổng số "), code
            assert ind["numerator_label"].startswith("Trong đó, số "), code
        else:
            assert "denominator_label" not in ind and "numerator_label" not in ind, code
    assert {i["code"] for i in indicators if i["kind"] == "survey"} == SURVEY_CODES
    assert next(i for i in indicators if i["code"] == "8b")["kind"] == "percent"


def test_survey_indicators_are_never_asked_of_units(indicators: list[dict[str, Any]]) -> None:
    for ind in indicators:
        if ind["kind"] == "survey":
            assert ind["unit_kinds"] == [] and "units" not in ind, ind["code"]
        else:
            assert ind["unit_kinds"] or ind.get("units"), f"{ind['code']}: nobody reports it"


def test_reporters_exist_in_the_organisation(
    indicators: list[dict[str, Any]], org: dict[str, Any]
) -> None:
    units = _units_by_code(org)
    for ind in indicators:
        for kind in ind["unit_kinds"]:
            assert kind in org["kinds"], f"{ind['code']}: kind {kind}"
        for code in ind.get("units", []):
            assert code in units, f"{ind['code']}: unit {code}"
            assert units[code].get("reports", True), f"{ind['code']}: {code} does not report"


def test_district_and_commune_metrics_go_to_their_level(
    indicators: list[dict[str, Any]], org: dict[str, Any]
) -> None:
    by_code = {i["code"]: i for i in indicators}
    assert by_code["4a"]["unit_kinds"] == ["phong_ban"]
    assert "xa" not in by_code["11a"]["unit_kinds"]
    assert by_code["4b"]["unit_kinds"] == ["xa"]
    assert by_code["11b"]["unit_kinds"] == ["xa"]
    assert by_code["13"]["unit_kinds"] == ["xa"]
    for code in ("1a", "1b"):  # the justice office for the district, plus every commune
        assert by_code[code]["units"] == ["PTP"] and by_code[code]["unit_kinds"] == ["xa"]
    assert by_code["8a"]["units"] == ["TCKH"] and by_code["8a"]["unit_kinds"] == []


def test_every_reporting_unit_has_something_to_report(
    indicators: list[dict[str, Any]], org: dict[str, Any]
) -> None:
    # A unit that reports but is due nothing could never submit and would stay "missing".
    # As in the loader, an indicator's `units` add up with its `unit_kinds`.
    def due(unit: dict[str, Any]) -> list[str]:
        return [
            i["code"]
            for i in indicators
            if unit["code"] in i.get("units", []) or unit["kind"] in i["unit_kinds"]
        ]

    idle = [u["code"] for u in org["unit"] if u.get("reports", True) and not due(u)]
    assert idle == []


def test_14a_is_part_of_14_with_fields_by_year(indicators: list[dict[str, Any]]) -> None:
    by_code = {i["code"]: i for i in indicators}
    sub = by_code["14a"]
    assert sub["part_of"] == "14"
    assert {int(y): v for y, v in sub["fields"].items()} == {
        2025: ["dat_dai", "xay_dung"],
        2030: ["dat_dai", "xay_dung", "dau_tu"],
    }
    assert [i["code"] for i in indicators if "fields" in i or "part_of" in i] == ["14a"]


# --------------------------------------------------------------------------- points.toml


def test_points_are_well_formed(
    points: list[dict[str, Any]],
    org: dict[str, Any],
    questionnaires: dict[str, dict[str, Any]],
) -> None:
    units = _units_by_code(org)
    codes = [p["code"] for p in points]
    assert len(codes) == len(set(codes))
    assert 15 <= len(points) <= 25
    for p in points:
        assert re.fullmatch(r"[a-z0-9-]{1,24}", p["code"]), p["code"]
        assert _vi(p["name"]).strip()
        assert p["kind"] in POINT_KINDS, p["code"]
        assert (QUESTIONNAIRES / f"{p['questionnaire']}.toml").is_file(), p["code"]
        assert p["questionnaire"] in questionnaires
        if "unit" in p:
            assert p["unit"] in units, p["code"]
        if "field" in p:
            assert p["field"] in FIELDS, p["code"]


def test_every_commune_has_a_one_stop_point(
    points: list[dict[str, Any]], org: dict[str, Any]
) -> None:
    communes = {u["code"] for u in org["unit"] if u["kind"] == "xa"}
    one_stop = [p for p in points if p["kind"] == "mot_cua_xa"]
    assert {p["unit"] for p in one_stop} == communes
    assert all(p["questionnaire"] == "tthc" for p in one_stop)


def test_points_cover_every_questionnaire_and_kind(points: list[dict[str, Any]]) -> None:
    assert {p["kind"] for p in points} == POINT_KINDS
    assert {p["questionnaire"] for p in points} == set(QUESTIONNAIRE_TARGET) - KIOSK_QUESTIONNAIRES
    assert {p["kiosk"] for p in points if "kiosk" in p} == KIOSK_QUESTIONNAIRES
    land = [p for p in points if p.get("unit") == "CNVPDK"]
    assert land and all(p["field"] == "dat_dai" and p["questionnaire"] == "tthc" for p in land)
    for p in points:
        if p["kind"] in ("y_te", "giao_duc"):
            assert p["questionnaire"] == "y_te_giao_duc" and p["field"] == p["kind"], p["code"]


# --------------------------------------------------------------------------- questionnaires


def test_questionnaire_files_are_the_three_expected(
    questionnaires: dict[str, dict[str, Any]],
) -> None:
    assert set(questionnaires) == set(QUESTIONNAIRE_TARGET)
    for stem, q in questionnaires.items():
        assert q["code"] == stem
        assert _vi(q["title"]).strip() and _vi(q["thanks"]).strip()
        assert stem in KIOSK_QUESTIONNAIRES or _vi(q["intro"]).strip()


def test_questionnaires_are_short_and_feed_their_target(
    questionnaires: dict[str, dict[str, Any]],
) -> None:
    for code, q in questionnaires.items():
        questions = q["question"]
        assert 1 <= len(questions) <= 8, code
        ids = [x["id"] for x in questions]
        assert len(ids) == len(set(ids)), code
        for x in questions:
            assert x["kind"] in ("rating", "choice", "text"), (code, x["id"])
            for text in _all(x["text"]):  # short enough to read on a phone, in every language
                assert text.strip() and len(text) <= 120, (code, x["id"], text)
            if x["kind"] == "rating":
                assert x["feeds"] == QUESTIONNAIRE_FEEDS[code], (code, x["id"])
                assert set(x["feeds"]) <= {"14", "15", "16"}
                assert not x.get("optional", False), (code, x["id"])
            else:
                assert "feeds" not in x, (code, x["id"])
        ratings = [x for x in questions if x["kind"] == "rating"]
        assert len(ratings) >= (1 if code in KIOSK_QUESTIONNAIRES else 2), code
        texts = [x for x in questions if x["kind"] == "text"]
        assert all(x.get("optional") is True for x in texts), code


def test_tthc_asks_the_field_among_the_six_fields(
    questionnaires: dict[str, dict[str, Any]],
) -> None:
    questions = questionnaires["tthc"]["question"]
    field_qs = [x for x in questions if x.get("sets_field")]
    assert len(field_qs) == 1
    field_q = field_qs[0]
    assert field_q["kind"] == "choice"
    assert [o["value"] for o in field_q["options"]] == TTHC_FIELDS
    assert all(_vi(o["label"]) == FIELDS[o["value"]] for o in field_q["options"])
    assert questions[0] is field_q


@pytest.mark.parametrize("code", ["tthc", "hanh_chinh"])
def test_sipas_five_elements_each_rated_feedback_only_after_yes(
    questionnaires: dict[str, dict[str, Any]], code: str
) -> None:
    """QĐ 2640/QĐ-BNV (SIPAS): five elements, each its own rating, worded as the official
    questionnaire ("Ông/Bà đánh giá … ở mức nào?"); the feedback element only for people
    who answered "Có" to "Ông/Bà có phản ánh, kiến nghị không?"."""
    questions = questionnaires[code]["question"]
    ratings = [x for x in questions if x["kind"] == "rating"]
    assert [x["id"] for x in ratings] == SIPAS_ELEMENTS
    for x in ratings:
        assert x["text"]["vi"].startswith("Ông/Bà đánh giá ") and x["text"]["vi"].endswith(
            " ở mức nào?"
        ), x["id"]
    ids = [x["id"] for x in questions]
    ask = questions[ids.index("co_phan_anh")]
    assert ask["text"]["vi"] == "Ông/Bà có phản ánh, kiến nghị không?"
    assert [(o["value"], o["label"]["vi"]) for o in ask["options"]] == [
        ("co", "Có"),
        ("khong", "Không"),
    ]
    feedback = questions[ids.index("phan_anh")]
    assert feedback["only_if"] == {"question": "co_phan_anh", "answer": "co"}
    assert ids.index("co_phan_anh") < ids.index("phan_anh")
    assert all("only_if" not in x for x in questions if x["id"] != "phan_anh")


def test_only_tthc_asks_the_field(questionnaires: dict[str, dict[str, Any]]) -> None:
    for code in ("hanh_chinh", "y_te_giao_duc"):
        assert not any(x.get("sets_field") for x in questionnaires[code]["question"]), code
