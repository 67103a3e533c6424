"""An ``Idempotency-Key`` in flight belongs to a live request: a dead owner's claim is free again once its
lease runs out, a live one is never taken over, and many requests racing for one key cost no 5xx."""

import asyncio
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.core.idempotency_models import IdempotencyKey
from app.core.settings import Settings
from app.events.models import Webhook
from tests.factories import make_org, make_user

_HOOK = {"url": "http://127.0.0.1:9/h", "event_types": ["*"], "description": "同步"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allowed_hosts": "127.0.0.1"})


def _claim_row(app: FastAPI, user_id: str, key: str, expires_in: timedelta) -> None:
    """An in-flight claim as a request leaves it when its process is killed mid-flight."""
    now = app.state.clock()
    with app.state.database.transaction() as session:
        session.add(
            IdempotencyKey(
                user_id=user_id,
                key=key,
                method="POST",
                path="/api/v1/webhooks",
                state="in_flight",
                created_at=now - timedelta(minutes=1),
                expires_at=now + expires_in,
            )
        )


def _webhooks(app: FastAPI) -> int:
    with app.state.database.reader() as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(Webhook)).scalar_one())


async def test_a_claim_whose_lease_ran_out_is_taken_over_by_the_retry(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The process died mid-request (its claim stopped being renewed, its lease is over): the retry with the
    same key runs and its answer is stored — no hour-long 409."""
    user = make_user(app, make_org(app), "applicant")
    _claim_row(app, user.user_id, "crashed", expires_in=-timedelta(seconds=1))
    response = await client.post("/api/v1/webhooks", json=_HOOK, headers={**user.headers, "Idempotency-Key": "crashed"})
    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers
    again = await client.post("/api/v1/webhooks", json=_HOOK, headers={**user.headers, "Idempotency-Key": "crashed"})
    assert again.headers["idempotent-replayed"] == "true" and again.json()["id"] == response.json()["id"]
    assert _webhooks(app) == 1


@pytest.mark.parametrize(("expires_in", "retry_after"), [(10, "1"), (9, "1"), (4, "4"), (1, "1")])
async def test_retry_after_says_when_the_key_can_make_progress(
    app: FastAPI, client: httpx.AsyncClient, expires_in: int, retry_after: str
) -> None:
    """A claim renewed lately (a live request) → come back in a second; a claim no longer renewed (its
    process is likely gone) → come back when its lease runs out (the default lease is 10 s)."""
    user = make_user(app, make_org(app), "applicant")
    _claim_row(app, user.user_id, "busy", expires_in=timedelta(seconds=expires_in, milliseconds=-1))
    response = await client.post("/api/v1/webhooks", json=_HOOK, headers={**user.headers, "Idempotency-Key": "busy"})
    assert response.status_code == 409 and response.json()["code"] == "idempotency_in_flight"
    assert response.headers["retry-after"] == retry_after


async def test_a_live_claim_is_never_taken_over_and_its_lease_is_renewed(
    app: FastAPI, client: httpx.AsyncClient, clock
) -> None:  # type: ignore[no-untyped-def]
    """While its request runs, the claim's lease is renewed; and even past its lease (the database too busy
    to renew it) a claim held by a request of this process answers 409, never a second execution."""
    app.state.settings = app.state.settings.model_copy(update={"idempotency_lease_seconds": 1})
    user = make_user(app, make_org(app), "applicant")
    entered, release = asyncio.Event(), asyncio.Event()
    runs = 0

    @app.post("/api/v1/test-only/slow")
    async def slow() -> dict[str, int]:
        nonlocal runs
        runs += 1
        entered.set()
        await release.wait()
        return {"run": runs}

    headers = {**user.headers, "Idempotency-Key": "slow"}
    first = asyncio.create_task(client.post("/api/v1/test-only/slow", headers=headers))
    await entered.wait()
    claimed = _expiry(app, user.user_id)
    clock.advance(seconds=30)  # the lease, as first written, is long over
    for _ in range(200):  # renewed every fifth of a (1 s) lease: wait for one, however slow the machine
        if _expiry(app, user.user_id) > claimed + timedelta(seconds=30):
            break
        await asyncio.sleep(0.05)
    assert _expiry(app, user.user_id) > claimed + timedelta(seconds=30)
    clock.advance(seconds=60)  # past even the renewed lease: still this process's live request
    second = await client.post("/api/v1/test-only/slow", headers=headers)
    assert second.status_code == 409 and second.json()["code"] == "idempotency_in_flight"
    release.set()
    assert (await first).status_code == 200
    third = await client.post("/api/v1/test-only/slow", headers=headers)
    assert third.headers["idempotent-replayed"] == "true" and third.json() == {"run": 1}
    assert runs == 1


def _expiry(app: FastAPI, user_id: str):  # type: ignore[no-untyped-def]
    with app.state.database.reader() as session:
        return session.execute(
            sa.select(IdempotencyKey.expires_at).where(IdempotencyKey.user_id == user_id)
        ).scalar_one()


async def test_fifty_simultaneous_requests_with_one_key_execute_once_without_5xx(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """50 POSTs sharing a key at once: the claims go through the write gate like every other write, so
    none fails on SQLite's lock — one executes, every other gets the replay or 409 in flight, no 5xx."""
    user = make_user(app, make_org(app), "applicant")
    headers = {**user.headers, "Idempotency-Key": "stampede"}
    responses = await asyncio.gather(*[client.post("/api/v1/webhooks", json=_HOOK, headers=headers) for _ in range(50)])
    statuses = sorted(r.status_code for r in responses)
    assert all(s < 500 for s in statuses), statuses
    originals = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(originals) == 1, statuses
    for r in responses:
        if r is not originals[0]:
            assert r.status_code == 409 or (r.status_code == 201 and r.content == originals[0].content), r.text
    assert _webhooks(app) == 1
