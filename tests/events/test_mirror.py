"""An integrator's mirror, for each role: a live poller of the feed and a Standard-Webhooks receiver.

A scripted flow (recalls, a return by the reviewer, resubmissions, a list submitted, returned by the
office and resubmitted, a draft the ministry entered) runs one visible change at a time. After every
step each role's poller reads the feed from its stored cursor, the worker delivers, and both mirrors
must hold exactly the events the role may read by then: every event of each application (or list) the
role's own GET has shown at any step so far, written up to that step — earlier events included, as
soon as the resource becomes visible (docs/change-feed.md: "a subscriber receives every event it may read, when it
may first read it"). Deliveries are verified with the `standardwebhooks` package and deduped by event
id; the feed itself shows each event once, and an application's events in the order they happened.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from fastapi import FastAPI
from standardwebhooks import Webhook as StandardWebhook

from app.core.outbox_models import Event
from app.worker import Worker
from tests.applications.cast import Flow, make_cast
from tests.applications.test_provinces_and_roles import enter, entered_form
from tests.batches.helpers import act, open_batch, put_items
from tests.conftest import Actor
from tests.events.conftest import Receiver
from tests.factories import make_org, make_user


class Mirror:
    """One role's copy: what it polled from the feed and what its webhook received."""

    def __init__(self, actor: Actor, secret: str, receiver: Receiver) -> None:
        self.actor, self.secret, self.receiver = actor, secret, receiver
        self.cursor: str | None = None
        self.polled: list[str] = []

    async def poll(self, client: httpx.AsyncClient) -> None:
        while True:
            params = {"page_size": 7, **({"after": self.cursor} if self.cursor else {})}
            r = await client.get("/api/v1/events", params=params, headers=self.actor.headers)
            assert r.status_code == 200, r.text
            page = r.json()
            self.polled += [e["id"] for e in page["items"]]
            self.cursor = page["next_cursor"]
            if not page["has_more"]:
                return

    def delivered(self) -> list[str]:
        verifier = StandardWebhook(self.secret)
        out = []
        with self.receiver.lock:
            requests = list(self.receiver.requests)
        for headers, body in requests:
            payload = verifier.verify(body, headers)  # raises when the signature does not hold
            assert payload["type"] == payload["data"]["type"]
            out.append(payload["data"]["id"])
        return out


async def _visible(client: httpx.AsyncClient, actor: Actor, paths: list[str]) -> set[str]:
    seen = set()
    for path in paths:
        status = (await client.get(path, headers=actor.headers)).status_code
        assert status in (200, 404), (path, status)
        if status == 200:
            seen.add(path.rsplit("/", 1)[1])
    return seen


def _log(app: FastAPI, start: int) -> list[Event]:
    with app.state.database.reader() as session:
        return list(session.execute(sa.select(Event).where(Event.seq > start).order_by(Event.seq)).scalars())


