"""Provinces and roles: which units a recommender enters applications for, and a recommender fixed once it reviewed."""

from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.applications.models import Application
from tests.applications.cast import Cast, Flow, make_cast
from tests.bulk.test_bulk import URL as BULK
from tests.bulk.test_bulk import wait_done
from tests.conftest import Actor
from tests.factories import make_org, make_user, seeded_org
from tests.store import fingerprint


def entered_form(cast: Cast, undertaking: str, **overrides: Any) -> dict[str, Any]:
    """A paper application entered by a recommender: the unit is named, the recommender is the caller's."""
    form = cast.form(parties={"undertaking": undertaking, "participating": []}, **overrides)
    form.pop("recommender_id")
    return form


async def enter(client: httpx.AsyncClient, actor: Actor, form: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/v1/applications", json=form, headers={**actor.headers, "Accept-Language": "en"})


async def test_a_provincial_bureau_enters_applications_only_for_units_of_its_province(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cast = await make_cast(app, client)
    beijing_unit = make_org(app, name="北京市东城区政务服务管理局", province_code="110000", area="110101")
    beijing_applicant = make_user(app, beijing_unit, "applicant")

    before = fingerprint(app)
    r = await enter(client, cast.reviewer, entered_form(cast, beijing_unit))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [
        ("/parties/undertaking", "undertaking_outside_province")
    ]
    assert "units of its province" in r.json()["errors"][0]["message"]
    assert fingerprint(app) == before
    # Nothing of Beijing reaches the Shandong reviewer, whatever the unit adds.
    assert (await client.get("/api/v1/applications", headers=beijing_applicant.headers)).json()["items"] == []

    # Its own province's unit: entered, and the reviewer sees the draft it entered.
    r = await enter(client, cast.reviewer, entered_form(cast, cast.undertaking))
    assert r.status_code == 201, r.text
    assert r.json()["entered_by_org_id"] == cast.recommender and r.json()["recommender_id"] == cast.recommender
    assert (
        await client.get(f"/api/v1/applications/{r.json()['id']}", headers=cast.reviewer.headers)
    ).status_code == 200


async def test_a_member_unit_enters_for_any_province_and_xpcc_for_xinjiang(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cast = await make_cast(app, client)
    ministry = make_org(app, name="民政部", province_code="110000", area="110102", recommender_kind="member_unit")
    ministry_reviewer = make_user(app, ministry, "reviewer")
    xpcc_reviewer = make_user(app, seeded_org(app, "660000"), "reviewer")
    xinjiang_unit = make_org(app, name="石河子市人民政府", province_code="650000", area="659001")

    r = await enter(client, ministry_reviewer, entered_form(cast, cast.undertaking))  # a Shandong unit
    assert r.status_code == 201, r.text
    assert r.json()["recommender_id"] == ministry
    r = await enter(client, xpcc_reviewer, entered_form(cast, xinjiang_unit))
    assert r.status_code == 201, r.text
    r = await enter(client, xpcc_reviewer, entered_form(cast, cast.undertaking))
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "undertaking_outside_province"


async def test_bulk_uploads_follow_the_same_entry_rule(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    beijing_unit = make_org(app, name="北京市西城区人民政府", province_code="110000", area="110102")
    rows = [entered_form(cast, beijing_unit, title="北京代录"), entered_form(cast, cast.undertaking, title="山东代录")]
    headers = {**cast.reviewer.headers, "Accept-Language": "en"}
    r = await client.post(BULK, json={"mode": "valid_rows", "rows": rows}, headers=headers)
    assert r.status_code == 202, r.text
    done = await wait_done(client, r.json()["id"], headers)
    assert [row["status"] for row in done["results"]] == ["invalid", "created"]
    error = done["results"][0]["errors"][0]
    assert (error["pointer"], error["code"], error["column"]) == (
        "/rows/0/parties/undertaking",
        "undertaking_outside_province",
        "undertaking",
    )
    with app.state.database.reader() as session:
        units = session.execute(sa.select(Application.undertaking_org_id)).scalars().all()
    assert units == [cast.undertaking]


async def _patch(client: httpx.AsyncClient, flow: Flow, body: dict[str, Any]) -> httpx.Response:
    await flow.get(flow.cast.applicant)
    return await client.patch(
        f"/api/v1/applications/{flow.id}",
        json=body,
        headers={**flow.cast.applicant.headers, "If-Match": flow.etag, "Accept-Language": "en"},
    )


async def test_the_recommender_cannot_change_once_it_has_reviewed(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    ministry = make_org(app, name="民政部", province_code="110000", area="110102", recommender_kind="member_unit")
    ministry_reviewer = make_user(app, ministry, "reviewer")
    flow = Flow(client, cast)
    await flow.to_review()
    r = await flow.review("return", "内部意见：基础薄弱，建议补充材料")
    assert r.status_code == 201, r.text

    before = fingerprint(app)
    r = await _patch(client, flow, {"recommender_id": ministry})
    assert r.status_code == 422, r.text
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [
        ("/recommender_id", "recommender_fixed_after_review")
    ]
    assert fingerprint(app) == before
    # So the other recommender never reads the first one's internal opinion.
    assert (
        await client.get(f"/api/v1/applications/{flow.id}/reviews", headers=ministry_reviewer.headers)
    ).status_code == 404
    # The rest stays editable, the same recommender may be restated.
    r = await _patch(
        client, flow, {"title": "济南市历下区政务服务标准化试点（修改稿）", "recommender_id": cast.recommender}
    )
    assert r.status_code == 200, r.text


async def test_the_recommender_may_change_while_no_review_exists(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    ministry = make_org(app, name="民政部", province_code="110000", area="110102", recommender_kind="member_unit")
    # Returned by a party's disagreement, before any review: the unit may still choose the direct channel.
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    assert (await flow.act("submit")).status_code == 200
    assert (await flow.endorse(cast.guarantor_signatory, "guarantor", cast.guarantor, "disagree")).status_code == 201
    assert (await flow.get(cast.applicant)).json()["state"] == "returned"
    r = await _patch(client, flow, {"recommender_id": ministry})
    assert r.status_code == 200, r.text
    assert r.json()["recommender_id"] == ministry
