"""Changing an organization: what cannot be stored is a 422, never a 500."""

import httpx
from fastapi import FastAPI

from tests.factories import make_user, seeded_org


async def test_internal_deadline_needs_an_offset(app: FastAPI, client: httpx.AsyncClient) -> None:
    bureau = seeded_org(app, "370000")
    reviewer = make_user(app, bureau, "reviewer")
    url = f"/api/v1/organizations/{bureau}"
    etag = (await client.get(url, headers=reviewer.headers)).headers["etag"]
    naive = await client.patch(url, json={"internal_deadline": "2022-11-14T17:00:00"},
                               headers={**reviewer.headers, "If-Match": etag})
    assert naive.status_code == 422, naive.text
    assert [(e["pointer"], e["code"]) for e in naive.json()["errors"]] == [("/internal_deadline", "invalid_datetime")]
    ok = await client.patch(url, json={"internal_deadline": "2022-11-14T17:00:00+08:00"},
                            headers={**reviewer.headers, "If-Match": etag})
    assert ok.status_code == 200 and ok.json()["internal_deadline"].startswith("2022-11-14T09:00:00")


async def test_null_for_a_name_or_kind_is_a_422(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = make_user(app, seeded_org(app, "office"), "admin")
    url = f"/api/v1/organizations/{seeded_org(app, '370000')}"
    etag = (await client.get(url, headers=admin.headers)).headers["etag"]
    for field in ("name", "kind"):
        r = await client.patch(url, json={field: None}, headers={**admin.headers, "If-Match": etag})
        assert r.status_code == 422, r.text
        assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [(f"/{field}", "not_nullable")]
    cleared = await client.patch(url, json={"name_en": None, "internal_deadline": None}, headers={**admin.headers, "If-Match": etag})
    assert cleared.status_code == 200, cleared.text
