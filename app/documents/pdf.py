"""The application form (申请书) as an A4 PDF with Chinese text."""

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.documents.facts import ROLE_NAMES, Facts, domain_label

LEVELS = {"national": "国家标准", "sector": "行业标准", "local": "地方标准", "group": "团体标准", "enterprise": "企业标准"}
STATUSES = {"existing": "已有标准（实施）", "to_be_drafted": "拟制定"}
KINDS = {"government_agency": "机关", "public_institution": "事业单位", "social_organization": "社会组织",
         "enterprise": "企业", "market_supervision_bureau": "市场监管部门", "other": "其他"}
DECISIONS = {"agree": "同意", "disagree": "不同意", "recommend": "同意推荐", "return": "退回修改", "reject": "不予推荐"}


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=9, leading=12),
        "title": ParagraphStyle("title", parent=base, fontSize=20, leading=30, alignment=TA_CENTER, spaceAfter=12),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=14, leading=22, alignment=TA_CENTER, spaceAfter=20),
        "h": ParagraphStyle("h", parent=base, fontSize=13, leading=20, spaceBefore=10, spaceAfter=6),
    }


def _table(rows: list[list[Any]], widths: list[float], font: str, header: bool = False) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 10),
             ("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")))
    table.setStyle(TableStyle(style))
    return table


def render_form(facts: Facts, font: str) -> bytes:
    a, call, c = facts.application, facts.call, facts.application.content
    s = _styles(font)

    def p(text: Any, style: str = "body") -> Paragraph:
        return Paragraph(escape(str(text or "")).replace("\n", "<br/>"), s[style])

    story: list[Any] = [Spacer(1, 30 * mm), p(call.name, "subtitle"), p("申 请 书", "title"), p(a.title, "subtitle"),
                        Spacer(1, 15 * mm)]
    cover = [[p("试点项目名称"), p(a.title)]]
    for role, org in facts.parties:
        cover.append([p(ROLE_NAMES[role]), p(facts.name(org))])
    cover.append([p("申请日期"), p(a.submitted_at.astimezone().strftime("%Y-%m-%d") if a.submitted_at else "")])
    story += [_table(cover, [45 * mm, 115 * mm], font), PageBreak()]

    unit = facts.orgs.get(a.undertaking_org_id)
    contact = c.get("contact") or {}
    period = c.get("period") or {}
    story.append(p("一、承担单位基本情况", "h"))
    story.append(_table([
        [p("单位名称"), p(unit.name if unit else "")],
        [p("统一社会信用代码"), p(unit.credit_code if unit else "")],
        [p("单位性质"), p(KINDS.get(unit.kind, unit.kind) if unit else "")],
        [p("联系人"), p(contact.get("name"))], [p("联系电话"), p(contact.get("phone"))], [p("电子邮箱"), p(contact.get("email"))],
        [p("申报领域"), p(domain_label(call, c.get("domain")))],
        [p("试点期"), p(f"{period.get('start', '')} 至 {period.get('end', '')}" if period else "")],
        [p("经费"), p(f"{(c.get('funding') or {}).get('amount_cny', '')} 元 {(c.get('funding') or {}).get('sources') or ''}")],
    ], [45 * mm, 115 * mm], font))

    sections = c.get("sections") or {}
    for n, section in enumerate(call.sections or [], start=2):
        story.append(p(f"{_numeral(n)}、{section.get('title', section.get('key'))}", "h"))
        story.append(p(sections.get(section.get("key"), "") or "（未填写）"))

    n = len(call.sections or []) + 2
    story.append(p(f"{_numeral(n)}、标准明细", "h"))
    rows = [[p("序号"), p("标准编号"), p("标准名称"), p("层级"), p("状态")]]
    for i, row in enumerate(c.get("standards") or [], start=1):
        rows.append([p(i), p(row.get("code") or "待制定"), p(row.get("title")), p(LEVELS.get(row.get("level"), row.get("level"))),
                     p(STATUSES.get(row.get("status"), row.get("status")))])
    story.append(_table(rows, [12 * mm, 38 * mm, 70 * mm, 20 * mm, 25 * mm], font, header=True))

    story.append(p(f"{_numeral(n + 1)}、基本条件承诺", "h"))
    attested = {e.get("condition"): e for e in c.get("eligibility") or []}
    for cond in call.conditions or []:
        e = attested.get(cond.get("number"), {})
        mark = "☑ 符合" if e.get("attested") else "☐ 未承诺"
        story.append(p(f"{cond.get('number')}. {cond.get('text')}　{mark}" + (f"（{e['note']}）" if e.get("note") else "")))

    story.append(p(f"{_numeral(n + 2)}、各方意见", "h"))
    for op in facts.opinions:
        if op.paper:
            body = "已在纸质文件上签署，见附件（盖章页扫描件）。"
        elif op.decision:
            body = f"{DECISIONS.get(op.decision, op.decision)}。{op.opinion or ''}"
        else:
            body = "（尚未签署）"
        sign = f"签署人：{op.signatory or ''}　　日期：{op.date or ''}　　（盖章）"
        story.append(_table([[p(f"{ROLE_NAMES[op.role]}意见：{op.organization}")], [p(body)], [p(sign)]],
                            [160 * mm], font))
        story.append(Spacer(1, 4 * mm))

    footer = f"内容摘要 SHA-256：{a.content_digest or '（未冻结）'}"
    if facts.tracking_number:
        footer += f"　报送回执编号：{facts.tracking_number}"

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7)
        canvas.drawString(15 * mm, 10 * mm, footer)
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title=a.title, author="SMPS", subject=call.name)
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def _numeral(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    return ("十" if n < 20 else digits[n // 10] + "十") + (digits[n % 10] if n % 10 else "")
