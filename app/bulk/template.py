"""The XLSX template of bulk uploads: bilingual headers, the allowed values of every coded column as
drop-down lists, and a 说明 sheet documenting each column and listing those values.

A list validation's inline form is limited to 255 characters, so every list refers to a range of a
hidden sheet (选项 lists) instead; the domain codes come from the calls in the store.
"""

import io
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from app.bulk.columns import COLUMNS
from app.documents.cells import cjk_font, finish_workbook
from app.reference.labels import ORGANIZATION_KINDS, STANDARD_LEVELS, STANDARD_STATUSES

LISTS_SHEET = "选项 lists"
# What the 说明 sheet says under the columns (Chinese, English).
NOTES = (
    (
        "表头可用中文、英文或“中文 (key)”形式；每行一份申请书；第一个工作表为数据。",
        "Headers may be Chinese, English, or 'Chinese (key)'; one application per row; data on the first sheet.",
    ),
    (
        "单位（推荐单位、承担单位、参加单位、保证单位、业务指导单位）可填单位 id，也可填已登记的 18 位统一社会信用代码；"
        "未登记的代码报错 unknown_credit_code。",
        "Organizations (recommender, undertaking, participating, guarantor, guidance) may be given by id or by "
        "their registered 18-character unified social credit code; a code no organization has: unknown_credit_code.",
    ),
    (
        "征集批次、承担单位、项目名称与已有申请（您可见的）或本文件前面的行相同的行为“重复”（duplicate），不再创建；"
        "再次上传同一文件不会产生重复申请。选 upsert 模式时，该行更新对应的草稿或退回的申请。",
        "A row with the call, undertaking unit and title of an application you can see (or of an earlier row) "
        "is a duplicate and creates nothing: uploading the same file again makes no duplicates. In upsert "
        "mode it updates that application if it is a draft or returned.",
    ),
)


@dataclass(frozen=True, slots=True)
class TemplateCall:
    """What the template shows of a call: its key and name, its catalogue and its conditions."""

    key: str
    name: str
    catalogue: list[dict[str, Any]]
    conditions: list[dict[str, Any]]


def _choices(calls: list[TemplateCall]) -> dict[str, list[tuple[str, str]]]:
    """(code, Chinese name) of each coded single-value column, domain codes of every call (first name wins)."""
    areas: dict[str, str] = {}
    items: dict[str, str] = {}
    for call in calls:
        for field in call.catalogue:
            for area in field.get("children", []):
                areas.setdefault(area["code"], f"{field['name']} / {area['name']}")
                for item in area.get("children", []):
                    items.setdefault(item["code"], f"{area['name']} / {item['name']}")
    return {
        "call_id": [(c.key, c.name) for c in calls],
        "domain_area": list(areas.items()),
        "domain_item": list(items.items()),
    }


def _width(text: str) -> int:
    """Display width in Excel's units: a CJK character takes two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def build_template(calls: list[TemplateCall], max_rows: int) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "申请 applications"
    sheet.append([f"{c.zh} ({c.key})" for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = cjk_font(bold=True)
    sheet.freeze_panes = "A2"
    letters = {c.key: get_column_letter(i) for i, c in enumerate(COLUMNS, 1)}
    for c in COLUMNS:
        sheet.column_dimensions[letters[c.key]].width = min(max(_width(f"{c.zh} ({c.key})"), _width(c.example)) + 2, 60)

    choices = _choices(calls)
    lists = workbook.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    for n, (key, values) in enumerate(choices.items()):
        code_col, name_col = get_column_letter(2 * n + 1), get_column_letter(2 * n + 2)
        lists[f"{code_col}1"], lists[f"{name_col}1"] = key, "名称 name"
        for row, (code, name) in enumerate(values, 2):
            lists[f"{code_col}{row}"], lists[f"{name_col}{row}"] = code, name
        if not values:
            continue
        column = next(c for c in COLUMNS if c.key == key)
        validation = DataValidation(
            type="list",
            formula1=f"'{LISTS_SHEET}'!${code_col}$2:${code_col}${len(values) + 1}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="取值不在列表中",
            error=f"{column.zh}：请从列表中选择，见“说明”工作表",
            showInputMessage=True,
            promptTitle=column.zh,
            prompt="从列表中选择（代码与名称见“说明”工作表）",
        )
        validation.add(f"{letters[key]}2:{letters[key]}{max_rows + 1}")
        sheet.add_data_validation(validation)
        sheet.column_dimensions[letters[key]].number_format = "@"  # 1.10 stays text, not the number 1.1

    _guide(workbook, calls, choices)
    finish_workbook(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _guide(workbook: Workbook, calls: list[TemplateCall], choices: dict[str, list[tuple[str, str]]]) -> None:
    guide = workbook.create_sheet("说明 columns", 1)
    guide.append(["列标题 (中文)", "column key (English)", "说明 / description", "示例 / example"])
    for c in COLUMNS:
        guide.append([c.zh, c.key, c.en, c.example])
    guide.append([])
    for zh, en in NOTES:
        guide.append([zh, en])
    sections: list[tuple[str, str, list[tuple[str, str]]]] = [
        ("征集批次 (call_id)", "call key", choices["call_id"]),
        ("领域 (domain_area)", "domain area code", choices["domain_area"]),
        ("子领域 (domain_item)", "domain sub-item code", choices["domain_item"]),
        ("标准明细：级别 (standards: level)", "third part of a standards line", list(STANDARD_LEVELS.items())),
        ("标准明细：状态 (standards: status)", "fourth part of a standards line", list(STANDARD_STATUSES.items())),
        *(
            (
                f"基本条件 (eligibility) — {call.key}",
                "condition numbers, separated by ;",
                [(str(c["number"]), c["text"]) for c in call.conditions],
            )
            for call in calls
        ),
        (
            "单位性质 (organization kind)",
            "of the organizations the ids or credit codes name (registered beforehand)",
            list(ORGANIZATION_KINDS.items()),
        ),
    ]
    for title, note, values in sections:
        guide.append([])
        guide.append([f"可选值：{title}", note])
        guide[guide.max_row][0].font = cjk_font(bold=True)
        for code, name in values:
            guide.append(["", code, name])
    for letter, width in zip("ABCD", (34, 24, 70, 40), strict=True):
        guide.column_dimensions[letter].width = width
    guide.freeze_panes = "A2"
    for cell in guide[1]:
        cell.font = cjk_font(bold=True)
