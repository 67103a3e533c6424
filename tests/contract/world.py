"""A realistic store for the contract tests: every role, applications in many states, lists, files, hooks.

Built through the API (tests/applications/cast.py) so every row is one the service itself would write.
"""

from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI

from app.accounts.service import create_api_key
from tests.applications.cast import MINIMAL_PDF, Cast, Flow, make_cast
from tests.batches.helpers import act, open_batch, put_items, recommended
from tests.conftest import Actor
from tests.factories import make_org, make_user, seeded_org
from tests.tags import etag_of

WEBHOOK_HOST = "hooks.example.cn"


@dataclass
class World:
    cast: Cast
    actors: dict[str, Actor]
    # Existing ids by the name they go by in paths, queries and bodies.
    ids: dict[str, list[str]] = field(default_factory=dict)
    # The applicant's applications by the state they are in (and how they got there).
    applications: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, *values: str) -> None:
        bucket = self.ids.setdefault(name, [])
        bucket.extend(v for v in values if v not in bucket)


def asgi_client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def spare_api_key(app: FastAPI, actor: Actor) -> str:
    """An extra key of ``actor`` that may be revoked without locking the actor out."""
    from datetime import UTC, datetime

    with app.state.database.transaction() as session:
        row, _ = create_api_key(session, actor.user_id, "spare", datetime.now(UTC))
        return row.id


