"""A draft withdrawn before it was ever submitted stays out of sight of the parties and the recommender."""

import httpx
from fastapi import FastAPI

from tests.applications.cast import Flow, make_cast


async def test_a_withdrawn_draft_is_not_shown_to_those_it_never_went_before(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cast = await make_cast(app, client)
    never = Flow(client, cast)
    await never.create(title="未提交即撤回的试点项目")
    assert (await never.act("withdraw")).status_code == 200
    later = Flow(client, cast)
    await later.create(title="会签中撤回的试点项目")
    await later.attach_scan()
    assert (await later.act("submit")).status_code == 200
    assert (await later.act("withdraw")).status_code == 200

    for actor in (cast.participating_signatory, cast.reviewer):
        assert (await never.get(actor)).status_code == 404
        assert (await later.get(actor)).status_code == 200
        listed = {a["id"] for a in (await client.get("/api/v1/applications", headers=actor.headers)).json()["items"]}
        assert never.id not in listed and later.id in listed
        events = (await client.get("/api/v1/events", headers=actor.headers)).json()["items"]
        assert never.id not in {e["subject_id"] for e in events}
    for actor in (cast.applicant, cast.admin):
        assert (await never.get(actor)).status_code == 200
