"""The feed and webhooks show a caller every event of a resource it can see, and webhooks exactly the feed.

A realistic flow produces every event type: a call and an organization changed, drafts deleted (one
entered by the recommender), an application walked through sign-off (one party on paper), review and a
batch that is submitted, returned with new items on it, resubmitted, acknowledged and decided. At two
moments, for every role, the events of the feed are compared with what the caller's own GETs can see
now: every event of an application for which GET answers 200 (its earlier events included), of a batch
likewise, calls and organizations for everyone; what it received before stays. The deliveries of the
caller's webhook are then exactly its feed. ``application.deleted`` follows the draft as it was just
before its deletion. (tests/events/test_mirror.py checks the exact set after every step.)
"""

from datetime import UTC, datetime

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.core.outbox_models import Event
from app.events.models import WebhookDelivery
from app.worker import Worker
from tests.applications.cast import Cast, Flow, make_cast
from tests.attachments import files
from tests.batches.helpers import act, open_batch, put_items, recommended
from tests.conftest import Actor
from tests.events.conftest import Receiver
from tests.factories import credit_code, make_user, seeded_org
from tests.tags import etag_of

ROLES = (
    "applicant",
    "stranger",
    "undertaking_signatory",
    "guarantor_signatory",
    "stranger_signatory",
    "reviewer",
    "other_reviewer",
    "office",
    "admin",
)
EVERY_TYPE = {
    "call.updated",
    "organization.created",
    "organization.updated",
    "application.created",
    "application.updated",
    "application.deleted",
    "application.state_changed",
    "attachment.added",
    "attachment.deleted",
    "endorsement.recorded",
    "endorsement.verified",
    "review.recorded",
    "batch.created",
    "batch.items_set",
    "batch.submitted",
    "batch.returned",
    "batch.acknowledged",
}


def _actors(cast: Cast) -> dict[str, Actor]:
    return {role: getattr(cast, role) for role in ROLES}


async def _feed(client: httpx.AsyncClient, actor: Actor) -> set[str]:
    seen: set[str] = set()
    after = None
    while True:
        page = (
            await client.get(
                "/api/v1/events",
                params={"page_size": 500, **({"after": after} if after else {})},
                headers=actor.headers,
            )
        ).json()
        seen |= {e["id"] for e in page["items"]}
        after = page["next_cursor"]
        if not page["has_more"]:
            return seen


async def _can_get(client: httpx.AsyncClient, actor: Actor, path: str) -> bool:
    status = (await client.get(path, headers=actor.headers)).status_code
    assert status in (200, 404), (path, status)
    return status == 200


async def _expected(
    app: FastAPI, client: httpx.AsyncClient, actor: Actor, start: int, could_see_deleted: dict[str, bool]
) -> tuple[set[str], set[str]]:
    """The events after ``start`` whose resource ``actor`` can see now; and every type met."""
    with app.state.database.reader() as session:
        events = session.execute(sa.select(Event).where(Event.seq > start).order_by(Event.seq)).scalars().all()
    out: set[str] = set()
    for e in events:
        if e.type == "application.deleted":
            visible = could_see_deleted[e.subject_id]
        elif e.application_id:
            visible = await _can_get(client, actor, f"/api/v1/applications/{e.application_id}")
        elif e.subject_type == "batch":
            visible = await _can_get(client, actor, f"/api/v1/batches/{e.subject_id}")
        elif e.subject_type == "organization":
            visible = await _can_get(client, actor, f"/api/v1/organizations/{e.subject_id}")
        else:
            assert e.subject_type == "call", e.type
            visible = await _can_get(client, actor, f"/api/v1/calls/{e.subject_id}")
        if visible:
            out.add(e.id)
    return out, {e.type for e in events}


async def _check(
    app: FastAPI,
    client: httpx.AsyncClient,
    worker: Worker,
    cast: Cast,
    start: int,
    hooks: dict[str, str],
    deleted: dict[str, dict[str, bool]],
    before: tuple[int, dict[str, set[str]]] | None = None,
) -> tuple[set[str], dict[str, set[str]]]:
    """Feed ⊇ what the caller sees now and what it was shown before; webhook deliveries == the feed."""
    worker.run_once(datetime.now(UTC))
    since = _all_since(app, start)
    types: set[str] = set()
    now: dict[str, set[str]] = {}
    for role, actor in _actors(cast).items():
        expected, types = await _expected(app, client, actor, start, {a: seen[role] for a, seen in deleted.items()})
        feed = await _feed(client, actor) & since
        now[role] = feed
        assert feed >= expected, role
        if before is not None:
            assert feed >= before[1][role], role
        with app.state.database.reader() as session:
            delivered = set(
                session.execute(
                    sa.select(WebhookDelivery.event_id).where(WebhookDelivery.webhook_id == hooks[role])
                ).scalars()
            )
        assert delivered == feed, role
    return types, now


