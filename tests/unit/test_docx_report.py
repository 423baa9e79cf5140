"""The report upward's values (reports/docx_report.py), pure: what the period is called,
how the heading writes the issuing body, and that every figure is /trangthai's own."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from reports.docx_report import (
    MET,
    NO_VERDICT,
    NOBODY,
    NOT_IN_TREND,
    NOT_MET,
    build_report,
    build_trend,
    issuer_lines,
    report_period,
    template_fields,
)
from reports.figures import ChannelShare, IndicatorFigure, SatisfactionFigure, StatusFigures
from reports.text import status_lines
from surveys.catalogue import Organisation, Unit


@pytest.mark.parametrize(
    ("key", "kind", "label", "yearly"),
    [
        ("2026-Q1", "quarter", "quý I năm 2026", False),
        ("2026-Q2", "quarter", "quý II năm 2026", False),
        ("2026-q3", "quarter", "quý III năm 2026", False),
        ("2026-Q4", "quarter", "quý IV năm 2026", True),  # doubles as the yearly report
        ("2026-H1", "half_year", "6 tháng đầu năm 2026", False),
        ("2026", "year", "năm 2026", True),
        ("DX-2026-3", "ad_hoc", "theo đợt báo cáo “Đột xuất: Rà soát TTHC”", False),
    ],
)
def test_the_period_a_round_key_names(key: str, kind: str, label: str, yearly: bool) -> None:
    period = report_period(key, "Đột xuất: Rà soát TTHC")
    assert (period.kind, period.label, period.yearly) == (kind, label, yearly)


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("UBND huyện Long Phú", ("ỦY BAN NHÂN DÂN", "HUYỆN LONG PHÚ")),
        ("Ủy ban nhân dân thị xã Vĩnh Châu", ("ỦY BAN NHÂN DÂN", "THỊ XÃ VĨNH CHÂU")),
        ("HĐND xã Tân Thạnh", ("HỘI ĐỒNG NHÂN DÂN", "XÃ TÂN THẠNH")),
        ("Sở Nội vụ tỉnh Sóc Trăng", ("SỞ NỘI VỤ TỈNH SÓC TRĂNG",)),
        ("Trung tâm UBNDX", ("TRUNG TÂM UBNDX",)),  # only whole words are spelt out
    ],
)
def test_the_issuing_body_is_written_in_full_in_upper_case(
    name: str, lines: tuple[str, ...]
) -> None:
    assert issuer_lines(name) == lines


ORG = Organisation(
    kinds={"huyen": "UBND huyện", "phong_ban": "Phòng, ban chuyên môn", "xa": "UBND xã"},
    units=(
        Unit("TX", "UBND thị xã Ngã Năm", "huyen", reports=False),
        Unit("PNV", "Phòng Nội vụ", "phong_ban", "TX"),
        Unit("PTP", "Phòng Tư pháp", "phong_ban", "TX"),
        Unit("XA-A", "UBND xã A", "xa", "TX"),
    ),
    collecting_office="PNV",
)


def ratio(code: str, num: float, den: float, target: float, met: bool) -> IndicatorFigure:
    return IndicatorFigure(
        code, f"Chỉ tiêu {code}", "ratio", 100 * num / den, num, den, target, "min", met, 2
    )


def figures(key: str = "2026-Q4", **changes: object) -> StatusFigures:
    base = StatusFigures(
        round_key=key,
        round_title="Quý IV/2026 (cả năm)",
        window_start=date(2026, 9, 15),
        window_end=date(2026, 12, 14),
        deadline=date(2026, 12, 14),
        today=date(2026, 12, 3),
        closed=False,
        units_total=3,
        on_time=("Phòng Nội vụ",),
        late=("Phòng Tư pháp",),
        missing={"UBND xã": ("UBND xã A",)},
        indicators=(
            ratio("5c", 51, 101, 80, False),
            ratio("2", 300, 400, 70, True),
            IndicatorFigure("6", "Chỉ tiêu 6", "percent", None, None, None, 90, "min", None, 0),
        ),
        satisfaction=(
            SatisfactionFigure(
                "14", "Hài lòng TTHC", 6, 9, 3, 66.7, 35.4, 87.9, True, 95, False, official=87.5
            ),
            SatisfactionFigure("14a", "Đất đai", 2, 3, 2, 66.7, 20, 94, False, 90, None),
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_document_s_values_are_the_status_figures_as_trangthai_writes_them() -> None:
    f = figures()
    data = build_report(f, ORG, 30, date(2026, 12, 3))
    status = "\n".join(status_lines(f))

    assert data.issuer_lines == ("ỦY BAN NHÂN DÂN", "THỊ XÃ NGÃ NĂM")
    assert (data.organisation, data.collecting_office) == ("UBND thị xã Ngã Năm", "Phòng Nội vụ")
    assert data.title == "Kết quả thực hiện công tác cải cách hành chính quý IV năm 2026"
    assert (data.window_start, data.window_end, data.deadline) == (
        "15/09/2026",
        "14/12/2026",
        "14/12/2026",
    )
    assert (data.units_total, data.submitted, data.on_time_count, data.late_count) == (3, 2, 1, 1)
    assert (data.on_time, data.late, data.missing_count) == ("Phòng Nội vụ", "Phòng Tư pháp", 1)
    [group] = data.missing
    assert (group.kind, group.names, group.count) == ("UBND xã", "UBND xã A", 1)

    rows = {r.code: r for r in data.indicators}
    assert (rows["5c"].result, rows["5c"].target, rows["5c"].verdict) == (
        "50,5% (51/101)",
        "≥ 80%",
        NOT_MET,
    )
    assert "• 5c. Chỉ tiêu 5c: 50,5% (51/101) — mục tiêu ≥ 80% ❌" in status
    assert (rows["2"].result, rows["2"].verdict) == ("75% (300/400)", MET)
    assert (rows["6"].result, rows["6"].verdict) == ("chưa có số liệu", NO_VERDICT)

    sat = {s.code: s for s in data.satisfaction}
    assert (sat["14"].rate, sat["14"].sample, sat["14"].interval) == (
        "66,7%",
        "3 người, n=9 câu trả lời",
        "35,4%–87,9%",
    )
    assert "66,7% (3 người, n=9 câu trả lời, KTC 95%: 35,4%–87,9%, mục tiêu ≥ 95%)" in status
    assert (sat["14"].goal, sat["14"].verdict, sat["14"].official) == ("≥ 95%", NOT_MET, "87,5%")
    # Below the minimum sample: no rate, no interval, no verdict.
    assert (sat["14a"].rate, sat["14a"].interval, sat["14a"].verdict) == (
        "chưa đủ dữ liệu",
        NO_VERDICT,
        NO_VERDICT,
    )
    assert data.official == "14: 87,5%"
    assert not data.trend.shown


def test_nobody_late_and_nobody_missing_read_as_such() -> None:
    data = build_report(figures(late=(), missing={}), ORG, 30, date(2026, 12, 3))
    assert (data.late, data.late_count, data.missing, data.missing_count) == (NOBODY, 0, (), 0)
    assert data.channels == ""  # no answers, no channel line


def test_the_answers_channels_read_as_trangthai_writes_them() -> None:
    shares = (ChannelShare("web", 210, 61.8), ChannelShare("zalo", 130, 38.2))
    f = figures(channels=shares)
    data = build_report(f, ORG, 30, date(2026, 12, 3))
    assert data.channels == "Kênh trả lời (340 phiếu): trang web 61,8%, Zalo 38,2%"
    assert data.channels in status_lines(f)


def test_an_ad_hoc_round_is_titled_by_its_own_title() -> None:
    f = figures("DX-2026-2", round_title="Đột xuất: Rà soát thủ tục đất đai")
    data = build_report(f, ORG, 30, date(2026, 12, 3))
    assert data.title == (
        "Kết quả thực hiện công tác cải cách hành chính "
        "theo đợt báo cáo “Đột xuất: Rà soát thủ tục đất đai”"
    )
    assert data.period_kind == "ad_hoc"


def test_the_yearly_trend_takes_each_quarter_s_own_figures() -> None:
    q4 = figures()
    q3 = figures(
        "2026-Q3",
        indicators=(ratio("5c", 40, 100, 80, False),),
        satisfaction=(q4.satisfaction[0],),
    )
    trend = build_trend(2026, q4, {"2026-Q3": q3, "2026-Q4": q4})
    rows = {r.code: r for r in trend.rows}
    five_c = rows["5c"]
    assert (five_c.q1, five_c.q2, five_c.q3, five_c.q4, five_c.target) == (
        NOT_IN_TREND,
        NOT_IN_TREND,
        "40%",
        "50,5%",
        "≥ 80%",
    )
    assert (rows["2"].q3, rows["2"].q4) == (NOT_IN_TREND, "75%")  # not asked in Q3
    assert (rows["14"].q3, rows["14"].q4) == ("66,7%", "66,7%")
    assert (rows["14a"].q3, rows["14a"].q4) == (NOT_IN_TREND, "chưa đủ dữ liệu")
    assert trend.shown and "2026" in trend.note
    assert {r.trend for r in trend.rows} == {NOT_IN_TREND}  # no trend given, none shown
    told = build_trend(
        2026, q4, {"2026-Q4": q4},
        {"5c": "theo đà hiện tại: đạt năm 2027", "14": "theo đà hiện tại: chưa đạt trước 2030"},
    )  # fmt: skip
    by_code = {r.code: r.trend for r in told.rows}
    assert (by_code["5c"], by_code["14"], by_code["2"]) == (
        "đạt năm 2027",
        "chưa đạt trước 2030",
        NOT_IN_TREND,
    )
    assert "bình phương tối thiểu" in told.note


def test_the_template_sees_plain_values() -> None:
    fields = template_fields(build_report(figures(), ORG, 30, date(2026, 12, 3)))
    assert fields["indicators"][0]["result"] == "50,5% (51/101)"
    assert fields["trend"]["shown"] is False
    assert fields["issuer_lines"] == ("ỦY BAN NHÂN DÂN", "THỊ XÃ NGÃ NĂM")
