"""End to end: an application walked through its workflow as the roles would."""

import httpx
from fastapi import FastAPI

from tests.applications.cast import MINIMAL_PDF, Flow, make_cast
from tests.tags import etag_of


async def test_happy_path_with_one_party_on_paper(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    created = await flow.create()
    assert created["state"] == "draft" and created["version"] == 1
    assert created["parties"]["undertaking"] == cast.undertaking
    assert {"submit", "edit", "delete", "withdraw"} <= set(created["allowed_actions"])

    await flow.attach_scan()
    report = (await client.get(f"/api/v1/applications/{flow.id}/validation", headers=cast.applicant.headers)).json()
    assert report == {"valid": True, "errors": [], "warnings": []}

    submitted = await flow.act("submit", comment="请各方会签")
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert body["state"] == "endorsing" and len(body["content_digest"]) == 64
    assert [s["status"] for s in body["sign_offs"]] == ["pending"] * 4

    # Three parties sign online; the guarantor signs on paper, recorded by the applicant.
    c = cast
    for signatory, role, org in (
        (c.undertaking_signatory, "undertaking", c.undertaking),
        (c.participating_signatory, "participating", c.participating),
        (c.guidance_signatory, "guidance", c.guidance),
    ):
        r = await flow.endorse(signatory, role, org)
        assert r.status_code == 201, r.text
        assert r.json()["content_digest"] == body["content_digest"]
    page = await client.post(
        f"/api/v1/applications/{flow.id}/attachments",
        headers={**c.applicant.headers, "If-Match": await etag_of(client, flow.id, c.applicant.headers)},
        files={"file": ("保证单位盖章页.pdf", MINIMAL_PDF, "application/pdf")},
        data={"kind": "paper_endorsement"},
    )
    assert page.status_code == 201, page.text
    await flow.get(c.applicant)
    paper = await flow.endorse(c.applicant, "guarantor", c.guarantor, mode="paper", attachment_id=page.json()["id"])
    assert paper.status_code == 201, paper.text
    assert paper.json()["verification"] == "pending"

    in_review = (await flow.get(c.reviewer)).json()
    assert in_review["state"] == "provincial_review"
    assert {"recommend", "return", "reject", "verify_paper_endorsement"} <= set(in_review["allowed_actions"])
    verified = await flow.post(f"/endorsements/{paper.json()['id']}/verification", c.reviewer, {"verdict": "confirmed"})
    assert verified.status_code == 200 and verified.json()["verification"] == "confirmed"
    recommended = await flow.review("recommend", "同意推荐")
    assert recommended.status_code == 201, recommended.text
    final = (await flow.get(c.reviewer)).json()
    assert final["state"] == "recommended" and "reopen" in final["allowed_actions"]

    history = (await client.get(f"/api/v1/applications/{flow.id}/transitions", headers=c.applicant.headers)).json()[
        "items"
    ]
    assert [(h["action"], h["from_state"], h["to_state"]) for h in history] == [
        ("submit", "draft", "endorsing"),
        ("all_agreed", "endorsing", "provincial_review"),
        ("recommend", "provincial_review", "recommended"),
    ]
    assert history[0]["comment"] == "请各方会签" and history[0]["actor_id"] == c.applicant.user_id

    reopened = await flow.act("reopen", c.reviewer)
    assert reopened.status_code == 200 and reopened.json()["state"] == "provincial_review"


async def test_disagreement_returns_and_resubmission_voids_old_sign_offs(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    first = (await flow.act("submit")).json()["content_digest"]
    assert (await flow.endorse(cast.undertaking_signatory, "undertaking", cast.undertaking)).status_code == 201
    disagreed = await flow.endorse(cast.guarantor_signatory, "guarantor", cast.guarantor, decision="disagree")
    assert disagreed.status_code == 201
    returned = (await flow.get(cast.applicant)).json()
    assert returned["state"] == "returned" and returned["content_digest"] is None
    assert all(s["status"] == "pending" for s in returned["sign_offs"])

    edited = await client.patch(
        f"/api/v1/applications/{flow.id}",
        json={"funding": {"amount_cny": 1500000, "sources": "区财政、市财政"}},
        headers={**cast.applicant.headers, "If-Match": flow.etag},
    )
    assert edited.status_code == 200, edited.text
    flow.etag = edited.headers["etag"]
    second = (await flow.act("submit")).json()
    assert second["state"] == "endorsing" and second["content_digest"] not in (None, first)
    endorsements = (
        await client.get(f"/api/v1/applications/{flow.id}/endorsements", headers=cast.applicant.headers)
    ).json()
    assert len(endorsements) == 2 and all(e["voided"] for e in endorsements)
    await flow.endorse_all()
    assert (await flow.get(cast.reviewer)).json()["state"] == "provincial_review"


async def test_reviewer_returns_then_rejects(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.to_review()
    no_opinion = await flow.review("return")
    assert no_opinion.status_code == 422 and no_opinion.json()["errors"][0]["pointer"] == "/opinion"
    assert (await flow.review("return", "请补充标准明细")).status_code == 201
    back = (await flow.get(cast.applicant)).json()
    assert back["state"] == "returned" and "submit" in back["allowed_actions"]
    assert (await flow.act("submit")).status_code == 200
    await flow.endorse_all()
    assert (await flow.review("reject", "不符合基本条件")).status_code == 201
    rejected = (await flow.get(cast.applicant)).json()
    assert rejected["state"] == "rejected" and rejected["allowed_actions"] == []


async def test_applicant_recalls_and_withdraws(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    await flow.act("submit")
    assert (await flow.endorse(cast.undertaking_signatory, "undertaking", cast.undertaking)).status_code == 201
    recalled = await flow.act("recall")
    assert recalled.status_code == 200 and recalled.json()["state"] == "draft"
    assert all(s["status"] == "pending" for s in recalled.json()["sign_offs"])
    withdrawn = await flow.act("withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    again = await flow.act("submit")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state_transition"


async def test_submit_with_errors_lists_them(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create(sections={"basic_situation": "只有一节"}, eligibility=[{"condition": 1, "attested": True}])
    r = await flow.act("submit")
    assert r.status_code == 422 and r.json()["code"] == "application_invalid"
    pointers = {e["pointer"] for e in r.json()["errors"]}
    assert {"/sections/groundwork", "/eligibility", "/attachments/application_form_scan"} <= pointers
    assert (await flow.get(cast.applicant)).json()["state"] == "draft"


async def test_deadline_blocks_submit_and_recommend(app: FastAPI, client: httpx.AsyncClient, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from app.core.clock import BEIJING

    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.to_review()
    clock.set(datetime(2022, 11, 16, 0, 0, 0, tzinfo=BEIJING))
    late = await flow.review("recommend", "同意")
    assert late.status_code == 409 and late.json()["code"] == "deadline_passed"
    assert late.json()["deadline"] == "2022-11-15T23:59:59+08:00"
    assert (await flow.get(cast.reviewer)).json()["state"] == "provincial_review"

    other = Flow(client, cast)
    await other.create()
    await other.attach_scan()
    assert (await other.act("submit")).json()["code"] == "deadline_passed"


async def test_office_records_outcome_only_for_submitted(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.to_review()
    await flow.review("recommend", "同意")
    # Not yet submitted to the office: the office cannot see it.
    hidden = await flow.post("/outcome", cast.office, {"decision": "approve", "document_number": "国标委发〔2023〕5号"})
    assert hidden.status_code == 404


async def test_paper_sign_off_pages_stay_out_of_the_content_digest(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    first = (await flow.act("submit")).json()["content_digest"]
    page = await client.post(
        f"/api/v1/applications/{flow.id}/attachments",
        headers={**cast.applicant.headers, "If-Match": flow.etag},
        files={"file": ("盖章页.pdf", MINIMAL_PDF, "application/pdf")},
        data={"kind": "paper_endorsement"},
    )
    assert page.status_code == 201, page.text
    other = await client.post(
        f"/api/v1/applications/{flow.id}/attachments",
        headers={**cast.applicant.headers, "If-Match": page.headers["application-etag"]},
        files={"file": ("补充.pdf", MINIMAL_PDF + b"%x", "application/pdf")},
        data={"kind": "evidence"},
    )
    assert other.status_code == 409 and other.json()["code"] == "invalid_state_transition"
    await flow.get(cast.applicant)
    assert (await flow.act("recall")).status_code == 200
    again = (await flow.act("submit")).json()["content_digest"]
    assert again == first  # same content and content files: the same digest
