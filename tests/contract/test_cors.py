"""CORS for browser frontends on listed origins (SMPS_CORS_ORIGINS); nothing for any other origin."""

from collections.abc import AsyncIterator

import httpx
import pydantic
import pytest
from fastapi import FastAPI

from app.core.settings import Settings
from app.main import create_app
from tests.conftest import FakeClock
from tests.factories import make_org, make_user

FRONTEND = "https://portal.sbj.example.cn"
OTHER = "https://evil.example.com"


@pytest.fixture
async def cors_client(settings: Settings, clock: FakeClock) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings.model_copy(update={"cors_origins": [FRONTEND, "http://localhost:5173"]}), clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield app, c
    app.state.database.dispose()


def _cors_headers(r: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in r.headers.items() if k.startswith("access-control-")}


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, if-match, idempotency-key",
    }


async def test_a_listed_origin_may_preflight_a_change(cors_client: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = cors_client
    r = await client.options("/api/v1/applications/app_x/transitions", headers=_preflight(FRONTEND))
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == FRONTEND
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {
        "authorization",
        "content-type",
        "if-match",
        "if-none-match",
        "idempotency-key",
        "accept-language",
    } <= allowed
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in r.headers


async def test_a_listed_origin_reads_the_exposed_headers(cors_client: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = cors_client
    admin = make_user(app, make_org(app), "admin")
    r = await client.get("/api/v1/me", headers={**admin.headers, "Origin": "http://localhost:5173"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "http://localhost:5173"
    exposed = {h.strip() for h in r.headers["access-control-expose-headers"].split(",")}
    assert exposed == {
        "ETag",
        "Application-ETag",
        "Location",
        "Idempotent-Replayed",
        "Retry-After",
        "Content-Disposition",
        "Content-Range",
        "X-Request-ID",
        "WWW-Authenticate",
    }
    assert "access-control-allow-credentials" not in r.headers
    # A problem is readable too (the frontend shows its message).
    missing = await client.get("/api/v1/applications/app_missing", headers={**admin.headers, "Origin": FRONTEND})
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == FRONTEND


async def test_an_unlisted_origin_gets_no_cors_headers(cors_client: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = cors_client
    for origin in (OTHER, FRONTEND + ":8443", FRONTEND.replace("https", "http"), "null"):
        preflight = await client.options("/api/v1/calls", headers=_preflight(origin, "GET"))
        assert _cors_headers(preflight) == {}, origin
        assert preflight.status_code == 405  # an ordinary OPTIONS request: no such method
        actual = await client.get("/api/v1/calls", headers={"Origin": origin})
        assert actual.status_code == 200 and _cors_headers(actual) == {}, origin
        assert "Origin" in actual.headers["vary"]


async def test_cors_is_off_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options("/api/v1/calls", headers=_preflight(FRONTEND, "GET"))
    actual = await client.get("/api/v1/calls", headers={"Origin": FRONTEND})
    assert _cors_headers(preflight) == {} and _cors_headers(actual) == {}


def test_origins_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMPS_CORS_ORIGINS", f" {FRONTEND} ,http://localhost:5173,")
    assert Settings().cors_origins == [FRONTEND, "http://localhost:5173"]
    for wrong in ("portal.example.cn", "https://portal.example.cn/app", "*", "https://a.example.cn?x=1"):
        monkeypatch.setenv("SMPS_CORS_ORIGINS", wrong)
        with pytest.raises(pydantic.ValidationError):
            Settings()


async def test_a_preflight_with_the_tracing_headers_is_allowed(cors_client: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = cors_client
    asked = "authorization, traceparent, tracestate, baggage, sentry-trace, x-request-id"
    r = await client.options(
        "/api/v1/applications",
        headers={"Origin": FRONTEND, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": asked},
    )
    assert r.status_code == 200, r.text
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert set(asked.split(", ")) <= allowed
    refused = await client.options(
        "/api/v1/applications",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-tenant",
        },
    )
    assert refused.status_code == 400


async def test_more_request_headers_may_be_allowed(settings: Settings, clock: FakeClock) -> None:
    configured = settings.model_copy(update={"cors_origins": [FRONTEND], "cors_allow_headers": ["x-tenant"]})
    app = create_app(configured, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        r = await client.options(
            "/api/v1/applications",
            headers={
                "Origin": FRONTEND,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "x-tenant, traceparent",
            },
        )
    app.state.database.dispose()
    assert r.status_code == 200, r.text


def test_allowed_headers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMPS_CORS_ALLOW_HEADERS", "X-Tenant, x-client-version")
    assert Settings().cors_allow_headers == ["x-tenant", "x-client-version"]
    monkeypatch.setenv("SMPS_CORS_ALLOW_HEADERS", "bad header")
    with pytest.raises(pydantic.ValidationError):
        Settings()
