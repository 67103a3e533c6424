"""List filters and page tokens: what a client cannot get right is a 422, never a 500."""

import base64

import httpx
import orjson
from fastapi import FastAPI

from tests.applications.cast import Flow, make_cast


async def test_updated_after_takes_rfc3339_with_offset_only(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()

    async def listed(value: str) -> httpx.Response:
        return await client.get("/api/v1/applications", params={"updated_after": value}, headers=cast.applicant.headers)

    assert [a["id"] for a in (await listed("2022-10-31T00:00:00+08:00")).json()["items"]] == [flow.id]
    assert (await listed("2022-11-30T00:00:00Z")).json()["items"] == []
    for wrong in ("2022-10-31T00:00:00", "0", "2022-10-31"):
        r = await listed(wrong)
        assert r.status_code == 422, (wrong, r.text)
        assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [
            ("query:/updated_after", "invalid_datetime")
        ], wrong


async def test_a_page_token_not_made_by_the_service_is_a_422(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    for values in ([1, 2], ["x", "y"], ["2022-01-01T00:00:00", "app_x"], ["2022-01-01T00:00:00+00:00", "a\u0000"]):
        token = base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")
        for url in ("/api/v1/applications", "/api/v1/batches"):
            r = await client.get(url, params={"page_token": token}, headers=cast.admin.headers)
            assert r.status_code == 422 and r.json()["errors"][0]["code"] == "invalid_page_token", (url, values)
    for url, values in (("/api/v1/users", [{"a": 1}]), ("/api/v1/webhooks", [[1]]), ("/api/v1/api-keys", ["\u0000"])):
        token = base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")
        assert (await client.get(url, params={"page_token": token}, headers=cast.admin.headers)).status_code == 422
