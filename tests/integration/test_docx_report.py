"""The Word draft of the report upward (issue 20), read as a reader would.

``cchc-bot report`` runs on the demo database; the document is opened with python-docx and
its figures are checked against what ``/trangthai`` shows for the same round (the same
figure function, the same formatting functions); LibreOffice headless turns it into a PDF
whose text (pdftotext) must hold the title, the window and the figures with their
Vietnamese diacritics, and whose first page (pdftoppm) is the README's picture
(``CCHC_WRITE_DOCS=1`` writes it to docs/). A broken template stops with one line.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import os
import re
import shutil
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.shared import Pt
from docx.table import Table
from PIL import Image

from bot.app.cli import main
from bot.app.runtime import open_runtime
from bot.channels.console import CONSOLE_FILE
from bot.usecases.status import report_scope, scope_figures
from reports.docx_report import (
    MET,
    NO_VERDICT,
    NOT_MET,
    ReportTemplateError,
    build_report,
    render_docx,
    report_period,
)
from reports.figures import StatusFigures
from reports.text import (
    channel_line,
    indicator_goal,
    indicator_value,
    satisfaction_interval,
    satisfaction_rate,
    satisfaction_sample,
    status_lines,
)
from surveys.catalogue import Organisation
from tests.integration.test_chat_pty import Chat, saved_path
from tests.integration.test_demo import Demo, demo, rounds

__all__ = ["demo"]  # the demo database, built once for this module too

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "bot" / "data" / "templates" / "bao-cao-cchc.docx"
PICTURE = ROOT / "docs" / "bao-cao-trang-1.png"
ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}


@dataclass(frozen=True)
class Written:
    path: Path
    printed: str
    figures: StatusFigures  # what /trangthai computes for the round
    status: str  # and shows
    org: Organisation


def one_space(text: str) -> str:
    return " ".join(text.split())


async def trangthai(demo: Demo, key: str) -> tuple[StatusFigures, int]:
    """The round's figures as /trangthai computes them, on the demo database."""
    config = replace(demo.config, database_url=f"sqlite+aiosqlite:///{demo.db}")
    runtime = await open_runtime(config, demo.catalogue)
    try:
        async with runtime.ctx.sessions.begin() as session:
            scope = await report_scope(runtime.ctx, session, key)
            assert scope is not None
            min_sample = config.survey.min_sample
            figures = await scope_figures(runtime.ctx, session, scope)
    finally:
        await runtime.stop()
    return figures, min_sample


@pytest.fixture(scope="module")
def written(demo: Demo) -> Written:
    current, _ = rounds()
    out = demo.tmp / "bao-cao" / "bao-cao.docx"
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = main(
            [
                *("--config", str(demo.config_path), "report", "--round", current),
                *("--out", str(out), "--db", str(demo.db)),
            ]
        )
    assert code == 0
    figures, _ = asyncio.run(trangthai(demo, current))
    status = "\n".join(status_lines(figures))
    return Written(out, printed.getvalue(), figures, status, demo.catalogue.org)


