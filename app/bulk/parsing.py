"""Reading CSV and XLSX uploads as a stream, refusing a file at the first limit it passes.

A hostile file must not cost more than a legitimate one of the same size: rows are read one at a
time and checked against the limits (``Limits``) as they come, so a file declaring a million rows,
megabytes of blank lines or one enormous line is refused after reading only as much as the limits
allow. XLSX archives are judged by their entries' sizes before any XML is parsed (zip bombs), and
the XML is parsed by ``defusedxml`` (openpyxl uses it when it is installed): entities, external
references and malformed XML answer ``unreadable_spreadsheet``.
"""

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError

from app.bulk.columns import EmptyUpload, UnknownColumns, cell_text, header_key, row_to_form
from app.core.errors import AppError, FieldError, UnsupportedMediaType
from app.core.fast.libraries import xlsx_sheet_parser
from app.core.i18n import Text
from app.core.settings import Settings


class TooManyRows(AppError):
    status = 413
    code = "too_many_rows"
    title = Text("上传的行数超过上限", "The upload has more rows than allowed")


class TooManyColumns(AppError):
    status = 422
    code = "too_many_columns"
    title = Text("文件的列数超过上限", "The file has more columns than allowed")


class CellTooLong(AppError):
    status = 422
    code = "cell_too_long"
    title = Text("单元格内容超过长度上限", "A cell is longer than allowed")


class TooManyCells(AppError):
    status = 413
    code = "too_many_cells"
    title = Text("文件的非空单元格数超过上限", "The file has more non-empty cells than allowed")


class SpreadsheetTooLarge(AppError):
    status = 413
    code = "spreadsheet_too_large"
    title = Text("XLSX 文件解压后超过大小上限", "The XLSX file is larger than allowed once decompressed")


class SpreadsheetPartTooLarge(AppError):
    status = 413
    code = "spreadsheet_part_too_large"
    title = Text(
        "XLSX 文件的某个组成部分解压后超过大小上限", "A part of the XLSX file is larger than allowed once decompressed"
    )


class CompressionRatioTooHigh(AppError):
    status = 413
    code = "compression_ratio_too_high"
    title = Text("XLSX 文件的压缩比异常", "The XLSX file is compressed more than a spreadsheet can be")


class UnreadableSpreadsheet(AppError):
    status = 422
    code = "unreadable_spreadsheet"
    title = Text("无法读取该电子表格", "The spreadsheet cannot be read")


ERRORS = (
    TooManyRows,
    TooManyColumns,
    CellTooLong,
    TooManyCells,
    SpreadsheetTooLarge,
    SpreadsheetPartTooLarge,
    CompressionRatioTooHigh,
    UnreadableSpreadsheet,
)

# Entries smaller than this are not judged by their ratio (a tiny XML part may compress very well).
_RATIO_FLOOR_BYTES = 1024 * 1024
# What the XLSX reader raises on a broken or hostile archive (DefusedXmlException is a ValueError).
_UNREADABLE = (
    ParseError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    OSError,
    NotImplementedError,
)


@dataclass(frozen=True, slots=True)
class Limits:
    rows: int
    columns: int
    cell_chars: int
    cells: int
    inflated_bytes: int
    ratio: int
    part_bytes: int = 4 * 1024 * 1024

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(
            settings.max_bulk_upload_rows,
            settings.max_bulk_upload_columns,
            settings.max_bulk_cell_chars,
            settings.max_bulk_upload_cells,
            settings.max_bulk_xlsx_inflated_bytes,
            settings.max_bulk_xlsx_compression_ratio,
            settings.max_bulk_xlsx_part_bytes,
        )

    @property
    def sheet_rows(self) -> int:
        """Rows read in all, blank ones included: blank lines are skipped, but not for free."""
        return self.rows + max(self.rows, 1000)


@dataclass
class ParsedFile:
    rows: list[dict[str, Any]]
    lines: list[int]  # the sheet row (CSV: line) number of each row; the header is 1
    headers: dict[str, str]  # column key → the header as the file spells it


def _too_many_rows(limits: Limits) -> TooManyRows:
    return TooManyRows(Text("每次最多上传 {max} 行", "At most {max} rows per upload"), max=limits.rows)


def _too_long(pointer: str, limits: Limits) -> CellTooLong:
    return CellTooLong(
        Text("单元格最多 {max} 个字符", "A cell holds at most {max} characters"),
        max=limits.cell_chars,
        errors=[FieldError(pointer, "cell_too_long", Text("单元格内容过长", "The cell is too long"))],
    )


