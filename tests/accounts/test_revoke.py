"""`POST /auth/revoke` (RFC 7009): a browser's sign-out ends its bearer token at once; an API key may be
ended the same way; an unknown token is answered 200 all the same."""

import httpx
from fastapi import FastAPI

from tests.applications.cast import Flow, make_cast
from tests.factories import PASSWORD


async def _login(client: httpx.AsyncClient, username: str) -> str:
    r = await client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def _revoke(client: httpx.AsyncClient, token: str, hint: str | None = None) -> httpx.Response:
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return await client.post("/api/v1/auth/revoke", data=data)


async def test_a_revoked_token_stops_working_at_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    token = await _login(client, cast.applicant.username)
    other = await _login(client, cast.applicant.username)  # another tab, another device
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200
    assert (await client.get(f"/api/v1/applications/{flow.id}", headers=bearer)).status_code == 200
    r = await _revoke(client, token, "access_token")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["cache-control"] == "no-store"
    for url in ("/api/v1/me", f"/api/v1/applications/{flow.id}", f"/api/v1/applications/{flow.id}/form.pdf"):
        refused = await client.get(url, headers=bearer)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer"), url
    # Only that token: the user's other sessions and keys go on.
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"})).status_code == 200
    assert (await client.get("/api/v1/me", headers=cast.applicant.headers)).status_code == 200
    # Again, or a token that never was: the same answer (RFC 7009 §2.2).
    assert (await _revoke(client, token)).status_code == 200
    assert (await _revoke(client, "smpt_never-issued", "refresh_token")).status_code == 200
    assert (await _revoke(client, "not-a-credential", "something_else")).status_code == 200


async def test_an_api_key_may_be_ended_by_whoever_holds_it(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    url = f"/api/v1/applications/{flow.id}"
    for _ in range(2):  # the second read goes by the key's hint, the lean read path's
        assert (await client.get(url, headers=cast.applicant.headers)).status_code == 200
    assert (await _revoke(client, cast.applicant.api_key)).status_code == 200
    assert (await client.get(url, headers=cast.applicant.headers)).status_code == 401
    assert (await client.get(f"{url}/form.pdf", headers=cast.applicant.headers)).status_code == 401


async def test_a_revocation_without_a_token_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/auth/revoke", data={})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/token"
