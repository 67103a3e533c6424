"""Uploading the same rows again: duplicates with the ids they match, and upsert's updates of drafts."""

import contextlib
from typing import Any

import sqlalchemy as sa

from app.applications.models import ApplicationParty
from app.bulk import runner as bulk_runner
from app.core.outbox_models import Event
from tests.applications.cast import Cast, Flow, make_cast
from tests.bulk.test_bulk import URL, _leave_running, _store_upload, count_applications, wait_done

COUNTS = ("created_count", "updated_count", "duplicate_count", "error_count")


async def upload(client: Any, cast: Cast, rows: list[dict[str, Any]], mode: str, headers: dict[str, str] | None = None):
    h = headers or cast.applicant.headers
    r = await client.post(URL, json={"mode": mode, "rows": rows}, headers=h)
    assert r.status_code == 202, r.text
    return await wait_done(client, r.json()["id"], h)


def counts(done: dict[str, Any]) -> tuple[int, ...]:
    return tuple(done[c] for c in COUNTS)


async def test_uploading_the_same_rows_again_reports_duplicates_with_their_ids(app, client):
    cast = await make_cast(app, client)
    rows = [cast.form(title=f"重复上传试点{i}") for i in range(4)]
    first = await upload(client, cast, rows, "valid_rows")
    assert counts(first) == (4, 0, 0, 0)
    ids = [r["application_id"] for r in first["results"]]

    # The same rows (one title with spaces around it, as stored it is trimmed) and a new one.
    again = [*rows, cast.form(title="新增试点")]
    again[1] = cast.form(title=f"  {rows[1]['title']} ")
    for mode in ("valid_rows", "all_or_nothing"):
        done = await upload(client, cast, again, mode)
        assert [r["status"] for r in done["results"]][:4] == ["duplicate"] * 4
        assert [r["application_id"] for r in done["results"][:4]] == ids
        assert all(r.get("duplicate_of_row") is None for r in done["results"][:4])
        assert done["results"][4]["status"] == ("created" if mode == "valid_rows" else "duplicate")
        assert counts(done) == ((1, 0, 4, 0) if mode == "valid_rows" else (0, 0, 5, 0))
    assert count_applications(app) == 5

    # A withdrawn application is not matched: applying anew makes a new one.
    flow = Flow(client, cast)
    await flow.create(title="撤回后重新申报")
    assert (await flow.act("withdraw")).status_code == 200
    done = await upload(client, cast, [cast.form(title="撤回后重新申报")], "valid_rows")
    assert done["results"][0]["status"] == "created" and done["results"][0]["application_id"] != flow.id


async def test_rows_of_one_upload_duplicate_each_other(app, client):
    cast = await make_cast(app, client)
    rows = [cast.form(title="同一文件两次"), cast.form(title="另一项"), cast.form(title="同一文件两次")]
    done = await upload(client, cast, rows, "valid_rows")
    first, _, third = done["results"]
    assert first["status"] == "created" and third["status"] == "duplicate"
    assert third["application_id"] == first["application_id"] and third["duplicate_of_row"] == 0
    assert counts(done) == (2, 0, 1, 0)

    # Across chunks of a valid_rows upload as within one.
    app.state.settings.bulk_chunk_rows = 2
    rows = [cast.form(title="跨块重复"), cast.form(title="块内其他"), cast.form(title="跨块重复")]
    done = await upload(client, cast, rows, "valid_rows")
    assert done["results"][2]["status"] == "duplicate" and done["results"][2]["duplicate_of_row"] == 0
    assert done["results"][2]["application_id"] == done["results"][0]["application_id"]
    assert count_applications(app) == 4


async def test_all_or_nothing_duplicates_void_nothing_invalid_rows_still_do(app, client):
    cast = await make_cast(app, client)
    existing = (await upload(client, cast, [cast.form(title="已有试点")], "valid_rows"))["results"][0]["application_id"]
    rows = [cast.form(title="已有试点"), cast.form(title="新试点"), cast.form(title="新试点")]
    bad = cast.form(title="坏行", contact={"name": "王芳", "phone": "12345", "email": "wangfang@example.cn"})

    done = await upload(client, cast, [*rows, bad], "all_or_nothing")
    assert [r["status"] for r in done["results"]] == ["duplicate", "skipped", "duplicate", "invalid"]
    assert done["results"][0]["application_id"] == existing
    # A duplicate of a row that was not created names the row only.
    assert done["results"][2]["duplicate_of_row"] == 1 and "application_id" not in {
        k for k, v in done["results"][2].items() if v is not None
    }
    assert counts(done) == (0, 0, 2, 1) and count_applications(app) == 1

    done = await upload(client, cast, rows, "all_or_nothing")
    assert [r["status"] for r in done["results"]] == ["duplicate", "created", "duplicate"]
    assert done["results"][2]["application_id"] == done["results"][1]["application_id"]
    assert counts(done) == (1, 0, 2, 0) and count_applications(app) == 2