def _width(raw: Sequence[Any]) -> int:
    """The number of columns up to the last non-empty cell."""
    width = len(raw)
    while width and (raw[width - 1] is None or raw[width - 1] == ""):
        width -= 1
    return width


def _check_width(raw: Sequence[Any], limits: Limits) -> None:
    if len(raw) > limits.columns and _width(raw) > limits.columns:
        raise TooManyColumns(Text("最多 {max} 列", "At most {max} columns"), max=limits.columns)


def _text(value: Any, pointer: str, limits: Limits) -> str | None:
    if isinstance(value, str) and len(value) > limits.cell_chars:
        raise _too_long(pointer, limits)
    return cell_text(value)


def rows_of(records: Iterable[tuple[int, Sequence[Any]]], limits: Limits) -> ParsedFile:
    """The header and the data rows of a stream of (row number, cells), stopping at the first limit passed.

    The first record is the header; rows the stream skips (XLSX rows not in the file) count as blank.
    """
    stream = iter(records)
    _, first = next(stream, (0, None))
    if first is None:
        raise EmptyUpload()
    _check_width(first, limits)
    header = [_text(h, f"/columns/{i + 1}", limits) or "" for i, h in enumerate(first[: limits.columns])]
    keys: list[str | None] = []
    unknown: list[FieldError] = []
    for i, text in enumerate(header):
        key = header_key(text) if text else None
        if text and key is None:
            unknown.append(
                FieldError(f"/columns/{i + 1}", "unknown_column", Text("无法识别的列标题", "Unknown column header"))
            )
        keys.append(key)
    if unknown:
        raise UnknownColumns(errors=unknown)
    headers = {k: h for k, h in zip(keys, header, strict=True) if k}
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    cells_seen = 0
    for number, raw in stream:
        if number > limits.sheet_rows:
            raise _too_many_rows(limits)
        _check_width(raw, limits)
        cells: dict[str, str | None] = {}
        for key, value in zip(keys, raw, strict=False):
            if key:
                cells[key] = cell = _text(value, f"/rows/{len(rows)}/{key}", limits)
                if cell is not None:
                    cells_seen += 1
        if cells_seen > limits.cells:
            raise TooManyCells(Text("最多 {max} 个非空单元格", "At most {max} non-empty cells"), max=limits.cells)
        if not any(v is not None for v in cells.values()):
            continue  # blank lines between data are not rows
        if len(rows) >= limits.rows:
            raise _too_many_rows(limits)
        rows.append(row_to_form(cells))
        lines.append(number)
    if not rows:
        raise EmptyUpload()
    return ParsedFile(rows, lines, headers)


# --- CSV ------------------------------------------------------------------------------------------


def _csv_records(data: bytes, encoding: str, limits: Limits) -> Iterator[tuple[int, list[str]]]:
    # Decoded as read (a str of the whole file would cost up to four bytes a character). newline="":
    # \r\n, \n and a bare \r (old Excel for Mac) all end a line, and the csv module sees the line ends
    # inside quoted cells as they are.
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    line_cap = limits.columns * (limits.cell_chars + 3)

    def lines() -> Iterator[str]:
        while line := text.readline(line_cap + 1):
            if len(line) > line_cap:  # refused before the csv module splits it into cells
                if line.count(",") >= limits.columns:
                    raise TooManyColumns(Text("最多 {max} 列", "At most {max} columns"), max=limits.columns)
                raise _too_long("/rows", limits)
            yield line

    reader = csv.reader(lines())
    try:
        yield from enumerate(reader, start=1)  # CSV rows are numbered as records: the header is 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):  # a quoted cell over many lines
            raise _too_long("/rows", limits) from None
        raise UnreadableSpreadsheet(
            Text("CSV 格式错误（第 {line} 行）", "Malformed CSV (line {line})"), line=reader.line_num
        ) from None