def to_pdf(docx: Path, work: Path) -> Path:
    """LibreOffice headless, with a profile of its own (parallel runs do not clash)."""
    work.mkdir(parents=True, exist_ok=True)
    profile = work / "libreoffice-profile"
    result = subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work),
            str(docx),
        ],
        env={**os.environ, "HOME": str(work)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    pdf = work / f"{docx.stem}.pdf"
    assert result.returncode == 0 and pdf.exists(), result.stdout + result.stderr
    return pdf


@pytest.fixture(scope="module")
def pdf(written: Written) -> Path:
    return to_pdf(written.path, written.path.parent / "pdf")


def table_with(doc: DocxDocument, *headers: str) -> list[list[str]]:
    """The rows (cell texts) of the table whose header row starts with ``headers``."""
    for table in doc.tables:
        cells = [[one_space(c.text) for c in row.cells] for row in table.rows]
        if tuple(cells[0][: len(headers)]) == headers:
            return cells[1:]
    raise AssertionError(f"no table headed {headers}")


def line_of(text: str, start: str) -> str:
    [found] = [line for line in text.splitlines() if line.startswith(start)]
    return found


def verdict_of(line: str) -> str:
    return MET if line.endswith("✅") else NOT_MET if "❌" in line else NO_VERDICT


# --------------------------------------------------------------------------- the document


def test_the_cli_writes_the_round_s_draft(written: Written) -> None:
    assert f"Đã ghi {written.path}" in written.printed
    assert written.figures.round_title in written.printed
    assert written.path.read_bytes()[:2] == b"PK"  # a zip package: .docx


def test_every_figure_is_the_one_trangthai_shows(written: Written) -> None:
    doc = Document(str(written.path))
    f, status = written.figures, written.status
    text = "\n".join(one_space(p.text) for p in doc.paragraphs)

    sent = f"Đã nộp: {f.submitted}/{f.units_total} đơn vị (đúng hạn {len(f.on_time)}, trễ hạn "
    assert sent in status
    assert (
        f"Tổng số cơ quan, đơn vị phải báo cáo: {f.units_total}; đã gửi: {f.submitted} "
        f"(đúng hạn {len(f.on_time)}, trễ hạn {len(f.late)}); chưa gửi: "
        f"{sum(len(n) for n in f.missing.values())}." in text
    )
    for kind, names in f.missing.items():
        assert f"- {kind}: {', '.join(names)}." in text
        assert f"— {kind}: {', '.join(names)}" in status
    assert f"1. Gửi đúng hạn ({len(f.on_time)}): {', '.join(f.on_time)}." in text

    rows = {r[0]: r for r in table_with(doc, "Mã", "Chỉ tiêu", "Kết quả")}
    assert set(rows) == {i.code for i in f.indicators}
    for figure in f.indicators:
        _, name, result, target, units, verdict = rows[figure.code]
        shown = line_of(status, f"• {figure.code}. ")
        assert name == figure.name
        assert result == indicator_value(figure) and f": {result}" in shown
        assert target == (indicator_goal(figure) or NO_VERDICT)
        if figure.target is not None:
            assert f"mục tiêu {target}" in shown
        assert units == str(figure.units_reporting)
        assert verdict == verdict_of(shown)

    assert f.channels and f"{channel_line(f.channels)}." in text  # the demo's answers
    assert channel_line(f.channels) in status
    sat = {r[0]: r for r in table_with(doc, "Mã", "Nội dung", "Tỷ lệ hài lòng")}
    assert set(sat) == {"14", "14a", "15", "16"}
    for figure in f.satisfaction:
        _, name, rate, sample, interval, goal, verdict = sat[figure.target]
        shown = line_of(status, f"• {figure.target}. ")
        assert rate == satisfaction_rate(figure) and rate in shown
        assert sample == satisfaction_sample(figure) and sample in shown
        assert interval == (satisfaction_interval(figure) or NO_VERDICT)
        if figure.enough:
            assert f"KTC 95%: {interval}" in shown
        assert goal in shown and verdict == verdict_of(shown)


def test_the_yearly_report_has_its_trend_and_the_others_none(written: Written) -> None:
    doc = Document(str(written.path))
    text = "\n".join(p.text for p in doc.paragraphs)
    yearly = report_period(written.figures.round_key, written.figures.round_title).yearly
    assert ("DIỄN BIẾN CÁC CHỈ TIÊU TRONG NĂM" in text) is yearly
    if not yearly:  # the demo's quarter is Q1–Q3: no trend section, sections numbered on
        assert "IV. ĐÁNH GIÁ CHUNG" in text and "V. PHƯƠNG HƯỚNG" in text
        return
    assert "V. ĐÁNH GIÁ CHUNG" in text and "VI. PHƯƠNG HƯỚNG" in text
    rows = {r[0]: r for r in table_with(doc, "Mã", "Chỉ tiêu", "Quý I")}
    quarter = int(written.figures.round_key[-1])
    for figure in written.figures.indicators:
        assert rows[figure.code][1 + quarter] == indicator_value(figure, counts=False)


def test_the_heading_and_the_page_follow_the_decree(written: Written) -> None:
    doc = Document(str(written.path))
    heading = doc.tables[0]
    left, right = (one_space(c.text) for c in heading.rows[0].cells)
    # The issuing body from units.toml, in full and in upper case (Nghị định 30/2020).
    assert left.startswith("ỦY BAN NHÂN DÂN HUYỆN LONG PHÚ") and "Số: …/BC-…" in left
    assert right.startswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc")
    assert "……, ngày … tháng … năm …" in right
    year, quarter = written.figures.round_key.split("-Q")
    texts = [one_space(p.text) for p in doc.paragraphs]
    title = f"Kết quả thực hiện công tác cải cách hành chính quý {ROMAN[quarter]} năm {year}"
    assert texts[texts.index("BÁO CÁO") + 1] == title
    for narrative in ("1. Kết quả đạt được", "2. Tồn tại, hạn chế và nguyên nhân"):
        assert narrative in texts
        assert set(texts[texts.index(narrative) + 1]) == {"…"}  # left for the office to write

    section = doc.sections[0]
    page = (section.page_width, section.page_height)
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert [round(length.mm) for length in page] == [210, 297]  # A4 (stored in twips)
    assert [round(length.mm) for length in margins] == [20, 20, 30, 15]
    assert section.different_first_page_header_footer  # page numbers from page 2
    assert "PAGE" in section.header._element.xml

    assert doc.styles["Normal"].font.name == "Times New Roman"
    sizes = set()
    for paragraph in all_paragraphs(doc):
        for run in paragraph.runs:
            if run.text.strip():
                assert run.font.name in (None, "Times New Roman"), run.text
                sizes.add(run.font.size)
    assert sizes <= {None, Pt(11), Pt(12), Pt(13), Pt(14)}
    assert Pt(14) in sizes


def all_paragraphs(doc: DocxDocument) -> list[object]:
    found = list(doc.paragraphs)

    def walk(table: Table) -> None:
        for row in table.rows:
            for cell in row.cells:
                found.extend(cell.paragraphs)
                for inner in cell.tables:
                    walk(inner)

    for table in doc.tables:
        walk(table)
    return found


# --------------------------------------------------------------------------- as a PDF


def test_the_pdf_reads_title_window_and_figures_with_diacritics(
    written: Written, pdf: Path
) -> None:
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = one_space(text)
    f = written.figures
    year, quarter = f.round_key.split("-Q")
    for expected in (
        "ỦY BAN NHÂN DÂN",
        "HUYỆN LONG PHÚ",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "BÁO CÁO",
        f"Kết quả thực hiện công tác cải cách hành chính quý {ROMAN[quarter]} năm {year}",
        f"Kỳ báo cáo: số liệu từ ngày {f.window_start:%d/%m/%Y} đến ngày {f.window_end:%d/%m/%Y}",
        "I. TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC CƠ QUAN, ĐƠN VỊ",
        "III. MỨC ĐỘ HÀI LÒNG CỦA NGƯỜI DÂN, TỔ CHỨC",
        "Tồn tại, hạn chế và nguyên nhân",
        "PHƯƠNG HƯỚNG, NHIỆM VỤ THỜI GIAN TỚI",
    ):
        assert expected in flat, expected
    for names in f.missing.values():
        for name in names:
            assert name in flat
    for figure in f.indicators:
        assert indicator_value(figure, counts=False) in flat, figure.code
    for s in f.satisfaction:
        assert satisfaction_rate(s) in flat and f"{s.respondents} người" in flat
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert "LiberationSerif" in fonts or "TimesNewRoman" in fonts, fonts  # Times' metrics


def test_the_first_page_renders_as_the_readme_s_picture(pdf: Path) -> None:
    prefix = pdf.parent / "trang"
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(prefix),
        ],
        check=True,
        timeout=60,
    )
    png = prefix.with_suffix(".png")
    with Image.open(png) as page:
        width, height = page.size
        assert abs(height / width - 297 / 210) < 0.01  # A4, portrait
        dark = sum(page.convert("L").histogram()[:128])
        assert 0.01 < dark / (width * height) < 0.3  # text, not a blank page
    if os.environ.get("CCHC_WRITE_DOCS") == "1":
        PICTURE.parent.mkdir(exist_ok=True)
        shutil.copyfile(png, PICTURE)