def _all_since(app: FastAPI, start: int, upto: int | None = None) -> set[str]:
    query = sa.select(Event.id).where(Event.seq > start)
    if upto is not None:
        query = query.where(Event.seq <= upto)
    with app.state.database.reader() as session:
        return set(session.execute(query).scalars())


def _head(app: FastAPI) -> int:
    with app.state.database.reader() as session:
        return session.execute(sa.select(sa.func.max(Event.seq))).scalar() or 0


async def _draft_deleted(client: httpx.AsyncClient, cast: Cast, flow: Flow, by: Actor) -> dict[str, bool]:
    """Delete a draft; returns, per role, whether it could see the draft just before."""
    seen = {
        role: await _can_get(client, actor, f"/api/v1/applications/{flow.id}") for role, actor in _actors(cast).items()
    }
    await flow.get(by)
    r = await client.delete(f"/api/v1/applications/{flow.id}", headers={**by.headers, "If-Match": flow.etag})
    assert r.status_code == 204, r.text
    return seen


async def test_every_role_sees_an_event_iff_it_sees_the_resource(
    app: FastAPI, client: httpx.AsyncClient, worker: Worker, receiver_factory: type[Receiver]
) -> None:
    cast = await make_cast(app, client)
    office, reviewer = cast.office, cast.reviewer
    receiver = receiver_factory()
    hooks = {}
    for role, actor in _actors(cast).items():
        r = await client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["*"]}, headers=actor.headers
        )
        assert r.status_code == 201, r.text
        hooks[role] = r.json()["id"]
    start = _head(app)

    # Reference data.
    call_url = f"/api/v1/calls/{cast.call_id}"
    etag = (await client.get(call_url)).headers["etag"]
    r = await client.patch(
        call_url,
        json={"deadline": "2022-11-30T23:59:59+08:00", "reason": "延期"},
        headers={**office.headers, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        "/api/v1/organizations",
        headers=office.headers,
        json={
            "name": "济南市槐荫区人民政府",
            "credit_code": credit_code("370104"),
            "province_code": "370000",
            "kind": "government_agency",
        },
    )
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"/api/v1/organizations/{r.json()['id']}",
        json={"name_en": "Huaiyin District"},
        headers={**office.headers, "If-Match": r.headers["etag"]},
    )
    assert r.status_code == 200, r.text

    # Two drafts deleted: the unit's own, with a file added and removed, and one the bureau entered.
    deleted: dict[str, dict[str, bool]] = {}
    own = Flow(client, cast)
    await own.create(title="删除的草稿")
    scan = await own.attach_scan()
    removed = await client.delete(f"/api/v1/attachments/{scan}", headers={**cast.applicant.headers, "If-Match": "*"})
    assert removed.status_code == 204, removed.text
    deleted[own.id] = await _draft_deleted(client, cast, own, cast.applicant)
    entered = Flow(client, cast)
    form = cast.form(title="代录后删除", parties={"undertaking": cast.undertaking, "participating": []})
    r = await client.post("/api/v1/applications", json=form, headers=reviewer.headers)
    assert r.status_code == 201, r.text
    entered.id = r.json()["id"]
    deleted[entered.id] = await _draft_deleted(client, cast, entered, reviewer)
    assert deleted[entered.id]["reviewer"] and not deleted[own.id]["reviewer"] and not deleted[own.id]["office"]

    # An application through sign-off (the guarantor on paper), review and the list.
    first = Flow(client, cast)
    await first.create(title="第一个申请")
    r = await client.patch(
        f"/api/v1/applications/{first.id}",
        json={"funding": {"amount_cny": 1500000, "sources": "区财政"}},
        headers={**cast.applicant.headers, "If-Match": first.etag},
    )
    assert r.status_code == 200, r.text
    await first.attach_scan()
    r = await client.post(
        f"/api/v1/applications/{first.id}/attachments",
        headers={**cast.applicant.headers, "If-Match": await etag_of(client, first.id, cast.applicant.headers)},
        files={"file": ("盖章页.pdf", files.pdf(pages=1), "application/pdf")},
        data={"kind": "paper_endorsement"},
    )
    assert r.status_code == 201, r.text
    page = r.json()["id"]
    await first.get(cast.applicant)
    assert (await first.act("submit")).status_code == 200
    for signatory, role, org in (
        (cast.undertaking_signatory, "undertaking", cast.undertaking),
        (cast.participating_signatory, "participating", cast.participating),
        (cast.guidance_signatory, "guidance", cast.guidance),
    ):
        assert (await first.endorse(signatory, role, org)).status_code == 201
    paper = await first.endorse(cast.applicant, "guarantor", cast.guarantor, mode="paper", attachment_id=page)
    assert paper.status_code == 201, paper.text
    r = await first.post(f"/endorsements/{paper.json()['id']}/verification", reviewer, {"verdict": "confirmed"})
    assert r.status_code == 200, r.text
    assert (await first.review("recommend", "同意推荐")).status_code == 201

    batch = (await open_batch(client, cast)).json()
    r = await put_items(
        client,
        batch,
        reviewer,
        [first.id],
        (await client.get(f"/api/v1/batches/{batch['id']}", headers=reviewer.headers)).headers["etag"],
    )
    assert r.status_code == 200, r.text
    r = await act(client, batch["id"], reviewer, r.headers["etag"], "submit")
    assert r.status_code == 200, r.text
    r = await act(client, batch["id"], office, r.headers["etag"], "return", "请补充排序说明")
    assert r.status_code == 200, r.text
    # On the returned list: an application never submitted to the office.
    second = await recommended(client, cast, "第二个申请")
    r = await put_items(client, batch, reviewer, [first.id, second.id], r.headers["etag"])
    assert r.status_code == 200, r.text
    etag = r.headers["etag"]

    _, first_seen = await _check(app, client, worker, cast, start, hooks, deleted)
    first_head = _head(app)
    shown = (await client.get(f"/api/v1/batches/{batch['id']}", headers=office.headers)).json()
    assert shown["items"] == [] and shown["state"] == "returned"
    listed = (await client.get("/api/v1/batches", headers=office.headers)).json()["items"]
    assert [b["item_count"] for b in listed if b["id"] == batch["id"]] == [0]
    assert (await client.get(f"/api/v1/applications/{second.id}", headers=office.headers)).status_code == 404
    csv = await client.get(f"/api/v1/batches/{batch['id']}/recommended-list.csv", headers=office.headers)
    assert csv.status_code == 200 and "第二个申请" not in csv.text and "第一个申请" not in csv.text
    summary = (await client.get(f"/api/v1/calls/{cast.call_id}/summary", headers=office.headers)).json()
    assert [row["item_count"] for row in summary["recommenders"] if row["batch_id"] == batch["id"]] == [0]
    own_view = (await client.get(f"/api/v1/batches/{batch['id']}", headers=reviewer.headers)).json()
    assert [i["application_id"] for i in own_view["items"]] == [first.id, second.id]

    # Resubmitted, acknowledged, decided: now the office sees the list's items and their histories.
    r = await act(client, batch["id"], reviewer, etag, "submit")
    assert r.status_code == 200, r.text
    r = await act(client, batch["id"], office, r.headers["etag"], "acknowledge")
    assert r.status_code == 200, r.text
    await second.get(office)
    r = await second.post("/outcome", office, {"decision": "approve", "document_number": "国标委发〔2023〕5号"})
    assert r.status_code == 200, r.text

    types, _ = await _check(app, client, worker, cast, start, hooks, deleted, (first_head, first_seen))
    assert types >= EVERY_TYPE, EVERY_TYPE - types
    office_feed = await _feed(client, office)
    assert all(e not in office_feed for e in _ids_of(app, "application.deleted"))
    reviewer_user = make_user(app, seeded_org(app, "110000"), "reviewer")  # a bureau created later sees none of it
    assert await _feed(client, reviewer_user) & _ids_of(app, "batch.created") == set()


def _ids_of(app: FastAPI, type: str) -> set[str]:
    with app.state.database.reader() as session:
        return set(session.execute(sa.select(Event.id).where(Event.type == type)).scalars())
