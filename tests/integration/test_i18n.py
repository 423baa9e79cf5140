"""The citizens' catalogues (surveys/locale) and the questionnaires' languages (issue 10).

The completeness checks here are what stops a sentence added in Vietnamese from shipping
without its Khmer and English translation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fontTools.ttLib import TTFont

from bot.app.config import load_config
from bot.app.runtime import load_data
from reports.fonts import has_khmer, khmer_font_path
from surveys import i18n
from surveys import texts as T
from surveys.catalogue import CatalogueError, load_questionnaire
from surveys.scoring import RATING_LABELS

ROOT = Path(__file__).resolve().parents[2]
QUESTIONNAIRES = ROOT / "bot" / "data" / "questionnaires"
TRANSLATED = [lang for lang in i18n.LANGUAGES if lang != i18n.SOURCE]


@pytest.fixture(scope="module")
def messages() -> set[str]:
    return i18n.extract_messages(ROOT)


def test_the_code_marks_the_citizens_sentences(messages: set[str]) -> None:
    assert T.WELCOME_CITIZEN in messages and T.SURVEY_THANKS in messages
    assert set(RATING_LABELS.values()) <= messages
    assert T.HELP_ADMIN not in messages  # officials keep Vietnamese


def test_the_template_is_up_to_date_with_the_code(messages: set[str]) -> None:
    """surveys/locale/citizen.pot is what translators start from: tools/extract_messages.sh."""
    with (i18n.LOCALE_DIR / "citizen.pot").open("rb") as pot:
        template = {str(m.id) for m in read_po(pot) if m.id}
    assert template == messages


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_sentence_is_translated_in_every_shipped_language(
    language: str, messages: set[str]
) -> None:
    assert i18n.catalogue_problems(language, messages) == []


def test_the_check_fails_on_a_missing_a_fuzzy_or_a_broken_translation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, messages: set[str]
) -> None:
    po = (i18n.catalogue_path("km")).read_text(encoding="utf-8")
    broken = po.replace(
        'msgstr "សំណួរ {index}/{total}"', 'msgstr "សំណួរ {index}"'
    ).replace('msgid "Bỏ qua"\nmsgstr "រំលង"', '#, fuzzy\nmsgid "Bỏ qua"\nmsgstr "រំលង"')
    broken += '\nmsgid "Một câu mới"\nmsgstr ""\n'
    assert broken != po
    target = tmp_path / "km" / "LC_MESSAGES" / "citizen.po"
    target.parent.mkdir(parents=True)
    target.write_text(broken, encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    problems = i18n.catalogue_problems("km", messages | {"Một câu mới"})
    assert len(problems) == 3, problems
    assert any("Một câu mới" in p and "chưa dịch" in p for p in problems)
    assert any("fuzzy" in p and "Bỏ qua" in p for p in problems)
    assert any("{index}/{total}" in p for p in problems)
    assert i18n.catalogue_problems("xx", messages) != []


def test_translate_falls_back_to_vietnamese_and_choose_reads_app_codes() -> None:
    assert i18n.translate("km", T.SURVEY_SKIP) == "រំលង"
    assert i18n.translate("en", T.SURVEY_SKIP) == "Skip"
    assert i18n.translate("vi", T.SURVEY_SKIP) == T.SURVEY_SKIP
    assert i18n.translate("fr", T.SURVEY_SKIP) == T.SURVEY_SKIP
    assert i18n.translate("km", "Không có trong danh mục") == "Không có trong danh mục"
    assert i18n.supported("en-US") == "en" and i18n.supported("KM_kh") == "km"
    assert i18n.supported("fr") is None and i18n.supported("") is None
    assert i18n.choose(None, "de", "km") == "km"
    assert i18n.choose(None, "") == "vi"


def test_every_shipped_questionnaire_is_in_every_language() -> None:
    catalogue = load_data(load_config(None))
    for questionnaire in catalogue.questionnaires.values():
        assert set(questionnaire.languages) == set(i18n.LANGUAGES), questionnaire.code
        wordings = [questionnaire.title, questionnaire.thanks]
        # an intro is optional (the counter tablet's questionnaire shows none)
        wordings += [questionnaire.intro] if questionnaire.intro is not None else []
        wordings += [q.text for q in questionnaire.questions]
        choices = [q for q in questionnaire.questions if q.kind == "choice"]
        wordings += [o.label for q in choices for o in q.options]
        for wording in wordings:
            assert wording is not None
            texts = [wording(lang) for lang in i18n.LANGUAGES]
            assert len(set(texts)) == len(texts), texts  # none left in Vietnamese
            assert has_khmer(wording("km")), wording.vi
    for point in catalogue.points:
        assert point.names is not None and has_khmer(point.name_in("km")), point.code


def test_a_questionnaire_missing_a_declared_language_is_refused(tmp_path: Path) -> None:
    source = (QUESTIONNAIRES / "tthc.toml").read_text(encoding="utf-8")
    broken = tmp_path / "tthc.toml"
    lines = [line for line in source.splitlines() if not line.strip().startswith("text.en")]
    if lines == source.splitlines():  # inline tables: drop one language of one label
        lines = source.replace(', en = "Land"', "").splitlines()
    broken.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(CatalogueError, match="thiếu bản dịch: en"):
        load_questionnaire(broken)
    plain = tmp_path / "plain.toml"
    plain.write_text(
        'code = "x"\ntitle = "Khảo sát"\n[[question]]\nid = "a"\nkind = "rating"\ntext = "Câu?"\n',
        encoding="utf-8",
    )
    assert load_questionnaire(plain).languages == ("vi",)  # one language: plain strings


def test_every_khmer_character_shipped_has_a_glyph_in_khmer_os() -> None:
    cmap = TTFont(khmer_font_path()).getBestCmap()
    shipped = i18n.catalogue_path("km").read_text(encoding="utf-8")
    for path in [*QUESTIONNAIRES.glob("*.toml"), ROOT / "bot" / "data" / "longphu" / "points.toml"]:
        shipped += path.read_text(encoding="utf-8")
    khmer = {c for c in shipped if has_khmer(c)}
    assert len(khmer) > 40
    missing = {c for c in khmer if ord(c) not in cmap and c not in "\u200b\u200c\u200d"}
    assert not missing, sorted(missing)


def test_the_extraction_script_leaves_up_to_date_catalogues_unchanged(tmp_path: Path) -> None:
    """tools/extract_messages.sh (what the README tells translators to run) regenerates the
    template and updates the .po files; on the shipped tree it changes nothing."""
    for part in ("bot", "surveys", "tools"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "babel.cfg", tmp_path / "babel.cfg")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["sh", str(tmp_path / "tools" / "extract_messages.sh")], check=True, env=env)
    for relative in ("citizen.pot", *(f"{lang}/LC_MESSAGES/citizen.po" for lang in TRANSLATED)):
        fresh = (tmp_path / "surveys" / "locale" / relative).read_text(encoding="utf-8")
        assert fresh == (i18n.LOCALE_DIR / relative).read_text(encoding="utf-8"), relative
