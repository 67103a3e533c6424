"""Bulk bombs against a real `smps serve`: each refused with its problem within the timeout, and the server
answers afterwards; formula titles entered through bulk CSV come out as data in the exported XLSX and CSV."""

import asyncio
import csv
import io

import httpx
import openpyxl
from fastapi import FastAPI

from tests.applications.cast import Cast, Flow
from tests.bulk import hostile_files as h
from tests.bulk.test_bulk import URL, XLSX, cells_of
from tests.documents.test_formula_safe import PAYLOADS
from tests.races.live import LiveServer, live_cast

TIMEOUT = 60.0  # a bound, not a speed target: bench/hostile_bulk.py measures the time

BOMBS = [
    ("million_rows_xlsx", "申请.xlsx", h.million_rows_xlsx, 413, "too_many_rows"),
    ("blank_lines_csv_19_mib", "申请.csv", h.blank_lines_csv, 413, "too_many_rows"),
    ("header_line_10_mib", "申请.csv", h.huge_header_csv, 422, "too_many_columns"),
    ("zip_bomb", "申请.xlsx", lambda: h.zip_bomb_xlsx(16), 413, "compression_ratio_too_high"),
    ("billion_laughs", "申请.xlsx", h.billion_laughs_xlsx, 422, "unreadable_spreadsheet"),
    ("external_entity", "申请.xlsx", h.external_entity_xlsx, 422, "unreadable_spreadsheet"),
]


async def test_bulk_bombs_and_formula_titles_against_one_real_server(
    app: FastAPI, client: httpx.AsyncClient, smps_server: LiveServer
) -> None:
    """One server for every case (starting `smps serve` on a migrated database costs about 20 s on a
    loaded machine): each bomb is refused, then formula titles go through to the exported list."""
    cast = await live_cast(app, client)
    async with httpx.AsyncClient(base_url=smps_server.url, timeout=TIMEOUT) as http:
        await _bombs_are_refused(http, cast)
        await _formula_titles_come_out_as_data(http, cast)


async def _bombs_are_refused(http: httpx.AsyncClient, cast: Cast) -> None:
    """Each payload is refused with its problem and a small body, and the server still answers afterwards."""
    for name, filename, make, status, code in BOMBS:
        media = XLSX if filename.endswith(".xlsx") else "text/csv"
        r = await http.post(URL, headers=cast.applicant.headers, files={"file": (filename, make(), media)})
        assert r.status_code == status, f"{name}: {r.status_code} {r.text[:500]}"
        assert r.headers["content-type"] == "application/problem+json", f"{name}: {r.headers['content-type']}"
        assert r.json()["code"] == code, f"{name}: {r.json()['code']}"
        assert len(r.content) < 10_000, f"{name}: a {len(r.content)}-byte answer"
        assert (await http.get("/healthz")).status_code == 200, f"{name}: the server no longer answers"


async def _formula_titles_come_out_as_data(http: httpx.AsyncClient, cast: Cast) -> None:
    """Formula titles entered through bulk CSV are plain text in the exported XLSX and quoted in the CSV."""
    rows = [cells_of(cast.form(title=t)) for t in PAYLOADS]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    r = await http.post(
        URL, headers=cast.applicant.headers, files={"file": ("申请.csv", out.getvalue().encode(), "text/csv")}
    )
    assert r.status_code == 202, r.text
    for _ in range(600):
        done = (await http.get(f"{URL}/{r.json()['id']}", headers=cast.applicant.headers)).json()
        if done["state"] in ("finished", "failed"):
            break
        await _pause()
    assert done["created_count"] == len(PAYLOADS), done
    ids = [row["application_id"] for row in done["results"]]
    for app_id in ids:
        flow = Flow(http, cast)
        flow.id = app_id
        await flow.get(cast.applicant)
        await flow.attach_scan()
        assert (await flow.act("submit")).status_code == 200
        await flow.endorse_all()
        assert (await flow.review("recommend", "同意推荐")).status_code == 201
    batch = await http.post("/api/v1/batches", json={"call_id": cast.call_id}, headers=cast.reviewer.headers)
    assert batch.status_code == 201, batch.text
    items = {"items": [{"application_id": a, "rank": i + 1} for i, a in enumerate(ids)]}
    r = await http.put(
        f"/api/v1/batches/{batch.json()['id']}/items",
        json=items,
        headers={**cast.reviewer.headers, "If-Match": batch.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    base = f"/api/v1/batches/{batch.json()['id']}/recommended-list"
    sheet = await http.get(f"{base}.xlsx", headers=cast.reviewer.headers)
    text = (await http.get(f"{base}.csv", headers=cast.reviewer.headers)).content
    ws = openpyxl.load_workbook(io.BytesIO(sheet.content)).active
    titles = [ws.cell(row=3 + i, column=2) for i in range(len(PAYLOADS))]
    assert [c.value for c in titles] == PAYLOADS and {c.data_type for c in titles} == {"s"}
    assert not [c for row in ws.iter_rows() for c in row if c.data_type == "f"]
    listed = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert [row[1] for row in listed[1:]] == ["'" + p for p in PAYLOADS]


async def _pause() -> None:
    await asyncio.sleep(0.05)
