"""The bulk template: drop-down lists on the coded columns (from a hidden sheet), the allowed values
with their Chinese names on the 说明 sheet, column widths."""

import io

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from app.bulk.columns import COLUMNS
from app.core.settings import Settings
from app.reference import data
from tests.applications.cast import make_cast
from tests.bulk.test_bulk import URL, XLSX

LETTER = {c.key: get_column_letter(i) for i, c in enumerate(COLUMNS, 1)}
AREAS = [(a["code"], a["name"]) for f in data.CATALOGUE_9TH for a in f["children"]]
ITEMS = [(i["code"], i["name"]) for f in data.CATALOGUE_9TH for a in f["children"] for i in a["children"]]


async def _template(app, client):
    cast = await make_cast(app, client)
    r = await client.get(f"{URL}/template.xlsx", headers=cast.applicant.headers)
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    return load_workbook(io.BytesIO(r.content))


def _range_values(workbook, formula: str) -> list[str]:
    sheet_name, cells = formula.rsplit("!", 1)
    sheet = workbook[sheet_name.strip("'")]
    return [row[0].value for row in sheet[cells.replace("$", "")]]


async def test_coded_columns_have_drop_down_lists_over_every_data_row(app, client, settings: Settings):
    workbook = await _template(app, client)
    sheet = workbook.worksheets[0]
    validations = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    last = settings.max_bulk_upload_rows + 1
    expected = {
        "call_id": [data.NINTH_CALL_KEY],
        "domain_area": [code for code, _ in AREAS],
        "domain_item": [code for code, _ in ITEMS],
    }
    assert set(validations) == {f"{LETTER[k]}2:{LETTER[k]}{last}" for k in expected}
    for key, values in expected.items():
        validation = validations[f"{LETTER[key]}2:{LETTER[key]}{last}"]
        assert validation.type == "list" and validation.showErrorMessage and validation.allow_blank
        assert _range_values(workbook, validation.formula1) == values, key
        assert sheet.column_dimensions[LETTER[key]].number_format == "@", key  # 1.10 stays text
    assert workbook["选项 lists"].sheet_state == "hidden"


async def test_the_guide_lists_the_allowed_values_with_their_chinese_names(app, client):
    workbook = await _template(app, client)
    rows = list(workbook["说明 columns"].iter_rows(values_only=True))
    listed = {(r[1], r[2]) for r in rows if r[0] in ("", None) and r[1] is not None}
    titles = [r[0] for r in rows if r[0] and str(r[0]).startswith("可选值：")]
    assert titles == [
        "可选值：征集批次 (call_id)",
        "可选值：领域 (domain_area)",
        "可选值：子领域 (domain_item)",
        "可选值：标准明细：级别 (standards: level)",
        "可选值：标准明细：状态 (standards: status)",
        f"可选值：基本条件 (eligibility) — {data.NINTH_CALL_KEY}",
        "可选值：单位性质 (organization kind)",
    ]
    assert ("national", "国家标准") in listed and ("enterprise", "企业标准") in listed
    assert ("existing", "现行") in listed and ("to_be_drafted", "待制定") in listed
    assert ("public_institution", "事业单位") in listed
    assert ("1.1", "行政管理和服务 / 政务服务") in listed and ("1.1.3", "政务服务 / 网上办事服务") in listed
    assert {(str(c["number"]), c["text"]) for c in data.CONDITIONS_9TH} <= listed
    assert {code for code, _ in AREAS + ITEMS} <= {r[1] for r in rows}


async def test_columns_have_widths_that_fit_their_headers(app, client):
    workbook = await _template(app, client)
    sheet = workbook.worksheets[0]
    for c in COLUMNS:
        width = sheet.column_dimensions[LETTER[c.key]].width
        assert width >= len(f"{c.zh} ({c.key})"), (c.key, width)
    assert workbook["说明 columns"].column_dimensions["C"].width >= 60
