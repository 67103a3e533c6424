"""Bulk uploads: JSON, CSV (Chinese headers) and XLSX; all_or_nothing vs valid_rows; access; restart; the CLI."""

import asyncio
import contextlib
import csv
import io
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from app.applications.models import Application
from app.bulk import runner as bulk_runner
from app.bulk import service
from app.bulk.client import client as client_group
from app.bulk.columns import COLUMNS
from app.bulk.models import BulkUpload
from app.core.outbox_models import Event
from app.events.schemas import FEED_PAGE_SIZE
from tests.applications.cast import Cast, make_cast

URL = "/api/v1/bulk-uploads"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZH = {c.key: c.zh for c in COLUMNS}


def cells_of(form: dict[str, Any]) -> dict[str, Any]:
    """An application form in the flat file layout."""
    parties = form.get("parties") or {}
    cells = {
        "title": form["title"],
        "call_id": form["call_id"],
        "domain_area": form["domain"]["area"],
        "domain_item": form["domain"].get("item"),
        "recommender_id": form["recommender_id"],
        "participating": ";".join(parties.get("participating", [])),
        "guarantor": parties.get("guarantor"),
        "guidance": parties.get("guidance"),
        "contact_name": form["contact"]["name"],
        "contact_phone": form["contact"]["phone"],
        "contact_email": form["contact"]["email"],
        "period_start": form["period"]["start"],
        "period_end": form["period"]["end"],
        "standards": "\n".join(f"{s['code'] or ''}|{s['title']}|{s['level']}|{s['status']}" for s in form["standards"]),
        "funding_amount_cny": form["funding"]["amount_cny"],
        "funding_sources": form["funding"]["sources"],
        "eligibility": ";".join(str(e["condition"]) for e in form["eligibility"]),
    }
    cells.update(form["sections"])
    return cells


BAD = {17: ("contact_phone", "12345"), 100: ("period_start", "2023-13-01"), 250: ("domain_area", "9.9")}


def rows_with_bad(cast: Cast, n: int, bad: dict[int, tuple[str, str]]) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        cells = cells_of(cast.form(title=f"济南市历下区第{i}号标准化试点"))
        if i in bad:
            column, value = bad[i]
            cells[column] = value
        rows.append(cells)
    return rows


