"""A JSON-body route answers a body of another media type with 415 `unsupported_media_type`, not 422."""

import httpx
import pytest
from fastapi import FastAPI

from app.core.errors import json_content
from tests.applications.cast import make_cast
from tests.store import fingerprint


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"call_id": "x", "title": "t"}'),
        ("application/x-www-form-urlencoded", b"call_id=x&title=t"),
        ("application/xml", b"<application/>"),
    ],
)
async def test_a_body_that_is_not_json_is_415(
    app: FastAPI, client: httpx.AsyncClient, content_type: str, body: bytes
) -> None:
    cast = await make_cast(app, client)
    before = fingerprint(app)
    r = await client.post(
        "/api/v1/applications", content=body, headers={**cast.applicant.headers, "Content-Type": content_type}
    )
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "unsupported_media_type"
    assert "application/json" in r.json()["allowed_types"]
    assert fingerprint(app) == before


async def test_json_with_a_charset_or_a_json_suffix_is_json(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    form = httpx.Request("POST", "/", json=cast.form()).content
    for content_type in ("application/json; charset=utf-8", "application/vnd.smps+json"):
        r = await client.post(
            "/api/v1/applications", content=form, headers={**cast.applicant.headers, "Content-Type": content_type}
        )
        assert r.status_code == 201, r.text


def test_the_document_declares_415_on_json_bodies(app: FastAPI) -> None:
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if json_content(operation.get("requestBody", {}).get("content", {})) is not None:
                assert "415" in operation["responses"], (method, path)
