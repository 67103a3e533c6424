"""README: "no one can lock an account for everyone". The per-account backoff slows the sources that
fail, never the owner at an address they signed in from before; a success from such a known source, or
the use of one of the owner's API keys, lifts the backoff for the owner's new addresses too."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from app.core.settings import Settings
from tests.factories import PASSWORD, make_org, make_user

HOME = "198.51.100.7"


@asynccontextmanager
async def from_peer(app: FastAPI, host: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def login(app: FastAPI, host: str, username: str, password: str = PASSWORD) -> int:
    async with from_peer(app, host) as client:
        response = await client.post("/api/v1/auth/token", data={"username": username, "password": password})
        return response.status_code


async def test_a_wrong_password_a_minute_from_anywhere_never_makes_the_owner_wait_at_home(
    app: FastAPI,
    settings: Settings,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    user = make_user(app, make_org(app), "applicant")
    assert await login(app, HOME, user.username) == 200  # home is now a known source
    elsewhere = iter(f"203.0.113.{i}" for i in range(1, 250))
    for _ in range(settings.login_account_backoff_after):
        assert await login(app, next(elsewhere), user.username, "wrong") == 401
    owner_got_in = 0
    for _ in range(20):
        clock.advance(seconds=30)
        owner_got_in += await login(app, HOME, user.username) == 200
        clock.advance(seconds=30)
        assert await login(app, next(elsewhere), user.username, "wrong") in (401, 429)
    assert owner_got_in == 20
    # The guessers are still slowed: each of the owner's sign-ins lifted the backoff, and a quick run of
    # failures brings it back for every address the owner has not signed in from.
    statuses = [await login(app, next(elsewhere), user.username, "wrong") for _ in range(11)]
    assert statuses[-1] == 429 and set(statuses) == {401, 429}
    assert await login(app, HOME, user.username) == 200


async def test_a_success_from_a_known_source_lifts_the_backoff(app: FastAPI, settings: Settings) -> None:
    user = make_user(app, make_org(app), "applicant")
    assert await login(app, HOME, user.username) == 200
    for i in range(settings.login_account_backoff_after):
        assert await login(app, f"203.0.113.{i}", user.username, "wrong") == 401
    assert await login(app, "192.0.2.50", user.username) == 429  # the owner on a new address: slowed too
    assert await login(app, HOME, user.username) == 200  # at home: never
    assert await login(app, "192.0.2.50", user.username) == 200  # lifted by that success


async def test_the_first_success_from_a_new_address_does_not_lift_it(app: FastAPI, settings: Settings, clock) -> None:  # type: ignore[no-untyped-def]
    settings.login_account_backoff_max_seconds = 4
    user = make_user(app, make_org(app), "applicant")
    for i in range(settings.login_account_backoff_after):
        assert await login(app, f"203.0.113.{i}", user.username, "wrong") == 401
    clock.advance(seconds=4)
    assert await login(app, "192.0.2.60", user.username) == 200  # after the wait: now a known source
    # Not lifted: the failures before it still count, the next guess's wait doubles.
    assert await login(app, "203.0.113.200", user.username, "wrong") == 401
    assert await login(app, "203.0.113.201", user.username, "wrong") == 429
    assert await login(app, "192.0.2.60", user.username) == 200  # the new known source is never slowed


async def test_the_owners_api_key_lifts_the_backoff(app: FastAPI, settings: Settings) -> None:
    user = make_user(app, make_org(app), "applicant")
    for i in range(settings.login_account_backoff_after):
        assert await login(app, f"203.0.113.{i}", user.username, "wrong") == 401
    assert await login(app, "192.0.2.70", user.username) == 429
    async with from_peer(app, "192.0.2.70") as client:
        assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 200
    assert await login(app, "192.0.2.71", user.username) == 200


def test_the_password_is_checked_before_the_write_gate_is_taken(app: FastAPI) -> None:
    """Argon2 costs tens of milliseconds of CPU: no one else's write waits for a sign-in's hash."""
    from app.accounts.router import checked_password
    from app.core.deps import get_writer

    def routes(items: object) -> object:
        for r in items:  # type: ignore[attr-defined]
            yield r
            yield from routes(getattr(r, "routes", None) or getattr(getattr(r, "original_router", None), "routes", []))  # type: ignore[misc]

    route = next(r for r in routes(app.routes) if getattr(r, "path", "") == "/api/v1/auth/token")  # type: ignore[call-overload]
    order = [d.call for d in route.dependant.dependencies]
    assert order.index(checked_password) < order.index(get_writer)
    # The check itself reads only: none of its own dependencies takes the gate.
    check = route.dependant.dependencies[order.index(checked_password)]
    assert all(d.call is not get_writer for d in check.dependencies)
