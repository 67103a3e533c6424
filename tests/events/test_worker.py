"""The webhook worker: signed deliveries, retries with backoff, restarts, several workers, visibility."""

import threading
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi import FastAPI
from pydantic import ValidationError
from standardwebhooks import Webhook as Verifier

from app.cli import main
from app.core.idempotency_models import IdempotencyKey
from app.core.outbox_models import Event
from app.core.settings import Settings
from app.events.delivery import RETRY_WINDOW
from app.events.models import WebhookDelivery
from app.worker import Worker
from tests.conftest import Actor
from tests.events.conftest import Receiver, emit, make_application, make_batch
from tests.factories import make_org, make_user, seeded_org


async def _subscribe(client: httpx.AsyncClient, actor: Actor, url: str, types: list[str] | None = None) -> dict:
    response = await client.post(
        "/api/v1/webhooks", json={"url": url, "event_types": types or ["*"]}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _deliveries(client: httpx.AsyncClient, actor: Actor, hook: dict) -> list[dict]:
    response = await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=actor.headers)
    assert response.status_code == 200
    return response.json()["items"]


def _event_ids(receiver: Receiver) -> list[str]:
    return [orjson.loads(body)["data"]["id"] for _, body in receiver.requests]


async def test_deliveries_are_signed_per_standard_webhooks(
    app: FastAPI, client: httpx.AsyncClient, worker: Worker, receiver_factory
) -> None:  # type: ignore[no-untyped-def]
    receiver = receiver_factory()
    unit = make_org(app)
    owner = make_user(app, unit, "applicant")
    hook = await _subscribe(client, owner, receiver.url, ["organization.updated"])
    emit(app, "call.updated")  # not subscribed
    event_id = emit(app, "organization.updated", unit, organization_id=unit)

    result = worker.run_once(datetime.now(UTC))
    assert (result.fanned_out, result.attempted, result.succeeded) == (1, 1, 1)
    [(headers, body)] = receiver.requests
    payload = Verifier(hook["secret"]).verify(body, headers)
    assert payload["type"] == "organization.updated" and payload["data"]["id"] == event_id
    assert payload["data"]["subject_id"] == unit and payload["data"]["cursor"]
    assert headers["content-type"] == "application/json"
    [delivery] = await _deliveries(client, owner, hook)
    assert delivery["id"] == headers["webhook-id"] and delivery["state"] == "succeeded"
    assert delivery["attempts"][0]["outcome"] == "succeeded" and delivery["next_attempt_at"] is None
    assert worker.run_once(datetime.now(UTC)).attempted == 0


async def test_a_failing_receiver_gets_the_event_after_retries(
    app: FastAPI, client: httpx.AsyncClient, worker: Worker, receiver_factory
) -> None:  # type: ignore[no-untyped-def]
    receiver = receiver_factory(fail_first=3)
    unit = make_org(app)
    owner = make_user(app, unit, "applicant")
    hook = await _subscribe(client, owner, receiver.url)
    event_id = emit(app, "organization.updated", unit, organization_id=unit)

    t0 = datetime.now(UTC)
    assert worker.run_once(t0).succeeded == 0
    assert worker.run_once(t0 + timedelta(seconds=4)).attempted == 0  # not due yet
    [pending] = await _deliveries(client, owner, hook)
    assert pending["state"] == "pending" and pending["last_error"] == "not_delivered"
    # No port scanner: nothing of the receiver's answer (its 500) reaches the subscriber.
    values = [*pending.values(), *(v for attempt in pending["attempts"] for v in attempt.values())]
    assert "last_status_code" not in pending and not any(v in (500, "500") or "500" in str(v).split() for v in values)
    assert datetime.fromisoformat(pending["next_attempt_at"]) == t0 + timedelta(seconds=5)
    t1 = t0 + timedelta(seconds=5)
    assert worker.run_once(t1).succeeded == 0
    t2 = t1 + timedelta(minutes=5)
    assert worker.run_once(t2).succeeded == 0
    t3 = t2 + timedelta(minutes=30)
    assert worker.run_once(t3).succeeded == 1

    assert len(receiver.requests) == 4
    assert {h["webhook-id"] for h, _ in receiver.requests} == {pending["id"]}  # one message, retried
    verifier = Verifier(orjson.loads(orjson.dumps(hook))["secret"])
    for (headers, body), at in zip(receiver.requests, [t0, t1, t2, t3], strict=True):
        assert headers["webhook-timestamp"] == str(int(at.timestamp()))
        assert headers["webhook-signature"] == verifier.sign(headers["webhook-id"], at, body.decode())
    assert _event_ids(receiver) == [event_id] * 4
    [done] = await _deliveries(client, owner, hook)
    assert done["state"] == "succeeded" and done["attempt_count"] == 4
    assert [a["outcome"] for a in done["attempts"]] == ["failed", "failed", "failed", "succeeded"]
    assert [a["error"] for a in done["attempts"]] == ["not_delivered"] * 3 + [None]


