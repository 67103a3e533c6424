"""Removing a paper sign-off page during sign-off: allowed while no current sign-off rests on it."""

import asyncio

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.applications.models import Endorsement
from app.attachments.models import Attachment
from app.core.outbox_models import Event
from app.core.settings import Settings
from tests.applications.cast import Flow, make_cast
from tests.attachments import files
from tests.conftest import Actor
from tests.tags import etag_of


async def _page(client: httpx.AsyncClient, flow: Flow, content: bytes, actor: Actor | None = None) -> httpx.Response:
    response = await client.post(
        f"/api/v1/applications/{flow.id}/attachments",
        headers={
            **(actor or flow.cast.applicant).headers,
            "If-Match": await etag_of(client, flow.id, (actor or flow.cast.applicant).headers),
        },
        files={"file": ("盖章页.pdf", content, "application/pdf")},
        data={"kind": "paper_endorsement"},
    )
    await flow.get(flow.cast.applicant)
    return response


async def _endorsing(app: FastAPI, client: httpx.AsyncClient) -> tuple[Flow, str]:
    """An application submitted for sign-off; returns it and the id of its form scan."""
    flow = Flow(client, await make_cast(app, client))
    await flow.create()
    scan = await flow.attach_scan()
    submitted = await flow.act("submit")
    assert submitted.status_code == 200, submitted.text
    return flow, scan


def _blob_count(settings: Settings) -> int:
    return sum(1 for p in (settings.storage_dir / "blobs").rglob("*") if p.is_file())


async def test_a_page_no_sign_off_rests_on_can_be_removed_during_sign_off(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    flow, scan = await _endorsing(app, client)
    c = flow.cast
    used = (await _page(client, flow, files.pdf(pages=1))).json()
    mistaken = (await _page(client, flow, files.pdf(pages=2))).json()
    paper = await flow.endorse(c.applicant, "guarantor", c.guarantor, mode="paper", attachment_id=used["id"])
    assert paper.status_code == 201, paper.text
    before = (await flow.get(c.applicant)).json()["version"]

    # The page a current sign-off rests on stays; so does the content (the form scan).
    in_use = await client.delete(f"/api/v1/attachments/{used['id']}", headers=c.applicant.headers)
    assert in_use.status_code == 409, in_use.text
    assert in_use.json()["code"] == "invalid_state_transition" and in_use.json()["reason"] == "page_of_current_sign_off"
    assert in_use.json()["endorsement_id"] == paper.json()["id"]
    content = await client.delete(f"/api/v1/attachments/{scan}", headers=c.applicant.headers)
    assert content.status_code == 409 and content.json()["code"] == "invalid_state_transition"
    # Only those who may add attachments may remove them; others do not see it at all.
    signatory = await client.delete(f"/api/v1/attachments/{mistaken['id']}", headers=c.guarantor_signatory.headers)
    assert signatory.status_code == 403, signatory.text
    stranger = await client.delete(f"/api/v1/attachments/{mistaken['id']}", headers=c.stranger.headers)
    assert stranger.status_code == 404

    removed = await client.delete(
        f"/api/v1/attachments/{mistaken['id']}", headers={**c.applicant.headers, "If-Match": f'"{mistaken["sha256"]}"'}
    )
    assert removed.status_code == 204, removed.text
    after = (await flow.get(c.applicant)).json()
    assert after["state"] == "endorsing" and after["version"] == before + 1
    with app.state.database.reader() as session:
        kinds = sorted(session.execute(sa.select(Attachment.kind)).scalars())
        deleted = session.execute(sa.select(Event.subject_id).where(Event.type == "attachment.deleted")).scalars().all()
    assert kinds == ["application_form_scan", "paper_endorsement"] and deleted == [mistaken["id"]]
    assert _blob_count(settings) == 2  # its file went after the commit

    # The sign-off still counts: the remaining parties finish and the application moves on.
    for signatory_, role, org in (
        (c.undertaking_signatory, "undertaking", c.undertaking),
        (c.participating_signatory, "participating", c.participating),
        (c.guidance_signatory, "guidance", c.guidance),
    ):
        assert (await flow.endorse(signatory_, role, org)).status_code == 201
    assert (await flow.get(c.applicant)).json()["state"] == "provincial_review"
    late = await client.delete(f"/api/v1/attachments/{used['id']}", headers=c.applicant.headers)
    assert late.status_code == 409


async def test_a_page_of_a_voided_sign_off_can_be_removed_in_the_next_round(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    flow, _ = await _endorsing(app, client)
    c = flow.cast
    page = (await _page(client, flow, files.pdf(pages=1))).json()
    assert (
        await flow.endorse(c.applicant, "guarantor", c.guarantor, mode="paper", attachment_id=page["id"])
    ).status_code == 201
    # A party disagrees: the application is returned and the sign-offs of the round are voided.
    assert (await flow.endorse(c.guidance_signatory, "guidance", c.guidance, decision="disagree")).status_code == 201
    assert (await flow.get(c.applicant)).json()["state"] == "returned"
    assert (await flow.act("submit")).status_code == 200
    with app.state.database.reader() as session:
        voided = session.execute(
            sa.select(Endorsement.voided_at).where(Endorsement.attachment_id == page["id"])
        ).scalar_one()
    assert voided is not None

    removed = await client.delete(
        f"/api/v1/attachments/{page['id']}", headers={**c.applicant.headers, "If-Match": f'"{page["sha256"]}"'}
    )
    assert removed.status_code == 204, removed.text


async def test_removing_a_page_races_a_sign_off_naming_it(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Of a removal and a paper sign-off naming the same page, never both: no current sign-off rests on
    a page that is gone."""
    flow, _ = await _endorsing(app, client)
    c = flow.cast
    for pages in range(1, 6):
        page = (await _page(client, flow, files.pdf(pages=pages))).json()
        endorsed, removed = await asyncio.gather(
            flow.endorse(c.applicant, "guarantor", c.guarantor, mode="paper", attachment_id=page["id"]),
            client.delete(
                f"/api/v1/attachments/{page['id']}", headers={**c.applicant.headers, "If-Match": f'"{page["sha256"]}"'}
            ),
        )
        assert (endorsed.status_code == 201) != (removed.status_code == 204), (endorsed.text, removed.text)
        assert endorsed.status_code in (201, 412, 422) and removed.status_code in (204, 409)
        with app.state.database.reader() as session:
            dangling = session.execute(
                sa.select(Endorsement.id)
                .outerjoin(Attachment, Attachment.id == Endorsement.attachment_id)
                .where(Endorsement.mode == "paper", Endorsement.voided_at.is_(None), Attachment.id.is_(None))  # type: ignore[union-attr]
            ).all()
        assert dangling == []
        if endorsed.status_code == 201:
            return  # the guarantor has signed; nothing left to race
        await flow.get(c.applicant)
