"""The reaches into libraries' private parts still do what their callers rely on."""

import io
from datetime import datetime

import httpcore
import httpx
import openpyxl
from gmalg import SM2
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet

from app.batches import signing
from app.core.fast.libraries import sm2_with_hash, use_pool, xlsx_sheet_parser


class _CountingSM3(signing._OpenSSLSM3):
    used = 0

    def update(self, data: bytes) -> None:
        type(self).used += 1
        super().update(data)


def test_sm2_computes_with_the_given_hash_and_agrees_with_gmalg() -> None:
    key = signing.generate("SM2-SM3")
    scalar, point = signing._sm2_private(signing._unarmor(key.pem, "PRIVATE KEY"))
    fast = sm2_with_hash(SM2(scalar, signing.SM2_DEFAULT_ID, point), _CountingSM3())
    r, s = fast.sign(b"receipt")
    assert _CountingSM3.used > 0
    plain = SM2(None, signing.SM2_DEFAULT_ID, point)  # gmalg's own pure-Python SM3
    assert plain.verify(b"receipt", r, s)
    assert not plain.verify(b"other", r, s)


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