async def test_every_role_mirrors_exactly_what_it_may_read(
    app: FastAPI, client: httpx.AsyncClient, worker: Worker, receiver_factory: type[Receiver]
) -> None:
    cast = await make_cast(app, client)
    ministry_org = make_org(app, name="民政部", province_code="110000", area="110102", recommender_kind="member_unit")
    roles: dict[str, Actor] = {
        "applicant unit": cast.applicant,
        "signatory": cast.guarantor_signatory,
        "provincial reviewer": cast.reviewer,
        "ministry": make_user(app, ministry_org, "reviewer"),
        "office": cast.office,
        "admin": cast.admin,
        "stranger": cast.stranger,
    }
    mirrors: dict[str, Mirror] = {}
    for role, actor in roles.items():
        receiver = receiver_factory()
        r = await client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["*"]}, headers=actor.headers
        )
        assert r.status_code == 201, r.text
        mirrors[role] = Mirror(actor, r.json()["secret"], receiver)
    with app.state.database.reader() as session:
        start = session.execute(sa.select(sa.func.max(Event.seq))).scalar() or 0

    resources: list[str] = []  # GET paths of the applications and the list, as they appear
    readable: dict[str, set[str]] = {role: set() for role in roles}
    a, b, c = Flow(client, cast), Flow(client, cast), Flow(client, cast)
    batch: dict[str, Any] = {}

    async def step(name: str, change: Callable[[], Awaitable[None]]) -> None:
        await change()
        log = _log(app, start)
        worker.run_once(datetime.now(UTC))
        for role, mirror in mirrors.items():
            seen = await _visible(client, mirror.actor, resources)
            for e in log:
                scope = e.application_id or (e.subject_id if e.subject_type == "batch" else None)
                if scope is None or scope in seen:
                    readable[role].add(e.id)
            await mirror.poll(client)
            since = {e.id for e in log}
            polled = [i for i in mirror.polled if i in since]
            assert len(polled) == len(set(polled)), (name, role, "the feed showed an event twice")
            assert set(polled) == readable[role], (name, role, set(polled) ^ readable[role])
            assert set(mirror.delivered()) & since == readable[role], (name, role)

    async def patch(flow: Flow, body: dict[str, Any]) -> None:
        await flow.get(cast.applicant)
        r = await client.patch(
            f"/api/v1/applications/{flow.id}", json=body, headers={**cast.applicant.headers, "If-Match": flow.etag}
        )
        assert r.status_code == 200, r.text

    async def transition(flow: Flow, action: str, actor: Actor | None = None) -> None:
        await flow.get(actor or cast.applicant)
        r = await flow.act(action, actor)
        assert r.status_code == 200, r.text

    async def review(flow: Flow, decision: str, actor: Actor) -> None:
        await flow.get(actor)
        r = await flow.review(decision, "意见", actor)
        assert r.status_code == 201, r.text

    async def create(flow: Flow, **overrides: Any) -> None:
        await flow.create(**overrides)
        resources.append(f"/api/v1/applications/{flow.id}")
        await flow.attach_scan()

    async def batch_act(action: str, actor: Actor) -> None:
        etag = (await client.get(f"/api/v1/batches/{batch['id']}", headers=actor.headers)).headers["etag"]
        r = await act(client, batch["id"], actor, etag, action, "请补充排序说明" if action == "return" else None)
        assert r.status_code == 200, r.text

    async def make_batch() -> None:
        batch.update((await open_batch(client, cast)).json())
        resources.append(f"/api/v1/batches/{batch['id']}")
        etag = (await client.get(f"/api/v1/batches/{batch['id']}", headers=cast.reviewer.headers)).headers["etag"]
        assert (await put_items(client, batch, cast.reviewer, [a.id], etag)).status_code == 200

    async def entered() -> None:
        r = await enter(client, roles["ministry"], entered_form(cast, cast.undertaking, title="部委代录"))
        assert r.status_code == 201, r.text
        c.id = r.json()["id"]
        resources.append(f"/api/v1/applications/{c.id}")

    async def outcome() -> None:
        await a.get(cast.office)
        r = await a.post("/outcome", cast.office, {"decision": "approve", "document_number": "国标委发〔2023〕5号"})
        assert r.status_code == 200, r.text

    await step("A drafted", lambda: create(a, title="省级申请"))
    await step("A edited", lambda: patch(a, {"funding": {"amount_cny": 1500000, "sources": "区财政"}}))
    await step("A submitted", lambda: transition(a, "submit"))
    await step("A recalled", lambda: transition(a, "recall"))
    await step("A edited as a draft again", lambda: patch(a, {"title": "省级申请（修改）"}))
    await step("A resubmitted", lambda: transition(a, "submit"))
    await step("A signed off", a.endorse_all)
    await step("A returned by the province", lambda: review(a, "return", cast.reviewer))
    await step("A submitted after its return", lambda: transition(a, "submit"))
    await step("A signed off again", a.endorse_all)
    await step("A recommended", lambda: review(a, "recommend", cast.reviewer))
    await step("B drafted for the ministry", lambda: create(b, title="部委申请", recommender_id=ministry_org))
    await step("B submitted", lambda: transition(b, "submit"))
    await step("B recalled", lambda: transition(b, "recall"))
    await step("B resubmitted", lambda: transition(b, "submit"))
    await step("B signed off", b.endorse_all)
    await step("C entered by the ministry", entered)
    await step("the list made", make_batch)
    await step("the list submitted", lambda: batch_act("submit", cast.reviewer))
    await step("the list returned by the office", lambda: batch_act("return", cast.office))
    await step("the list resubmitted", lambda: batch_act("submit", cast.reviewer))
    await step("the list acknowledged", lambda: batch_act("acknowledge", cast.office))
    await step("A approved", outcome)

    log = _log(app, start)
    order = {e.id: e.seq for e in log}
    of = {e.id: e.application_id for e in log}
    for role, mirror in mirrors.items():
        for application in {of[i] for i in mirror.polled if of.get(i)}:
            seqs = [order[i] for i in mirror.polled if of.get(i) == application]
            assert seqs == sorted(seqs), (role, "an application's events out of order")
    # Each role's mirror as the flow leaves it.
    assert readable["stranger"] == set()
    assert readable["admin"] == {e.id for e in log}
    assert {of[i] for i in readable["ministry"]} == {b.id, c.id}
    assert {of[i] for i in readable["office"] if of[i]} == {a.id}
    a_events = {e.id for e in log if e.application_id == a.id}
    for role in ("applicant unit", "signatory", "provincial reviewer", "office"):
        assert a_events <= readable[role], role
    # The office had A's drafting, sign-offs and review delivered, though it read none of it as it happened.
    recalls = [e for e in log if e.application_id == a.id and e.type == "application.state_changed"]
    assert any(orjson.loads(orjson.dumps(e.data))["action"] == "recall" for e in recalls)
