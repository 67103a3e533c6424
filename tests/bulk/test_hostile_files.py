"""Hostile bulk files are refused at the first limit they pass, with their own problem, and change nothing."""

import csv
import io
from typing import Any

import httpx
import pytest

from tests.applications.cast import make_cast
from tests.bulk import hostile_files as h
from tests.bulk.test_bulk import URL, XLSX, cells_of, post_file, rows_with_bad, xlsx_bytes
from tests.store import fingerprint


async def _refused(
    app: Any, client: httpx.AsyncClient, name: str, data: bytes, status: int, code: str
) -> dict[str, Any]:
    cast = await make_cast(app, client)
    before = fingerprint(app)
    media = XLSX if name.endswith(".xlsx") else "text/csv"
    r = await client.post(
        URL,
        headers=cast.applicant.headers,
        files={"file": (name, data, media)},
        data={"mode": "valid_rows"},
        timeout=30,
    )
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == code and problem["type"] == f"urn:smps:problem:{code}" and problem["title"]
    assert len(r.content) < 10_000  # a refusal is short, whatever the file held
    assert fingerprint(app) == before
    return problem


CASES = [
    ("declared_million_rows", "申请.xlsx", h.declared_million_rows_xlsx, 413, "too_many_rows"),
    ("zip_bomb_ratio", "申请.xlsx", lambda: h.zip_bomb_xlsx(8), 413, "compression_ratio_too_high"),
    ("billion_laughs", "申请.xlsx", h.billion_laughs_xlsx, 422, "unreadable_spreadsheet"),
    ("external_entity", "申请.xlsx", h.external_entity_xlsx, 422, "unreadable_spreadsheet"),
    ("malformed_xml", "申请.xlsx", h.malformed_xml_xlsx, 422, "unreadable_spreadsheet"),
    ("lying_sizes", "申请.xlsx", h.lying_sizes_xlsx, 422, "unreadable_spreadsheet"),
    ("blank_lines", "申请.csv", lambda: h.blank_lines_csv(4), 413, "too_many_rows"),
    ("huge_header_line", "申请.csv", lambda: h.huge_header_csv(4), 422, "too_many_columns"),
    ("huge_header_cell", "申请.csv", lambda: h.huge_cell_header_csv(4), 422, "cell_too_long"),
]


@pytest.mark.parametrize(("name", "filename", "make", "status", "code"), CASES, ids=[c[0] for c in CASES])
async def test_hostile_file_is_refused_with_its_code(app, client, name, filename, make, status, code):
    await _refused(app, client, filename, make(), status, code)


async def test_inflated_size_is_judged_before_parsing(app, client):
    app.state.settings.max_bulk_xlsx_inflated_bytes = 2 * 1024 * 1024
    data = h.xlsx(
        h.sheet(
            h.HEADER_ROW
            + "".join(f'<row r="{i}"><c r="A{i}"><v>{i * 7919 % 100003}</v></c></row>' for i in range(2, 80_000))
        )
    )
    problem = await _refused(app, client, "申请.xlsx", data, 413, "spreadsheet_too_large")
    assert "2097152" in problem["detail"]


async def test_row_cap_stops_xlsx_and_csv_at_the_first_row_over_it(app, client):
    app.state.settings.max_bulk_upload_rows = 5
    cast = await make_cast(app, client)
    rows = [cells_of(cast.form(title=f"试点{i}")) for i in range(6)]
    await _refused(app, client, "申请.xlsx", xlsx_bytes(rows), 413, "too_many_rows")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    await _refused(app, client, "申请.csv", out.getvalue().encode(), 413, "too_many_rows")


async def test_total_cells_and_columns_are_capped(app, client):
    app.state.settings.max_bulk_upload_cells = 10
    cast = await make_cast(app, client)
    rows = [cells_of(cast.form(title=f"试点{i}")) for i in range(2)]
    await _refused(app, client, "申请.xlsx", xlsx_bytes(rows), 413, "too_many_cells")
    app.state.settings.max_bulk_upload_cells = 600_000
    wide = h.xlsx(
        h.sheet(
            h.HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c>'
            '<c r="XFD2" t="inlineStr"><is><t>far</t></is></c></row>'
        )
    )
    await _refused(app, client, "申请.xlsx", wide, 422, "too_many_columns")


async def test_a_cell_over_32_kib_is_refused_and_one_over_128_kib_too(app, client):
    cast = await make_cast(app, client)
    form = cells_of(cast.form())
    for size in (40_000, 200_000):
        cells = dict(form, basic_situation="甲" * size)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(cells))
        writer.writeheader()
        writer.writerow(cells)
        problem = await _refused(app, client, "申请.csv", out.getvalue().encode(), 422, "cell_too_long")
        assert "32768" in problem["detail"]
    # openpyxl cuts strings at Excel's 32,767 characters when it writes: the long cell is written by hand.
    long_cell = h.xlsx(
        h.sheet(h.HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"><is><t>' + "甲" * 40_000 + "</t></is></c></row>")
    )
    problem = await _refused(app, client, "申请.xlsx", long_cell, 422, "cell_too_long")
    assert problem["errors"][0]["pointer"] == "/rows/0/title"


async def test_bare_cr_line_endings_are_read(app, client):
    cast = await make_cast(app, client)
    rows = [cells_of(cast.form(title=f"试点{i}")) for i in range(3)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    writer.writerows(rows)
    done = await post_file(client, cast, "申请.csv", out.getvalue().encode(), "text/csv", "valid_rows")
    assert done["created_count"] == 3, done["results"]
    assert [r["line"] for r in done["results"]] == [2, 3, 4]


async def test_row_errors_listed_are_capped_and_the_rest_counted(app, client):
    app.state.settings.max_bulk_listed_errors = 5
    app.state.settings.bulk_chunk_rows = 3  # the cap holds across chunks too
    cast = await make_cast(app, client)
    bad = {i: ("contact_phone", "12345") for i in range(0, 16, 2)}  # 8 invalid rows, one error each
    data = xlsx_bytes(rows_with_bad(cast, 16, bad))
    for mode in ("valid_rows", "all_or_nothing"):
        done = await post_file(client, cast, "申请.xlsx", data, XLSX, mode)
        assert done["error_count"] == 8
        listed = [e for r in done["results"] for e in (r["errors"] or [])]
        assert len(listed) == 5 and done["omitted_error_count"] == 3
        assert {r["row"] for r in done["results"] if r["status"] == "invalid"} == set(bad)


@pytest.mark.parametrize("part", ["content_types", "workbook", "shared_strings"])
async def test_an_xlsx_metadata_part_is_capped_before_any_parser_sees_it(app, client, part):
    """A small XLSX (within the inflated-size and ratio checks) whose manifest, workbook or shared strings
    inflate to 64 MiB: 413 ``spreadsheet_part_too_large`` from the archive's directory, nothing parsed
    (openpyxl took 17–33 s and 2.2 GB on such a part)."""
    data = h.metadata_bomb_xlsx(part, 64)
    assert len(data) < app.state.settings.max_bulk_upload_bytes
    await _refused(app, client, "申请.xlsx", data, 413, "spreadsheet_part_too_large")
