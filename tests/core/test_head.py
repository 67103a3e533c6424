"""HEAD on every GET resource (RFC 9110 §9.3.2): the headers GET sends, no body; the hoisted read too."""

import httpx
import pytest
from fastapi import FastAPI

from tests.applications.cast import Flow, make_cast

VOLATILE = {"date", "x-request-id"}


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in VOLATILE}


async def test_head_answers_as_get_without_the_body(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    attachment = await flow.attach_scan()
    urls = [
        "/healthz",
        "/openapi.json",
        "/api/v1/calls",
        f"/api/v1/calls/{cast.call_id}",
        "/api/v1/applications",
        f"/api/v1/applications/{flow.id}",  # the hoisted lean route
        f"/api/v1/applications/{flow.id}/form.pdf",
        f"/api/v1/applications/{flow.id}/attachments",
        f"/api/v1/attachments/{attachment}/content",
        "/api/v1/me",
        "/api/v1/applications/app_nonexistent",  # a 404 too
    ]
    for url in urls:
        got = await client.get(url, headers=cast.applicant.headers)
        head = await client.head(url, headers=cast.applicant.headers)
        assert head.status_code == got.status_code, url
        assert head.content == b"", url
        assert _headers(head) == _headers(got), url


async def test_head_revalidates_like_get(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    url = f"/api/v1/applications/{flow.id}"
    head = await client.head(url, headers={**cast.applicant.headers, "If-None-Match": flow.etag})
    assert head.status_code == 304 and head.headers["etag"] == flow.etag


@pytest.mark.parametrize("url", ["/api/v1/auth/token", "/api/v1/bulk-uploads"])
async def test_head_where_there_is_no_get_is_405(client: httpx.AsyncClient, url: str) -> None:
    r = await client.head(url)
    assert r.status_code == 405
    assert "HEAD" not in r.headers["allow"]


async def test_every_get_operation_without_parameters_answers_head(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    paths = [p for p, ops in app.openapi()["paths"].items() if "get" in ops and "{" not in p]
    assert len(paths) > 10
    for path in paths:
        got = await client.get(path, headers=cast.admin.headers)
        head = await client.head(path, headers=cast.admin.headers)
        assert (head.status_code, head.content) == (got.status_code, b""), path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
