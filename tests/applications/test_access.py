"""Who sees what: 404 for the invisible, 403 for the visible but not allowed."""

import asyncio

import httpx
from fastapi import FastAPI

from tests.applications.cast import Flow, make_cast


async def test_visibility_and_permissions(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    # A draft: only its applicant (and admins) see it.
    for outsider in (
        cast.reviewer,
        cast.other_reviewer,
        cast.stranger,
        cast.participating_signatory,
        cast.office,
        cast.stranger_signatory,
    ):
        assert (await flow.get(outsider)).status_code == 404
    assert (await flow.get(cast.admin)).status_code == 200
    await flow.attach_scan()
    await flow.act("submit")
    assert (await flow.get(cast.participating_signatory)).status_code == 200
    assert (await flow.get(cast.reviewer)).status_code == 200
    for outsider in (cast.other_reviewer, cast.stranger, cast.stranger_signatory, cast.office):
        assert (await flow.get(outsider)).status_code == 404
        listed = (await client.get("/api/v1/applications", headers=outsider.headers)).json()["items"]
        assert flow.id not in [a["id"] for a in listed]
    # A signatory of a named party cannot sign for another party.
    wrong = await flow.endorse(cast.participating_signatory, "guarantor", cast.guarantor)
    assert wrong.status_code == 403 and wrong.json()["code"] == "forbidden"
    # An unnamed signatory gets 404; a reviewer cannot submit for the applicant.
    assert (await flow.endorse(cast.stranger_signatory, "guarantor", cast.guarantor)).status_code == 404
    assert (await flow.act("recall", cast.reviewer)).status_code == 403


async def test_if_match_required_and_checked(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    url = f"/api/v1/applications/{flow.id}"
    missing = await client.patch(url, json={"title": "新名称"}, headers=cast.applicant.headers)
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    ok = await client.patch(url, json={"title": "新名称"}, headers={**cast.applicant.headers, "If-Match": flow.etag})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = await client.patch(url, json={"title": "再改"}, headers={**cast.applicant.headers, "If-Match": flow.etag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert (await flow.get(cast.applicant)).json()["title"] == "新名称"


async def test_editing_a_frozen_application_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    await flow.act("submit")
    r = await client.patch(
        f"/api/v1/applications/{flow.id}",
        json={"title": "偷偷改名"},
        headers={**cast.applicant.headers, "If-Match": flow.etag},
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    d = await client.delete(
        f"/api/v1/applications/{flow.id}", headers={**cast.applicant.headers, "If-Match": flow.etag}
    )
    assert d.status_code == 409 and d.json()["code"] == "invalid_state_transition"


async def test_concurrent_recommend_exactly_one_wins(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.to_review()
    await flow.get(cast.reviewer)
    results = await asyncio.gather(*(flow.review("recommend", "同意推荐", actor=cast.reviewer) for _ in range(20)))
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) - {201} <= {409, 412}
    reviews = (await client.get(f"/api/v1/applications/{flow.id}/reviews", headers=cast.reviewer.headers)).json()[
        "items"
    ]
    history = (await client.get(f"/api/v1/applications/{flow.id}/transitions", headers=cast.reviewer.headers)).json()[
        "items"
    ]
    assert len(reviews) == 1 and [h["action"] for h in history].count("recommend") == 1


async def test_concurrent_endorsement_of_one_party(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    await flow.act("submit")
    results = await asyncio.gather(
        *(flow.endorse(cast.guarantor_signatory, "guarantor", cast.guarantor) for _ in range(10))
    )
    assert sorted(r.status_code for r in results).count(201) == 1
    endorsements = (
        await client.get(f"/api/v1/applications/{flow.id}/endorsements", headers=cast.applicant.headers)
    ).json()
    assert len(endorsements) == 1
