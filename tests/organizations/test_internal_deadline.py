"""A recommender's internal deadline carries an offset: one without is a 422, never a 500."""

import httpx
from fastapi import FastAPI

from tests.factories import make_user, seeded_org


async def test_internal_deadline_needs_an_offset(app: FastAPI, client: httpx.AsyncClient) -> None:
    bureau = seeded_org(app, "370000")
    reviewer = make_user(app, bureau, "reviewer")
    url = f"/api/v1/organizations/{bureau}"
    etag = (await client.get(url, headers=reviewer.headers)).headers["etag"]
    naive = await client.patch(
        url, json={"internal_deadline": "2022-11-14T17:00:00"}, headers={**reviewer.headers, "If-Match": etag}
    )
    assert naive.status_code == 422, naive.text
    assert [(e["pointer"], e["code"]) for e in naive.json()["errors"]] == [("/internal_deadline", "invalid_datetime")]
    ok = await client.patch(
        url, json={"internal_deadline": "2022-11-14T17:00:00+08:00"}, headers={**reviewer.headers, "If-Match": etag}
    )
    assert ok.status_code == 200 and ok.json()["internal_deadline"].startswith("2022-11-14T09:00:00")
