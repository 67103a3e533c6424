"""The application form (申请书) typeset as an A4 PDF, from the text of :class:`PrintedForm`.

Every field the schema allows prints: long text is filled into lines here (``app.documents.wrap``) and
cut into table rows of at most ``ROW_LINES`` lines, so no cell is ever taller than a page and tables
break across pages between rows.
"""

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.documents.fonts import FormFonts
from app.documents.form import PrintedForm, numeral
from app.documents.wrap import wrap_lines

MARGIN = 25 * mm
FRAME_WIDTH = A4[0] - 2 * MARGIN
PAD = 5  # cell padding, points
ROW_LINES = 20
SEAL_ROOM = 42 * mm  # blank space for a ~4 cm seal (公章) above the signature and date line
LABEL_WIDTH = 40 * mm


class _Styles:
    def __init__(self, fonts: FormFonts) -> None:
        body = ParagraphStyle("body", fontName=fonts.body, fontSize=11, leading=17, wordWrap="CJK")
        self.body = body
        self.cell = ParagraphStyle("cell", parent=body, fontSize=10.5, leading=15)
        self.small = ParagraphStyle("small", parent=body, fontSize=10, leading=14)
        self.right = ParagraphStyle("right", parent=self.cell, alignment=TA_RIGHT)
        self.title = ParagraphStyle("title", parent=body, fontName=fonts.title, fontSize=26, leading=40,
                                    alignment=TA_CENTER, spaceAfter=10)
        self.subtitle = ParagraphStyle("subtitle", parent=body, fontName=fonts.title, fontSize=15, leading=24,
                                       alignment=TA_CENTER, spaceAfter=8)
        self.h = ParagraphStyle("h", parent=body, fontName=fonts.title, fontSize=13.5, leading=21, spaceBefore=12,
                                spaceAfter=6)
        self.box_head = ParagraphStyle("box_head", parent=self.cell, fontName=fonts.title)


def _para(lines: list[str], style: ParagraphStyle) -> Paragraph:
    return Paragraph("<br/>".join(escape(line) for line in lines) or "&nbsp;", style)


def _chunks(text: str, style: ParagraphStyle, width: float, pad: float = PAD) -> list[Paragraph]:
    """``text`` as paragraphs of at most ``ROW_LINES`` lines, each line fitting ``width`` less the padding."""
    lines = wrap_lines(text, style.fontName, style.fontSize, width - 2 * pad - 1)
    return [_para(lines[i:i + ROW_LINES], style) for i in range(0, len(lines), ROW_LINES)] or [_para([], style)]


def _grid(rows: list[list[Any]], widths: list[float], starts: list[int], header: bool = False) -> Table:
    """A ruled table whose fields may span several rows (``starts``: the row where each field begins)."""
    style: list[Any] = [("BOX", (0, 0), (-1, -1), 0.8, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), PAD), ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
                        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    style += [("LINEAFTER", (col, 0), (col, -1), 0.5, colors.black) for col in range(len(widths) - 1)]
    style += [("LINEABOVE", (0, r), (-1, r), 0.5, colors.black) for r in starts if r]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")))
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, splitByRow=1)
    table.setStyle(TableStyle(style))
    return table


def _field_table(fields: list[tuple[str, str]], s: _Styles) -> Table:
    widths = [LABEL_WIDTH, FRAME_WIDTH - LABEL_WIDTH]
    rows: list[list[Any]] = []
    starts = []
    for label, value in fields:
        starts.append(len(rows))
        for i, chunk in enumerate(_chunks(value, s.cell, widths[1])):
            rows.append([_chunks(label, s.cell, widths[0])[0] if i == 0 else "", chunk])
    return _grid(rows, widths, starts)


def _cover(form: PrintedForm, s: _Styles) -> list[Any]:
    widths = [48 * mm, FRAME_WIDTH - 48 * mm]
    rows = []
    for label, value in form.cover:
        rows.append([_para([f"{label}："], s.box_head), _chunks(value, s.cell, widths[1])[0]])
    table = Table(rows, colWidths=widths)
    table.setStyle(TableStyle([("LINEBELOW", (1, 0), (1, -1), 0.6, colors.black), ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                               ("TOPPADDING", (0, 0), (-1, -1), 9), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    return [Spacer(1, 25 * mm), _para(wrap_lines(form.call_name, s.subtitle.fontName, s.subtitle.fontSize, FRAME_WIDTH),
                                      s.subtitle),
            Spacer(1, 8 * mm), Paragraph("申　请　书", s.title), Spacer(1, 35 * mm), table, PageBreak()]


def _opinion_box(box: Any, s: _Styles) -> Table:
    rows: list[list[Any]] = [[_chunks(box.heading, s.box_head, FRAME_WIDTH)[0]]]
    starts = [0, 1]
    rows.append([_para(["　　".join(("■ " if marked else "□ ") + label for label, marked in box.choices)], s.cell)])
    rows += [[chunk] for chunk in _chunks(box.opinion, s.cell, FRAME_WIDTH)] if box.opinion else []
    sign = [f"签字：{box.signatory or '　' * 8}　　日期：{box.date}"]
    rows.append([Spacer(1, SEAL_ROOM)])
    rows.append([_para(["（盖章）", *sign], s.right)])
    table = _grid(rows, [FRAME_WIDTH], starts)
    # The seal room and the signature line are kept together with the box's last lines.
    table.setStyle(TableStyle([("NOSPLIT", (0, len(rows) - 3), (0, -1))]))
    return table


def render_form(form: PrintedForm, fonts: FormFonts) -> bytes:
    s = _Styles(fonts)
    story: list[Any] = _cover(form, s)
    story += [Paragraph("一、承担单位基本情况", s.h), _field_table(form.profile, s)]
    for heading, text in form.sections:
        story.append(Paragraph(escape(heading), s.h))
        story += _chunks(text, s.body, FRAME_WIDTH, pad=0)

    n = len(form.sections) + 2
    story.append(Paragraph(f"{numeral(n)}、标准明细", s.h))
    widths = [12 * mm, 40 * mm, 66 * mm, 18 * mm, 24 * mm]
    rows: list[list[Any]] = [[_para([h], s.small) for h in ("序号", "标准编号", "标准名称", "层级", "状态")]]
    rows += [[_chunks(value, s.small, w)[0] for value, w in zip(row, widths, strict=True)] for row in form.standards]
    story.append(_grid(rows, widths, list(range(len(rows))), header=True))

    story.append(Paragraph(f"{numeral(n + 1)}、基本条件承诺", s.h))
    story += [chunk for line in form.conditions for chunk in _chunks(line, s.body, FRAME_WIDTH, pad=0)]

    story.append(Paragraph(f"{numeral(n + 2)}、各方意见", s.h))
    for box in form.opinions:
        story += [CondPageBreak(SEAL_ROOM + 30 * mm), _opinion_box(box, s), Spacer(1, 5 * mm)]

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(fonts.body, 7.5)
        canvas.drawString(MARGIN, 12 * mm, form.footer)
        canvas.drawRightString(A4[0] - MARGIN, 12 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    buffer = io.BytesIO()
    # invariant: no creation time or random id in the file, so one printed form gives one file.
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=form.title, author="SMPS", subject=form.call_name, invariant=1)
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
