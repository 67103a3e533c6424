"""The flat column layout of CSV and XLSX uploads, and its translation to and from the application form.

A header may be the English key (``contact_phone``), the Chinese label (``电话``), or both as the
template writes them (``电话 (contact_phone)``). One row is one application.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.core.errors import AppError
from app.core.i18n import Text


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    zh: str
    en: str
    example: str


SECTIONS = (
    ("basic_situation", "基本情况"),
    ("groundwork", "工作基础"),
    ("objectives", "试点目标"),
    ("main_tasks", "主要任务"),
    ("schedule", "进度安排"),
    ("expected_results", "预期效果"),
    ("safeguards", "保障措施"),
)
SECTION_KEYS = frozenset(k for k, _ in SECTIONS)

COLUMNS: tuple[Column, ...] = (
    Column("title", "项目名称", "Project name", "济南市历下区政务服务标准化试点"),
    Column("call_id", "征集批次", "Call id (or its key, e.g. 9th-batch)", "9th-batch"),
    Column("domain_area", "领域", "Domain area code", "1.1"),
    Column("domain_item", "子领域", "Domain sub-item code", "1.1.3"),
    Column("domain_other", "其他子领域", "A sub-item not in the list (open-ended areas only)", ""),
    Column(
        "recommender_id",
        "推荐单位",
        "Recommender: organization id or unified social credit code (统一社会信用代码)",
        "org_… / 统一社会信用代码",
    ),
    Column(
        "undertaking",
        "承担单位",
        "Undertaking unit: organization id or credit code (default: your organization)",
        "",
    ),
    Column(
        "participating",
        "参加单位",
        "Participating units: organization ids or credit codes, separated by ;",
        "11370102MB2834567H;org_…",
    ),
    Column("guarantor", "保证单位", "Guarantor unit: organization id or credit code", "11370102MB2834567H"),
    Column("guidance", "业务指导单位", "Guidance unit: organization id or credit code", "org_…"),
    Column("contact_name", "联系人", "Contact name", "王芳"),
    Column("contact_phone", "电话", "Contact phone", "13800138000"),
    Column("contact_email", "邮箱", "Contact email", "wangfang@example.cn"),
    Column("period_start", "开始日期", "Pilot period start (YYYY-MM-DD)", "2023-01-01"),
    Column("period_end", "结束日期", "Pilot period end (YYYY-MM-DD)", "2024-12-31"),
    *(Column(key, zh, f"Section: {key}", "…") for key, zh in SECTIONS),
    Column(
        "standards",
        "标准明细",
        "Standards, one per line: code|title|level|status (code may be empty)",
        "GB/T 32169.1-2015|政务服务中心运行规范 第1部分：基本要求|national|existing",
    ),
    Column("funding_amount_cny", "经费", "Funding in CNY (yuan, integer)", "1200000"),
    Column("funding_sources", "经费来源", "Funding sources", "区财政"),
    Column("eligibility", "基本条件", "Numbers of the eligibility conditions attested, separated by ;", "1;2;3;4"),
)
_BY_KEY = {c.key: c for c in COLUMNS}
_BY_ZH = {c.zh: c for c in COLUMNS}
_BILINGUAL = re.compile(r"^(.*?)\s*[(（]\s*([A-Za-z_]+)\s*[)）]\s*$")
_LIST_SEPARATORS = re.compile(r"[;；,，\n]")

# Where a form pointer lands in the flat layout: longest prefix first.
_POINTER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("/domain/area", "domain_area"),
    ("/domain/item", "domain_item"),
    ("/domain/other", "domain_other"),
    ("/domain", "domain_area"),
    ("/parties/undertaking", "undertaking"),
    ("/parties/participating", "participating"),
    ("/parties/guarantor", "guarantor"),
    ("/parties/guidance", "guidance"),
    ("/parties", "undertaking"),
    ("/contact/name", "contact_name"),
    ("/contact/phone", "contact_phone"),
    ("/contact/email", "contact_email"),
    ("/contact", "contact_name"),
    ("/period/start", "period_start"),
    ("/period/end", "period_end"),
    ("/period", "period_start"),
    ("/funding/amount_cny", "funding_amount_cny"),
    ("/funding/sources", "funding_sources"),
    ("/funding", "funding_amount_cny"),
    ("/standards", "standards"),
    ("/eligibility", "eligibility"),
    ("/title", "title"),
    ("/call_id", "call_id"),
    ("/recommender_id", "recommender_id"),
)


# Cells holding several values (separated by ; or one per line): an error inside one names its position.
_ITEMS = {
    "participating": Text("第 {n} 项：", "item {n}: "),
    "eligibility": Text("第 {n} 项：", "item {n}: "),
    "standards": Text("第 {n} 条标准：", "standard {n}: "),
}
_ITEM_POINTER = re.compile(r"^/(?:parties/participating|eligibility|standards)/(\d+)(?:/|$)")


def item_prefix(pointer: str, column: str | None, lang: str) -> str:
    """``第 3 项：`` for an error inside a multi-value cell (``/eligibility/2/condition``), else ``""``."""
    match = _ITEM_POINTER.match(pointer)
    if column not in _ITEMS or match is None:
        return ""
    return _ITEMS[column].render(lang, n=int(match.group(1)) + 1)


def column_of(pointer: str) -> str | None:
    """The flat column a form pointer (``/contact/phone``) belongs to (``contact_phone``)."""
    if pointer.startswith("/sections/"):
        key = pointer.split("/")[2]
        return key if key in SECTION_KEYS else "sections"
    for prefix, column in _POINTER_COLUMNS:
        if pointer == prefix or pointer.startswith(prefix + "/"):
            return column
    return None


class UnknownColumns(AppError):
    status = 422
    code = "unknown_columns"
    title = Text("文件包含无法识别的列", "The file has columns that are not in the layout")


class EmptyUpload(AppError):
    status = 422
    code = "empty_upload"
    title = Text("上传内容中没有数据行", "The upload has no rows")


def header_key(header: str) -> str | None:
    text = header.strip().lstrip("\ufeff")
    match = _BILINGUAL.match(text)
    if match and match.group(2) in _BY_KEY:
        return match.group(2)
    if text in _BY_KEY:
        return text
    if text.lower() in _BY_KEY:
        return text.lower()
    column = _BY_ZH.get(text)
    return column.key if column else None


def cell_text(value: Any) -> str | None:
    """A cell as text; None when empty. Dates and whole numbers come back the way people typed them."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _amount(text: str) -> Any:
    cleaned = text.replace(",", "").replace("，", "")
    try:
        number = float(cleaned)
    except ValueError:
        return text  # the form's validation reports the wrong type
    return int(number) if number.is_integer() else text


