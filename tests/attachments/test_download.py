"""Downloads: byte ranges (206/416), conditional requests, RFC 6266 names."""

import httpx
import pytest

from app.attachments.download import ascii_fallback, content_disposition, parse_range, unsatisfiable
from tests.attachments import files
from tests.attachments.conftest import World
from tests.tags import etag_of

CONTENT = files.BigPdf(3 * 1024 * 1024 + 5, chunk=256 * 1024)
DATA = b"".join(CONTENT.chunks())


@pytest.fixture
async def stored(client: httpx.AsyncClient, world: World) -> str:
    response = await client.post(
        f"/api/v1/applications/{world.application_id}/attachments",
        headers={
            **world.applicant.headers,
            "If-Match": await etag_of(client, world.application_id, world.applicant.headers),
        },
        data={"kind": "evidence"},
        files={"file": ("证明材料.pdf", DATA, "application/pdf")},
    )
    assert response.status_code == 201, response.text
    return f"/api/v1/attachments/{response.json()['id']}/content"


async def test_ranges(client: httpx.AsyncClient, world: World, stored: str) -> None:
    size = len(DATA)
    cases = {
        "bytes=0-99": (0, 99),
        "bytes=1048570-1048585": (1048570, 1048585),  # across a chunk boundary
        "bytes=100-": (100, size - 1),
        "bytes=-500": (size - 500, size - 1),
        f"bytes=10-{size * 2}": (10, size - 1),
        f"bytes=-{size * 2}": (0, size - 1),
    }
    for header, (first, last) in cases.items():
        response = await client.get(stored, headers={**world.applicant.headers, "Range": header})
        assert response.status_code == 206, header
        assert response.content == DATA[first : last + 1]
        assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert response.headers["content-length"] == str(last - first + 1)
        assert response.headers["etag"] == f'"{CONTENT.sha256}"'


async def test_unsatisfiable_and_ignored_ranges(client: httpx.AsyncClient, world: World, stored: str) -> None:
    size = len(DATA)
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        response = await client.get(stored, headers={**world.applicant.headers, "Range": header})
        assert response.status_code == 416, header
        assert response.json()["code"] == "range_not_satisfiable"
        assert response.headers["content-range"] == f"bytes */{size}"
    # Malformed, other units and several ranges: the whole file (a server may ignore Range).
    for header in ("bytes=5-1", "items=0-1", "bytes=0-1,5-6", "bytes=abc", "bytes=٣-٤".encode()):
        response = await client.get(stored, headers={**world.applicant.headers, "Range": header})  # type: ignore[dict-item]
        assert response.status_code == 200, header
        assert response.content == DATA


async def test_conditional_requests(client: httpx.AsyncClient, world: World, stored: str) -> None:
    etag = f'"{CONTENT.sha256}"'
    fresh = await client.get(stored, headers={**world.applicant.headers, "If-None-Match": etag})
    assert fresh.status_code == 304 and fresh.content == b"" and fresh.headers["etag"] == etag
    resumed = await client.get(stored, headers={**world.applicant.headers, "Range": "bytes=10-19", "If-Range": etag})
    assert resumed.status_code == 206 and resumed.content == DATA[10:20]
    changed = await client.get(
        stored, headers={**world.applicant.headers, "Range": "bytes=10-19", "If-Range": '"another"'}
    )
    assert changed.status_code == 200 and changed.content == DATA


def test_parse_range_edges() -> None:
    assert parse_range("bytes=0-0", 1) == (0, 0)
    assert parse_range("bytes=0-", 0) is unsatisfiable
    assert parse_range("bytes=-1", 0) is unsatisfiable
    assert parse_range(" BYTES = 2-3", 10) is None or parse_range(" BYTES = 2-3", 10) == (2, 3)
    assert parse_range("bytes=-", 10) is None


def test_content_disposition_names() -> None:
    assert (
        content_disposition("report.pdf", "pdf") == "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
    )
    assert ascii_fallback("申报书.pdf", "pdf") == "attachment.pdf"
    assert ascii_fallback("Résumé 2022.docx", "docx") == "Resume 2022.docx"
    assert ascii_fallback('a"b;c.pdf', "pdf") == "a_b_c.pdf"
    assert ascii_fallback("scan", "jpeg") == "scan.jpeg"
    header = content_disposition('x"; filename=evil.exe', "pdf")
    assert header.count('"') == 2 and "; filename=evil" not in header