# --------------------------------------------------------------------------- the template


def broken(tmp: Path, paragraph: str) -> Path:
    """The shipped template with one more paragraph."""
    doc = Document(str(TEMPLATE))
    doc.add_paragraph(paragraph)
    path = tmp / "mau-hong.docx"
    doc.save(str(path))
    return path


@pytest.mark.parametrize(
    ("paragraph", "says"),
    [
        ("{{ ten_don_vi }}", "dùng trường “ten_don_vi” không có trong số liệu báo cáo"),
        ("{{ trend.nam }}", "dùng trường “nam” không có"),
        ("{% for r in indicators %}{{ r.ma }}{% endfor %}", "dùng trường “ma” không có"),
        ("{% endfr %}", "có thẻ “endfr” không hợp lệ"),
        ("{{ title ", "sai cú pháp"),
        ("{{ title.__class__.__mro__ }}", "dùng thuộc tính “__class__” không được phép"),
    ],
)
def test_a_broken_template_stops_with_one_line_naming_it(
    written: Written, tmp_path: Path, paragraph: str, says: str
) -> None:
    data = build_report(written.figures, written.org, 30, written.figures.today)
    with pytest.raises(ReportTemplateError) as raised:
        render_docx(data, broken(tmp_path, paragraph))
    message = str(raised.value)
    assert says in message and "\n" not in message and "mau-hong.docx" in message


