"""The recommended list (推荐清单) as a printable XLSX sheet and as CSV (formula-safe: ``app.documents.cells``)."""

import io
import re
import zipfile
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from app.documents.cells import finish_sheet, write_csv

HEADERS = ("序号", "项目名称", "承担单位", "申报领域", "试点期", "联系人", "会签情况", "内容摘要（SHA-256）")
WIDTHS = (6, 36, 28, 24, 22, 22, 22, 30)


def to_csv(rows: list[list[Any]], footer: str = "") -> bytes:
    # The footer row: the receipt's tracking number and signing key ids.
    return write_csv(HEADERS, [*rows, [footer]] if footer else rows)


def to_xlsx(title: str, rows: list[list[Any]], footer: str = "") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "推荐清单"
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    ws["A1"].font = Font(size=14, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.append(list(HEADERS))
    thin = Side(style="thin")
    for row in rows:
        ws.append(row)
    for r in ws.iter_rows(min_row=2, max_row=ws.max_row, max_col=len(HEADERS)):
        for cell in r:
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            if cell.row == 2:
                cell.font = Font(bold=True)
    for i, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"
    ws.print_title_rows = "1:2"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.right.text = "推荐单位（盖章）"
    ws.oddFooter.left.text = footer.replace("&", "&&")
    finish_sheet(ws)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def fixed_times(xlsx: bytes, when: datetime | None) -> bytes:
    """The workbook with every time it carries set to ``when``, so the same list gives the same file."""
    stamp = (when or datetime(1980, 1, 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    date_time = (when or datetime(1980, 1, 1)).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()
