"""The bulk fast path stores exactly what the ordinary path stores: rows inserted by ``insert_many``
equal those of ``sa.insert``; a JSON body stored as received reads back as the rows it carried and
a run from the store creates what a run from memory creates; bulk events keep the feed's order."""

import contextlib
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from app.applications.models import Application, ApplicationParty
from app.bulk import runner as bulk_runner
from app.bulk.inserts import insert_many
from app.bulk.models import BulkUploadPayload
from app.core.ids import new_id
from app.core.outbox_models import Event, EventCounter
from app.events.models import EventEntry
from tests.applications.cast import make_cast
from tests.bulk.test_bulk import URL, count_applications, wait_done

_APPLICATIONS = Application.__table__  # type: ignore[attr-defined]
_PARTIES = ApplicationParty.__table__  # type: ignore[attr-defined]
_EVENTS = Event.__table__  # type: ignore[attr-defined]


def _rows_of(app: Any, table: sa.Table, key: sa.Column, ids: list[str]) -> list[dict[str, Any]]:
    with app.state.database.reader() as session:
        rows = session.execute(sa.select(table).where(key.in_(ids)).order_by(key)).mappings().all()
    return [dict(r) for r in rows]


async def test_insert_many_stores_what_sa_insert_stores(app, client):
    cast = await make_cast(app, client)
    now = datetime(2022, 11, 2, 8, 30, 15, 123456, tzinfo=UTC)
    content = cast.form(title='对照 "引号" \\ 与换行\n和 emoji 🚀', funding={"amount_cny": 0, "sources": None})
    content.pop("call_id")
    content["parties"]["undertaking"] = cast.undertaking

    def application(app_id: str) -> dict[str, Any]:
        return {
            "id": app_id,
            "call_id": cast.call_id,
            "title": content["title"],
            "state": "draft",
            "version": 1,
            "undertaking_org_id": cast.undertaking,
            "recommender_id": content["recommender_id"],
            "province_code": "370000",
            "domain_area": None,
            "content": content,
            "content_digest": None,
            "entered_by_org_id": None,
            "created_by": cast.applicant.user_id,
            "outcome_document_number": None,
            "created_at": now,
            "updated_at": now,
            "submitted_at": None,
        }

    fast, slow = new_id("app"), new_id("app")
    with app.state.database.transaction() as session:
        insert_many(session, _APPLICATIONS, [application(fast)])
        session.execute(sa.insert(_APPLICATIONS), [application(slow)])
        for app_id, insert in ((fast, insert_many), (slow, None)):
            parties = [
                {"application_id": app_id, "role": "undertaking", "organization_id": cast.undertaking, "position": 0},
                {"application_id": app_id, "role": "guarantor", "organization_id": cast.guarantor, "position": 1},
            ]
            if insert:
                insert(session, _PARTIES, parties)
            else:
                session.execute(sa.insert(_PARTIES), parties)

    stored = {r["id"]: r for r in _rows_of(app, _APPLICATIONS, _APPLICATIONS.c.id, [fast, slow])}
    assert {k: v for k, v in stored[fast].items() if k != "id"} == {k: v for k, v in stored[slow].items() if k != "id"}
    assert stored[fast]["content"] == content and stored[fast]["created_at"] == now
    parties = _rows_of(app, _PARTIES, _PARTIES.c.application_id, [fast, slow])
    by_app: dict[str, list[tuple[str, str, int]]] = {}
    for p in parties:
        by_app.setdefault(p["application_id"], []).append((p["role"], p["organization_id"], p["position"]))
    assert sorted(by_app[fast]) == sorted(by_app[slow]) and len(by_app[fast]) == 2

    # The raw column text too: what another reader of the table (or a digest) would see.
    with app.state.database.reader() as session:
        texts = dict(
            session.execute(
                sa.select(_APPLICATIONS.c.id, sa.cast(_APPLICATIONS.c.content, sa.Text)).where(
                    _APPLICATIONS.c.id.in_([fast, slow])
                )
            ).all()
        )
    assert texts[fast] == texts[slow]
    if app.state.database.dialect == "sqlite":  # stored as TEXT, as the driver stores a string
        with app.state.database.reader() as session:
            kinds = dict(
                session.execute(
                    sa.select(_APPLICATIONS.c.id, sa.func.typeof(_APPLICATIONS.c.content)).where(
                        _APPLICATIONS.c.id.in_([fast, slow])
                    )
                ).all()
            )
        assert kinds == {fast: "text", slow: "text"}

    # A failed insert leaves nothing behind once the transaction is rolled back.
    with contextlib.suppress(sa.exc.IntegrityError), app.state.database.transaction() as session:
        insert_many(session, _APPLICATIONS, [application(new_id("app")), application(fast)])
    assert count_applications(app) == 2


