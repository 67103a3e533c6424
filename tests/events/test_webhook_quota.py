"""A user has at most ``max_webhooks_per_user`` subscriptions; deleting one frees its place."""

import httpx
from fastapi import FastAPI

from tests.factories import make_org, make_user
from tests.store import fingerprint


def _body(n: int) -> dict:
    return {"url": f"http://127.0.0.1:9/hook/{n}", "event_types": ["application.*"]}


async def test_the_eleventh_webhook_of_a_user_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    unit = make_org(app)
    owner, colleague = make_user(app, unit, "applicant"), make_user(app, unit, "signatory")
    ids = []
    for n in range(10):
        created = await client.post("/api/v1/webhooks", json=_body(n), headers=owner.headers)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    before = fingerprint(app)
    refused = await client.post("/api/v1/webhooks", json=_body(10), headers=owner.headers)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "too_many_webhooks" and refused.json()["max_webhooks"] == 10
    assert fingerprint(app) == before
    # The cap is per user: a colleague of the same organization still subscribes.
    assert (await client.post("/api/v1/webhooks", json=_body(11), headers=colleague.headers)).status_code == 201
    # A deleted subscription no longer counts.
    assert (await client.delete(f"/api/v1/webhooks/{ids[0]}", headers=owner.headers)).status_code == 204
    assert (await client.post("/api/v1/webhooks", json=_body(12), headers=owner.headers)).status_code == 201


async def test_the_cap_follows_the_setting(app: FastAPI, client: httpx.AsyncClient) -> None:
    app.state.settings.max_webhooks_per_user = 1
    owner = make_user(app, make_org(app), "applicant")
    assert (await client.post("/api/v1/webhooks", json=_body(0), headers=owner.headers)).status_code == 201
    refused = await client.post("/api/v1/webhooks", json=_body(1), headers=owner.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "too_many_webhooks"
