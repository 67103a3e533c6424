"""Webhook subscriptions: create (secret shown once), list, get, delete, refused addresses."""

import httpx
import pytest
from fastapi import FastAPI

from app.core.settings import Settings
from tests.factories import make_org, make_user


def _body(url: str, **over: object) -> dict:
    return {"url": url, "event_types": ["application.*", "batch.submitted"], "description": "省级系统同步", **over}


async def test_subscribe_list_get_delete(app: FastAPI, client: httpx.AsyncClient) -> None:
    unit, other = make_org(app), make_org(app)
    owner = make_user(app, unit, "applicant")
    colleague = make_user(app, unit, "signatory")
    stranger = make_user(app, other, "applicant")
    admin = make_user(app, make_org(app), "admin")

    created = await client.post("/api/v1/webhooks", json=_body("http://127.0.0.1:9/hook"), headers=owner.headers)
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) > 40
    assert hook["event_types"] == ["application.*", "batch.submitted"] and hook["owner_id"] == owner.user_id
    assert created.headers["location"] == f"/api/v1/webhooks/{hook['id']}"

    got = await client.get(f"/api/v1/webhooks/{hook['id']}", headers=colleague.headers)
    assert got.status_code == 200 and "secret" not in got.json()
    assert (await client.get(f"/api/v1/webhooks/{hook['id']}", headers=stranger.headers)).status_code == 404
    assert (await client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin.headers)).status_code == 200

    assert [h["id"] for h in (await client.get("/api/v1/webhooks", headers=colleague.headers)).json()["items"]] == [
        hook["id"]
    ]
    assert (await client.get("/api/v1/webhooks", headers=stranger.headers)).json()["items"] == []
    assert hook["id"] in [
        h["id"] for h in (await client.get("/api/v1/webhooks", headers=admin.headers)).json()["items"]
    ]
    deliveries = await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=owner.headers)
    assert deliveries.status_code == 200 and deliveries.json()["items"] == []

    forbidden = await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=colleague.headers)
    assert forbidden.status_code == 403
    assert (await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=stranger.headers)).status_code == 404
    assert (await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers)).status_code == 204
    assert (await client.get(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers)).status_code == 404
    assert (await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=owner.headers)).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "ftp://example.com/hook",
        "http://user:pw@127.0.0.1/hook",
        "not a url",
    ],
)
async def test_private_and_malformed_addresses_are_refused(app: FastAPI, client: httpx.AsyncClient, url: str) -> None:
    user = make_user(app, make_org(app), "applicant")
    response = await client.post("/api/v1/webhooks", json=_body(url), headers=user.headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["pointer"] == "/url"
    assert url not in response.text


async def test_loopback_needs_the_admin_setting(app: FastAPI, client: httpx.AsyncClient, settings: Settings) -> None:
    user = make_user(app, make_org(app), "applicant")
    settings.webhook_allowed_hosts = ""
    refused = await client.post("/api/v1/webhooks", json=_body("http://127.0.0.1:8080/hook"), headers=user.headers)
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "address_not_allowed"
    settings.webhook_allowed_hosts = "10.0.0.0/8, hooks.internal"
    allowed = await client.post("/api/v1/webhooks", json=_body("http://10.9.8.7/hook"), headers=user.headers)
    assert allowed.status_code == 201
    by_name = await client.post("/api/v1/webhooks", json=_body("https://HOOKS.internal/in"), headers=user.headers)
    assert by_name.status_code == 201


async def test_event_types_are_validated(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = make_user(app, make_org(app), "applicant")
    for types in ([], ["Application Created"], ["*.x"]):
        response = await client.post(
            "/api/v1/webhooks", json=_body("http://127.0.0.1/h", event_types=types), headers=user.headers
        )
        assert response.status_code == 422 and response.json()["errors"][0]["pointer"].startswith("/event_types")
    everything = await client.post(
        "/api/v1/webhooks", json=_body("http://127.0.0.1/h", event_types=["*"]), headers=user.headers
    )
    assert everything.status_code == 201 and everything.json()["event_types"] == ["*"]
    assert (await client.post("/api/v1/webhooks", json=_body("http://127.0.0.1/h"))).status_code == 401
