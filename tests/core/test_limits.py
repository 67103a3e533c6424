"""Request bodies are limited per route while they are read, before authentication."""

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from tests.applications.cast import make_cast
from tests.store import fingerprint

MIB = 1024 * 1024


async def chunks(total: int, size: int = 64 * 1024, sent: list[int] | None = None) -> AsyncIterator[bytes]:
    """``total`` bytes of a JSON string, without a Content-Length; ``sent`` counts what was taken."""
    yield b'{"title": "'
    left = total
    while left > 0:
        piece = min(size, left)
        left -= piece
        if sent is not None:
            sent.append(piece)
        yield b"a" * piece
    yield b'"}'


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["connection"] == "close"
    problem = response.json()
    assert problem["code"] == "payload_too_large" and problem["max_bytes"] == limit


async def test_declared_json_body_over_the_limit_is_refused_before_authentication(client: httpx.AsyncClient) -> None:
    body = b'{"title": "' + b"a" * (2 * MIB) + b'"}'
    response = await client.post("/api/v1/applications", content=body, headers={"Content-Type": "application/json"})
    assert_too_large(response, 2 * MIB)


async def test_chunked_json_body_is_cut_at_the_limit(client: httpx.AsyncClient) -> None:
    sent: list[int] = []
    response = await client.post(
        "/api/v1/applications", content=chunks(20 * MIB, sent=sent), headers={"Content-Type": "application/json"}
    )
    assert_too_large(response, 2 * MIB)
    assert sum(sent) <= 2 * MIB + 64 * 1024  # the rest was never read


async def test_limit_follows_the_setting(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    app.state.settings.max_json_body_bytes = 4096
    before = fingerprint(app)
    response = await client.post(
        "/api/v1/applications", json=cast.form(title="试点" * 2000), headers=cast.applicant.headers
    )
    assert_too_large(response, 4096)
    assert fingerprint(app) == before
    # Under the limit the same route reads its body as before.
    app.state.settings.max_json_body_bytes = 2 * MIB
    assert (
        await client.post("/api/v1/applications", json=cast.form(), headers=cast.applicant.headers)
    ).status_code == 201


async def test_form_body_of_the_token_endpoint_has_a_small_limit(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/token",
        content=b"username=a&password=" + b"x" * (64 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_too_large(response, 64 * 1024)
    small = await client.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong-password"})
    assert small.status_code == 401


async def test_a_body_under_the_limit_is_read_in_chunks(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    body = httpx.Request("POST", "/", json=cast.form()).content

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    response = await client.post(
        "/api/v1/applications", content=pieces(), headers={**cast.applicant.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_uploads_keep_their_own_larger_limits(app: FastAPI, client: httpx.AsyncClient) -> None:
    """A 3 MiB bulk body passes the JSON limit and meets the bulk limit of its own route."""
    cast = await make_cast(app, client)
    app.state.settings.max_bulk_upload_bytes = 4 * MIB
    rows = [cast.form(title=f"项目{i}") for i in range(1)]
    padding = " " * (3 * MIB)
    body = b'{"rows": ' + httpx.Request("POST", "/", json=rows).content + padding.encode() + b"}"
    response = await client.post(
        "/api/v1/bulk-uploads", content=body, headers={**cast.reviewer.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 202, response.text
    app.state.settings.max_bulk_upload_bytes = 2 * MIB + 1024
    over = await client.post(
        "/api/v1/bulk-uploads",
        content=body + b" " * MIB,
        headers={**cast.reviewer.headers, "Content-Type": "application/json"},
    )
    assert over.status_code == 413 and "max_bytes" not in over.json()  # the route's own answer
