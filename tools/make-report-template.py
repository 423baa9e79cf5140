"""Build the shipped report template, bot/data/templates/bao-cao-cchc.docx (run once; commit
the result). The template is data: an office may edit the .docx in Word instead, keeping the
{{ … }} fields and {%p … %} / {%tr … %} tags (README, "Báo cáo tổng hợp (Word)").

The layout follows Nghị định 30/2020/NĐ-CP on administrative documents (Phụ lục I):
A4 paper, margins top and bottom 20 mm, left 30 mm, right 15 mm; Times New Roman; the issuing
body at the top left (12–13 pt, upper case, bold) over its number and symbol ("Số: …/BC-…",
13 pt); the Quốc hiệu at the top right (12–13 pt, upper case, bold) over the Tiêu ngữ (13–14
pt, bold) with a line under it, then the place and date (13–14 pt, italic); the kind of
document ("BÁO CÁO", 13–14 pt, bold) and its summary (trích yếu, bold) centred under them;
the body 13–14 pt, justified, first lines indented, at least 6 pt between paragraphs; page
numbers centred in the header from the second page; "Nơi nhận" (12 pt bold italic, the list
11 pt) and the signer's position, signature and name at the end.

    .venv/bin/python tools/make-report-template.py [--out PATH]
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bot" / "data" / "templates" / "bao-cao-cchc.docx"
FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 12
DOTS = "…" * 60
# Word refuses elements out of the schema's order: what may follow w:pBdr in w:pPr and
# w:tblBorders in w:tblPr (ECMA-376 Part 1, 17.3.1.26 and 17.4.60).
PBDR_SUCCESSORS = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)
TBLBORDERS_SUCCESSORS = (
    "w:shd",
    "w:tblLayout",
    "w:tblCellMar",
    "w:tblLook",
    "w:tblCaption",
    "w:tblDescription",
    "w:tblPrChange",
)


def set_font(run_or_style: object, size: float | None = None) -> None:
    """Times New Roman for every script (Latin, complex, East Asian)."""
    font = run_or_style.font  # type: ignore[attr-defined]
    font.name = FONT
    if size is not None:
        font.size = Pt(size)
    element = run_or_style.element  # type: ignore[attr-defined]
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for key in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(key), FONT)


def paragraph(
    where: object,
    text: str = "",
    *,
    size: float = BODY_PT,
    bold: bool = False,
    italic: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = WD_ALIGN_PARAGRAPH.JUSTIFY,
    indent: bool = False,
    before: float = 0,
    after: float = 6,
    keep_next: bool = False,
) -> Paragraph:
    """One paragraph holding ``text`` in a single run (a Jinja tag must not be split)."""
    p: Paragraph = where.add_paragraph()  # type: ignore[attr-defined]
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    if align is not None:
        p.alignment = align
    if indent:
        fmt.first_line_indent = Cm(1)
    if keep_next:
        fmt.keep_with_next = True
    if text:
        run = p.add_run(text)
        run.bold, run.italic = bold, italic
        set_font(run, size)
    return p


def tag(where: object, text: str) -> Paragraph:
    """A paragraph holding only a {%p … %} tag (docxtpl removes the paragraph itself)."""
    return paragraph(where, text, after=0)


def rule(where: object, indent_cm: float, after: float = 6) -> Paragraph:
    """A short horizontal line: an empty paragraph 2 pt high with a bottom border,
    ``indent_cm`` in from both sides. The decree draws one under the issuing body (1/3 to
    1/2 of its length), the Tiêu ngữ (its length) and the summary (1/3 to 1/2 of it)."""
    p = paragraph(where, "", align=WD_ALIGN_PARAGRAPH.CENTER, after=after)
    p.paragraph_format.line_spacing = Pt(2)  # exactly: the line sits right under the text
    ppr = p._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    ppr.insert_element_before(borders, *PBDR_SUCCESSORS)
    p.paragraph_format.left_indent = Cm(indent_cm)
    p.paragraph_format.right_indent = Cm(indent_cm)
    return p


def no_borders(table: Table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    tbl_pr.insert_element_before(borders, *TBLBORDERS_SUCCESSORS)


def widths(table: Table, cm: tuple[float, ...]) -> None:
    """Column widths in the grid (what LibreOffice reads) and in every cell (what Word does)."""
    table.autofit = False
    for column, width in zip(table.columns, cm, strict=True):
        column.width = Cm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, cm, strict=True):
            cell.width = Cm(width)


def repeat_header(table: Table) -> None:
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)


def keep_together(row: object) -> None:
    """A row is not split across pages (w:cantSplit)."""
    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    tr_pr.append(OxmlElement("w:cantSplit"))


def cell_text(
    cell: _Cell,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
    size: float = TABLE_PT,
) -> Paragraph:
    """The cell's first paragraph holding ``text`` (python-docx gives each cell one)."""
    p = cell.paragraphs[0]
    p.alignment = align
    p.paragraph_format.space_after = Pt(0)
    run = p.add_run(text)
    run.bold, run.italic = bold, italic
    set_font(run, size)
    return p


