"""Idempotency-Key on POSTs: replay, reuse with another body, in flight, per user, expiry, streaming."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.core.idempotency_models import IdempotencyKey
from app.events.models import Webhook
from app.organizations.models import Organization
from app.worker import prune
from tests.factories import credit_code, make_org, make_user


def _org(code: str | None = None) -> dict:
    return {
        "name": "济南市历下区人民政府",
        "credit_code": code or credit_code(),
        "province_code": "370000",
        "kind": "government_agency",
    }


def _hook(description: str = "同步") -> dict:
    return {"url": "http://127.0.0.1:9/h", "event_types": ["*"], "description": description}


def _key_rows(app: FastAPI) -> list[IdempotencyKey]:
    with app.state.database.reader() as session:
        return list(session.execute(sa.select(IdempotencyKey)).scalars())


@pytest.fixture
def calls(app: FastAPI) -> dict[str, int]:
    """Routes for the tests, counting how often each ran."""
    counts = {"fail": 0, "boom": 0, "upload": 0}

    @app.post("/api/v1/test-only/fail")
    def fail() -> JSONResponse:
        counts["fail"] += 1
        return JSONResponse({"n": counts["fail"]}, status_code=503)

    @app.post("/api/v1/test-only/boom")
    def boom() -> None:
        counts["boom"] += 1
        raise RuntimeError("boom")

    @app.post("/api/v1/test-only/upload")
    async def upload(request: Request) -> dict[str, int]:
        counts["upload"] += 1
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"bytes": size, "run": counts["upload"]}

    return counts


async def test_a_retry_replays_the_stored_response_and_creates_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = make_user(app, make_org(app), "admin")
    headers = {**admin.headers, "Idempotency-Key": "create-org-1"}
    body = _org()
    first = await client.post("/api/v1/organizations", json=body, headers=headers)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = await client.post("/api/v1/organizations", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    with app.state.database.reader() as session:
        count = session.execute(sa.select(sa.func.count()).where(Organization.credit_code == body["credit_code"]))
        assert count.scalar_one() == 1

    hook_headers = {**admin.headers, "Idempotency-Key": "hook-1"}
    created = await client.post("/api/v1/webhooks", json=_hook(), headers=hook_headers)
    replayed = await client.post("/api/v1/webhooks", json=_hook(), headers=hook_headers)
    assert replayed.json()["secret"] == created.json()["secret"]
    assert replayed.headers["location"] == created.headers["location"]


async def test_the_same_key_with_another_request_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = make_user(app, make_org(app), "admin")
    headers = {**admin.headers, "Idempotency-Key": "k-1"}
    assert (await client.post("/api/v1/webhooks", json=_hook("一"), headers=headers)).status_code == 201
    reused = await client.post("/api/v1/webhooks", json=_hook("二"), headers=headers)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert reused.headers["content-type"] == "application/problem+json"
    elsewhere = await client.post("/api/v1/organizations", json=_hook("一"), headers=headers)
    assert elsewhere.status_code == 422 and elsewhere.json()["code"] == "idempotency_key_reused"
    with app.state.database.reader() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Webhook)).scalar_one() == 1


async def test_client_errors_are_replayed_too(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = make_user(app, make_org(app), "admin")
    headers = {**admin.headers, "Idempotency-Key": "bad-1"}
    body = {**_org(), "province_code": "abc"}
    first = await client.post("/api/v1/organizations", json=body, headers=headers)
    again = await client.post("/api/v1/organizations", json=body, headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.headers["idempotent-replayed"] == "true"
    assert {k: v for k, v in first.json().items() if k != "request_id"} == {
        k: v for k, v in again.json().items() if k != "request_id"
    }


async def test_a_request_in_flight_answers_409(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = make_user(app, make_org(app), "applicant")
    now = datetime.now(UTC)
    with app.state.database.writer() as session:
        session.add(
            IdempotencyKey(
                user_id=user.user_id,
                key="busy",
                method="POST",
                path="/api/v1/webhooks",
                state="in_flight",
                created_at=now,
                expires_at=now + timedelta(days=9000),
            )
        )
        session.commit()
    response = await client.post("/api/v1/webhooks", json=_hook(), headers={**user.headers, "Idempotency-Key": "busy"})
    assert response.status_code == 409 and response.json()["code"] == "idempotency_in_flight"


async def test_concurrent_requests_with_one_key_create_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = make_user(app, make_org(app), "applicant")
    headers = {**user.headers, "Idempotency-Key": "race"}
    responses = await asyncio.gather(
        *[client.post("/api/v1/webhooks", json=_hook(), headers=headers) for _ in range(10)]
    )
    originals = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(originals) == 1
    for r in responses:
        if r is not originals[0]:
            assert r.status_code == 409 or (r.status_code == 201 and r.content == originals[0].content)
    with app.state.database.reader() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Webhook)).scalar_one() == 1


async def test_keys_belong_to_their_user(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = make_org(app)
    one, two = make_user(app, org, "applicant"), make_user(app, org, "applicant")
    a = await client.post("/api/v1/webhooks", json=_hook(), headers={**one.headers, "Idempotency-Key": "same"})
    b = await client.post("/api/v1/webhooks", json=_hook(), headers={**two.headers, "Idempotency-Key": "same"})
    assert a.status_code == b.status_code == 201 and "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]


async def test_an_expired_key_is_accepted_again(app: FastAPI, client: httpx.AsyncClient, clock, settings) -> None:  # type: ignore[no-untyped-def]
    user = make_user(app, make_org(app), "applicant")
    headers = {**user.headers, "Idempotency-Key": "daily"}
    first = await client.post("/api/v1/webhooks", json=_hook(), headers=headers)
    clock.advance(hours=23)
    assert (await client.post("/api/v1/webhooks", json=_hook(), headers=headers)).json()["id"] == first.json()["id"]
    clock.advance(hours=2)
    later = await client.post("/api/v1/webhooks", json=_hook(), headers=headers)
    assert later.status_code == 201 and "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]
    # The worker purges what expired.
    clock.advance(hours=25)
    assert prune(app.state.database, settings, clock())["idempotency_keys"] == 1
    assert _key_rows(app) == []


async def test_what_is_not_remembered(app: FastAPI, client: httpx.AsyncClient, calls: dict[str, int]) -> None:
    user = make_user(app, make_org(app), "applicant")
    # No credentials: the application answers 401 and nothing is stored.
    assert (await client.post("/api/v1/webhooks", json=_hook(), headers={"Idempotency-Key": "anon"})).status_code == 401
    # The token endpoint is not covered.
    await client.post(
        "/api/v1/auth/token",
        data={"username": user.username, "password": "x"},
        headers={**user.headers, "Idempotency-Key": "token"},
    )
    # Server errors and exceptions release the key: a retry runs again.
    headers = {**user.headers, "Idempotency-Key": "flaky"}
    for _ in range(2):
        assert (await client.post("/api/v1/test-only/fail", headers=headers)).status_code == 503
    assert calls["fail"] == 2
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
        for _ in range(2):
            response = await raw.post("/api/v1/test-only/boom", headers={**user.headers, "Idempotency-Key": "boom"})
            assert response.status_code == 500
    assert calls["boom"] == 2
    assert _key_rows(app) == []
    bad = await client.post("/api/v1/webhooks", json=_hook(), headers={**user.headers, "Idempotency-Key": "x" * 256})
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "header:/Idempotency-Key"


async def test_large_bodies_stream_through_and_are_compared_by_digest(
    app: FastAPI, client: httpx.AsyncClient, calls: dict[str, int]
) -> None:
    app.state.settings.max_json_body_bytes = 8 * 1024 * 1024  # the test route has no body limit of its own
    user = make_user(app, make_org(app), "applicant")
    headers = {**user.headers, "Idempotency-Key": "upload-1", "Content-Type": "application/octet-stream"}
    chunk = bytes(range(256)) * 256  # 64 KiB

    async def body(last: bytes = b"") -> AsyncIterator[bytes]:
        for _ in range(80):  # 5 MiB
            yield chunk
        yield last

    first = await client.post("/api/v1/test-only/upload", content=body(), headers=headers)
    assert first.status_code == 200 and first.json() == {"bytes": 80 * len(chunk), "run": 1}
    again = await client.post("/api/v1/test-only/upload", content=body(), headers=headers)
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    other = await client.post("/api/v1/test-only/upload", content=body(b"!"), headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert calls["upload"] == 1
    [row] = _key_rows(app)
    assert row.state == "completed" and len(row.request_sha256 or "") == 64


def test_the_openapi_document_declares_the_header(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    parameters = {p["name"] for p in paths["/api/v1/webhooks"]["post"]["parameters"]}
    assert "Idempotency-Key" in parameters
    assert "idempotency_in_flight" in paths["/api/v1/webhooks"]["post"]["responses"]["409"]["description"]
    assert "idempotency_key_reused" in paths["/api/v1/webhooks"]["post"]["responses"]["422"]["description"]
    token = paths["/api/v1/auth/token"]["post"]
    assert "Idempotency-Key" not in {p["name"] for p in token.get("parameters", [])}
    assert "Idempotency-Key" not in {p["name"] for p in paths["/api/v1/webhooks"]["get"].get("parameters", [])}
