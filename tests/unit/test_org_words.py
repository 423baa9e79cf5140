"""Any organisation, before or after 2025 (issue 15, item 4): no sentence in the code names a
level or an office; the shipped commune sample (a commune of Cần Thơ after 1 July 2025)
loads and names itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from surveys.catalogue import load_catalogue

ROOT = Path(__file__).parents[2]
DATA = ROOT / "bot" / "data"
# Words that name a level of government or a particular office: they belong in the data files.
FORBIDDEN = re.compile(r"\b(huyện|thị trấn|toàn xã|Nội vụ)\b", re.IGNORECASE)
SOURCES = sorted(
    [
        *ROOT.joinpath("surveys").glob("*.py"),
        *ROOT.joinpath("reports").glob("*.py"),
        *ROOT.joinpath("bot").rglob("*.py"),
    ]
)


def sentences(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module that are not docstrings (what users can read)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_sentence_names_a_level_or_an_office(path: Path) -> None:
    found = [
        f"{path.name}:{line}: {text!r}"
        for line, text in sentences(path)
        if FORBIDDEN.search(text)
    ]
    assert found == []


TEMPLATES = sorted(ROOT.joinpath("bot", "channels", "web", "templates").glob("*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_no_page_names_a_level_or_an_office(path: Path) -> None:
    """The web pages' own text (Jinja2 comments aside) takes these words from the data
    files too (``org``, ``f.whole``)."""
    page = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for n, line in enumerate(page.splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert found == []


def test_the_commune_sample_names_itself() -> None:
    d = DATA / "xa-long-phu"
    catalogue = load_catalogue(
        d / "units.toml", d / "indicators.toml", d / "points.toml", DATA / "questionnaires"
    )
    words = catalogue.org.words
    assert (words.name, words.level, words.whole) == ("UBND xã Long Phú", "xã", "toàn xã")
    assert words.office == "Văn phòng HĐND và UBND xã"
    assert catalogue.org.recipient() == "UBND xã Long Phú (qua Văn phòng HĐND và UBND xã)"
    # every reporting unit has something to report, and only targets a commune still has
    for unit in catalogue.org.reporting_units():
        assert catalogue.indicators.due_from(unit), unit.code
    codes = {i.code for i in catalogue.indicators.indicators}
    assert not codes & {"4a", "11a", "6", "10", "12", "8a", "8b"}
    # SIPAS samples people who did a procedure: a one-stop counter runs the tthc survey
    assert any(p.questionnaire == "tthc" and p.kind == "mot_cua" for p in catalogue.points)
    # the wording of Nghị định 42/2022/NĐ-CP, not the 2022 plan's "mức độ 3, 4"
    assert all("mức độ 3" not in i.name for i in catalogue.indicators.indicators)


def test_the_district_sample_keeps_its_words() -> None:
    d = DATA / "longphu"
    catalogue = load_catalogue(
        d / "units.toml", d / "indicators.toml", d / "points.toml", DATA / "questionnaires"
    )
    words = catalogue.org.words
    assert (words.name, words.level, words.whole, words.office) == (
        "UBND huyện Long Phú",
        "huyện",
        "toàn huyện",
        "Phòng Nội vụ",
    )
