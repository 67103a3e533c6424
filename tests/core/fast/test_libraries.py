"""The reaches into libraries' private parts still do what their callers rely on."""

import io
from datetime import datetime

import httpcore
import httpx
import openpyxl
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet

from app.core.fast.libraries import use_pool, xlsx_sheet_parser


def test_use_pool_puts_the_pool_in_the_transport() -> None:
    pool = httpcore.ConnectionPool()
    transport = use_pool(httpx.HTTPTransport(), pool)

    pool.handle_request = lambda request: httpcore.Response(200, content=b"from the pool")  # type: ignore[method-assign]
    with httpx.Client(transport=transport) as client:
        assert client.get("http://example.invalid/").content == b"from the pool"


def test_xlsx_sheet_parser_reads_values_and_dates() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["标题", datetime(2023, 1, 2, 3, 4, 5), 12])
    data = io.BytesIO()
    workbook.save(data)
    reader = ExcelReader(io.BytesIO(data.getvalue()), read_only=True, data_only=True)
    reader.read_manifest()
    reader.read_strings()
    reader.read_workbook()
    apply_stylesheet(reader.archive, reader.wb)
    with reader.archive.open("xl/worksheets/sheet1.xml") as source:
        rows = list(xlsx_sheet_parser(source, reader.shared_strings, reader.wb).parse())
    assert [cell["value"] for cell in rows[0][1]] == ["标题", datetime(2023, 1, 2, 3, 4, 5), 12]