def _encoding(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # spreadsheets in China often save CSV as GBK
        try:
            data.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    raise UnsupportedMediaType(
        Text("CSV 文件须为 UTF-8 或 GB18030 编码", "A CSV file must be UTF-8 or GB18030 encoded")
    )


def parse_csv(data: bytes, limits: Limits) -> ParsedFile:
    if b"\x00" in data:  # neither UTF-8 nor GB18030 has a zero byte in a character other than NUL
        raise UnsupportedMediaType(Text("不是 CSV 文本文件", "Not a CSV text file"))
    return rows_of(_csv_records(data, _encoding(data), limits), limits)


# --- XLSX -----------------------------------------------------------------------------------------


def check_archive(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse a zip bomb by its entries' sizes, before anything is inflated.

    The sizes are the archive's own claims, but they bind: Python's zipfile inflates an entry to at
    most its declared size and then checks its CRC, so an entry that lies is a broken archive.
    """
    total = 0
    for info in archive.infolist():
        # A part other than a worksheet is parsed whole (openpyxl reads the manifest, the workbook, the
        # shared strings and the styles into memory): capped before any parser sees it.
        if info.file_size > limits.part_bytes and not info.filename.startswith("xl/worksheets/"):
            raise SpreadsheetPartTooLarge(
                Text("{part} 解压后最多 {max} 字节", "{part} may hold at most {max} bytes once decompressed"),
                part=info.filename[:100],
                max=limits.part_bytes,
            )
        total += info.file_size
        if total > limits.inflated_bytes:
            raise SpreadsheetTooLarge(
                Text("解压后最多 {max} 字节", "At most {max} bytes once decompressed"), max=limits.inflated_bytes
            )
        if info.file_size > _RATIO_FLOOR_BYTES and info.file_size > limits.ratio * max(info.compress_size, 1):
            raise CompressionRatioTooHigh(
                Text("压缩比不得超过 {max}:1", "At most {max}:1 compression"), max=limits.ratio
            )


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")


def _count_rows(archive: zipfile.ZipFile, target: str, limits: Limits) -> None:
    """Count the sheet's row elements in its raw XML (fast, in C) before parsing them one by one (slow,
    in Python): a sheet of a million rows is refused after scanning, not after parsing, the first
    rows the limits allow."""
    seen, tail = 0, b""
    with archive.open(target) as source:
        while chunk := source.read(1 << 20):
            data = tail + chunk
            seen += len(_ROW_TAG.findall(data, 0, len(data) - 64 if len(chunk) == 1 << 20 else len(data)))
            if seen > limits.sheet_rows:
                raise _too_many_rows(limits)
            tail = data[len(data) - 64 :] if len(chunk) == 1 << 20 else b""


def _xlsx_records(data: bytes, limits: Limits) -> Iterator[tuple[int, list[Any]]]:
    """(sheet row number, cell values) of the first worksheet, as its XML is parsed.

    openpyxl's own read-only worksheet first scans the whole sheet for its size when the sheet does
    not declare one, and pads rows to the declared size: its reader and parser are used directly.
    """
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsupportedMediaType(Text("不是有效的 XLSX 文件", "Not a valid XLSX file")) from exc
    check_archive(archive, limits)
    unreadable = UnreadableSpreadsheet(
        Text("XLSX 文件已损坏或含有不允许的内容", "The XLSX file is broken or holds forbidden content")
    )
    try:
        reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        targets = [
            rel.target
            for _, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        ]
        if not targets:
            raise EmptyUpload()
        workbook = reader.wb
        _count_rows(reader.archive, targets[0], limits)
        with reader.archive.open(targets[0]) as source:
            parser = xlsx_sheet_parser(source, reader.shared_strings, workbook)
            for number, cells in parser.parse():
                values: list[Any] = []
                for cell in cells:
                    column, value = cell["column"], cell["value"]
                    if column > limits.columns:
                        if value is None or value == "":
                            continue
                        raise TooManyColumns(Text("最多 {max} 列", "At most {max} columns"), max=limits.columns)
                    values.extend([None] * (column - 1 - len(values)))
                    values.append(value)
                yield number, values
    except _UNREADABLE as exc:
        raise unreadable from exc


def parse_xlsx(data: bytes, limits: Limits) -> ParsedFile:
    return rows_of(_xlsx_records(data, limits), limits)


def parse_file(filename: str, data: bytes, limits: Limits) -> tuple[str, ParsedFile]:
    """Judge the file by its content (XLSX is a ZIP), not by its name alone."""
    if data.startswith(b"PK\x03\x04"):
        return "xlsx", parse_xlsx(data, limits)
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise UnsupportedMediaType(Text("不是有效的 XLSX 文件", "Not a valid XLSX file"))
    return "csv", parse_csv(data, limits)
