"""The application form (申请书) typeset as an A4 PDF, from the text of :class:`PrintedForm`.

Every field the schema allows prints: text is filled into lines once (``app.documents.wrap``) and cut
into table rows of at most ``ROW_LINES`` lines, so no cell is ever taller than a page and tables break
across pages between rows.
"""

import io
from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, CondPageBreak, Frame, PageBreak, PageTemplate, Spacer, Table, TableStyle

from app.documents.font_report import PRINTED
from app.documents.form import OpinionBox, PrintedForm, numeral
from app.documents.lines import Lines
from app.documents.wrap import wrap_lines
from app.fonts.faces import FormFonts
from app.fonts.glyphs import FontChain

MARGIN = 25 * mm
FRAME_WIDTH = A4[0] - 2 * MARGIN
PAD = 5  # cell padding, points
ROW_LINES = 20
SEAL_ROOM = 42 * mm  # blank space for a ~4 cm seal (公章) above the signature and date line
LABEL_WIDTH = 40 * mm
FOOTER_SIZE, FOOTER_LEADING = 7.5, 10
PAGE_NUMBER_Y = 10 * mm  # the page number's baseline; the footer's lines stand above it


@dataclass(frozen=True)
class Face:
    font: FontChain
    size: float
    leading: float
    space_before: float = 0
    space_after: float = 0

    def lines(self, text: str, width: float, pad: float = PAD, align: str = "left") -> list[Lines]:
        """``text`` in blocks of at most ``ROW_LINES`` lines, each line fitting ``width`` less the padding."""
        lines = wrap_lines(text, self.font, self.size, width - 2 * pad - 1)
        return [
            Lines(lines[i : i + ROW_LINES], self.font, self.size, self.leading, align)
            for i in range(0, len(lines), ROW_LINES)
        ]

    def block(self, text: str, width: float = FRAME_WIDTH, pad: float = PAD, align: str = "left") -> Lines:
        return Lines(
            wrap_lines(text, self.font, self.size, width - 2 * pad - 1), self.font, self.size, self.leading, align
        )

    def heading(self, text: str) -> list[Any]:
        return [
            Spacer(1, self.space_before),
            CondPageBreak(3 * self.leading),
            self.block(text, pad=0),
            Spacer(1, self.space_after),
        ]


class _Faces:
    def __init__(self, fonts: FormFonts) -> None:
        self.body = Face(fonts.body, 11, 18)
        self.cell = Face(fonts.body, 10.5, 15.5)
        self.small = Face(fonts.body, 10, 14)
        self.title = Face(fonts.title, 26, 40)
        self.subtitle = Face(fonts.title, 15, 24)
        self.h = Face(fonts.title, 13.5, 21, space_before=10, space_after=4)
        self.label = Face(fonts.title, 10.5, 15.5)


def _grid(rows: list[list[Any]], widths: list[float], starts: list[int] | None, header: bool = False) -> Table:
    """A ruled table whose fields may span several rows (``starts``: the row where each field begins;
    None: one row each, ruled with one command, as per-row commands make a long table's splits slow)."""
    style: list[Any] = [
        ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    style += [("LINEAFTER", (col, 0), (col, -1), 0.5, colors.black) for col in range(len(widths) - 1)]
    if starts is None:
        style.append(("INNERGRID", (0, 0), (-1, -1), 0.5, colors.black))
    else:
        style += [("LINEABOVE", (0, r), (-1, r), 0.5, colors.black) for r in starts if r]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")))
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, splitByRow=1)
    table.setStyle(TableStyle(style))
    return table


def _field_table(fields: list[tuple[str, str]], f: _Faces) -> Table:
    widths = [LABEL_WIDTH, FRAME_WIDTH - LABEL_WIDTH]
    rows: list[list[Any]] = []
    starts = []
    for label, value in fields:
        starts.append(len(rows))
        for i, block in enumerate(f.cell.lines(value, widths[1]) or [f.cell.block("")]):
            rows.append([f.label.block(label, widths[0]) if i == 0 else "", block])
    return _grid(rows, widths, starts)


