"""50 POSTs sharing one ``Idempotency-Key`` at once against the real server: the claims are writes and go
through the write gate like every other write, so none waits out SQLite's busy timeout (once 30 s and
28 answers 500 "database is locked"): one executes, the others get the replay or 409 in flight, no 5xx."""

from collections import Counter

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.events.models import Webhook
from tests.factories import make_org, make_user
from tests.races.live import Servers, race

HOOK = {"url": "http://127.0.0.1:9/h", "event_types": ["*"], "description": "同步"}


async def test_fifty_same_key_posts_execute_once_with_no_5xx(app: FastAPI, servers: Servers) -> None:
    user = make_user(app, make_org(app), "applicant")
    server = servers.start(workers=1, SMPS_WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    headers = {**user.headers, "Idempotency-Key": "stampede"}

    async def send(http: httpx.AsyncClient, _: int) -> httpx.Response:
        return await http.post("/api/v1/webhooks", json=HOOK, headers=headers)

    responses = await race(server.url, 50, send)
    codes = Counter(r.status_code for r in responses)
    assert all(code < 500 for code in codes), (dict(codes), [r.text[:200] for r in responses if r.status_code >= 500])
    originals = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(originals) == 1, dict(codes)
    for r in responses:
        if r is not originals[0]:
            assert r.status_code == 409 or r.content == originals[0].content, r.text
    with app.state.database.reader() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Webhook)).scalar_one() == 1
