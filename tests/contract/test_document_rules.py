"""Rules of the OpenAPI document that Schemathesis found broken once, checked directly."""

import json

import httpx

from app.attachments.sniff import MEDIA_TYPES
from tests.conftest import ROOT_DIR
from tests.factories import make_org, make_user

DOCUMENT = json.loads((ROOT_DIR / "openapi" / "openapi.json").read_text())
PROBLEM = "application/problem+json"


def _operations() -> list[tuple[str, str, dict]]:
    return [(method.upper(), path, op) for path, ops in DOCUMENT["paths"].items() for method, op in ops.items()]


def test_every_error_response_is_a_problem() -> None:
    # FastAPI's default 422 (application/json, HTTPValidationError) is not what the service sends.
    wrong = [
        (m, p, status)
        for m, p, op in _operations()
        for status, response in op["responses"].items()
        if status[0] in "45" and list(response.get("content", {})) != [PROBLEM]
    ]
    assert not wrong


def test_every_operation_declares_400() -> None:
    # A URL with a NUL character, and a body that cannot be read, are refused before any route.
    missing = [(m, p) for m, p, op in _operations() if "400" not in op["responses"]]
    assert not missing


def test_downloads_declare_the_types_they_are_sent_as() -> None:
    responses = DOCUMENT["paths"]["/api/v1/attachments/{attachment_id}/content"]["get"]["responses"]
    for status in ("200", "206"):
        assert set(responses[status]["content"]) == set(MEDIA_TYPES.values())


async def test_a_json_body_that_is_not_utf8_is_a_declared_400(app, client: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(app, make_org(app), "admin")
    r = await client.post(
        "/api/v1/webhooks", content=b'{"url": "\xff"}', headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "bad_request"


async def test_a_405_names_every_method_of_the_resource(client: httpx.AsyncClient) -> None:
    r = await client.put("/api/v1/calls/call_x")
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM
    assert r.headers["allow"] == "GET, HEAD, PATCH"
    assert (await client.delete("/api/v1/applications")).headers["allow"] == "GET, HEAD, POST"


async def test_a_nul_character_in_the_url_is_a_400(app, client: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(app, make_org(app), "admin")
    for url in (
        "/api/v1/applications/app%00x",
        "/api/v1/applications?q=a%00b",
        "/api/v1/events?after=evt_%00",
        "/api/v1/organizations?credit_code=%00",
    ):
        r = await client.get(url, headers=admin.headers)
        assert r.status_code == 400 and r.headers["content-type"] == PROBLEM, url
        assert r.json()["code"] == "bad_request"
