"""A reminder says what is due, where it goes and by when, as Phòng Nội vụ writes it; the
names come from the data files (units.toml's root unit and [organisation])."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot.usecases.settings import OrgConfig
from surveys import texts as T
from surveys.catalogue import load_organisation

ORG = load_organisation(OrgConfig().units)


def test_reports_go_to_the_organisation_through_its_collecting_office() -> None:
    assert ORG.root.code == "LP"
    assert ORG.recipient() == "UBND huyện Long Phú (qua Phòng Nội vụ)"
    assert replace(ORG, collecting_office=None).recipient() == "UBND huyện Long Phú"


def test_a_reminder_names_what_where_and_the_deadline_as_the_plan_states_it() -> None:
    text = T.reminder("Phòng Tư pháp", "Quý IV/2026", date(2026, 12, 14), False, 7, "X (qua Y)")
    assert "báo cáo cải cách hành chính Quý IV/2026 của Phòng Tư pháp" in text
    assert "gửi về X (qua Y) trước ngày 15/12/2026 (còn 7 ngày)" in text
    late = T.reminder("Phòng Tư pháp", "Quý IV/2026", date(2026, 12, 14), True, -3, "X (qua Y)")
    assert "chưa nộp báo cáo cải cách hành chính Quý IV/2026 về X (qua Y)" in late
    assert "trước ngày 15/12/2026 (đã quá hạn 3 ngày)" in late
