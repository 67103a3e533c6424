"""What the application form (申请书) prints, as plain text: the input of the typesetting and of its cache key.

Everything the PDF shows comes from a :class:`PrintedForm`, so two forms whose printed text is equal are
the same document. A draft's ETag is a digest of this text; a frozen form is cached under a stamp of
what this text is built from (``app.documents.form_cache``), so a cache hit builds none of it.
"""

from dataclasses import dataclass, field

from app.documents.facts import ROLE_NAMES, Facts, domain_label
from app.reference.labels import ORGANIZATION_KINDS, STANDARD_LEVELS, STANDARD_STATUSES

# One wording of coded values everywhere (messages, the bulk template, the printed form).
LEVELS, STATUSES, KINDS = STANDARD_LEVELS, STANDARD_STATUSES, ORGANIZATION_KINDS
# The choices printed in each opinion box, the recorded one marked.
PARTY_CHOICES = (("agree", "同意"), ("disagree", "不同意"))
REVIEW_CHOICES = (("recommend", "同意推荐"), ("return", "退回修改"), ("reject", "不予推荐"))
BLANK_DATE = "　　　　年　　月　　日"
PAPER_NOTE = "（纸质签署，见盖章页扫描件）"


def money(amount_cny: int | None) -> str:
    """An amount as people write it on the form: whole yuan with thousands separators, ``1,200,000 元``."""
    return "" if amount_cny is None else f"{amount_cny:,} 元"


@dataclass
class OpinionBox:
    heading: str
    choices: list[tuple[str, bool]]  # (label, marked)
    opinion: str
    signatory: str
    date: str


@dataclass
class PrintedForm:
    call_name: str
    title: str
    cover: list[tuple[str, str]]
    profile: list[tuple[str, str]]
    sections: list[tuple[str, str]]
    standards: list[list[str]]
    conditions: list[str]
    opinions: list[OpinionBox] = field(default_factory=list)
    footer: str = ""


def numeral(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    return ("十" if n < 20 else digits[n // 10] + "十") + (digits[n % 10] if n % 10 else "")


def printed_form(facts: Facts) -> PrintedForm:
    a, call, c = facts.application, facts.call, facts.application.content
    submitted = a.submitted_at.astimezone().strftime("%Y 年 %m 月 %d 日") if a.submitted_at else BLANK_DATE
    # The cover as on paper: the project, the applying unit (stamped here), the recommender, the date.
    cover = [
        ("试点项目名称", a.title),
        ("申报单位（盖章）", facts.name(a.undertaking_org_id)),
        ("推荐单位", facts.name(a.recommender_id) if a.recommender_id else ""),
        ("日期", submitted),
    ]
    others = [(role, org) for role, org in facts.parties if role not in ("undertaking", "management")]

    unit = facts.orgs.get(a.undertaking_org_id)
    contact, period, funding = c.get("contact") or {}, c.get("period") or {}, c.get("funding") or {}
    profile = [
        ("单位名称", unit.name if unit else ""),
        ("统一社会信用代码", (unit.credit_code or "") if unit else ""),
        ("单位性质", KINDS.get(unit.kind, unit.kind) if unit else ""),
        ("联系人", contact.get("name") or ""),
        ("联系电话", contact.get("phone") or ""),
        ("电子邮箱", contact.get("email") or ""),
        ("申报领域", domain_label(call, c.get("domain"))),
        ("试点期", f"{period.get('start', '')} 至 {period.get('end', '')}" if period else ""),
        ("经费预算", money(funding.get("amount_cny"))),
        ("经费来源", funding.get("sources") or ""),
    ]
    profile[1:1] = [(ROLE_NAMES[role], facts.name(org)) for role, org in others]
    texts = c.get("sections") or {}
    sections = [
        (f"{numeral(n)}、{s.get('title', s.get('key'))}", texts.get(s.get("key"), "") or "（未填写）")
        for n, s in enumerate(call.sections or [], start=2)
    ]
    standards = [
        [
            str(i),
            row.get("code") or "待制定",
            row.get("title") or "",
            LEVELS.get(row.get("level"), row.get("level") or ""),
            STATUSES.get(row.get("status"), row.get("status") or ""),
        ]
        for i, row in enumerate(c.get("standards") or [], start=1)
    ]
    attested = {e.get("condition"): e for e in c.get("eligibility") or []}
    conditions = []
    for cond in call.conditions or []:
        e = attested.get(cond.get("number"), {})
        mark = "■ 符合" if e.get("attested") else "□ 未承诺"
        conditions.append(
            f"{cond.get('number')}. {cond.get('text')}　{mark}" + (f"（{e['note']}）" if e.get("note") else "")
        )

    form = PrintedForm(call.name, a.title, cover, profile, sections, standards, conditions)
    for op in facts.opinions:
        choices = REVIEW_CHOICES if op.role == "management" else PARTY_CHOICES
        opinion = (op.opinion or "") + (PAPER_NOTE if op.paper else "")
        form.opinions.append(
            OpinionBox(
                f"{ROLE_NAMES[op.role]}意见：{op.organization}",
                [(label, key == op.decision) for key, label in choices],
                opinion,
                op.signatory or "",
                op.date or BLANK_DATE,
            )
        )
    form.footer = f"内容摘要 SHA-256：{a.content_digest or '（未冻结）'}"
    if facts.tracking_number:
        form.footer += f"\n报送回执编号：{facts.tracking_number}"
    return form
