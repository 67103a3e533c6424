"""Headers the service sends are the ones the document declares, and the ones it promises are sent."""

import json
import shutil
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from app.core.idempotency_models import IdempotencyKey
from app.openapi.headers import HEADERS
from tests.applications.cast import Flow, make_cast
from tests.conftest import ROOT_DIR
from tests.factories import PASSWORD, make_org, make_user

DOCUMENT = json.loads((ROOT_DIR / "openapi" / "openapi.json").read_text())


def assert_declared(method: str, template: str, response: httpx.Response) -> None:
    """Each header of the table that arrives is declared on that operation's response."""
    declared = DOCUMENT["paths"][template][method.lower()]["responses"][str(response.status_code)].get("headers", {})
    sent = {name for name in HEADERS if name.lower() in response.headers}
    assert sent <= set(declared), (method, template, response.status_code, sent - set(declared))
    required = {name for name, header in declared.items() if header.get("required")}
    assert required <= sent, (method, template, response.status_code, required - sent)


async def test_every_401_names_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    for url, headers in (("/api/v1/me", {}), ("/api/v1/applications", {"Authorization": "Bearer smps_nonsense"})):
        r = await client.get(url, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert_declared("GET", url, r)
    r = await client.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong-password"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


async def test_the_token_endpoint_is_never_cached(app: FastAPI, client: httpx.AsyncClient) -> None:
    make_user(app, make_org(app), "applicant", username="zhang")
    ok = await client.post("/api/v1/auth/token", data={"username": "zhang", "password": PASSWORD})
    bad = await client.post("/api/v1/auth/token", data={"username": "zhang", "password": "wrong-password"})
    assert ok.status_code == 200 and bad.status_code == 401
    assert ok.headers["cache-control"] == bad.headers["cache-control"] == "no-store"


async def test_per_caller_and_localized_responses_say_so(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    r = await client.get(
        f"/api/v1/applications/{flow.id}/validation", headers={**cast.applicant.headers, "Accept-Language": "en"}
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-cache"
    assert "Accept-Language" in r.headers["vary"] and r.headers["content-language"] == "en"
    assert "Authorization" in r.headers["vary"]
    problem = await client.get("/api/v1/applications/app_missing", headers=cast.applicant.headers)
    assert problem.status_code == 404 and "Accept-Language" in problem.headers["vary"]
    assert problem.headers["cache-control"] == "private, no-cache" and "Authorization" in problem.headers["vary"]
    public = await client.get("/api/v1/provinces")
    assert "cache-control" not in public.headers


async def test_an_application_is_not_sent_again_when_it_has_not_changed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    url, template = f"/api/v1/applications/{flow.id}", "/api/v1/applications/{application_id}"
    first = await client.get(url, headers=cast.applicant.headers)
    assert first.status_code == 200
    assert_declared("GET", template, first)
    for value in (first.headers["etag"], f'"0", W/{first.headers["etag"]}', "*"):
        same = await client.get(url, headers={**cast.applicant.headers, "If-None-Match": value})
        assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == first.headers["etag"], value
        assert_declared("GET", template, same)
    stale = await client.get(url, headers={**cast.applicant.headers, "If-None-Match": '"0"'})
    assert stale.status_code == 200 and stale.json()["id"] == flow.id


async def test_a_bulk_upload_says_where_to_follow_it(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    r = await client.post(
        "/api/v1/bulk-uploads",
        json={"mode": "valid_rows", "rows": [cast.form(title="批量试点")]},
        headers=cast.applicant.headers,
    )
    assert r.status_code == 202
    assert_declared("POST", "/api/v1/bulk-uploads", r)
    progress = await client.get(r.headers["location"], headers=cast.applicant.headers)
    assert progress.status_code == 200 and progress.json()["id"] == r.json()["id"]
    assert "Accept-Language" in progress.headers["vary"]


async def test_a_request_in_flight_says_when_to_retry(app: FastAPI, client: httpx.AsyncClient) -> None:
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
                expires_at=now + timedelta(days=1),
            )
        )
        session.commit()
    r = await client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/h", "event_types": ["*"]},
        headers={**user.headers, "Idempotency-Key": "busy"},
    )
    assert r.status_code == 409 and r.json()["code"] == "idempotency_in_flight"
    assert int(r.headers["retry-after"]) >= 1
    assert_declared("POST", "/api/v1/webhooks", r)


async def test_not_ready_says_when_to_look_again(app: FastAPI, client: httpx.AsyncClient) -> None:
    assert (await client.get("/readyz")).status_code == 200
    storage = app.state.settings.storage_dir
    shutil.rmtree(storage)
    storage.write_bytes(b"not a directory")  # the probe file cannot be written any more
    try:
        r = await client.get("/readyz")
    finally:
        storage.unlink()
        storage.mkdir()
    assert r.status_code == 503 and r.json()["code"] == "service_unavailable"
    assert int(r.headers["retry-after"]) > 0
    assert_declared("GET", "/readyz", r)


def test_problem_declares_its_extension_members() -> None:
    members = DOCUMENT["components"]["schemas"]["Problem"]["properties"]
    for name in ("current_etag", "required_roles", "allowed_types", "reason", "state", "errors", "request_id"):
        assert name in members and members[name].get("description"), name


def test_error_responses_are_only_those_an_operation_can_answer() -> None:
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            names = {p["name"].lower() for p in operation.get("parameters", [])}
            if not names and "requestBody" not in operation:
                assert "422" not in operation["responses"], (method, path)
            if "if-match" not in names:
                assert not {"412", "428"} & set(operation["responses"]), (method, path)
