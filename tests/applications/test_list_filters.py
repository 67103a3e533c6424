"""``updated_after`` is an RFC 3339 timestamp with an offset; anything else is a 422, never a 500."""

import httpx
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
        assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [("query:/updated_after", "invalid_datetime")], wrong
