"""The recommended list (推荐清单) typeset as an A4 landscape PDF, from the text of :class:`PrintedList`.

Each page carries the tracking number and the receipt's QR code once the list is submitted (a draft
carries a 草稿 watermark instead), the call's contact line and "第 N 页 共 M 页". The table repeats its
header on every page; the recommender's seal line (推荐单位（盖章）, with room for a ~4 cm seal) and the
date stay together after it.
"""

import hashlib
import io
from typing import Any

import orjson
from reportlab.graphics import renderPDF
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, KeepTogether, PageTemplate, Spacer

from app.batches.receipt_pdf import qr_drawing
from app.documents.listing import HEADERS, PrintedList
from app.documents.pdf import SEAL_ROOM, Face, _grid
from app.documents.wrap import wrap_lines
from app.fonts.faces import FormFonts

# Bump when the typesetting changes, so an ETag never names two different files.
LIST_RENDER_VERSION = 1
PAGE = landscape(A4)
MARGIN = 18 * mm
HEADER_BAND = 26 * mm  # above the frame: the tracking number and the QR code
FOOTER_BAND = 14 * mm
FRAME_WIDTH = PAGE[0] - 2 * MARGIN
QR_SIDE = 24 * mm
WIDTHS_MM = (12, 80, 46, 36, 27, 26, 34)
WIDTHS = [w * mm for w in WIDTHS_MM]


def list_digest(printed: PrintedList, fonts: FormFonts) -> str:
    """The hex SHA-256 of what the list prints (its ETag)."""
    payload = orjson.dumps({"v": LIST_RENDER_VERSION, "fonts": fonts.fingerprint, "list": printed})
    return hashlib.sha256(payload).hexdigest()


class _NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no types
    """Pages kept until the end, so each can print the page count (第 N 页 共 M 页)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.draw_count(total)
            super().showPage()
        super().save()

    def draw_count(self, total: int) -> None:
        self.saveState()
        self._count_font.draw(
            self, PAGE[0] - MARGIN, MARGIN + 2 * mm, f"第 {self._pageNumber} 页  共 {total} 页", 8, "right"
        )
        self.restoreState()


def _texts(printed: PrintedList) -> list[str]:
    """Every string the list prints, to check that a face has each character before anything is set."""
    return [
        printed.title,
        printed.call_name,
        printed.notice_number,
        printed.recommender,
        printed.date,
        printed.contact,
        printed.tracking_number or "",
        *HEADERS,
        *(value for row in printed.rows for value in row),
        "草稿：尚未报送，不作为正式推荐清单",
        "推荐单位（盖章）：日期共项，按推荐排序第页报送回执编号0123456789",
    ]


def render_list(printed: PrintedList, fonts: FormFonts) -> bytes:
    """The list as PDF bytes; 503 ``font_unavailable`` before anything is set if a character has no face."""
    fonts.require(_texts(printed))
    title = Face(fonts.title, 18, 28)
    sub = Face(fonts.body, 11, 17)
    cell = Face(fonts.body, 9.5, 14)
    head = Face(fonts.title, 9.5, 14)
    story: list[Any] = [
        title.block(printed.title, pad=0, align="center"),
        sub.block(f"{printed.call_name}（{printed.notice_number}）", pad=0, align="center"),
        Spacer(1, 3 * mm),
        sub.block(f"推荐单位：{printed.recommender}　　共 {len(printed.rows)} 项，按推荐排序", pad=0),
        Spacer(1, 2 * mm),
    ]
    rows: list[list[Any]] = [[head.block(h, w, align="center") for h, w in zip(HEADERS, WIDTHS, strict=True)]]
    for row in printed.rows:
        rows.append([cell.block(value, w) for value, w in zip(row, WIDTHS, strict=True)])
    story.append(_grid(rows, WIDTHS, None, header=True))
    story.append(
        KeepTogether(
            [
                Spacer(1, 6 * mm),
                sub.block(f"推荐单位（盖章）：{printed.recommender}", pad=0, align="right"),
                Spacer(1, SEAL_ROOM),
                sub.block(f"日期：{printed.date}", pad=0, align="right"),
            ]
        )
    )

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas._count_font = fonts.body
        top = PAGE[1] - MARGIN
        if printed.draft:
            canvas.setFillGray(0.85)
            canvas.translate(PAGE[0] / 2, PAGE[1] / 2)
            canvas.rotate(30)
            fonts.title.draw(canvas, 0, -40, "草稿", 110, "center")
            canvas.rotate(-30)
            canvas.translate(-PAGE[0] / 2, -PAGE[1] / 2)
            canvas.setFillGray(0)
            fonts.body.draw(canvas, MARGIN, top - 5 * mm, "草稿：尚未报送，不作为正式推荐清单", 9)
        if printed.tracking_number:
            fonts.body.draw(
                canvas,
                PAGE[0] - MARGIN - QR_SIDE - 3 * mm,
                top - 5 * mm,
                f"报送回执编号：{printed.tracking_number}",
                9,
                "right",
            )
        if printed.qr:
            drawing = qr_drawing(printed.qr, QR_SIDE)
            renderPDF.draw(drawing, canvas, PAGE[0] - MARGIN - QR_SIDE, top - QR_SIDE)
        for i, line in enumerate(wrap_lines(printed.contact, fonts.body, 8, FRAME_WIDTH - 40 * mm)[:2]):
            fonts.body.draw(canvas, MARGIN, MARGIN + 6 * mm - i * 4 * mm, line, 8)
        canvas.restoreState()

    buffer = io.BytesIO()
    # invariant: no creation time or random id in the file, so one printed list gives one file.
    doc = BaseDocTemplate(
        buffer, pagesize=PAGE, title=printed.title, author="SMPS", subject=printed.call_name, invariant=1
    )
    frame = Frame(
        MARGIN,
        MARGIN + FOOTER_BAND,
        FRAME_WIDTH,
        PAGE[1] - 2 * MARGIN - HEADER_BAND - FOOTER_BAND,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates([PageTemplate("list", frames=[frame], onPage=on_page)])
    doc.build(story, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()
