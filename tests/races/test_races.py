"""Concurrent identical changes against the real server (uvicorn: 4 workers on PostgreSQL, SQLite with
its writers queueing): exactly one succeeds, every other gets 409 or 412, the history shows one change.

The state before each race is set up in process (tests/applications/cast.py), on a call open now;
the race itself goes over HTTP to the server, on connections opened beforehand.
"""

import httpx
from fastapi import FastAPI

from tests.applications.cast import Flow
from tests.batches.helpers import open_batch, put_items, recommended
from tests.factories import make_user
from tests.races.live import Servers, live_cast, one_winner, race

API = "/api/v1"


async def _get(url: str, path: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        r = await http.get(API + path, headers=headers)
    assert r.status_code == 200, r.text
    return r


async def test_50_reviewers_recommending_at_once_one_wins(
    app: FastAPI, client: httpx.AsyncClient, servers: Servers
) -> None:
    server = servers.launch()
    cast = await live_cast(app, client)
    second_reviewer = make_user(app, cast.recommender, "reviewer")
    flow = Flow(client, cast)
    await flow.to_review()
    await flow.get(cast.reviewer)
    etag = flow.etag
    server.wait_ready()

    def send(http: httpx.AsyncClient, i: int):  # type: ignore[no-untyped-def]
        reviewer = cast.reviewer if i % 2 else second_reviewer
        return http.post(
            f"{API}/applications/{flow.id}/reviews",
            json={"decision": "recommend", "opinion": "同意推荐"},
            headers={**reviewer.headers, "If-Match": etag},
        )

    winner = one_winner(await race(server.url, 50, send), 201)
    assert winner.json()["decision"] == "recommend"

    history = (await _get(server.url, f"/applications/{flow.id}/transitions", cast.reviewer.headers)).json()["items"]
    assert [t["action"] for t in history].count("recommend") == 1
    assert history[-1]["action"] == "recommend" and history[-1]["to_state"] == "recommended"
    reviews = (await _get(server.url, f"/applications/{flow.id}/reviews", cast.reviewer.headers)).json()["items"]
    assert [r["id"] for r in reviews] == [winner.json()["id"]]
    now = await _get(server.url, f"/applications/{flow.id}", cast.reviewer.headers)
    assert now.json()["state"] == "recommended"
    version = int(etag.strip('"').split(".")[0])
    assert now.headers["etag"].startswith(f'"{version + 1}.')


async def test_50_submissions_for_sign_off_at_once_one_wins(
    app: FastAPI, client: httpx.AsyncClient, servers: Servers
) -> None:
    server = servers.launch()
    cast = await live_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    etag = flow.etag
    server.wait_ready()

    def send(http: httpx.AsyncClient, _: int):  # type: ignore[no-untyped-def]
        return http.post(
            f"{API}/applications/{flow.id}/transitions",
            json={"action": "submit"},
            headers={**cast.applicant.headers, "If-Match": etag},
        )

    winner = one_winner(await race(server.url, 50, send), 200)
    assert winner.json()["state"] == "endorsing" and winner.json()["content_digest"]

    history = (await _get(server.url, f"/applications/{flow.id}/transitions", cast.applicant.headers)).json()["items"]
    assert [(t["action"], t["from_state"], t["to_state"]) for t in history] == [("submit", "draft", "endorsing")]
    now = (await _get(server.url, f"/applications/{flow.id}", cast.applicant.headers)).json()
    assert now["version"] == winner.json()["version"] and now["content_digest"] == winner.json()["content_digest"]


async def test_30_sign_offs_of_one_party_at_once_one_counts(
    app: FastAPI, client: httpx.AsyncClient, servers: Servers
) -> None:
    server = servers.launch()
    cast = await live_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    assert (await flow.act("submit")).status_code == 200
    for signatory, role, org in (
        (cast.undertaking_signatory, "undertaking", cast.undertaking),
        (cast.participating_signatory, "participating", cast.participating),
        (cast.guidance_signatory, "guidance", cast.guidance),
    ):
        assert (await flow.endorse(signatory, role, org)).status_code == 201
    etag = flow.etag
    server.wait_ready()
    body = {
        "role": "guarantor",
        "organization_id": cast.guarantor,
        "decision": "agree",
        "opinion": "同意申报",
        "signatory_name": "张伟",
        "signatory_title": "区长",
    }

    def send(http: httpx.AsyncClient, i: int):  # type: ignore[no-untyped-def]
        # Half name the version read, half accept any version ("*"): those lose by finding the sign-off there.
        return http.post(
            f"{API}/applications/{flow.id}/endorsements",
            json=body,
            headers={**cast.guarantor_signatory.headers, "If-Match": etag if i % 2 else "*"},
        )

    winner = one_winner(await race(server.url, 30, send), 201)

    endorsements = (await _get(server.url, f"/applications/{flow.id}/endorsements", cast.applicant.headers)).json()
    guarantor = [e for e in endorsements if e["party_role"] == "guarantor"]
    assert [e["id"] for e in guarantor] == [winner.json()["id"]]
    assert len(endorsements) == 4
    history = (await _get(server.url, f"/applications/{flow.id}/transitions", cast.applicant.headers)).json()["items"]
    assert [t["action"] for t in history] == ["submit", "all_agreed"]
    now = (await _get(server.url, f"/applications/{flow.id}", cast.applicant.headers)).json()
    assert now["state"] == "provincial_review"
    assert [s["status"] for s in now["sign_offs"]] == ["agreed"] * 4


async def test_50_submissions_of_one_list_at_once_issue_one_receipt(
    app: FastAPI, client: httpx.AsyncClient, servers: Servers
) -> None:
    server = servers.launch()
    cast = await live_cast(app, client)
    flows = [await recommended(client, cast, f"济南市第{n}个政务服务标准化试点") for n in range(1, 4)]
    created = await open_batch(client, cast)
    batch_id = created.json()["id"]
    listed = await put_items(client, created, cast.reviewer, [f.id for f in flows], created.headers["etag"])
    assert listed.status_code == 200, listed.text
    etag = listed.headers["etag"]
    server.wait_ready()

    def send(http: httpx.AsyncClient, _: int):  # type: ignore[no-untyped-def]
        return http.post(
            f"{API}/batches/{batch_id}/transitions",
            json={"action": "submit"},
            headers={**cast.reviewer.headers, "If-Match": etag},
        )

    winner = one_winner(await race(server.url, 50, send), 200)
    assert winner.json()["state"] == "submitted"

    receipts = (await _get(server.url, f"/batches/{batch_id}/receipts", cast.reviewer.headers)).json()
    assert [r["tracking_number"] for r in receipts] == [winner.json()["tracking_number"]]
    assert [i["application_id"] for i in receipts[0]["items"]] == [f.id for f in flows]
    history = (await _get(server.url, f"/batches/{batch_id}/transitions", cast.reviewer.headers)).json()["items"]
    assert [t["action"] for t in history] == ["submit"]
    for flow in flows:
        steps = (await _get(server.url, f"/applications/{flow.id}/transitions", cast.reviewer.headers)).json()["items"]
        assert [t["action"] for t in steps].count("batch_submitted") == 1
        assert steps[-1]["to_state"] == "submitted"


async def test_a_list_submitted_while_its_applications_are_reopened_is_never_half_submitted(
    app: FastAPI,
    client: httpx.AsyncClient,
    servers: Servers,
) -> None:
    """The list's submission races reviewers reopening its applications: all of it is submitted, or none."""
    server = servers.launch()
    cast = await live_cast(app, client)
    flows = [await recommended(client, cast, f"烟台市第{n}个政务服务标准化试点") for n in range(1, 4)]
    for flow in flows:
        await flow.get(cast.reviewer)
    created = await open_batch(client, cast)
    batch_id = created.json()["id"]
    listed = await put_items(client, created, cast.reviewer, [f.id for f in flows], created.headers["etag"])
    assert listed.status_code == 200, listed.text
    server.wait_ready()

    def send(http: httpx.AsyncClient, i: int):  # type: ignore[no-untyped-def]
        if i % 10 == 0:
            return http.post(
                f"{API}/batches/{batch_id}/transitions",
                json={"action": "submit"},
                headers={**cast.reviewer.headers, "If-Match": listed.headers["etag"]},
            )
        flow = flows[i % len(flows)]
        return http.post(
            f"{API}/applications/{flow.id}/transitions",
            json={"action": "reopen"},
            headers={**cast.reviewer.headers, "If-Match": flow.etag},
        )

    responses = await race(server.url, 30, send)
    assert all(r.status_code in (200, 409, 412, 422) for r in responses), [
        (r.status_code, r.text[:200]) for r in responses
    ]
    submitted = [r for i, r in enumerate(responses) if i % 10 == 0 and r.status_code == 200]
    reopened = [r for i, r in enumerate(responses) if i % 10 and r.status_code == 200]
    assert len(submitted) <= 1

    batch = (await _get(server.url, f"/batches/{batch_id}", cast.reviewer.headers)).json()
    receipts = (await _get(server.url, f"/batches/{batch_id}/receipts", cast.reviewer.headers)).json()
    states = [(await _get(server.url, f"/applications/{f.id}", cast.reviewer.headers)).json()["state"] for f in flows]
    if submitted:
        assert not reopened
        assert batch["state"] == "submitted" and len(receipts) == 1 and states == ["submitted"] * 3
    else:
        assert batch["state"] == "open" and receipts == [] and "submitted" not in states
        assert len(reopened) == states.count("provincial_review") >= 1