def _cover(form: PrintedForm, f: _Faces) -> list[Any]:
    widths = [48 * mm, FRAME_WIDTH - 48 * mm]
    rows = [[f.label.block(f"{label}：", widths[0]), f.cell.block(value, widths[1])] for label, value in form.cover]
    table = Table(rows, colWidths=widths)
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (1, 0), (1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("TOPPADDING", (0, 0), (-1, -1), 10),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return [
        Spacer(1, 25 * mm),
        f.subtitle.block(form.call_name, pad=0, align="center"),
        Spacer(1, 8 * mm),
        f.title.block("申　请　书", pad=0, align="center"),
        Spacer(1, 35 * mm),
        table,
        PageBreak(),
    ]


def _opinion_box(box: OpinionBox, f: _Faces) -> Table:
    rows: list[list[Any]] = [[f.label.block(box.heading)]]
    rows.append([f.cell.block("　　".join(("■ " if marked else "□ ") + label for label, marked in box.choices))])
    rows += [[block] for block in f.cell.lines(box.opinion, FRAME_WIDTH)]
    rows.append([Spacer(1, SEAL_ROOM)])
    rows.append([f.cell.block("（盖章）", align="right")])
    rows.append([f.cell.block(f"签字：{box.signatory or '　' * 8}　　日期：{box.date}", align="right")])
    table = _grid(rows, [FRAME_WIDTH], [0, 1])
    # The seal room and the signature line stay together (and with the box's last lines).
    table.setStyle(TableStyle([("NOSPLIT", (0, len(rows) - 4), (0, -1))]))
    return table


def _texts(value: Any) -> Iterator[str]:
    """Every string a printed form holds."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)
    elif is_dataclass(value):
        for field in fields(value):
            yield from _texts(getattr(value, field.name))


def render_form(form: PrintedForm, fonts: FormFonts) -> bytes:
    """The form as PDF bytes; 503 ``font_unavailable`` before anything is set if a character has no face."""
    fonts.require([PRINTED, *_texts(form)])
    f = _Faces(fonts)
    story: list[Any] = _cover(form, f)
    story += [*f.h.heading("一、承担单位基本情况"), _field_table(form.profile, f)]
    for heading, text in form.sections:
        story += [*f.h.heading(heading), *f.body.lines(text, FRAME_WIDTH, pad=0)]

    n = len(form.sections) + 2
    story += f.h.heading(f"{numeral(n)}、标准明细")
    widths = [12 * mm, 40 * mm, 66 * mm, 18 * mm, 24 * mm]
    rows: list[list[Any]] = [
        [f.small.block(h, w) for h, w in zip(("序号", "标准编号", "标准名称", "层级", "状态"), widths, strict=True)]
    ]
    rows += [[f.small.block(value, w) for value, w in zip(row, widths, strict=True)] for row in form.standards]
    story.append(_grid(rows, widths, None, header=True))

    story += f.h.heading(f"{numeral(n + 1)}、基本条件承诺")
    story += [block for line in form.conditions for block in f.body.lines(line, FRAME_WIDTH, pad=0)]

    story += f.h.heading(f"{numeral(n + 2)}、各方意见")
    for box in form.opinions:
        story += [CondPageBreak(SEAL_ROOM + 40 * mm), _opinion_box(box, f), Spacer(1, 5 * mm)]

    # The footer (content digest, then the receipt's number) in lines of its own above the page number.
    footer = wrap_lines(form.footer, fonts.body, FOOTER_SIZE, FRAME_WIDTH) if form.footer else []

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        for i, line in enumerate(reversed(footer), start=1):
            fonts.body.draw(canvas, MARGIN, PAGE_NUMBER_Y + i * FOOTER_LEADING, line, FOOTER_SIZE)
        fonts.body.draw(canvas, A4[0] - MARGIN, PAGE_NUMBER_Y, f"第 {doc.page} 页", FOOTER_SIZE, "right")
        canvas.restoreState()

    buffer = io.BytesIO()
    # invariant: no creation time or random id in the file, so one printed form gives one file.
    doc = BaseDocTemplate(buffer, pagesize=A4, title=form.title, author="SMPS", subject=form.call_name, invariant=1)
    # A frame without padding: the text block is exactly the page less the margins, as measured above.
    frame = Frame(
        MARGIN, MARGIN, FRAME_WIDTH, A4[1] - 2 * MARGIN, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0
    )
    doc.addPageTemplates([PageTemplate("form", frames=[frame], onPage=on_page)])
    doc.build(story)
    return buffer.getvalue()