def _standards(text: str) -> Any:
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 4:
            return text  # not the documented shape: the form's validation reports it
        code, title, level, status = parts
        rows.append({"code": code or None, "title": title, "level": level, "status": status})
    return rows


def _eligibility(text: str) -> Any:
    # An item that is not a number stays text: the form's validation names its position.
    numbers = [p.strip() for p in _LIST_SEPARATORS.split(text) if p.strip()]
    return [{"condition": int(n) if n.isdigit() else n, "attested": True} for n in numbers]


def _parties(get: Any) -> dict[str, Any]:
    parties: dict[str, Any] = {}
    if get("undertaking"):
        parties["undertaking"] = get("undertaking")
    if get("participating"):
        parties["participating"] = [p.strip() for p in _LIST_SEPARATORS.split(get("participating") or "") if p.strip()]
    for role in ("guarantor", "guidance"):
        if get(role):
            parties[role] = get(role)
    return parties


def _funding(get: Any) -> dict[str, Any]:
    funding: dict[str, Any] = {}
    if get("funding_amount_cny") is not None:
        funding["amount_cny"] = _amount(get("funding_amount_cny") or "")
    if get("funding_sources") is not None:
        funding["sources"] = get("funding_sources")
    return funding


def row_to_form(cells: dict[str, str | None]) -> dict[str, Any]:
    """One flat row (column key → text) as an ``ApplicationCreate``-shaped dict."""
    get = cells.get
    form: dict[str, Any] = {}
    for key in ("title", "call_id", "recommender_id"):
        if get(key) is not None:
            form[key] = get(key)
    groups: dict[str, dict[str, Any]] = {
        "domain": {k: get(f"domain_{k}") for k in ("area", "item", "other") if get(f"domain_{k}") is not None},
        "parties": _parties(get),
        "contact": {k: get(f"contact_{k}") for k in ("name", "phone", "email") if get(f"contact_{k}") is not None},
        "period": {k: get(f"period_{k}") for k in ("start", "end") if get(f"period_{k}") is not None},
        "sections": {key: get(key) for key, _ in SECTIONS if get(key) is not None},
    }
    form.update({name: group for name, group in groups.items() if group})
    if get("standards"):
        form["standards"] = _standards(get("standards") or "")
    funding = _funding(get)
    if funding:
        form["funding"] = funding
    if get("eligibility"):
        form["eligibility"] = _eligibility(get("eligibility") or "")
    return form