async def test_delivery_gives_up_after_three_days(
    app: FastAPI, client: httpx.AsyncClient, worker: Worker, receiver_factory
) -> None:  # type: ignore[no-untyped-def]
    receiver = receiver_factory(fail_first=1000)
    unit = make_org(app)
    owner = make_user(app, unit, "applicant")
    hook = await _subscribe(client, owner, receiver.url)
    emit(app, "organization.updated", unit, organization_id=unit)
    now = datetime.now(UTC)
    worker.run_once(now)
    for _ in range(50):
        [delivery] = await _deliveries(client, owner, hook)
        if delivery["state"] != "pending":
            break
        now = datetime.fromisoformat(delivery["next_attempt_at"])
        worker.run_once(now)
    assert delivery["state"] == "failed"
    started = [datetime.fromisoformat(a["started_at"]) for a in delivery["attempts"]]
    gaps = [b - a for a, b in zip(started, started[1:], strict=False)]
    assert gaps[:6] == [
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
    ]
    assert started[-1] - started[0] <= RETRY_WINDOW < started[-1] - started[0] + timedelta(hours=10)
    assert len(receiver.requests) == len(started) == delivery["attempt_count"]


async def test_a_restarted_worker_resumes_without_losing_or_repeating(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, receiver_factory
) -> None:  # type: ignore[no-untyped-def]
    receiver = receiver_factory()
    unit = make_org(app)
    owner = make_user(app, unit, "applicant")
    hook = await _subscribe(client, owner, receiver.url)
    first = [emit(app, "organization.updated", unit, organization_id=unit) for _ in range(3)]
    now = datetime.now(UTC)
    # A lease shorter than the default two minutes (SMPS_WEBHOOK_LEASE_SECONDS) is the one honoured.
    settings = settings.model_copy(update={"webhook_lease_seconds": 45.0})
    lease = timedelta(seconds=45)

    # A worker fans out and claims, then dies before sending anything.
    doomed = Worker(app.state.database, settings)
    assert doomed.webhooks.fan_out(now) == 3
    assert len(doomed.webhooks.claim(now)) == 3
    doomed.close()
    later = [emit(app, "organization.updated", unit, organization_id=unit) for _ in range(2)]

    restarted = Worker(app.state.database, settings)
    try:
        result = restarted.run_once(now + timedelta(seconds=1))
        assert (result.fanned_out, result.succeeded) == (2, 2)  # the claimed three wait for their lease
        assert restarted.run_once(now + lease - timedelta(seconds=1)).attempted == 0
        result = restarted.run_once(now + lease + timedelta(seconds=1))
        assert result.succeeded == 3
        assert restarted.run_once(now + lease * 10).attempted == 0
    finally:
        restarted.close()
    assert sorted(_event_ids(receiver)) == sorted(first + later)
    abandoned = [d for d in await _deliveries(client, owner, hook) if d["event_id"] in first]
    for delivery in abandoned:
        assert delivery["state"] == "succeeded" and [a["outcome"] for a in delivery["attempts"]] == [
            "failed",
            "succeeded",
        ]
        assert delivery["attempts"][0]["error"] == "abandoned"


def test_a_lease_shorter_than_three_timeouts_is_refused() -> None:
    # A live worker's attempt (connect, send, answer: one timeout each) must end within its lease.
    with pytest.raises(ValidationError, match="webhook_lease_seconds"):
        Settings(webhook_timeout_seconds=10, webhook_lease_seconds=29)
    assert Settings(webhook_timeout_seconds=10, webhook_lease_seconds=30).webhook_lease_seconds == 30


async def test_two_workers_never_send_one_attempt_twice(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, receiver_factory
) -> None:  # type: ignore[no-untyped-def]
    receiver = receiver_factory()
    unit = make_org(app)
    owner = make_user(app, unit, "applicant")
    await _subscribe(client, owner, receiver.url)
    await _subscribe(client, owner, receiver.url, ["organization.*"])
    events = [emit(app, "organization.updated", unit, organization_id=unit) for _ in range(40)]
    now = datetime.now(UTC)
    workers = [Worker(app.state.database, settings) for _ in range(3)]
    errors: list[BaseException] = []

    def run(w: Worker) -> None:
        try:
            for _ in range(3):
                w.run_once(now)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in workers:
        w.close()
    assert not errors
    message_ids = [h["webhook-id"] for h, _ in receiver.requests]
    assert len(message_ids) == len(set(message_ids)) == 80
    assert sorted(_event_ids(receiver)) == sorted(events * 2)