async def build_world(app: FastAPI, client: httpx.AsyncClient) -> World:
    cast = await make_cast(app, client)
    actors = {
        "applicant": cast.applicant,
        "signatory": cast.undertaking_signatory,
        "reviewer": cast.reviewer,
        "office": cast.office,
        "admin": cast.admin,
    }
    world = World(cast=cast, actors=actors)

    async def flow() -> Flow:
        return Flow(client, cast)

    # Applications in every state a caller can meet.
    draft = await flow()
    await draft.create(title="草稿中的试点项目")
    endorsing = await flow()
    await endorsing.create(title="会签中的试点项目")
    await endorsing.attach_scan()
    assert (await endorsing.act("submit")).status_code == 200
    assert (
        await endorsing.endorse(cast.participating_signatory, "participating", cast.participating)
    ).status_code == 201
    review = await flow()
    await review.to_review()
    paper = await flow()
    await paper.create(title="纸质签署的试点项目")
    await paper.attach_scan()
    assert (await paper.act("submit")).status_code == 200
    page = await client.post(
        f"/api/v1/applications/{paper.id}/attachments",
        headers={**cast.applicant.headers, "If-Match": await etag_of(client, paper.id, cast.applicant.headers)},
        files={"file": ("盖章页.pdf", MINIMAL_PDF, "application/pdf")},
        data={"kind": "paper_endorsement"},
    )
    assert page.status_code == 201, page.text
    await paper.get(cast.applicant)
    for signatory, role, org in (
        (cast.undertaking_signatory, "undertaking", cast.undertaking),
        (cast.participating_signatory, "participating", cast.participating),
        (cast.guidance_signatory, "guidance", cast.guidance),
    ):
        assert (await paper.endorse(signatory, role, org)).status_code == 201
    signed = await paper.endorse(
        cast.applicant, "guarantor", cast.guarantor, mode="paper", attachment_id=page.json()["id"]
    )
    assert signed.status_code == 201, signed.text
    returned = await flow()
    await returned.to_review()
    assert (await returned.review("return", "请补充材料")).status_code == 201
    rejected = await flow()
    await rejected.to_review()
    assert (await rejected.review("reject", "不符合条件")).status_code == 201
    withdrawn = await flow()
    await withdrawn.create(title="撤回的试点项目")
    assert (await withdrawn.act("withdraw")).status_code == 200
    withdrawn_later = await flow()
    await withdrawn_later.create(title="会签中撤回的试点项目")
    await withdrawn_later.attach_scan()
    assert (await withdrawn_later.act("submit")).status_code == 200
    assert (await withdrawn_later.act("withdraw")).status_code == 200
    recalled = await flow()
    await recalled.create(title="收回修改的试点项目")
    await recalled.attach_scan()
    assert (await recalled.act("submit")).status_code == 200
    assert (await recalled.act("recall")).status_code == 200
    # Recommended, then on a submitted list; one approved by the office, one left recommended.
    on_list = [await recommended(client, cast, f"推荐的试点项目{n}") for n in range(2)]
    spare = await recommended(client, cast, "已推荐未列入清单的试点项目")
    opened = await open_batch(client, cast)
    batch = opened.json()
    listed = await put_items(client, batch, cast.reviewer, [f.id for f in on_list], opened.headers["etag"])
    assert listed.status_code == 200, listed.text
    submitted = await act(client, batch["id"], cast.reviewer, listed.headers["etag"], "submit")
    assert submitted.status_code == 200, submitted.text
    approved = on_list[1]
    await approved.get(cast.office)
    outcome = await approved.post(
        "/outcome", cast.office, {"decision": "approve", "document_number": "国标委发〔2023〕5号"}
    )
    assert outcome.status_code == 200, outcome.text
    # Another recommender's open list, and a draft a reviewer entered from paper for a unit.
    other_batch = (await open_batch(client, cast, cast.other_reviewer)).json()
    entered = await client.post(
        "/api/v1/applications",
        headers=cast.reviewer.headers,
        json=cast.form(title="代录的试点项目", parties={"undertaking": cast.guarantor, "participating": []}),
    )
    assert entered.status_code == 201, entered.text

    world.applications = {
        "draft": draft.id,
        "recalled": recalled.id,
        "entered": entered.json()["id"],
        "endorsing": endorsing.id,
        "provincial_review": review.id,
        "returned": returned.id,
        "rejected": rejected.id,
        "withdrawn": withdrawn.id,
        "withdrawn_after_submit": withdrawn_later.id,
        "recommended": spare.id,
        "submitted": on_list[0].id,
        "approved": on_list[1].id,
    }
    world.add("application_id", *world.applications.values(), paper.id)
    world.add("batch_id", batch["id"], other_batch["id"])
    world.add("call_id", cast.call_id)

    for application_id in world.ids["application_id"]:
        r = await client.get(f"/api/v1/applications/{application_id}/attachments", headers=cast.admin.headers)
        world.add("attachment_id", *(a["id"] for a in r.json()["items"]))
        r = await client.get(f"/api/v1/applications/{application_id}/endorsements", headers=cast.admin.headers)
        world.add("endorsement_id", *(e["id"] for e in r.json()))

    hook = await client.post(
        "/api/v1/webhooks",
        headers=cast.applicant.headers,
        json={"url": f"https://{WEBHOOK_HOST}/smps", "event_types": ["application.*"]},
    )
    assert hook.status_code == 201, hook.text
    world.add("webhook_id", hook.json()["id"])
    upload = await client.post(
        "/api/v1/bulk-uploads", headers=cast.applicant.headers, json={"rows": [cast.form(title="批量上传的试点项目")]}
    )
    assert upload.status_code == 202, upload.text
    world.add("upload_id", upload.json()["id"])

    # Users and keys that may be changed or revoked without locking out the actors above.
    spare_org = make_org(app, name="备用测试单位")
    spare_user = make_user(app, spare_org, "applicant")
    world.add("user_id", spare_user.user_id)
    world.add("key_id", *(spare_api_key(app, a) for a in (*actors.values(), spare_user)))
    world.add(
        "org_id",
        cast.undertaking,
        cast.participating,
        cast.guarantor,
        cast.guidance,
        cast.recommender,
        seeded_org(app, "110000"),
        spare_org,
    )
    world.add("organization_id", *world.ids["org_id"])
    world.add("recommender_id", cast.recommender, seeded_org(app, "110000"))
    return world
