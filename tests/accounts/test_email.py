"""Users' e-mail address and opt-out: set by an admin, or by the user on their own account."""

import httpx
from fastapi import FastAPI

from tests.factories import make_org, make_user, seeded_org


async def _me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict:
    r = await client.get("/api/v1/me", headers=headers)
    assert r.status_code == 200
    return r.json()


async def _patch_self(client: httpx.AsyncClient, headers: dict[str, str], body: object) -> httpx.Response:
    me = await _me(client, headers)
    return await client.patch(
        f"/api/v1/users/{me['id']}",
        json=body,
        headers={**headers, "If-Match": f'"{me["version"]}"', "Content-Type": "application/merge-patch+json"},
    )


async def test_a_user_sets_clears_and_opts_out_of_their_own_email(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = make_user(app, make_org(app), "applicant")
    me = await _me(client, user.headers)
    assert me["email"] is None and me["email_notifications"] is True and me["version"] == 1

    r = await _patch_self(client, user.headers, {"email": "  wangfang@example.cn "})
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "wangfang@example.cn" and r.json()["version"] == 2
    r = await _patch_self(client, user.headers, {"email_notifications": False})
    assert r.status_code == 200 and r.json()["email_notifications"] is False
    assert r.json()["email"] == "wangfang@example.cn"  # members not sent stay
    r = await _patch_self(client, user.headers, {"email": None})  # RFC 7396: null removes
    assert r.status_code == 200 and r.json()["email"] is None
    me = await _me(client, user.headers)
    assert (me["email"], me["email_notifications"]) == (None, False)
    r = await client.patch(
        "/api/v1/users/me",
        json={"email_notifications": True},
        headers={**user.headers, "If-Match": f'"{me["version"]}"'},
    )
    assert r.status_code == 200 and r.json()["id"] == user.user_id and r.json()["email_notifications"] is True


async def test_a_user_may_not_change_anything_else_nor_anyone_else(app: FastAPI, client: httpx.AsyncClient) -> None:
    unit = make_org(app)
    user, colleague = make_user(app, unit, "applicant"), make_user(app, unit, "applicant")
    r = await _patch_self(client, user.headers, {"email": "a@example.cn", "roles": ["admin"]})
    assert r.status_code == 403 and r.json()["required_roles"] == ["admin"]
    r = await client.patch(
        f"/api/v1/users/{colleague.user_id}",
        json={"email": "mine@example.cn"},
        headers={**user.headers, "If-Match": "*"},
    )
    assert r.status_code == 403
    r = await _patch_self(client, user.headers, {"email_notifications": None})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/email_notifications"
    r = await client.patch(f"/api/v1/users/{user.user_id}", json={"email": "a@example.cn"}, headers=user.headers)
    assert r.status_code == 428  # If-Match as for every patch


async def test_addresses_are_validated(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = make_user(app, make_org(app), "applicant")
    for bad in (
        "no-at-sign",
        "a@b",
        "two@@example.cn",
        "a b@example.cn",
        "a@example.cn\r\nBcc: x@evil.cn",
        "<a@example.cn>",
        "x" * 250 + "@example.cn",
        42,
    ):
        r = await _patch_self(client, user.headers, {"email": bad})
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["pointer"] == "/email"


async def test_an_admin_creates_and_changes_users_with_addresses(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = make_user(app, seeded_org(app, "office"), "admin")
    body = {
        "username": "wangfang",
        "display_name": "王芳",
        "organization_id": make_org(app),
        "roles": ["applicant"],
        "password": "correct-horse-battery",
        "email": "wangfang@example.cn",
    }
    created = await client.post("/api/v1/users", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "wangfang@example.cn" and created.json()["email_notifications"] is True
    r = await client.patch(
        f"/api/v1/users/{created.json()['id']}",
        json={"email": "fang.wang@example.cn", "email_notifications": False},
        headers={**admin.headers, "If-Match": created.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["email"], r.json()["email_notifications"]) == ("fang.wang@example.cn", False)
    bad = await client.post("/api/v1/users", json={**body, "username": "other", "email": "nope"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/email"
