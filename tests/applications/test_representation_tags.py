"""An application's ETag names the representation the caller got: its version and the caller's
`allowed_actions` (which depend on who asks and on the deadline). No caller is ever answered 304 for
another caller's body; `If-Match` on writes compares the version part, so the tag a client got from
its own GET works for its write."""

from datetime import datetime, timedelta

import httpx
from fastapi import FastAPI

from app.core.clock import BEIJING
from tests.applications.cast import Cast, Flow, make_cast
from tests.conftest import Actor, FakeClock


def _actors(cast: Cast) -> dict[str, Actor]:
    return {
        "applicant": cast.applicant,
        "undertaking_signatory": cast.undertaking_signatory,
        "guarantor_signatory": cast.guarantor_signatory,
        "reviewer": cast.reviewer,
        "office": cast.office,
        "admin": cast.admin,
    }


async def _views(client: httpx.AsyncClient, url: str, actors: dict[str, Actor]) -> dict[str, httpx.Response]:
    views = {}
    for role, actor in actors.items():
        r = await client.get(url, headers=actor.headers)
        if r.status_code == 200:
            views[role] = r
    return views


async def _assert_tags_name_bodies(client: httpx.AsyncClient, url: str, actors: dict[str, Actor]) -> int:
    """For every pair of callers who see the application: same tag exactly when same body, and a
    revalidation with the other's tag is 304 exactly when the bodies are the same. Returns how many
    distinct bodies were seen."""
    views = await _views(client, url, actors)
    for role, mine in views.items():
        assert mine.headers["vary"] == "Authorization" and mine.headers["cache-control"] == "private, no-cache"
        for other, theirs in views.items():
            same_body = mine.content == theirs.content
            assert (mine.headers["etag"] == theirs.headers["etag"]) == same_body, (role, other)
            revalidated = await client.get(
                url, headers={**actors[role].headers, "If-None-Match": theirs.headers["etag"]}
            )
            if same_body:
                assert revalidated.status_code == 304, (role, other)
                assert revalidated.headers["etag"] == mine.headers["etag"]
                assert revalidated.headers["vary"] == "Authorization"
            else:
                assert revalidated.status_code == 200, (role, other)
                assert revalidated.content == mine.content
    return len({v.content for v in views.values()})


async def test_every_role_at_every_step_gets_its_own_tag(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    actors = _actors(cast)
    await flow.create()
    url = f"/api/v1/applications/{flow.id}"
    assert await _assert_tags_name_bodies(client, url, actors) >= 2  # the applicant's and the admin's
    await flow.attach_scan()
    assert (await flow.act("submit")).status_code == 200
    assert await _assert_tags_name_bodies(client, url, actors) >= 3  # and the signatories' own
    await flow.endorse_all()
    assert await _assert_tags_name_bodies(client, url, actors) >= 2  # the reviewer may review now
    assert (await flow.review("recommend", "同意推荐")).status_code == 201
    await _assert_tags_name_bodies(client, url, actors)


async def test_the_tag_changes_when_the_deadline_passes(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    url = f"/api/v1/applications/{flow.id}"
    before = await client.get(url, headers=cast.applicant.headers)
    assert "submit" in before.json()["allowed_actions"]
    clock.set(datetime(2022, 11, 15, 23, 59, tzinfo=BEIJING) + timedelta(days=30))
    after = await client.get(url, headers={**cast.applicant.headers, "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and "submit" not in after.json()["allowed_actions"]
    assert after.headers["etag"] != before.headers["etag"]
    assert after.json()["version"] == before.json()["version"]
    # The version is the same: a write with the tag got before the deadline is not stale.
    edited = await client.patch(
        url, json={"title": "改后的名称"}, headers={**cast.applicant.headers, "If-Match": before.headers["etag"]}
    )
    assert edited.status_code == 200, edited.text


async def test_if_match_compares_the_version_part(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    created = await flow.create()
    url = f"/api/v1/applications/{flow.id}"
    tag = (await client.get(url, headers=cast.applicant.headers)).headers["etag"]
    admin_tag = (await client.get(url, headers=cast.admin.headers)).headers["etag"]
    assert tag != admin_tag and tag.split(".")[0] == admin_tag.split(".")[0]
    version = created["version"]
    for sent, status in (
        (f"W/{tag}", 412),  # a weak tag never matches
        (f'"{version - 1}.{tag.split(".")[1]}', 412),  # an older version
        ('"x", ' + admin_tag, 200),  # another caller's representation of the same version
    ):
        r = await client.patch(
            url, json={"title": f"名称{status}"}, headers={**cast.applicant.headers, "If-Match": sent}
        )
        assert r.status_code == status, (sent, r.text)
    r = await client.patch(
        url, json={"title": "再改"}, headers={**cast.applicant.headers, "If-Match": f'"{version + 1}"'}
    )
    assert r.status_code == 200, r.text  # the bare version tag too
    assert r.headers["etag"] == (await client.get(url, headers=cast.applicant.headers)).headers["etag"]
    stale = await client.patch(url, json={"title": "三改"}, headers={**cast.applicant.headers, "If-Match": tag})
    assert stale.status_code == 412 and stale.json()["current_etag"] == f'"{version + 2}"'