def test_a_file_that_is_not_a_template_is_named(written: Written, tmp_path: Path) -> None:
    data = build_report(written.figures, written.org, 30, written.figures.today)
    fake = tmp_path / "mau.docx"
    fake.write_text("không phải Word", encoding="utf-8")
    with pytest.raises(ReportTemplateError, match="không phải tệp Word"):
        render_docx(data, fake)
    with pytest.raises(ReportTemplateError, match="không tìm thấy"):
        render_docx(data, tmp_path / "khong-co.docx")


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_the_cli_refuses_a_broken_template_and_an_unknown_round_with_exit_2(
    demo: Demo, tmp_path: Path
) -> None:
    current, _ = rounds()
    target = tmp_path / "khong-ghi.docx"
    base = ("--config", str(demo.config_path), "report", "--out", str(target), "--db", str(demo.db))
    code, _, err = cli(
        *base, "--round", current, "--template", str(broken(tmp_path, "{{ so_bc }}"))
    )
    assert code == 2 and err.count("\n") == 1 and "“so_bc”" in err
    assert "Traceback" not in err and not target.exists()
    code, _, err = cli(*base, "--round", "2019-Q1")
    assert code == 2 and "không có kỳ báo cáo '2019-Q1'" in err
    code, _, err = cli(*base, "--template", str(tmp_path / "khong-co.docx"))
    assert code == 2 and "--template" in err


def test_the_committed_template_is_what_the_script_builds(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "make_template", ROOT / "tools" / "make-report-template.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rebuilt = tmp_path / "mau.docx"
    module.build(rebuilt)
    assert rebuilt.read_bytes() == TEMPLATE.read_bytes(), (
        "run .venv/bin/python tools/make-report-template.py and commit the template"
    )


def test_the_template_s_fields_are_all_the_data_s(written: Written) -> None:
    """Every field the shipped template names exists (StrictUndefined would stop it), and
    nothing of the data is left unshown: each top-level field appears in the template."""
    from docxtpl import DocxTemplate

    names = DocxTemplate(str(TEMPLATE)).get_undeclared_template_variables()
    data = build_report(written.figures, written.org, 30, written.figures.today)
    fields = set(data.__dataclass_fields__)
    assert names <= fields
    # Not shown, on purpose: the key and title of the round (the title says it), the kind,
    # the office's name and the day the draft was made (kept for templates that want them).
    assert fields - names <= {
        "round_key",
        "round_title",
        "period_kind",
        "collecting_office",
        "generated",
    }


# --------------------------------------------------------------------------- the terminal


def test_the_terminal_chat_saves_the_draft(demo: Demo) -> None:
    chat = Chat(demo.tmp, demo.config_path, "--db", str(demo.db), "--as", "admin")
    chat.ready()
    out = chat.say("/baocaotonghop")
    saved = saved_path(out, CONSOLE_FILE)
    assert saved.name.endswith(".docx") and "Dự thảo báo cáo" in out
    doc = Document(str(saved))
    assert any(p.text == "BÁO CÁO" for p in doc.paragraphs)
    unknown = chat.say("/baocaotonghop 2019-Q1")
    assert "Không có đợt báo cáo mã “2019-Q1”" in unknown
    chat.child.sendeof()
    chat.end()
    assert not re.search(r"Traceback|ERROR", chat.transcript)
