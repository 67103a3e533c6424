"""The change feed: cursors, filters, who sees what, and no event missed under concurrent commits."""

import asyncio
import random
import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.accounts.principal import Principal
from app.applications.models import Application
from app.core.outbox import record_event
from app.core.outbox_models import Event, EventCounter
from app.events.feed import encode_cursor, entry_query
from app.events.schemas import FEED_PAGE_SIZE
from tests.events.conftest import emit, make_application, make_batch
from tests.factories import make_org, make_user, seeded_org


async def _read_all(client: httpx.AsyncClient, headers: dict[str, str], **params: object) -> list[dict]:
    items: list[dict] = []
    after = None
    while True:
        query = {k: v for k, v in {**params, "after": after}.items() if v is not None}
        page = (await client.get("/api/v1/events", params=query, headers=headers)).json()
        items += page["items"]
        after = page["next_cursor"]
        if not page["has_more"]:
            return items


async def test_pages_follow_the_cursor_and_filter_by_type(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = make_user(app, make_org(app), "admin")
    before = (await client.get("/api/v1/events", headers=admin.headers)).json()
    ids = [emit(app, "call.updated" if i % 3 == 0 else "organization.updated") for i in range(10)]

    page = (
        await client.get(
            "/api/v1/events", params={"after": before["next_cursor"], "page_size": 4}, headers=admin.headers
        )
    ).json()
    assert [e["id"] for e in page["items"]] == ids[:4] and page["has_more"] is True
    item = page["items"][0]
    assert set(item) >= {"id", "type", "subject_type", "subject_id", "occurred_at", "actor_id", "data", "cursor"}
    assert page["next_cursor"] == page["items"][-1]["cursor"]
    rest = (
        await client.get(
            "/api/v1/events", params={"after": page["next_cursor"], "page_size": 100}, headers=admin.headers
        )
    ).json()
    assert [e["id"] for e in rest["items"]] == ids[4:] and rest["has_more"] is False
    # Caught up: the same cursor is stable and returns nothing new.
    again = (await client.get("/api/v1/events", params={"after": rest["next_cursor"]}, headers=admin.headers)).json()
    assert again["items"] == [] and again["next_cursor"] == rest["next_cursor"]

    calls = await _read_all(client, admin.headers, after=before["next_cursor"], types="call.updated")
    assert [e["id"] for e in calls] == ids[::3]
    family = await _read_all(client, admin.headers, after=before["next_cursor"], types="organization.*,call.updated")
    assert [e["id"] for e in family] == ids
    # The id of the last event processed works as a cursor too (the documented example).
    by_id = (await client.get("/api/v1/events", params={"after": ids[7]}, headers=admin.headers)).json()
    assert [e["id"] for e in by_id["items"]] == ids[8:]


async def test_bad_parameters_are_validation_problems(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = make_user(app, make_org(app), "admin")
    for params, pointer in [
        ({"after": "not-a-cursor"}, "query:/after"),
        ({"after": "evt_unknown"}, "query:/after"),
        ({"types": "Bad Type"}, "query:/types"),
        ({"page_size": FEED_PAGE_SIZE + 1}, "query:/page_size"),
    ]:
        response = await client.get("/api/v1/events", params=params, headers=admin.headers)
        assert response.status_code == 422, params
        assert response.json()["errors"][0]["pointer"] == pointer
        assert "not-a-cursor" not in response.text
    assert (await client.get("/api/v1/events")).status_code == 401


async def test_each_caller_sees_only_what_it_may(app: FastAPI, client: httpx.AsyncClient) -> None:
    unit, other_unit = make_org(app), make_org(app)
    bureau = seeded_org(app, "370000")
    other_bureau = seeded_org(app, "110000")
    applicant = make_user(app, unit, "applicant")
    stranger = make_user(app, other_unit, "applicant")
    reviewer = make_user(app, bureau, "reviewer")
    other_reviewer = make_user(app, other_bureau, "reviewer")
    office = make_user(app, seeded_org(app, "office"), "office")
    admin = make_user(app, make_org(app), "admin")

    draft = make_application(app, undertaking=unit, created_by=applicant.user_id, recommender=bureau)
    reviewing = make_application(
        app, undertaking=unit, created_by=applicant.user_id, recommender=bureau, state="provincial_review"
    )
    submitted = make_application(
        app, undertaking=unit, created_by=applicant.user_id, recommender=bureau, state="submitted"
    )
    e_draft = emit(app, "application.created", draft, application_id=draft, recommender_id=bureau)
    e_review = emit(app, "application.state_changed", reviewing, application_id=reviewing, recommender_id=bureau)
    e_submitted = emit(app, "application.state_changed", submitted, application_id=submitted)
    open_batch = make_batch(app, recommender=bureau, created_by=reviewer.user_id, state="open")
    sent_batch = make_batch(app, recommender=other_bureau, created_by=other_reviewer.user_id, state="submitted")
    e_open = emit(app, "batch.created", open_batch, recommender_id=bureau)
    e_batch = emit(app, "batch.submitted", sent_batch, recommender_id=other_bureau)
    e_org = emit(app, "organization.updated", unit, organization_id=unit)
    e_call = emit(app, "call.updated")

    async def seen(actor) -> set[str]:  # type: ignore[no-untyped-def]
        return {e["id"] for e in await _read_all(client, actor.headers)}

    everything = {e_draft, e_review, e_submitted, e_open, e_batch, e_org, e_call}
    reference = {e_org, e_call}  # everyone reads calls and organizations
    assert await seen(admin) >= everything
    assert (await seen(applicant)) & everything == {e_draft, e_review, e_submitted} | reference
    assert (await seen(stranger)) & everything == reference
    assert (await seen(reviewer)) & everything == {e_review, e_submitted, e_open} | reference
    assert (await seen(other_reviewer)) & everything == {e_batch} | reference
    # The office: what was submitted to it, and a list once submitted (not one still open).
    assert (await seen(office)) & everything == {e_submitted, e_batch} | reference

    # What a caller received stays in its feed: a mirror learns of a deletion from `application.deleted`.
    with app.state.database.transaction() as session:
        session.execute(sa.delete(Application).where(Application.id == draft))
    assert e_draft in await seen(applicant)


async def test_a_caught_up_reader_skips_invisible_events_but_never_a_visible_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    unit = make_org(app)
    member = make_user(app, unit, "applicant")
    start = (await client.get("/api/v1/events", headers=member.headers)).json()["next_cursor"]
    hidden = make_application(app, undertaking=make_org(app), created_by=member.user_id)
    for _ in range(5):
        emit(app, "application.updated", hidden, application_id=hidden)  # another unit's draft: not for this member
    page = (await client.get("/api/v1/events", params={"after": start}, headers=member.headers)).json()
    assert page["items"] == [] and page["has_more"] is False and page["next_cursor"] != start
    own = make_application(app, undertaking=unit, created_by=member.user_id)
    mine = emit(app, "application.updated", own, application_id=own)
    page = (await client.get("/api/v1/events", params={"after": page["next_cursor"]}, headers=member.headers)).json()
    assert [e["id"] for e in page["items"]] == [mine]


async def test_no_event_is_missed_when_transactions_commit_out_of_order(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = make_user(app, make_org(app), "admin")
    start = (await client.get("/api/v1/events", headers=admin.headers)).json()["next_cursor"]
    writers, transactions = 8, 30
    errors: list[BaseException] = []

    def write(n: int) -> None:
        rng = random.Random(n)
        try:
            for _ in range(transactions):
                with app.state.database.transaction() as session:
                    # Begin, do some work, dawdle, then commit: later-begun transactions overtake earlier ones.
                    session.execute(sa.select(sa.func.count()).select_from(EventCounter))
                    for _ in range(rng.randint(1, 3)):
                        record_event(session, "call.updated", SimpleNamespace(id=f"w{n}"), now=datetime.now(UTC))
                    time.sleep(rng.random() * 0.003)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    seen: list[dict] = []
    cursor = start
    while True:
        done = not any(t.is_alive() for t in threads)
        page = (
            await client.get("/api/v1/events", params={"after": cursor, "page_size": 7}, headers=admin.headers)
        ).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if done and not page["has_more"] and not page["items"]:
            break
        if not page["items"]:
            await asyncio.sleep(0.001)
    for t in threads:
        t.join()
    assert not errors
    ids = [e["id"] for e in seen]
    assert len(ids) == len(set(ids)), "an event was read twice"
    with app.state.database.reader() as session:
        expected = list(
            session.execute(sa.select(Event.id).where(Event.subject_id.like("w%")).order_by(Event.seq)).scalars()
        )
    assert len(expected) >= writers * transactions
    assert ids == expected, "an event was missed or read out of order"
    with app.state.database.reader() as session:
        seqs = session.execute(sa.select(Event.seq).where(Event.id.in_(ids)).order_by(Event.seq)).scalars().all()
    assert [e["cursor"] for e in seen] == [encode_cursor(s) for s in seqs]


def _insert_events(app: FastAPI, count: int) -> int:
    """``count`` events straight into the log with their entries (everyone reads calls' events), as a
    long-running service would have; returns the last position."""
    with app.state.database.transaction() as session:
        first = session.execute(sa.select(EventCounter.value)).scalar_one() + 1
        last = first + count - 1
        if session.get_bind().dialect.name == "postgresql":
            numbers = f"SELECT g AS n FROM generate_series({first}, {last}) AS g"
        else:
            numbers = (
                f"WITH RECURSIVE s(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM s WHERE n < {last}) "
                "SELECT n FROM s"
            )
        session.execute(
            sa.text(
                "INSERT INTO events (seq, id, type, subject_type, subject_id, occurred_at, data) "
                f"SELECT n, 'evt_bulk' || n, 'call.updated', 'call', 'call_bulk', :now, '{{}}' FROM ({numbers}) AS numbers"
            ),
            {"now": datetime.now(UTC).replace(tzinfo=None)},
        )
        session.execute(
            sa.text(
                f"INSERT INTO event_entries (position, event_seq, audience) "
                f"SELECT n + {count}, n, 'public' FROM ({numbers}) AS numbers"
            )
        )
        session.execute(sa.update(EventCounter).values(value=last + count))
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.text("ANALYZE events"))
            session.execute(sa.text("ANALYZE event_entries"))
    return last + count


async def test_the_end_of_a_long_feed_is_read_by_key(app: FastAPI, client: httpx.AsyncClient) -> None:
    last = _insert_events(app, 100_000)
    office = make_user(app, seeded_org(app, "office"), "office")
    unit = make_org(app)
    applicant = make_user(app, unit, "applicant")
    page = (
        await client.get(
            "/api/v1/events", params={"after": encode_cursor(last - 200), "page_size": 500}, headers=office.headers
        )
    ).json()
    assert len(page["items"]) == 200 and page["has_more"] is False
    principals = [
        Principal(
            user_id=office.user_id,
            username="o",
            display_name="o",
            organization_id=office.organization_id,
            province_code="110000",
            recommender_kind=None,
            roles=frozenset({"office"}),
        ),
        Principal(
            user_id=applicant.user_id,
            username="a",
            display_name="a",
            organization_id=unit,
            province_code="370000",
            recommender_kind=None,
            roles=frozenset({"applicant"}),
        ),
    ]
    with app.state.database.reader() as session:
        dialect = session.get_bind().dialect.name
        for principal in principals:
            query = entry_query(principal, last - 500, last, 501)
            compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
            explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
            plan = " ".join(str(r[-1]) for r in session.execute(sa.text(explain + str(compiled))))
            if dialect == "sqlite":
                assert "ix_event_entries_audience_position" in plan, plan
            else:
                # By the caller's audiences' index: never the whole log.
                assert "Seq Scan on events" not in plan and "Seq Scan on event_entries" not in plan, plan
