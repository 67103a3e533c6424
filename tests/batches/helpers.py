"""Recommenders with recommended applications, ready to be put on a list."""

from dataclasses import replace

import httpx
from fastapi import FastAPI

from tests.applications.cast import Cast, Flow, make_cast
from tests.conftest import Actor
from tests.factories import make_org, make_user, seeded_org


async def cast_for(
    app: FastAPI,
    client: httpx.AsyncClient,
    *,
    province: str = "370000",
    area: str = "370102",
    recommender: str | None = None,
    base: Cast | None = None,
) -> Cast:
    """The parties of one province's (or one member unit's) applications, with the recommender's reviewer."""
    cast = base or await make_cast(app, client)
    if province == "370000" and recommender is None:
        return cast
    orgs = {
        role: make_org(app, name=f"{province}{label}", province_code=province, area=area)
        for role, label in (
            ("undertaking", "试点承担单位"),
            ("participating", "参加单位"),
            ("guarantor", "人民政府"),
            ("guidance", "业务指导单位"),
        )
    }
    recommender = recommender or seeded_org(app, province)
    return replace(
        cast,
        recommender=recommender,
        **orgs,
        applicant=make_user(app, orgs["undertaking"], "applicant"),
        undertaking_signatory=make_user(app, orgs["undertaking"], "signatory"),
        participating_signatory=make_user(app, orgs["participating"], "signatory"),
        guarantor_signatory=make_user(app, orgs["guarantor"], "signatory"),
        guidance_signatory=make_user(app, orgs["guidance"], "signatory"),
        reviewer=make_user(app, recommender, "reviewer"),
    )


async def recommended(
    client: httpx.AsyncClient, cast: Cast, title: str, area: str = "1.1", item: str | None = "1.1.3"
) -> Flow:
    """An application of ``cast`` walked to ``recommended``."""
    flow = Flow(client, cast)
    domain = {"area": area, **({"item": item} if item else {})}
    await flow.create(title=title, domain=domain)
    await flow.attach_scan()
    r = await flow.act("submit")
    assert r.status_code == 200, r.text
    await flow.endorse_all()
    r = await flow.review("recommend", "同意推荐")
    assert r.status_code == 201, r.text
    return flow


async def open_batch(client: httpx.AsyncClient, cast: Cast, reviewer: Actor | None = None) -> httpx.Response:
    r = await client.post(
        "/api/v1/batches", json={"call_id": cast.call_id}, headers=(reviewer or cast.reviewer).headers
    )
    assert r.status_code == 201, r.text
    return r


async def put_items(
    client: httpx.AsyncClient, batch: httpx.Response | dict, actor: Actor, ids: list[str], etag: str
) -> httpx.Response:
    batch_id = batch["id"] if isinstance(batch, dict) else batch.json()["id"]
    return await client.put(
        f"/api/v1/batches/{batch_id}/items",
        headers={**actor.headers, "If-Match": etag},
        json={"items": [{"application_id": a, "rank": i + 1} for i, a in enumerate(ids)]},
    )


async def act(
    client: httpx.AsyncClient, batch_id: str, actor: Actor, etag: str, action: str, comment: str | None = None
) -> httpx.Response:
    body = {"action": action, **({"comment": comment} if comment else {})}
    return await client.post(
        f"/api/v1/batches/{batch_id}/transitions", headers={**actor.headers, "If-Match": etag}, json=body
    )
