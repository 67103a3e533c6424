"""GET /metrics in the process: counts by route template, the guard, the business gauges."""

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from app.core.settings import Settings
from app.main import create_app
from tests.applications.cast import Flow, make_cast
from tests.conftest import FakeClock
from tests.factories import make_user, seeded_org
from tests.ops.scrape import request_count, samples, value

TOKEN = "metrics-scraper-token-0123456789"
APPLICATION = "/api/v1/applications/{application_id}"


@pytest.fixture
def app(settings: Settings, clock: FakeClock):  # type: ignore[no-untyped-def]
    application = create_app(settings.model_copy(update={"metrics_token": SecretStr(TOKEN)}), clock=clock)
    yield application
    application.state.database.dispose()


SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


async def scrape(client: httpx.AsyncClient) -> str:
    r = await client.get("/metrics", headers=SCRAPER)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return r.text


async def test_counts_follow_the_requests_by_route_template_never_the_raw_path(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    before = await scrape(client)
    for _ in range(3):
        assert (await flow.get(cast.applicant)).status_code == 200
    for missing in ("app_nope1", "app_nope2"):
        r = await client.get(f"/api/v1/applications/{missing}", headers=cast.applicant.headers)
        assert r.status_code == 404
    assert (await client.get("/no/such/path")).status_code == 404
    after = await scrape(client)
    assert request_count(after, "GET", APPLICATION, 200) - request_count(before, "GET", APPLICATION, 200) == 3
    assert request_count(after, "GET", APPLICATION, 404) - request_count(before, "GET", APPLICATION, 404) == 2
    assert request_count(after, "GET", "<unmatched>", 404) - request_count(before, "GET", "<unmatched>", 404) == 1
    assert request_count(after, "POST", "/api/v1/applications", 201) == 1
    # No series names an object: the ids stay out of every label.
    assert flow.id not in after and "app_nope1" not in after and "/no/such/path" not in after
    # The previous scrape is counted by the time of this one; this one is in flight while it is written.
    assert request_count(after, "GET", "/metrics", 200) == 1
    assert value(after, "smps_http_requests_in_flight") == 1
    bucket = samples(after)[
        (
            "smps_http_request_duration_seconds_bucket",
            (("le", "+Inf"), ("method", "GET"), ("route", APPLICATION), ("status", "200")),
        )
    ]
    assert bucket == 3


async def test_business_gauges_are_read_from_the_database(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    empty = await scrape(client)
    assert ("smps_applications", (("call", cast.call_id), ("state", "draft"))) not in samples(empty)
    first, second = Flow(client, cast), Flow(client, cast)
    await first.create()
    await second.create()
    await second.attach_scan()
    assert (await second.act("submit")).status_code == 200
    text = await scrape(client)
    states = {labels: v for (name, labels), v in samples(text).items() if name == "smps_applications" and v}
    assert states == {
        (("call", cast.call_id), ("state", "draft")): 1,
        (("call", cast.call_id), ("state", "endorsing")): 1,
    }, states
    # Every change wrote an event; no worker ran, so none was fanned out yet.
    newest = value(text, "smps_events_newest_seq")
    assert newest >= 3
    assert value(text, "smps_outbox_lag_events") == newest
    assert value(text, "smps_webhook_deliveries_undelivered") == 0
    assert value(text, "smps_webhook_oldest_undelivered_age_seconds") == 0
    assert value(text, "smps_bulk_uploads_in_progress", state="running") == 0
    assert value(text, "smps_db_pool_checked_out", engine="write") >= 0


async def test_without_the_token_or_the_admin_role_the_answer_is_a_problem(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    office = seeded_org(app, "office")
    admin, office_user = make_user(app, office, "admin"), make_user(app, office, "office")
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Bearer {TOKEN}x"}):
        r = await client.get("/metrics", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "not_authenticated"
        assert "smps_http" not in r.text
    r = await client.get("/metrics", headers=office_user.headers)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await client.get("/metrics", headers=admin.headers)
    assert r.status_code == 200 and "smps_http_request_duration_seconds" in r.text


async def test_no_token_configured_means_admins_only(settings: Settings, clock: FakeClock) -> None:
    application = create_app(settings, clock=clock)
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            # An empty bearer never matches an unset token.
            assert (await client.get("/metrics", headers={"Authorization": "Bearer "})).status_code == 401
            admin = make_user(application, seeded_org(application, "office"), "admin")
            assert (await client.get("/metrics", headers=admin.headers)).status_code == 200
    finally:
        application.state.database.dispose()


async def test_openmetrics_when_the_scraper_asks(client: httpx.AsyncClient) -> None:
    r = await client.get("/metrics", headers={**SCRAPER, "Accept": "application/openmetrics-text; version=1.0.0"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.rstrip().endswith("# EOF")
