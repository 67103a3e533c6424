"""A request killed with its server leaves its ``Idempotency-Key`` claimed; the claim is a lease that only a
live process renews, so after a restart the retry with the same key proceeds within the lease (10 s), and
each 409 on the way says truthfully when to come back."""

import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.core.idempotency_models import IdempotencyKey
from tests.factories import make_org, make_user
from tests.races.live import Servers

BODY = b'{"mode": "valid_rows", "rows": [{"title": "killed mid-body"}]}'


def _claims(app: FastAPI) -> int:
    with app.state.database.reader() as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(IdempotencyKey)).scalar_one())


def test_a_key_whose_server_was_killed_mid_request_is_free_within_the_lease(app: FastAPI, servers: Servers) -> None:
    user = make_user(app, make_org(app), "applicant")
    headers = {**user.headers, "Idempotency-Key": "killed", "Content-Type": "application/json"}
    server = servers.start(workers=1)
    hold = threading.Event()

    def trickle() -> Iterator[bytes]:
        yield BODY[:10]
        hold.wait(60)  # the rest never comes: the server is killed meanwhile
        yield BODY[10:]

    def send() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server dies under it
            httpx.post(f"{server.url}/api/v1/bulk-uploads", content=trickle(), headers=headers, timeout=60)

    sender = threading.Thread(target=send)
    sender.start()
    for _ in range(600):  # the claim is written before the body is read
        if _claims(app):
            break
        time.sleep(0.05)
    assert _claims(app) == 1
    server.kill()
    hold.set()
    sender.join()

    restarted = servers.start(workers=1)
    waits: list[str] = []
    with httpx.Client(base_url=restarted.url, timeout=60) as http:
        for _ in range(20):
            response = http.post("/api/v1/bulk-uploads", content=BODY, headers=headers)
            if response.status_code != 409:
                break
            assert response.json()["code"] == "idempotency_in_flight"
            waits.append(response.headers["retry-after"])
            time.sleep(int(response.headers["retry-after"]))
    assert response.status_code == 202, (response.status_code, response.text, waits)
    assert "idempotent-replayed" not in response.headers
    # Retry-After told the truth: the waits it asked for add up to no more than the lease (10 s) and a
    # round trip, where a claim kept for an hour answered "1" again and again.
    assert sum(int(w) for w in waits) <= 12, waits
