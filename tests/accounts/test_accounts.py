"""Accounts: tokens, API keys, failed-login limits, admin endpoints, and their bad inputs."""

import httpx
from fastapi import FastAPI

from tests.factories import PASSWORD, make_org, make_user, seeded_org
from tests.store import fingerprint


async def token(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": username, "password": password})


async def test_token_me_and_expiry(app: FastAPI, client: httpx.AsyncClient, clock) -> None:  # type: ignore[no-untyped-def]
    org = make_org(app)
    user = make_user(app, org, "applicant", "signatory")
    issued = await token(client, user.username)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 480 * 60
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert me["username"] == user.username and me["roles"] == ["applicant", "signatory"]
    assert me["authenticated_with"] == "token" and me["organization_id"] == org
    clock.advance(minutes=481)
    expired = await client.get("/api/v1/me", headers=headers)
    assert expired.status_code == 401 and expired.json()["code"] == "not_authenticated"


async def test_wrong_password_then_rate_limit_in_the_database(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = make_user(app, make_org(app), "applicant")
    for _ in range(5):
        wrong = await token(client, user.username, "not-the-password")
        assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    limited = await token(client, user.username)  # even the right password waits now
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_attempts"
    assert int(limited.headers["retry-after"]) > 0
    # The limit lives in the database: a second app on the same database (another worker) sees it.
    from app.main import create_app

    other = create_app(app.state.settings, clock=app.state.clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://t") as second:
        assert (await token(second, user.username)).status_code == 429
    other.state.database.dispose()


async def test_unknown_user_answers_like_a_wrong_password(app: FastAPI, client: httpx.AsyncClient) -> None:
    r = await token(client, "nobody_here")
    assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"


async def test_api_keys_shown_once_listed_revoked(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = make_user(app, make_org(app), "applicant")
    created = await client.post("/api/v1/api-keys", json={"name": "省平台同步"}, headers=user.headers)
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("smps_") and created.json()["key_hint"] == key[:10]
    listed = (await client.get("/api/v1/api-keys", headers=user.headers)).json()["items"]
    assert all("key" not in k for k in listed) and len(listed) == 2
    new_headers = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/api/v1/me", headers=new_headers)).json()["authenticated_with"] == "api_key"
    used = next(
        k
        for k in (await client.get("/api/v1/api-keys", headers=user.headers)).json()["items"]
        if k["id"] == created.json()["id"]
    )
    assert used["last_used_at"] is not None
    assert (await client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=user.headers)).status_code == 204
    revoked = await client.get("/api/v1/me", headers=new_headers)
    assert revoked.status_code == 401 and revoked.json()["code"] == "not_authenticated"
    # Someone else's key is invisible.
    stranger = make_user(app, make_org(app), "applicant")
    assert (
        await client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=stranger.headers)
    ).status_code == 404
    # Only an admin creates keys for another user.
    other = await client.post("/api/v1/api-keys", json={"name": "x", "user_id": stranger.user_id}, headers=user.headers)
    assert other.status_code == 403 and other.json()["required_roles"] == ["admin"]


async def test_every_api_endpoint_needs_credentials(app: FastAPI, client: httpx.AsyncClient) -> None:
    open_paths = {
        "/api/v1",
        "/api/v1/auth/token",
        "/api/v1/auth/revoke",  # holding the token is the credential (RFC 7009)
        "/api/v1/provinces",
        "/api/v1/calls",
        "/api/v1/calls/{call_id}",
        "/api/v1/bulk-uploads/template.xlsx",
        "/api/v1/receipt-keys",
    }
    checked = 0
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith("/api/v1") or path in open_paths:
            continue
        for method in sorted(m.upper() for m in operations):
            concrete = path.replace("{", "x").replace("}", "")
            r = await client.request(method, concrete)
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["content-type"] == "application/problem+json" and r.json()["code"] == "not_authenticated"
            checked += 1
    assert checked > 30


async def test_admin_creates_users_and_organizations_others_cannot(app: FastAPI, client: httpx.AsyncClient) -> None:
    office_org = seeded_org(app, "office")
    admin = make_user(app, office_org, "admin")
    applicant = make_user(app, make_org(app), "applicant")
    body = {
        "username": "lixia_applicant",
        "display_name": "王芳",
        "organization_id": applicant.organization_id,
        "roles": ["applicant"],
        "password": "a-long-password",
    }
    denied = await client.post("/api/v1/users", json=body, headers=applicant.headers)
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    created = await client.post("/api/v1/users", json=body, headers=admin.headers)
    assert created.status_code == 201 and "password" not in created.text
    before = fingerprint(app)
    duplicate = await client.post("/api/v1/users", json=body, headers=admin.headers)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate"
    assert duplicate.json()["errors"][0]["pointer"] == "/username"
    unknown = await client.post(
        "/api/v1/users", json={**body, "username": "another", "is_superuser": True}, headers=admin.headers
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0] == {
        "pointer": "/is_superuser",
        "code": "unknown_field",
        "message": "不允许的未知字段",
    }
    bad_role = await client.post(
        "/api/v1/users", json={**body, "username": "third", "roles": ["king"]}, headers=admin.headers
    )
    assert bad_role.status_code == 422 and bad_role.json()["errors"][0]["pointer"] == "/roles/0"
    assert fingerprint(app) == before
    # The new user signs in, and an admin can deactivate them (If-Match).
    assert (await token(client, "lixia_applicant", "a-long-password")).status_code == 200
    user_id, etag = created.json()["id"], created.headers["etag"]
    patched = await client.patch(
        f"/api/v1/users/{user_id}", json={"is_active": False}, headers={**admin.headers, "If-Match": etag}
    )
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    assert (await token(client, "lixia_applicant", "a-long-password")).status_code == 401


async def test_organizations_and_credit_codes(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = make_user(app, seeded_org(app, "office"), "admin")
    office = make_user(app, seeded_org(app, "office"), "office")
    body = {
        "name": "济南市历下区人民政府",
        "credit_code": "11370102MB2834567H",
        "province_code": "370000",
        "kind": "government_agency",
    }
    before = fingerprint(app)
    for code, expected in (
        ("11370102MB2834567X", "credit_code_check_failed"),
        ("11370102MB283456", "invalid_credit_code"),
        ("11370102MB2834567Z", "invalid_credit_code"),
        ("1137O102MB2834567H", "invalid_credit_code"),
    ):
        r = await client.post("/api/v1/organizations", json={**body, "credit_code": code}, headers=office.headers)
        assert r.status_code == 422 and r.json()["errors"][0] == {
            "pointer": "/credit_code",
            "code": expected,
            "message": r.json()["errors"][0]["message"],
        }, code
    bad_province = await client.post(
        "/api/v1/organizations", json={**body, "province_code": "37"}, headers=office.headers
    )
    assert bad_province.status_code == 422 and bad_province.json()["errors"][0]["pointer"] == "/province_code"
    assert fingerprint(app) == before
    created = await client.post("/api/v1/organizations", json=body, headers=office.headers)
    assert created.status_code == 201 and created.json()["credit_code_check_failed"] is False
    again = await client.post("/api/v1/organizations", json=body, headers=office.headers)
    assert again.status_code == 409 and again.json()["code"] == "duplicate"
    # An admin may register a known-good code that fails the check character; it is flagged.
    flagged = await client.post(
        "/api/v1/organizations",
        headers=admin.headers,
        json={**body, "credit_code": "11370102MB2834568X", "accept_failed_check_character": True},
    )
    assert flagged.status_code == 201 and flagged.json()["credit_code_check_failed"] is True
    applicant = make_user(app, make_org(app), "applicant")
    assert (await client.post("/api/v1/organizations", json=body, headers=applicant.headers)).status_code == 403


async def test_office_extends_a_deadline_with_an_audit_event(app: FastAPI, client: httpx.AsyncClient) -> None:
    office = make_user(app, seeded_org(app, "office"), "office")
    calls = (await client.get("/api/v1/calls")).json()
    ninth = next(c for c in calls if c["key"] == "9th-batch")
    url = f"/api/v1/calls/{ninth['id']}"
    etag = (await client.get(url)).headers["etag"]
    no_reason = await client.patch(
        url, json={"deadline": "2022-11-30T23:59:59+08:00"}, headers={**office.headers, "If-Match": etag}
    )
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["pointer"] == "/reason"
    naive = await client.patch(
        url, json={"deadline": "2022-11-30T23:59:59", "reason": "延期"}, headers={**office.headers, "If-Match": etag}
    )
    assert naive.status_code == 422 and naive.json()["errors"][0]["pointer"] == "/deadline"
    ok = await client.patch(
        url,
        json={"deadline": "2022-11-30T23:59:59+08:00", "reason": "多省申请延期"},
        headers={**office.headers, "If-Match": etag},
    )
    assert ok.status_code == 200 and ok.json()["deadline"] == "2022-11-30T23:59:59+08:00"
    events = (await client.get("/api/v1/events?types=call.updated", headers=office.headers)).json()["items"]
    assert events[-1]["data"]["reason"] == "多省申请延期"
    assert events[-1]["data"]["previous_deadline"].startswith("2022-11-15T15:59:59")
    reviewer = make_user(app, seeded_org(app, "370000"), "reviewer")
    assert (
        await client.patch(url, json={"reason": "x"}, headers={**reviewer.headers, "If-Match": ok.headers["etag"]})
    ).status_code == 403


async def test_an_organization_name_cannot_be_nulled(app: FastAPI, client: httpx.AsyncClient) -> None:
    office = make_user(app, seeded_org(app, "office"), "office")
    org = make_org(app)
    url = f"/api/v1/organizations/{org}"
    etag = (await client.get(url, headers=office.headers)).headers["etag"]
    before = fingerprint(app)
    r = await client.patch(url, json={"name": None, "kind": None}, headers={**office.headers, "If-Match": etag})
    assert r.status_code == 422 and [e["pointer"] for e in r.json()["errors"]] == ["/name", "/kind"]
    assert fingerprint(app) == before
    cleared = await client.patch(url, json={"name_en": None}, headers={**office.headers, "If-Match": etag})
    assert cleared.status_code == 200 and cleared.json()["name_en"] is None
