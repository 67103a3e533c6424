"""The list of batches pages through with its next_page_token (the token's time compared as a time)."""

import httpx
from fastapi import FastAPI

from tests.applications.cast import make_cast
from tests.batches.helpers import open_batch
from tests.factories import make_user, seeded_org


async def test_batches_page_through(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    reviewers = [cast.reviewer, cast.other_reviewer, make_user(app, seeded_org(app, "440000"), "reviewer")]
    opened = [(await open_batch(client, cast, reviewer)).json()["id"] for reviewer in reviewers]
    seen: list[str] = []
    token = None
    for _ in range(len(opened) + 1):
        params = {"page_size": 1, **({"page_token": token} if token else {})}
        r = await client.get("/api/v1/batches", params=params, headers=cast.admin.headers)
        assert r.status_code == 200, r.text
        seen += [b["id"] for b in r.json()["items"]]
        token = r.json()["next_page_token"]
        if token is None:
            break
    assert seen == opened