def xlsx_bytes(rows: list[dict[str, Any]], headers: list[str] | None = None) -> bytes:
    keys = list(rows[0])
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers or keys)
    for row in rows:
        sheet.append([row.get(k) for k in keys])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def wait_done(client: httpx.AsyncClient, upload_id: str, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(2000):
        r = await client.get(f"{URL}/{upload_id}", headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["state"] in ("finished", "failed"):
            return r.json()
        await asyncio.sleep(0.02)
    raise AssertionError("the upload did not finish")


def count_applications(app: Any) -> int:
    with app.state.database.reader() as session:
        return session.execute(sa.select(sa.func.count()).select_from(Application)).scalar_one()


async def post_file(
    client: httpx.AsyncClient, cast: Cast, name: str, data: bytes, media: str, mode: str
) -> dict[str, Any]:
    r = await client.post(URL, headers=cast.applicant.headers, files={"file": (name, data, media)}, data={"mode": mode})
    assert r.status_code == 202, r.text
    assert r.json()["state"] in ("queued", "running", "finished")
    return await wait_done(client, r.json()["id"], cast.applicant.headers)


async def test_xlsx_all_or_nothing_reports_bad_rows_and_creates_nothing_then_valid_rows_creates_the_rest(app, client):
    cast = await make_cast(app, client)
    data = xlsx_bytes(rows_with_bad(cast, 500, BAD))

    done = await post_file(client, cast, "申请.xlsx", data, XLSX, "all_or_nothing")
    assert done["state"] == "finished" and done["created_count"] == 0 and done["error_count"] == 3
    assert len(done["results"]) == 500
    invalid = {r["row"]: r for r in done["results"] if r["status"] == "invalid"}
    assert set(invalid) == set(BAD)
    for row, (column, _) in BAD.items():
        assert [e["column"] for e in invalid[row]["errors"]] == [column]
        assert invalid[row]["errors"][0]["pointer"] == f"/rows/{row}/{column}"
        assert invalid[row]["line"] == row + 2
    assert {r["status"] for r in done["results"] if r["row"] not in BAD} == {"skipped"}
    assert count_applications(app) == 0

    done = await post_file(client, cast, "申请.xlsx", data, XLSX, "valid_rows")
    assert done["state"] == "finished" and done["created_count"] == 497 and done["error_count"] == 3
    assert {r["row"] for r in done["results"] if r["status"] == "invalid"} == set(BAD)
    assert count_applications(app) == 497
    created = [r["application_id"] for r in done["results"] if r["status"] == "created"]
    r = await client.get(f"/api/v1/applications/{created[0]}", headers=cast.applicant.headers)
    assert r.status_code == 200 and r.json()["state"] == "draft"
    assert r.json()["parties"]["undertaking"] == cast.undertaking
    with app.state.database.reader() as session:
        events = session.execute(
            sa.select(sa.func.count()).select_from(Event).where(Event.type == "application.created")
        ).scalar_one()
    assert events == 497


async def test_json_body_creates_drafts_like_post_applications(app, client):
    cast = await make_cast(app, client)
    rows = [cast.form(title=f"试点{i}") for i in range(3)]
    rows.append(cast.form(contact={"name": "王芳", "phone": "13800138000", "email": "not-an-email"}))
    r = await client.post(
        URL, json={"mode": "valid_rows", "rows": rows}, headers={**cast.applicant.headers, "Accept-Language": "en"}
    )
    assert r.status_code == 202, r.text
    done = await wait_done(client, r.json()["id"], {**cast.applicant.headers, "Accept-Language": "en"})
    assert done["created_count"] == 3 and done["error_count"] == 1
    error = done["results"][3]["errors"][0]
    assert error == {
        "pointer": "/rows/3/contact/email",
        "column": "contact_email",
        "header": None,
        "code": "invalid_email",
        "message": "Invalid email address",
    }
    assert "not-an-email" not in r.text + str(done)

    # A party that is not the caller's organization: the service's rule, reported per row.
    r = await client.post(
        URL, json={"rows": [cast.form(parties={"undertaking": cast.guarantor})]}, headers=cast.applicant.headers
    )
    done = await wait_done(client, r.json()["id"], cast.applicant.headers)
    assert done["results"][0]["errors"][0]["code"] == "must_be_own_organization"
    assert done["results"][0]["errors"][0]["column"] == "undertaking"


async def test_bad_envelopes_are_refused_at_once(app, client):
    cast = await make_cast(app, client)
    h = cast.applicant.headers
    assert (await client.post(URL, json={"mode": "sometimes", "rows": [cast.form()]}, headers=h)).status_code == 422
    assert (await client.post(URL, json={"rows": []}, headers=h)).json()["code"] == "empty_upload"
    assert (await client.post(URL, content=b"{", headers={**h, "Content-Type": "application/json"})).json()[
        "code"
    ] == "malformed_json"
    r = await client.post(URL, files={"file": ("x.csv", "不认识的列,项目名称\n1,2\n".encode(), "text/csv")}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "unknown_columns"
    r = await client.post(URL, files={"file": ("x.xlsx", b"PK\x03\x04 not really", XLSX)}, headers=h)
    assert r.status_code == 415
    app.state.settings.max_bulk_upload_bytes = 2048
    r = await client.post(URL, json={"rows": [cast.form() for _ in range(5)]}, headers=h)
    assert r.status_code == 413
    assert (
        await client.post(URL, json={"rows": [cast.form()]}, headers=cast.undertaking_signatory.headers)
    ).status_code == 403
    assert (await client.post(URL, json={"rows": [cast.form()]})).status_code == 401
    assert count_applications(app) == 0


async def test_csv_with_chinese_headers(app, client):
    cast = await make_cast(app, client)
    rows = rows_with_bad(cast, 5, {})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([ZH[k] for k in rows[0]])
    for row in rows:
        writer.writerow([row[k] if row[k] is not None else "" for k in rows[0]])
    done = await post_file(client, cast, "申请.csv", out.getvalue().encode("utf-8-sig"), "text/csv", "all_or_nothing")
    assert done["source"] == "csv" and done["created_count"] == 5, done

    # The same in GB18030, as spreadsheets in China save CSV, with one bad phone.
    rows[2]["contact_phone"] = "110"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([ZH[k] for k in rows[0]])
    for row in rows:
        writer.writerow([row[k] if row[k] is not None else "" for k in rows[0]])
    done = await post_file(client, cast, "申请.csv", out.getvalue().encode("gb18030"), "text/csv", "all_or_nothing")
    assert done["created_count"] == 0 and done["results"][2]["errors"][0]["header"] == "电话"
    assert count_applications(app) == 5


async def test_template_round_trips(app, client):
    cast = await make_cast(app, client)
    r = await client.get(f"{URL}/template.xlsx", headers=cast.applicant.headers)
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    workbook = load_workbook(io.BytesIO(r.content))
    sheet = workbook.worksheets[0]
    headers = [c.value for c in sheet[1]]
    assert "电话 (contact_phone)" in headers
    assert any(
        row[0] == "电话" and row[1] == "contact_phone" for row in workbook.worksheets[1].iter_rows(values_only=True)
    )
    keys = [h.split("(")[1].rstrip(")") for h in headers]
    for cells in rows_with_bad(cast, 3, {}):
        sheet.append([cells.get(k) for k in keys])
    out = io.BytesIO()
    workbook.save(out)
    done = await post_file(client, cast, "template.xlsx", out.getvalue(), XLSX, "all_or_nothing")
    assert done["created_count"] == 3 and done["error_count"] == 0, done
    assert (await client.get(f"{URL}/template.xlsx")).status_code == 401


async def test_only_the_uploader_its_organization_and_admin_see_an_upload(app, client):
    cast = await make_cast(app, client)
    r = await client.post(URL, json={"rows": [cast.form()]}, headers=cast.applicant.headers)
    upload_id = r.json()["id"]
    await wait_done(client, upload_id, cast.applicant.headers)
    assert (await client.get(f"{URL}/{upload_id}", headers=cast.admin.headers)).status_code == 200
    for actor in (cast.stranger, cast.reviewer, cast.office, cast.participating_signatory):
        r = await client.get(f"{URL}/{upload_id}", headers=actor.headers)
        assert r.status_code == 404, actor
    assert (await client.get(f"{URL}/blk_missing", headers=cast.admin.headers)).status_code == 404


def _leave_running(app: Any, upload_id: str, **values: Any) -> None:
    with app.state.database.transaction() as session:
        session.execute(sa.update(BulkUpload).where(BulkUpload.id == upload_id).values(state="running", **values))


def _store_upload(app: Any, cast: Cast, mode: str, rows: list[dict[str, Any]]) -> str:
    """An upload as the endpoint stores it, without starting its processing (the process 'died')."""
    from app.accounts.principal import Principal

    principal = Principal(
        user_id=cast.applicant.user_id,
        username="",
        display_name="",
        organization_id=cast.undertaking,
        province_code="370000",
        recommender_kind=None,
        roles=frozenset({"applicant"}),
    )
    with app.state.database.transaction() as session:
        upload = service.create_upload(
            session, principal, mode=mode, source="json", rows=rows, lines=None, headers=None, now=app.state.clock()
        )
        return upload.id


async def test_restart_resumes_or_fails_never_half_applied(app, client, monkeypatch):
    cast = await make_cast(app, client)
    settings, database = app.state.settings, app.state.database
    rows = [cast.form(title=f"试点{i}") for i in range(30)]

    # all_or_nothing: a crash while inserting leaves nothing behind; the resumed run creates everything.
    upload_id = _store_upload(app, cast, "all_or_nothing", rows)
    original = bulk_runner.apply_rows

    def crash(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        raise KeyboardInterrupt  # the process dies after the inserts, before the commit

    monkeypatch.setattr(bulk_runner, "apply_rows", crash)
    with contextlib.suppress(KeyboardInterrupt):
        bulk_runner.run_upload(database, settings, upload_id)
    monkeypatch.setattr(bulk_runner, "apply_rows", original)
    assert count_applications(app) == 0
    _leave_running(app, upload_id, lease_until=None)  # its runner is gone
    assert bulk_runner.resume_unfinished(database, settings) == [upload_id]
    done = (await client.get(f"{URL}/{upload_id}", headers=cast.applicant.headers)).json()
    assert done["state"] == "finished" and done["created_count"] == 30
    assert count_applications(app) == 30

    # valid_rows: the first chunk committed before the crash; the resumed run continues after it.
    settings.bulk_chunk_rows = 10
    rows = [cast.form(title=f"续传试点{i}") for i in range(30)]  # new titles: the first 30 are there now
    upload_id = _store_upload(app, cast, "valid_rows", rows)
    calls = {"n": 0}

    def crash_second_chunk(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        original(*args, **kwargs)

    monkeypatch.setattr(bulk_runner, "apply_rows", crash_second_chunk)
    with contextlib.suppress(KeyboardInterrupt):
        bulk_runner.run_upload(database, settings, upload_id)
    monkeypatch.setattr(bulk_runner, "apply_rows", original)
    assert count_applications(app) == 40
    _leave_running(app, upload_id, lease_until=None)
    bulk_runner.resume_unfinished(database, settings)
    done = (await client.get(f"{URL}/{upload_id}", headers=cast.applicant.headers)).json()
    assert done["state"] == "finished" and done["created_count"] == 30 and len(done["results"]) == 30
    assert count_applications(app) == 60

    # Tried too often: marked failed, nothing applied.
    upload_id = _store_upload(app, cast, "all_or_nothing", rows)
    _leave_running(app, upload_id, attempts=settings.bulk_max_attempts)
    bulk_runner.resume_unfinished(database, settings)
    done = (await client.get(f"{URL}/{upload_id}", headers=cast.applicant.headers)).json()
    assert done["state"] == "failed" and done["failure"] and done["created_count"] == 0
    assert count_applications(app) == 60


async def test_cli_upload_prints_the_report_and_exits_1_on_invalid_rows(app, client, tmp_path: Path):
    cast = await make_cast(app, client)
    key_file = tmp_path / "key"
    key_file.write_text(cast.applicant.api_key + "\n")
    source = tmp_path / "申请.xlsx"
    source.write_bytes(xlsx_bytes(rows_with_bad(cast, 20, {17: BAD[17]})))
    report = tmp_path / "report.csv"
    http = TestClient(app, base_url="http://testserver")
    runner = CliRunner()
    result = runner.invoke(
        client_group,
        [
            "upload",
            str(source),
            "--url",
            "http://testserver",
            "--api-key-file",
            str(key_file),
            "--mode",
            "valid_rows",
            "--report",
            str(report),
            "--poll-interval",
            "0.02",
        ],
        obj={"http": http},
    )
    assert result.exit_code == 1, result.output
    assert "row 17 (line 19)\tinvalid\tcontact_phone: invalid_phone" in result.stdout
    assert "\tcreated\t" not in result.stdout  # errors only by default
    lines = list(csv.DictReader(report.open(encoding="utf-8-sig")))
    assert [(x["row"], x["line"], x["status"]) for x in lines] == [("17", "19", "invalid")]
    assert count_applications(app) == 19
    with app.state.database.reader() as session:
        created = set(session.execute(sa.select(Application.id)).scalars())
    result = runner.invoke(
        client_group,
        [
            "upload",
            str(source),
            "--url",
            "http://testserver",
            "--api-key-file",
            str(key_file),
            "--mode",
            "valid_rows",
            "--report",
            str(report),
            "--all",
            "--poll-interval",
            "0.02",
        ],
        obj={"http": http},
    )
    # The same file again: nothing new, the 19 rows are reported as duplicates of what the first made.
    assert result.exit_code == 1 and result.stdout.count("\tduplicate\tapp_") == 19, result.output
    lines = list(csv.DictReader(report.open(encoding="utf-8-sig")))
    assert len(lines) == 20 and [x["row"] for x in lines if x["status"] == "invalid"] == ["17"]
    assert {x["application_id"] for x in lines if x["status"] == "duplicate"} == created
    assert "0 created, 0 updated, 19 duplicate, 1 invalid, 20 rows" in result.stderr
    assert count_applications(app) == 19

    # upsert, row 17 mended and row 0's phone changed: one created, one updated, the rest duplicates → 0.
    rows = rows_with_bad(cast, 20, {0: ("contact_phone", "13900139000")})
    source.write_bytes(xlsx_bytes(rows))
    args = ["upload", str(source), "--url", "http://testserver", "--api-key-file", str(key_file)]
    args += ["--mode", "upsert", "--report", str(report), "--all", "--poll-interval", "0.02"]
    result = runner.invoke(client_group, args, obj={"http": http})
    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated, 18 duplicate, 0 invalid, 20 rows" in result.stderr
    lines = {x["row"]: x for x in csv.DictReader(report.open(encoding="utf-8-sig"))}
    assert lines["0"]["status"] == "updated" and lines["0"]["application_id"] in created
    assert lines["17"]["status"] == "created" and lines["17"]["application_id"] not in created
    r = await client.get(f"/api/v1/applications/{lines['0']['application_id']}", headers=cast.applicant.headers)
    assert r.json()["contact"]["phone"] == "13900139000" and r.json()["version"] == 2
    assert count_applications(app) == 20

    # All valid (here: duplicates) → 0; a wrong key → 2.
    source.write_bytes(xlsx_bytes(rows_with_bad(cast, 2, {})))
    args = [
        "upload",
        str(source),
        "--url",
        "http://testserver",
        "--api-key-file",
        str(key_file),
        "--poll-interval",
        "0.02",
    ]
    assert runner.invoke(client_group, args, obj={"http": http}).exit_code == 0
    key_file.write_text("smps_wrong")
    result = runner.invoke(client_group, args, obj={"http": TestClient(app, base_url="http://testserver")})
    assert result.exit_code == 2 and "not_authenticated" in result.output


def test_cli_retries_then_exits_3_on_server_failure(tmp_path: Path):
    key_file = tmp_path / "key"
    key_file.write_text("smps_x")
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(503, json={"code": "service_unavailable"})

    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://x")
    source = tmp_path / "rows.json"
    source.write_text("[]")
    result = CliRunner().invoke(
        client_group,
        ["upload", str(source), "--url", "http://x", "--api-key-file", str(key_file)],
        obj={"http": http, "retries": 2, "backoff": 0.0},
    )
    assert result.exit_code == 3 and len(seen) == 3


def test_cli_events_prints_json_lines_and_follows_the_cursor(tmp_path: Path):
    key_file = tmp_path / "key"
    key_file.write_text("smps_x")
    pages = {
        None: ({"id": "e1", "type": "application.created", "cursor": "c1"}, "c1", True),
        "c1": ({"id": "e2", "type": "application.created", "cursor": "c2"}, "c2", False),
    }
    asked = []

    def handler(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after")
        asked.append((after, request.url.params.get("types")))
        item, cursor, more = pages[after]
        return httpx.Response(200, json={"items": [item], "next_cursor": cursor, "has_more": more})

    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://x")
    result = CliRunner().invoke(
        client_group,
        ["events", "--url", "http://x", "--api-key-file", str(key_file), "--types", "application.created"],
        obj={"http": http},
    )
    assert result.exit_code == 0, result.output
    assert [line for line in result.stdout.splitlines()] == [
        '{"id":"e1","type":"application.created","cursor":"c1"}',
        '{"id":"e2","type":"application.created","cursor":"c2"}',
    ]
    assert asked == [(None, "application.created"), ("c1", "application.created")]


def test_cli_events_reads_one_history(tmp_path: Path):
    key_file = tmp_path / "key"
    key_file.write_text("smps_x")
    asked = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(dict(request.url.params))
        return httpx.Response(200, json={"items": [{"id": "e1"}], "next_cursor": "c1", "has_more": False})

    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://x")
    args = [
        "events",
        "--url",
        "http://x",
        "--api-key-file",
        str(key_file),
        "--batch-id",
        "bat_1",
        "--application-id",
        "app_2",
    ]
    result = CliRunner().invoke(client_group, args, obj={"http": http})
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ['{"id":"e1"}']
    assert asked == [{"page_size": str(FEED_PAGE_SIZE), "batch_id": "bat_1", "application_id": "app_2"}]
