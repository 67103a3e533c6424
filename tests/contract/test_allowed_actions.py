"""`allowed_actions` offers no step the deadline would refuse, and validation says why."""

from datetime import datetime

import httpx
from fastapi import FastAPI

from app.core.clock import BEIJING
from tests.applications.cast import Flow, make_cast
from tests.conftest import FakeClock

AFTER_DEADLINE = datetime(2022, 11, 16, 0, 0, 0, tzinfo=BEIJING)  # the 9th batch closed 2022-11-15 23:59:59


async def test_a_closed_call_offers_no_submit_and_no_recommend(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    cast = await make_cast(app, client)
    draft = Flow(client, cast)
    created = await draft.create()
    assert "submit" in created["allowed_actions"]
    await draft.attach_scan()
    in_review = Flow(client, cast)
    await in_review.to_review()
    assert "recommend" in (await in_review.get(cast.reviewer)).json()["allowed_actions"]
    report = (await client.get(f"/api/v1/applications/{draft.id}/validation", headers=cast.applicant.headers)).json()
    assert "deadline_passed" not in [e["code"] for e in report["errors"]]

    clock.set(AFTER_DEADLINE)
    shown = (await draft.get(cast.applicant)).json()
    assert shown["state"] == "draft" and "submit" not in shown["allowed_actions"] and "edit" in shown["allowed_actions"]
    assert (await draft.act("submit")).json()["code"] == "deadline_passed"  # what was not offered fails
    edited = await client.patch(
        f"/api/v1/applications/{draft.id}",
        json={"title": "济南市历下区政务服务标准化试点（修订）"},
        headers={**cast.applicant.headers, "If-Match": draft.etag},
    )
    assert edited.status_code == 200 and "submit" not in edited.json()["allowed_actions"]
    reviewer_view = (await in_review.get(cast.reviewer)).json()
    assert "recommend" not in reviewer_view["allowed_actions"] and "return" in reviewer_view["allowed_actions"]
    assert (await in_review.review("recommend", "同意")).json()["code"] == "deadline_passed"

    report = (
        await client.get(
            f"/api/v1/applications/{draft.id}/validation", headers={**cast.applicant.headers, "Accept-Language": "en"}
        )
    ).json()
    late = [e for e in report["errors"] if e["code"] == "deadline_passed"]
    assert (
        not report["valid"]
        and late
        and late[0]["pointer"] == "/call_id"
        and "2022-11-15 23:59:59" in late[0]["message"]
    )