async def test_a_json_body_is_stored_as_received_and_runs_the_same_from_the_store(app, client, monkeypatch):
    cast = await make_cast(app, client)
    rows = [cast.form(title=f"  存储{i}号试点  ") for i in range(4)]
    rows.append(cast.form(contact={"name": "王芳", "phone": "12345", "email": "wangfang@example.cn"}))
    handed: list[dict[str, Any] | None] = []
    monkeypatch.setattr(bulk_runner, "start_processing", lambda *args: handed.append(args[4]))

    ids = []
    for body, params in (({"mode": "valid_rows", "rows": rows}, {}), (rows, {"mode": "valid_rows"})):
        r = await client.post(URL, json=body, params=params, headers=cast.applicant.headers)
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    with app.state.database.reader() as session:
        stored = [
            session.execute(sa.select(BulkUploadPayload.data).where(BulkUploadPayload.upload_id == i)).scalar_one()
            for i in ids
        ]
    for data, payload in zip(stored, handed, strict=True):
        assert data["rows"] == rows and payload is not None and payload["rows"] == rows
        assert data.get("lines") is None and data.get("headers") is None

    # One runs from what the request handed over, the other from the store: the same rows, so the second
    # finds each of the first's applications (same call, unit and stripped title) and reports it a duplicate.
    bulk_runner.run_upload(app.state.database, app.state.settings, ids[0], app.state.clock, handed[0])
    bulk_runner.run_upload(app.state.database, app.state.settings, ids[1], app.state.clock)
    done = [await wait_done(client, i, cast.applicant.headers) for i in ids]
    assert done[0]["state"] == "finished" and done[0]["created_count"] == 4 and done[0]["error_count"] == 1
    assert done[1]["state"] == "finished" and done[1]["duplicate_count"] == 4 and done[1]["error_count"] == 1
    assert done[1]["created_count"] == 0
    assert done[0]["results"][4] == done[1]["results"][4]
    created = [r["application_id"] for r in done[0]["results"] if r["status"] == "created"]
    assert [r["application_id"] for r in done[1]["results"] if r["status"] == "duplicate"] == created
    with app.state.database.reader() as session:
        contents = [session.get(Application, a).content for a in created]  # type: ignore[union-attr]
    assert contents[0]["title"] == "存储0号试点"  # as POST /applications stores it (stripped)


async def test_bulk_events_continue_the_feed_in_order(app, client):
    cast = await make_cast(app, client)
    with app.state.database.reader() as session:
        before = session.execute(sa.select(EventCounter.value).where(EventCounter.id == 1)).scalar_one()
    r = await client.post(
        URL, json={"rows": [cast.form(title=f"序{i}") for i in range(5)]}, headers=cast.applicant.headers
    )
    done = await wait_done(client, r.json()["id"], cast.applicant.headers)
    assert done["created_count"] == 5
    with app.state.database.reader() as session:
        events = session.execute(sa.select(Event).where(Event.seq > before).order_by(Event.seq)).scalars().all()
        after = session.execute(sa.select(EventCounter.value).where(EventCounter.id == 1)).scalar_one()
    bulk = [e for e in events if e.type == "application.created"]
    assert [e.application_id for e in bulk] == [x["application_id"] for x in done["results"]]
    # The upload's events numbered together, then the feed's entries (same counter): no gap, no repeat.
    with app.state.database.reader() as session:
        entries = (
            session.execute(
                sa.select(EventEntry.position).where(EventEntry.position > before).order_by(EventEntry.position)
            )
            .scalars()
            .all()
        )
    assert sorted([e.seq for e in events] + list(entries)) == list(range(before + 1, after + 1))
    assert [e.seq for e in bulk] == list(range(bulk[0].seq, bulk[0].seq + 5))
    assert bulk[0].data == {"state": "draft", "title": "序0", "bulk_upload_id": done["id"]}
    assert bulk[0].subject_type == "application" and bulk[0].subject_id == bulk[0].application_id
    assert bulk[0].actor_id == cast.applicant.user_id and bulk[0].organization_id == cast.undertaking
    # The feed serves them like any other event.
    r = await client.get("/api/v1/events", headers=cast.applicant.headers)
    assert r.status_code == 200
    assert {e["id"] for e in r.json()["items"]} >= {e.id for e in bulk}