def loop_table(
    doc: object,
    headers: tuple[str, ...],
    cells: tuple[str, ...],
    loop: str,
    cm: tuple[float, ...],
    centred_from: int = 2,
) -> Table:
    """A bordered table: a header row repeated on every page, then one row per item of
    ``loop`` ("row in indicators") with the ``cells`` fields."""
    table: Table = doc.add_table(rows=4, cols=len(headers))  # type: ignore[attr-defined]
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, head in enumerate(headers):
        cell_text(table.rows[0].cells[i], head, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    cell_text(table.rows[1].cells[0], "{%tr for " + loop + " %}")
    for i, field in enumerate(cells):
        align = (
            WD_ALIGN_PARAGRAPH.CENTER if i >= centred_from or i == 0 else WD_ALIGN_PARAGRAPH.LEFT
        )
        cell_text(table.rows[2].cells[i], field, align=align)
    cell_text(table.rows[3].cells[0], "{%tr endfor %}")
    repeat_header(table)
    keep_together(table.rows[2])
    widths(table, cm)
    return table


def heading_block(doc: object) -> None:
    """Issuing body and number on the left, Quốc hiệu, Tiêu ngữ, place and date on the right."""
    table: Table = doc.add_table(rows=1, cols=2)  # type: ignore[attr-defined]
    no_borders(table)
    widths(table, (6.5, 10.0))
    left, right = table.rows[0].cells
    centre = WD_ALIGN_PARAGRAPH.CENTER
    cell_text(left, "{%p for line in issuer_lines %}", size=12)
    paragraph(left, "{{ line }}", size=12, bold=True, align=centre, after=0)
    paragraph(left, "{%p endfor %}", size=12, after=0)
    rule(left, 2.2)
    paragraph(left, "Số: …/BC-…", size=13, align=centre, after=0)

    cell_text(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, align=centre, size=12)
    paragraph(right, "Độc lập - Tự do - Hạnh phúc", size=13, bold=True, align=centre, after=0)
    rule(right, 2.0)
    paragraph(
        right,
        "……, ngày … tháng … năm …",
        size=14,
        italic=True,
        align=centre,
        before=6,
        after=0,
    )


def header_page_numbers(section: object) -> None:
    """The page number centred in the header, from the second page (Nghị định 30/2020)."""
    section.different_first_page_header_footer = True  # type: ignore[attr-defined]
    p = section.header.paragraphs[0]  # type: ignore[attr-defined]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run()
    set_font(run, 14)
    for kind, text in (("begin", None), (None, " PAGE "), ("end", None)):
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        else:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)


