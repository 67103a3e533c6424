"""Login limits that fit real deployments: per (account, address), a per-account backoff that slows but
never locks, API keys untouched, and X-Forwarded-For believed only from SMPS_TRUSTED_PROXIES."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from app.core.settings import Settings
from app.main import create_app
from tests.factories import PASSWORD, make_org, make_user


@asynccontextmanager
async def from_peer(app: FastAPI, host: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD, **headers: str) -> int:
    response = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}, headers=headers
    )
    return response.status_code


async def test_failures_from_one_address_lock_only_that_address(app: FastAPI) -> None:
    user = make_user(app, make_org(app), "admin")
    async with from_peer(app, "198.51.100.1") as attacker, from_peer(app, "198.51.100.2") as owner:
        assert [await login(attacker, user.username, "wrong-password") for _ in range(5)] == [401] * 5
        assert await login(attacker, user.username) == 429  # even the right password, from there
        assert await login(owner, user.username) == 200  # the account itself is not locked
        me = await attacker.get("/api/v1/me", headers=user.headers)
        assert me.status_code == 200 and me.json()["authenticated_with"] == "api_key"  # keys never locked out
        # Any spelling of the name is the same account for the limit.
        assert await login(attacker, user.username.upper()) == 429


async def test_many_addresses_slow_an_account_down_but_never_lock_it(app: FastAPI, settings: Settings, clock) -> None:  # type: ignore[no-untyped-def]
    settings.login_account_backoff_after, settings.login_account_backoff_max_seconds = 3, 4
    user = make_user(app, make_org(app), "applicant")
    peers = iter(f"203.0.113.{i}" for i in range(1, 50))

    async def attempt(password: str) -> httpx.Response:
        async with from_peer(app, next(peers)) as client:
            return await client.post("/api/v1/auth/token", data={"username": user.username, "password": password})

    assert [(await attempt("wrong-password")).status_code for _ in range(3)] == [401] * 3
    waits = []
    for _ in range(4):
        slowed = await attempt(PASSWORD)
        assert slowed.status_code == 429 and slowed.json()["code"] == "too_many_attempts"
        waits.append(int(slowed.headers["retry-after"]))
        clock.advance(seconds=waits[-1])
        assert (await attempt("wrong-password")).status_code == 401  # the guesser's next try, once allowed
    assert waits == [1, 2, 4, 4]  # doubling, capped
    clock.advance(seconds=4)
    assert (await attempt(PASSWORD)).status_code == 200  # the owner gets in after a bounded wait


async def test_a_trusted_proxy_names_the_client(app: FastAPI, settings: Settings, clock) -> None:  # type: ignore[no-untyped-def]
    user = make_user(app, make_org(app), "applicant")
    behind = create_app(settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]}), clock=clock)
    try:
        async with from_peer(behind, "10.1.2.3") as proxy, from_peer(behind, "198.51.100.9") as direct:
            # Through the proxy: each client is itself; one client's failures do not lock the others.
            for _ in range(5):
                assert await login(proxy, user.username, "wrong-password", **{"X-Forwarded-For": "192.0.2.10"}) == 401
            assert await login(proxy, user.username, **{"X-Forwarded-For": "192.0.2.10"}) == 429
            assert await login(proxy, user.username, **{"X-Forwarded-For": "192.0.2.11, 10.9.9.9"}) == 200
            # A client that is not the proxy cannot choose its address by sending the header.
            for n in range(5):
                spoof = {"X-Forwarded-For": f"192.0.2.{100 + n}"}
                assert await login(direct, user.username, "wrong-password", **spoof) == 401
            assert await login(direct, user.username, **{"X-Forwarded-For": "192.0.2.200"}) == 429
    finally:
        behind.state.database.dispose()


async def test_without_trusted_proxies_the_header_is_ignored(app: FastAPI) -> None:
    user = make_user(app, make_org(app), "applicant")
    async with from_peer(app, "127.0.0.1") as local:
        for n in range(5):
            assert await login(local, user.username, "wrong-password", **{"X-Forwarded-For": f"192.0.2.{n}"}) == 401
        assert await login(local, user.username, **{"X-Forwarded-For": "192.0.2.99"}) == 429