async def test_upsert_updates_a_draft_and_refuses_a_submitted_application(app, client):
    cast = await make_cast(app, client)
    rows = [cast.form(title="更新草稿"), cast.form(title="已提交")]
    ids = [r["application_id"] for r in (await upload(client, cast, rows, "valid_rows"))["results"]]
    flow = Flow(client, cast)
    flow.id = ids[1]
    await flow.get(cast.applicant)
    await flow.attach_scan()
    assert (await flow.act("submit")).status_code == 200

    changed = [
        cast.form(
            title="更新草稿",
            contact={"name": "李雷", "phone": "13900139000", "email": "lilei@example.cn"},
            parties={"participating": [], "guarantor": cast.participating, "guidance": cast.guidance},
        ),
        cast.form(title="已提交", funding={"amount_cny": 1, "sources": "区财政"}),
        cast.form(title="全新项目"),
    ]
    h = {**cast.applicant.headers, "Accept-Language": "en"}
    done = await upload(client, cast, changed, "upsert", h)
    updated, refused, created = done["results"]
    assert updated["status"] == "updated" and updated["application_id"] == ids[0]
    assert refused["status"] == "invalid" and refused["application_id"] == ids[1]
    assert refused["errors"] == [
        {
            "pointer": "/rows/1/title",
            "column": "title",
            "header": None,
            "code": "application_not_editable",
            "message": f"The matching application {ids[1]} is endorsing: only draft and returned applications "
            "can be updated",
        }
    ]
    assert created["status"] == "created"
    assert counts(done) == (1, 1, 0, 1) and done["mode"] == "upsert"

    body = (await client.get(f"/api/v1/applications/{ids[0]}", headers=h)).json()
    assert body["version"] == 2 and body["contact"]["name"] == "李雷"
    assert body["parties"]["guarantor"] == cast.participating and body["parties"]["participating"] == []
    with app.state.database.reader() as session:
        parties = session.execute(
            sa.select(ApplicationParty.role, ApplicationParty.organization_id).where(
                ApplicationParty.application_id == ids[0]
            )
        ).all()
        event = session.execute(
            sa.select(Event).where(Event.type == "application.updated", Event.subject_id == ids[0])
        ).scalar_one()
    assert sorted(parties) == sorted(
        [("undertaking", cast.undertaking), ("guarantor", cast.participating), ("guidance", cast.guidance)]
    )
    assert event.data == {"fields": ["contact", "parties"], "bulk_upload_id": done["id"]}
    body = (await client.get(f"/api/v1/applications/{ids[1]}", headers=h)).json()
    assert body["funding"]["amount_cny"] == 1200000  # untouched

    # The same upsert again: the draft already holds its row (duplicate), the rest as before.
    done = await upload(client, cast, changed, "upsert", h)
    assert [r["status"] for r in done["results"]] == ["duplicate", "invalid", "duplicate"]
    assert counts(done) == (0, 0, 2, 1)
    assert (await client.get(f"/api/v1/applications/{ids[0]}", headers=h)).json()["version"] == 2


async def test_upsert_only_what_the_caller_may_edit(app, client):
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.to_review()  # visible to the province's reviewer, which did not enter it
    row = cast.form(parties={**cast.form()["parties"], "undertaking": cast.undertaking})
    done = await upload(client, cast, [row], "upsert", cast.reviewer.headers)
    assert done["results"][0]["status"] == "invalid" and done["results"][0]["application_id"] == flow.id
    assert [e["code"] for e in done["results"][0]["errors"]] == ["application_not_editable_by_you"]
    # The reviewer's own entry of the same unit, call and title in valid_rows: a duplicate, not a new one.
    done = await upload(client, cast, [row], "valid_rows", cast.reviewer.headers)
    assert done["results"][0]["status"] == "duplicate" and done["results"][0]["application_id"] == flow.id
    assert count_applications(app) == 1


async def test_upsert_is_an_accepted_mode_of_files_and_bodies(app, client):
    cast = await make_cast(app, client)
    r = await client.post(URL, json={"mode": "replace", "rows": [cast.form()]}, headers=cast.applicant.headers)
    assert r.status_code == 422
    r = await client.post(
        URL,
        files={"file": ("x.csv", "项目名称\n试点\n".encode(), "text/csv")},
        data={"mode": "sometimes"},
        headers={**cast.applicant.headers, "Accept-Language": "en"},
    )
    assert r.status_code == 422 and "upsert" in r.json()["errors"][0]["message"]
    r = await client.post(
        URL,
        files={"file": ("x.csv", "项目名称\n试点\n".encode(), "text/csv")},
        data={"mode": "upsert"},
        headers=cast.applicant.headers,
    )
    assert r.status_code == 202 and r.json()["mode"] == "upsert"
    await wait_done(client, r.json()["id"], cast.applicant.headers)


async def test_a_resumed_upload_knows_the_rows_its_committed_chunks_made(app, client, monkeypatch):
    cast = await make_cast(app, client)
    app.state.settings.bulk_chunk_rows = 2
    rows = [cast.form(title="续传甲"), cast.form(title="续传乙"), cast.form(title="续传丙"), cast.form(title="续传甲")]
    upload_id = _store_upload(app, cast, "valid_rows", rows)
    original, calls = bulk_runner.apply_rows, {"n": 0}

    def crash_second_chunk(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process dies in the second chunk
        original(*args, **kwargs)

    monkeypatch.setattr(bulk_runner, "apply_rows", crash_second_chunk)
    with contextlib.suppress(KeyboardInterrupt):
        bulk_runner.run_upload(app.state.database, app.state.settings, upload_id)
    monkeypatch.setattr(bulk_runner, "apply_rows", original)
    _leave_running(app, upload_id, lease_until=None)
    assert bulk_runner.resume_unfinished(app.state.database, app.state.settings) == [upload_id]
    done = await wait_done(client, upload_id, cast.applicant.headers)
    assert [r["status"] for r in done["results"]] == ["created", "created", "created", "duplicate"]
    assert done["results"][3]["duplicate_of_row"] == 0
    assert done["results"][3]["application_id"] == done["results"][0]["application_id"]
    assert counts(done) == (3, 0, 1, 0) and count_applications(app) == 3
