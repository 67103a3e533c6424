"""Event types are a closed set (unknown names and patterns that match none are refused, with a pointer);
a cursor ahead of the log answers 409 ``cursor_ahead``, one into a pruned range 410 ``cursor_expired``."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.core.settings import Settings
from app.events.feed import encode_cursor
from app.worker import Worker
from tests.events.conftest import emit
from tests.factories import make_org, make_user


@pytest.mark.parametrize(
    ("types", "pointer"),
    [
        (["application.craeted"], "/event_types/0"),
        (["application.created", "aplication.*"], "/event_types/1"),
        (["application.created.*"], "/event_types/0"),
        (["webhook.test"], "/event_types/0"),
    ],
)
async def test_a_subscription_to_an_unknown_type_is_refused(
    app: FastAPI, client: httpx.AsyncClient, types: list[str], pointer: str
) -> None:
    owner = make_user(app, make_org(app), "applicant")
    r = await client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "event_types": types}, headers=owner.headers
    )
    assert r.status_code == 422, r.text
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [(pointer, "unknown_event_type")]


@pytest.mark.parametrize("types", [["*"], ["application.*"], ["batch.submitted", "call.*"]])
async def test_known_types_and_families_are_accepted(app: FastAPI, client: httpx.AsyncClient, types: list[str]) -> None:
    owner = make_user(app, make_org(app), "applicant")
    r = await client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "event_types": types}, headers=owner.headers
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("types", ["aplication.*", "application.craeted", "call.updated,batch.sent"])
async def test_a_feed_filter_matching_no_type_is_refused(app: FastAPI, client: httpx.AsyncClient, types: str) -> None:
    reader = make_user(app, make_org(app), "applicant")
    r = await client.get("/api/v1/events", params={"types": types}, headers=reader.headers)
    assert r.status_code == 422, r.text
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [("query:/types", "unknown_event_type")]
    ok = await client.get("/api/v1/events", params={"types": "application.*,call.updated"}, headers=reader.headers)
    assert ok.status_code == 200, ok.text


async def test_a_cursor_ahead_of_the_log_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    reader = make_user(app, make_org(app), "applicant")
    emit(app, "call.updated")
    page = (await client.get("/api/v1/events", headers=reader.headers)).json()
    assert (await client.get("/api/v1/events", params={"after": page["next_cursor"]}, headers=reader.headers)).json()[
        "items"
    ] == []
    # A cursor kept from a log that was later restored from an older backup.
    ahead = await client.get("/api/v1/events", params={"after": encode_cursor(10**9)}, headers=reader.headers)
    assert ahead.status_code == 409, ahead.text
    assert ahead.json()["code"] == "cursor_ahead"
    assert ahead.json()["head_cursor"] == page["next_cursor"]


async def test_a_cursor_into_the_pruned_range_has_expired(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    reader = make_user(app, make_org(app), "applicant")
    now = datetime.now(UTC)
    emit(app, "call.updated", now=now - timedelta(days=40))
    first = (await client.get("/api/v1/events", params={"page_size": 1}, headers=reader.headers)).json()
    emit(app, "call.updated", now=now - timedelta(days=35))
    kept = emit(app, "call.updated", now=now)
    settings.event_retention_days = 30
    worker = Worker(app.state.database, settings)
    try:
        assert worker.run_once(now).pruned["events"] >= 2
    finally:
        worker.close()
    expired = await client.get("/api/v1/events", params={"after": first["next_cursor"]}, headers=reader.headers)
    assert expired.status_code == 410, expired.text
    assert expired.json()["code"] == "cursor_expired"
    # From the start: what is kept.
    fresh = await client.get("/api/v1/events", headers=reader.headers)
    assert fresh.status_code == 200 and kept in [e["id"] for e in fresh.json()["items"]]
