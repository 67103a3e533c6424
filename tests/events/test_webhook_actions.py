"""A test event sent to a subscription, and a finished delivery sent again."""

from datetime import UTC, datetime, timedelta

import httpx
import orjson
from fastapi import FastAPI
from standardwebhooks import Webhook as Verifier

from app.events.delivery import RETRY_WINDOW
from app.worker import Worker
from tests.events.conftest import Receiver, emit
from tests.factories import make_org, make_user


async def test_a_test_event_reaches_the_address_signed(
    app: FastAPI, client: httpx.AsyncClient, worker: Worker, receiver_factory: type[Receiver]
) -> None:
    unit = make_org(app)
    owner, colleague = make_user(app, unit, "applicant"), make_user(app, unit, "signatory")
    stranger = make_user(app, make_org(app), "applicant")
    receiver = receiver_factory()
    created = await client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["batch.submitted"]}, headers=owner.headers
    )
    hook = created.json()
    url = f"/api/v1/webhooks/{hook['id']}/test"
    assert (await client.post(url, headers=stranger.headers)).status_code == 404
    assert (await client.post(url, headers=colleague.headers)).status_code == 403
    sent = await client.post(url, headers=owner.headers)
    assert sent.status_code == 202, sent.text
    assert sent.json()["event_type"] == "webhook.test" and sent.json()["state"] == "pending"

    worker.run_once(datetime.now(UTC))
    [(headers, body)] = receiver.requests
    payload = Verifier(hook["secret"]).verify(body, headers)
    assert payload["type"] == "webhook.test" and payload["data"]["data"]["webhook_id"] == hook["id"]
    assert headers["webhook-id"] == sent.json()["id"]
    # In no feed.
    feed = (await client.get("/api/v1/events", headers=owner.headers)).json()["items"]
    assert all(e["type"] != "webhook.test" for e in feed)


async def test_a_failed_delivery_is_redelivered_with_the_same_id_and_body(
    app: FastAPI, client: httpx.AsyncClient, worker: Worker, receiver_factory: type[Receiver]
) -> None:
    owner = make_user(app, make_org(app), "applicant")
    receiver = receiver_factory(status=500)
    hook = (
        await client.post("/api/v1/webhooks", json={"url": receiver.url, "event_types": ["*"]}, headers=owner.headers)
    ).json()
    event_id = emit(app, "call.updated")
    start = datetime.now(UTC)
    worker.run_once(start)
    [delivery] = (await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=owner.headers)).json()["items"]
    redeliver = f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver"
    refused = await client.post(redeliver, headers=owner.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_state"  # still being retried
    # The receiver stays down past the retry window: the delivery fails for good.
    later = start
    while later - start <= RETRY_WINDOW + timedelta(hours=10):
        later += timedelta(hours=10)
        worker.run_once(later)
    [failed] = (await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=owner.headers)).json()["items"]
    assert failed["state"] == "failed"

    receiver.status = 204
    again = await client.post(redeliver, headers=owner.headers)
    assert again.status_code == 202, again.text
    assert again.json()["state"] == "pending" and again.json()["attempt_count"] == failed["attempt_count"]
    missing = f"/api/v1/webhooks/{hook['id']}/deliveries/msg_missing/redeliver"
    assert (await client.post(missing, headers=owner.headers)).status_code == 404
    worker.run_once(datetime.now(UTC))
    [done] = (await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=owner.headers)).json()["items"]
    assert done["state"] == "succeeded"
    first, last = receiver.requests[0], receiver.requests[-1]
    assert last[0]["webhook-id"] == first[0]["webhook-id"] == delivery["id"] and last[1] == first[1]
    assert orjson.loads(last[1])["data"]["id"] == event_id