def signature_block(doc: object) -> None:
    table: Table = doc.add_table(rows=1, cols=2)  # type: ignore[attr-defined]
    no_borders(table)
    widths(table, (8.0, 8.5))
    left, right = table.rows[0].cells
    cell_text(left, "Nơi nhận:", bold=True, italic=True, size=12)
    paragraph(left, "- ……;", size=11, align=None, after=0)
    paragraph(left, "- Lưu: VT.", size=11, align=None, after=0)
    centre = WD_ALIGN_PARAGRAPH.CENTER
    cell_text(right, "QUYỀN HẠN, CHỨC VỤ NGƯỜI KÝ", bold=True, align=centre, size=13)
    paragraph(right, "(Chữ ký, dấu)", size=14, italic=True, align=centre, after=60)
    paragraph(right, "Họ và tên", size=14, bold=True, align=centre, after=0)


def body(doc: object) -> None:
    centre = WD_ALIGN_PARAGRAPH.CENTER
    paragraph(doc, "BÁO CÁO", bold=True, align=centre, before=18, after=0)
    paragraph(doc, "{{ title }}", bold=True, align=centre, after=0)
    rule(doc, 5.75, after=12)

    paragraph(
        doc,
        "Kỳ báo cáo: số liệu từ ngày {{ window_start }} đến ngày {{ window_end }}; "
        "hạn các cơ quan, đơn vị gửi báo cáo: ngày {{ deadline }}.",
        indent=True,
    )
    paragraph(
        doc,
        "{{ organisation }} báo cáo kết quả thực hiện công tác cải cách hành chính "
        "{{ period_label }} như sau:",
        indent=True,
    )

    paragraph(
        doc, "I. TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC CƠ QUAN, ĐƠN VỊ", bold=True, before=6, keep_next=True
    )
    paragraph(
        doc,
        "Tổng số cơ quan, đơn vị phải báo cáo: {{ units_total }}; đã gửi: {{ submitted }} "
        "(đúng hạn {{ on_time_count }}, trễ hạn {{ late_count }}); chưa gửi: "
        "{{ missing_count }}.",
        indent=True,
    )
    paragraph(doc, "1. Gửi đúng hạn ({{ on_time_count }}): {{ on_time }}.", indent=True)
    paragraph(doc, "2. Gửi trễ hạn ({{ late_count }}): {{ late }}.", indent=True)
    paragraph(
        doc,
        "3. Chưa gửi ({{ missing_count }}){% if missing %}:{% else %}: không có.{% endif %}",
        indent=True,
    )
    tag(doc, "{%p for group in missing %}")
    paragraph(doc, "- {{ group.kind }}: {{ group.names }}.", indent=True)
    tag(doc, "{%p endfor %}")

    paragraph(doc, "II. KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU", bold=True, before=12, keep_next=True)
    paragraph(
        doc,
        "Số liệu tổng hợp từ báo cáo của các cơ quan, đơn vị (chỉ tiêu tỷ lệ "
        "tính bằng tổng tử số trên tổng mẫu số); mục tiêu áp dụng cho năm {{ year }}.",
        indent=True,
    )
    loop_table(
        doc,
        ("Mã", "Chỉ tiêu", "Kết quả", "Mục tiêu", "Số đơn vị báo cáo", "Đánh giá"),
        (
            "{{ row.code }}",
            "{{ row.name }}",
            "{{ row.result }}",
            "{{ row.target }}",
            "{{ row.units }}",
            "{{ row.verdict }}",
        ),
        "row in indicators",
        (1.1, 7.0, 2.9, 1.9, 1.6, 2.0),
    )

    paragraph(
        doc, "III. MỨC ĐỘ HÀI LÒNG CỦA NGƯỜI DÂN, TỔ CHỨC", bold=True, before=12, keep_next=True
    )
    paragraph(
        doc,
        "Tỷ lệ hài lòng là số câu trả lời “Hài lòng” và “Rất hài lòng” trên tổng số câu trả "
        "lời; khoảng tin cậy 95% tính theo người trả lời; dưới {{ min_sample }} người trả lời "
        "thì chưa đủ dữ liệu để đánh giá.",
        indent=True,
    )
    loop_table(
        doc,
        (
            "Mã",
            "Nội dung",
            "Tỷ lệ hài lòng",
            "Người trả lời / câu trả lời",
            "Khoảng tin cậy 95%",
            "Mục tiêu",
            "Đánh giá",
        ),
        (
            "{{ row.code }}",
            "{{ row.name }}",
            "{{ row.rate }}",
            "{{ row.sample }}",
            "{{ row.interval }}",
            "{{ row.goal }}",
            "{{ row.verdict }}",
        ),
        "row in satisfaction",
        (1.1, 5.0, 2.2, 2.4, 2.4, 1.7, 1.7),
    )
    tag(doc, "{%p if channels %}")
    paragraph(doc, "{{ channels }}.", indent=True, before=6)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if official %}")
    paragraph(
        doc,
        "Kết quả khảo sát chính thức (nhập riêng, không gộp vào số liệu trên): {{ official }}.",
        indent=True,
        before=6,
    )
    tag(doc, "{%p endif %}")

    tag(doc, "{%p if trend.shown %}")
    paragraph(
        doc, "IV. DIỄN BIẾN CÁC CHỈ TIÊU TRONG NĂM {{ year }}", bold=True, before=12, keep_next=True
    )
    paragraph(doc, "{{ trend.note }}", indent=True)
    tag(doc, "{%p if trend.rows %}")
    loop_table(
        doc,
        ("Mã", "Chỉ tiêu", "Quý I", "Quý II", "Quý III", "Quý IV", "Mục tiêu", "Theo đà hiện tại"),
        (
            "{{ row.code }}",
            "{{ row.name }}",
            "{{ row.q1 }}",
            "{{ row.q2 }}",
            "{{ row.q3 }}",
            "{{ row.q4 }}",
            "{{ row.target }}",
            "{{ row.trend }}",
        ),
        "row in trend.rows",
        (1.1, 4.1, 1.7, 1.7, 1.7, 1.7, 1.6, 2.9),
    )
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endif %}")

    paragraph(
        doc,
        '{{ "V" if trend.shown else "IV" }}. ĐÁNH GIÁ CHUNG',
        bold=True,
        before=12,
        keep_next=True,
    )
    paragraph(doc, "1. Kết quả đạt được", bold=True, indent=True, keep_next=True)
    paragraph(doc, DOTS, indent=True)
    paragraph(doc, "2. Tồn tại, hạn chế và nguyên nhân", bold=True, indent=True, keep_next=True)
    paragraph(doc, DOTS, indent=True)
    paragraph(
        doc,
        '{{ "VI" if trend.shown else "V" }}. PHƯƠNG HƯỚNG, NHIỆM VỤ THỜI GIAN TỚI',
        bold=True,
        keep_next=True,
    )
    paragraph(doc, DOTS, indent=True)
    paragraph(
        doc, '{{ "VII" if trend.shown else "VI" }}. ĐỀ XUẤT, KIẾN NGHỊ', bold=True, keep_next=True
    )
    paragraph(doc, DOTS, indent=True, after=12)


def build(out: Path) -> None:
    doc = Document()
    normal = doc.styles["Normal"]
    set_font(normal, BODY_PT)
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    header_page_numbers(section)
    doc.core_properties.title = "Báo cáo kết quả thực hiện công tác cải cách hành chính"
    doc.core_properties.author = "cchc-bot"
    doc.core_properties.language = "vi-VN"
    doc.core_properties.comments = "Mẫu báo cáo của cchc-bot (tools/make-report-template.py)"

    heading_block(doc)
    body(doc)
    signature_block(doc)
    # python-docx starts a document with one empty paragraph: drop it (it sits before the
    # heading table and would push the heading down).
    first = doc.paragraphs[0]
    if not first.text and first._p.getprevious() is None:
        first._p.getparent().remove(first._p)
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    doc.save(buffer)
    out.write_bytes(reproducible(buffer.getvalue()))


def reproducible(docx: bytes) -> bytes:
    """The same package with fixed member times, so that building twice gives the same
    bytes (tests/integration/test_docx_report.py checks the committed template is this
    script's output)."""
    source = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    build(args.out)
    print(f"Đã ghi mẫu báo cáo: {args.out}")


if __name__ == "__main__":
    main()
