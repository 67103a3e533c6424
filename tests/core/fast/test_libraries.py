"""The reaches into libraries' private parts still do what their callers rely on."""

import httpcore
import httpx
import openpyxl
from gmalg import SM2

from app.batches import signing
from app.core.fast.libraries import sm2_with_hash, use_pool, xlsx_date_formats


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


def test_xlsx_date_formats_are_the_workbook_ones() -> None:
    workbook = openpyxl.Workbook()
    formats = xlsx_date_formats(workbook)
    assert set(formats) == {"date_formats", "timedelta_formats"}
    assert formats["date_formats"] is workbook._date_formats
    assert formats["timedelta_formats"] is workbook._timedelta_formats