async def test_a_subscription_receives_only_what_its_owner_may_see(
    app: FastAPI, client: httpx.AsyncClient, worker: Worker, receiver_factory
) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = receiver_factory(), receiver_factory()
    unit, other = make_org(app), make_org(app)
    bureau = seeded_org(app, "370000")
    owner = make_user(app, unit, "applicant")
    reviewer = make_user(app, bureau, "reviewer")
    await _subscribe(client, owner, mine.url)
    await _subscribe(client, reviewer, theirs.url)
    own_app = make_application(app, undertaking=unit, created_by=owner.user_id, recommender=bureau)
    other_app = make_application(
        app, undertaking=other, created_by=owner.user_id, recommender=bureau, state="provincial_review"
    )
    e_own = emit(app, "application.created", own_app, application_id=own_app, recommender_id=bureau)
    e_other = emit(app, "application.state_changed", other_app, application_id=other_app, recommender_id=bureau)
    batch = make_batch(app, recommender=bureau, created_by=reviewer.user_id)
    e_batch = emit(app, "batch.created", batch, recommender_id=bureau)
    emit(
        app,
        "batch.created",
        make_batch(app, recommender=seeded_org(app, "110000"), created_by=reviewer.user_id),
        recommender_id=seeded_org(app, "110000"),
    )  # another bureau's list
    e_call = emit(app, "call.updated")
    worker.run_once(datetime.now(UTC))
    assert sorted(_event_ids(mine)) == sorted([e_own, e_call])
    assert sorted(_event_ids(theirs)) == sorted([e_other, e_batch, e_call])  # the draft is not the reviewer's yet


async def test_an_unsubscribed_webhook_gets_nothing_more(
    app: FastAPI, client: httpx.AsyncClient, worker: Worker, receiver_factory, clock
) -> None:  # type: ignore[no-untyped-def]
    clock.set(datetime.now(UTC))
    receiver = receiver_factory(fail_first=1)
    unit = make_org(app)
    owner = make_user(app, unit, "applicant")
    hook = await _subscribe(client, owner, receiver.url)
    emit(app, "organization.updated", unit, organization_id=unit)
    now = datetime.now(UTC)
    worker.run_once(now)
    assert (await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers)).status_code == 204
    emit(app, "organization.updated", unit, organization_id=unit)
    assert worker.run_once(now + timedelta(hours=1)).attempted == 0
    assert len(receiver.requests) == 1
    with app.state.database.reader() as session:
        assert session.execute(sa.select(WebhookDelivery.state)).scalars().all() == ["cancelled"]


async def test_an_address_that_became_private_is_not_called(
    app: FastAPI, client: httpx.AsyncClient, worker: Worker, settings: Settings, receiver_factory
) -> None:  # type: ignore[no-untyped-def]
    receiver = receiver_factory()
    unit = make_org(app)
    owner = make_user(app, unit, "applicant")
    hook = await _subscribe(client, owner, receiver.url)
    settings.webhook_allowed_hosts = ""
    emit(app, "organization.updated", unit, organization_id=unit)
    worker.run_once(datetime.now(UTC))
    assert receiver.requests == []
    [delivery] = await _deliveries(client, owner, hook)
    assert delivery["state"] == "pending" and delivery["last_error"] == "address_not_allowed"


def test_housekeeping_prunes_old_events_and_expired_keys(app: FastAPI, settings: Settings) -> None:
    settings.event_retention_days = 30
    now = datetime.now(UTC)
    old = emit(app, "call.updated", now=now - timedelta(days=31))
    new = emit(app, "call.updated", now=now - timedelta(days=29))
    with app.state.database.writer() as session:
        session.add(
            IdempotencyKey(
                user_id="usr_x",
                key="k",
                method="POST",
                path="/api/v1/x",
                state="completed",
                created_at=now - timedelta(days=2),
                expires_at=now - timedelta(days=1),
            )
        )
        session.commit()
    worker = Worker(app.state.database, settings)
    try:
        # Not pruned before the fan-out has passed it; then pruned.
        assert worker.webhooks.fan_out(now) == 0
        result = worker.run_once(now)
    finally:
        worker.close()
    assert result.pruned["events"] == 1 and result.pruned["idempotency_keys"] == 1
    with app.state.database.reader() as session:
        kept = set(session.execute(sa.select(Event.id)).scalars())
    assert old not in kept and new in kept


def test_worker_command_runs_one_pass(app: FastAPI, settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SMPS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SMPS_STORAGE_DIR", str(settings.storage_dir))
    emit(app, "call.updated")
    result = CliRunner().invoke(main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "attempted 0" in result.output
