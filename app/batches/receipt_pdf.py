"""The printable receipt (报送回执) of a submitted list: A4, Chinese, with a QR code to check it by."""

import io
from typing import Any
from xml.sax.saxutils import escape

import orjson
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy.orm import Session

from app.batches import receipts
from app.batches.models import Receipt
from app.core.clock import BEIJING
from app.fonts.faces import FormFonts, unavailable
from app.organizations.models import Organization
from app.reference.models import Call

QR_SIZE = 38 * mm


def qr_payload(document: dict[str, Any], digest: str, verify_url: str) -> str:
    """What the QR code carries: compact JSON, so a phone or a script reads it the same way."""
    return orjson.dumps(
        {"tracking_number": document["tracking_number"], "sha256": digest, "verify": verify_url}
    ).decode()


def qr_drawing(text: str, side: float = QR_SIZE) -> Drawing:
    """A QR code of ``text``, ``side`` points square (the receipt's, and the list's on each page)."""
    widget = QrCodeWidget(text, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _beijing(iso: str) -> str:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(BEIJING).strftime("%Y年%m月%d日 %H:%M:%S")


def receipt_pdf(session: Session, receipt: Receipt, fonts: FormFonts, verify_url: str) -> bytes:
    """The receipt as PDF bytes; 503 ``font_unavailable`` before anything is set if a character has no face."""
    doc = receipt.document
    legacy = "signatures" not in doc
    digest = doc.get("digest", "") if legacy else receipts.digest(doc)
    call = session.get(Call, doc["call_id"])
    recommender = session.get(Organization, doc["recommender_id"])
    chain = fonts.body
    base = ParagraphStyle("body", fontName=chain.first, fontSize=10, leading=15, wordWrap="CJK")
    small = ParagraphStyle("small", parent=base, fontSize=8, leading=11)
    mono = ParagraphStyle("mono", parent=base, fontName="Courier", fontSize=7.5, leading=10, wordWrap="CJK")
    title = ParagraphStyle("title", parent=base, fontSize=20, leading=30, alignment=TA_CENTER, spaceAfter=6)

    missing: set[str] = set()

    def p(text: Any, style: ParagraphStyle = base) -> Paragraph:
        text = str(text if text is not None else "")
        if style is mono:  # hexadecimal digests and key ids, in the PDF's own Courier
            return Paragraph(escape(text), style)
        lacking = chain.missing(text)
        missing.update(lacking)
        # Each run in the face that has its glyphs (Droid Sans Fallback has no digit nor Latin letter).
        return Paragraph(escape(text) if lacking else chain.markup(text), style)

    grid = [("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    facts = Table(
        [
            [p("回执编号"), p(doc["tracking_number"]), qr_drawing(qr_payload(doc, digest, verify_url))],
            [p("推荐单位"), p(recommender.name if recommender else doc["recommender_id"]), ""],
            [p("征集批次"), p(call.name if call else doc["call_id"]), ""],
            [p("报送时间（北京时间）"), p(_beijing(doc["submitted_at"])), ""],
            [p("上一回执"), p(doc.get("previous_tracking_number") or "无"), ""],
        ],
        colWidths=[40 * mm, 88 * mm, 42 * mm],
    )
    facts.setStyle(TableStyle([*grid, ("SPAN", (2, 0), (2, -1)), ("ALIGN", (2, 0), (2, -1), "CENTER")]))
    rows = [[p("序号"), p("项目名称"), p("内容摘要（SHA-256）")]]
    rows += [[p(i["rank"]), p(i["title"]), p(i.get("content_digest") or "", mono)] for i in doc["items"]]
    items = Table(rows, colWidths=[14 * mm, 82 * mm, 74 * mm], repeatRows=1)
    items.setStyle(TableStyle([*grid, ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE"))]))
    if legacy:
        sigs = [[p("HMAC-SHA256（旧版回执）"), p(doc.get("key_id"), mono)]]
    else:
        sigs = [[p("SM2/SM3" if s["alg"] == "SM2-SM3" else s["alg"]), p(s["kid"], mono)] for s in doc["signatures"]]
    signatures = Table([[p("签名算法"), p("签名密钥编号（kid）")], *sigs], colWidths=[50 * mm, 120 * mm])
    signatures.setStyle(TableStyle(grid))
    story: list[Any] = [
        p("报 送 回 执", title),
        p("社会管理和公共服务综合标准化试点", ParagraphStyle("sub", parent=base, alignment=TA_CENTER)),
        Spacer(1, 6 * mm),
        facts,
        Spacer(1, 5 * mm),
        p(f"推荐清单（共 {len(doc['items'])} 项，按排名）"),
        Spacer(1, 2 * mm),
        items,
        Spacer(1, 5 * mm),
        p("回执摘要（SHA-256，RFC 8785 规范化 JSON，不含 signatures）"),
        p(digest, mono),
        Spacer(1, 3 * mm),
        signatures,
        Spacer(1, 5 * mm),
        p(
            "核验方法：以公开密钥（" + verify_url + "）核验电子回执的签名，无需登录；亦可使用 openssl 或 "
            "smps receipt verify 离线核验。纸质回执与电子回执摘要一致方为有效。",
            small,
        ),
    ]
    if missing:
        raise unavailable(sorted(missing), [f.file for f in chain.faces])
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"报送回执 {doc['tracking_number']}",
        author="smps",
    ).build(story)
    return buffer.getvalue()
