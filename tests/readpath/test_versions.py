"""Every change to an application or its sign-offs moves its ``version``, and the read path shows it.

The read path keeps encoded bodies by ``(id, version, updated_at)`` and never invalidates them
(``app.readpath.kept``): that is right only if every write that changes what a body shows — the row, its
endorsements, its attachments, a review, a batch step — moves ``version``. Each write path is driven
here through the HTTP API, with the body already kept by an earlier read; after it the stored version
is higher, and the read answered from what is kept is the one a process with nothing kept gives.
"""

from collections.abc import Awaitable, Callable

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import col

from app.applications.models import Application
from app.readpath.kept import Representations
from tests.applications.cast import MINIMAL_PDF, Actor, Cast, Flow, make_cast
from tests.batches.helpers import act, open_batch, put_items

Write = Callable[[], Awaitable[httpx.Response]]


def _stored_version(app: FastAPI, application_id: str) -> int:
    with app.state.database.reader() as session:
        return int(
            session.execute(
                sa.select(col(Application.version)).where(col(Application.id) == application_id)
            ).scalar_one()
        )


class Watch:
    """Reads the application before and after each write, as ``observers`` (their bodies kept meanwhile)."""

    def __init__(self, app: FastAPI, flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
        self.app, self.flow, self.monkeypatch = app, flow, monkeypatch
        self.steps: list[str] = []

    async def _read(self, actor: Actor) -> httpx.Response:
        return await self.flow.client.get(f"/api/v1/applications/{self.flow.id}", headers=actor.headers)

    async def write(
        self, label: str, write: Write, observers: list[Actor], expect: int = 200, *, moves: bool = True
    ) -> httpx.Response:
        """``write``, which moves the version (``moves``) or else leaves every body as it was."""
        before = _stored_version(self.app, self.flow.id)
        for actor in observers:  # the current version's body kept for each of them
            assert (await self._read(actor)).status_code == 200, (label, actor.username)
            assert (await self._read(actor)).json()["version"] == before
        response = await write()
        assert response.status_code == expect, (label, response.text)
        after = _stored_version(self.app, self.flow.id)
        if moves:
            assert after > before, f"{label} changed the application without moving its version"
        for actor in observers:
            kept = await self._read(actor)
            with self.monkeypatch.context() as patch:
                patch.setattr(self.app.state.read_path, "bodies", Representations(max_bytes=1 << 20))
                fresh = await self._read(actor)
            assert kept.status_code == fresh.status_code, (label, actor.username)
            if kept.status_code == 200:
                assert kept.json()["version"] == after, label
                assert kept.content == fresh.content and kept.headers["etag"] == fresh.headers["etag"], label
        await self.flow.get(self.flow.cast.applicant)  # the ETag the next write names
        self.steps.append(label)
        return response


async def _upload(flow: Flow, kind: str) -> httpx.Response:
    await flow.get(flow.cast.applicant)
    return await flow.client.post(
        f"/api/v1/applications/{flow.id}/attachments",
        headers={**flow.cast.applicant.headers, "If-Match": flow.etag},
        files={"file": (f"{kind}.pdf", MINIMAL_PDF, "application/pdf")},
        data={"kind": kind},
    )


async def _delete_attachment(flow: Flow, attachment: dict[str, str]) -> httpx.Response:
    return await flow.client.delete(
        f"/api/v1/attachments/{attachment['id']}",
        headers={**flow.cast.applicant.headers, "If-Match": f'"{attachment["sha256"]}"'},
    )


async def _endorse_others(watch: Watch, flow: Flow, c: Cast, observers: list[Actor]) -> None:
    for signatory, role, org in (
        (c.undertaking_signatory, "undertaking", c.undertaking),
        (c.participating_signatory, "participating", c.participating),
        (c.guidance_signatory, "guidance", c.guidance),
    ):
        await watch.write(
            f"endorse {role}",
            lambda s=signatory, r=role, o=org: flow.endorse(s, r, o),  # type: ignore[misc]
            observers,
            201,
        )


async def test_every_write_through_review_and_batches_moves_the_version(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = await make_cast(app, client)
    flow = Flow(client, c)
    await flow.create()
    watch = Watch(app, flow, monkeypatch)
    applicant, both = [c.applicant], [c.applicant, c.reviewer]

    await watch.write(
        "edit",
        lambda: flow.client.patch(
            f"/api/v1/applications/{flow.id}",
            json={"title": "济南市历下区政务服务标准化试点（修订）"},
            headers={**c.applicant.headers, "If-Match": flow.etag},
        ),
        applicant,
    )
    spare = await watch.write("attach", lambda: _upload(flow, "application_form_scan"), applicant, 201)
    await watch.write("remove attachment", lambda: _delete_attachment(flow, spare.json()), applicant, 204)
    await watch.write("attach again", lambda: _upload(flow, "application_form_scan"), applicant, 201)
    page = await watch.write("attach paper page", lambda: _upload(flow, "paper_endorsement"), applicant, 201)
    await watch.write("submit", lambda: flow.act("submit"), applicant)
    await watch.write("recall", lambda: flow.act("recall"), applicant)
    await watch.write("submit again", lambda: flow.act("submit"), applicant)
    await _endorse_others(watch, flow, c, applicant)
    paper = await watch.write(
        "paper sign-off, all agreed",
        lambda: flow.endorse(c.applicant, "guarantor", c.guarantor, mode="paper", attachment_id=page.json()["id"]),
        applicant,
        201,
    )
    await watch.write(
        "verify paper sign-off",
        lambda: flow.post(f"/endorsements/{paper.json()['id']}/verification", c.reviewer, {"verdict": "confirmed"}),
        both,
    )
    await watch.write("recommend", lambda: flow.review("recommend", "同意推荐"), both, 201)
    await watch.write("reopen", lambda: flow.act("reopen", c.reviewer), both)
    await watch.write("recommend again", lambda: flow.review("recommend", "同意推荐"), both, 201)

    batch = await open_batch(client, c)
    # Putting it on a list changes nothing its body shows: what is kept stays right, moved or not.
    items = await watch.write(
        "batch items", lambda: put_items(client, batch, c.reviewer, [flow.id], batch.headers["etag"]), both, moves=False
    )
    batch_id = batch.json()["id"]
    submitted = await watch.write(
        "batch submitted", lambda: act(client, batch_id, c.reviewer, items.headers["etag"], "submit"), both
    )
    returned = await watch.write(
        "batch returned",
        lambda: act(client, batch_id, c.office, submitted.headers["etag"], "return", "请调整排序"),
        both,
    )
    again = await watch.write(
        "batch submitted again", lambda: act(client, batch_id, c.reviewer, returned.headers["etag"], "submit"), both
    )
    await watch.write(
        "batch acknowledged",
        lambda: act(client, batch_id, c.office, again.headers["etag"], "acknowledge"),
        both,
        moves=False,
    )
    await flow.get(c.office)
    await watch.write(
        "outcome",
        lambda: flow.post("/outcome", c.office, {"decision": "approve", "document_number": "国标委发〔2023〕5号"}),
        both,
    )
    assert (await flow.get(c.applicant)).json()["state"] == "approved"


async def test_every_refusal_and_ending_moves_the_version(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = await make_cast(app, client)
    flow = Flow(client, c)
    await flow.create()
    await flow.attach_scan()
    watch = Watch(app, flow, monkeypatch)
    applicant, both = [c.applicant], [c.applicant, c.reviewer]

    await watch.write("submit", lambda: flow.act("submit"), applicant)
    await watch.write(
        "disagree",
        lambda: flow.endorse(c.guarantor_signatory, "guarantor", c.guarantor, decision="disagree"),
        applicant,
        201,
    )
    await watch.write("submit after disagreement", lambda: flow.act("submit"), applicant)
    await _endorse_others(watch, flow, c, applicant)
    await watch.write(
        "all agreed", lambda: flow.endorse(c.guarantor_signatory, "guarantor", c.guarantor), applicant, 201
    )
    await watch.write("return", lambda: flow.review("return", "请补充材料"), both, 201)
    await watch.write("submit after return", lambda: flow.act("submit"), applicant)
    await flow.endorse_all()
    await watch.write("reject", lambda: flow.review("reject", "不符合申报条件"), both, 201)

    other = Flow(client, c)
    await other.create()
    watch = Watch(app, other, monkeypatch)
    await watch.write("withdraw", lambda: other.act("withdraw"), applicant)

    draft = Flow(client, c)
    await draft.create()
    await draft.get(c.applicant)
    before = await draft.get(c.applicant)  # kept
    assert before.status_code == 200
    deleted = await client.delete(
        f"/api/v1/applications/{draft.id}", headers={**c.applicant.headers, "If-Match": draft.etag}
    )
    assert deleted.status_code == 204, deleted.text
    assert (await draft.get(c.applicant)).status_code == 404  # what was kept is never served
