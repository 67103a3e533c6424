"""What a recommended list refuses: late submissions, others' or unready applications, bad ranks, races, forgeries."""

import asyncio
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi import FastAPI

from app.batches.models import Receipt
from app.cli import main
from app.core.clock import BEIJING
from app.reference.models import Call
from tests.applications.cast import MINIMAL_PDF, Flow
from tests.batches.helpers import act, cast_for, open_batch, put_items, recommended
from tests.store import fingerprint
from tests.tags import etag_of


async def test_submission_one_second_late_changes_nothing(app: FastAPI, client: httpx.AsyncClient, clock) -> None:  # type: ignore[no-untyped-def]
    cast = await cast_for(app, client)
    flow = await recommended(client, cast, "济南市历下区政务服务标准化试点")
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [flow.id], batch.headers["etag"])
    clock.set(datetime(2022, 11, 16, 0, 0, 0, tzinfo=BEIJING))
    before = fingerprint(app)
    late = await act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit")
    assert late.status_code == 409 and late.json()["code"] == "deadline_passed"
    assert "2022-11-15 23:59:59" in late.json()["detail"]
    assert fingerprint(app) == before


async def test_what_a_list_may_hold(app: FastAPI, client: httpx.AsyncClient) -> None:
    shandong = await cast_for(app, client)
    beijing = await cast_for(app, client, province="110000", area="110101", base=shandong)
    mine = await recommended(client, shandong, "济南市历下区政务服务标准化试点")
    theirs = await recommended(client, beijing, "北京市东城区政务公开标准化试点", area="1.2", item=None)
    unready = Flow(client, shandong)
    await unready.to_review()  # in provincial_review, not recommended
    batch = await open_batch(client, shandong)
    etag, bid = batch.headers["etag"], batch.json()["id"]
    before = fingerprint(app)

    r = await put_items(client, batch, shandong.reviewer, [mine.id, theirs.id], etag)
    assert r.status_code == 404
    r = await put_items(client, batch, shandong.reviewer, [mine.id, unready.id], etag)
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/items/1/application_id"
    assert r.json()["errors"][0]["code"] == "not_recommended"
    bad_ranks = {
        "items": [
            {"application_id": mine.id, "rank": 1},
            {"application_id": unready.id, "rank": 4},
            {"application_id": theirs.id, "rank": 1},
        ]
    }
    r = await client.put(
        f"/api/v1/batches/{bid}/items", json=bad_ranks, headers={**shandong.reviewer.headers, "If-Match": etag}
    )
    assert r.status_code == 422
    assert [e["pointer"] for e in r.json()["errors"]] == ["/items/1/rank", "/items/2/rank"]
    r = await put_items(client, batch, beijing.reviewer, [mine.id], etag)
    assert r.status_code == 404  # another province's list is invisible
    r = await put_items(client, batch, shandong.reviewer, [mine.id], '"99"')
    assert r.status_code == 412
    empty = await act(client, bid, shandong.reviewer, etag, "submit")
    assert empty.status_code == 422 and empty.json()["code"] == "batch_empty"
    assert fingerprint(app) == before

    with app.state.database.transaction() as session:
        session.execute(sa.update(Call).where(Call.id == shandong.call_id).values(quota_per_recommender=1))
    second = await recommended(client, shandong, "济南市历下区网上办事服务标准化试点")
    r = await put_items(client, batch, shandong.reviewer, [mine.id, second.id], etag)
    assert r.status_code == 422 and r.json()["code"] == "quota_exceeded"
    r = await put_items(client, batch, shandong.reviewer, [second.id], etag)
    assert r.status_code == 200

    # An item reopened after it was listed blocks the submission, with a pointer.
    await second.get(shandong.reviewer)
    assert (await second.act("reopen", shandong.reviewer)).status_code == 200
    blocked = await act(client, bid, shandong.reviewer, r.headers["etag"], "submit")
    assert blocked.status_code == 422 and blocked.json()["errors"][0]["pointer"] == "/items/0/application_id"


async def test_unverified_paper_sign_off_blocks_submission(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await cast_for(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    c = cast
    page = await client.post(
        f"/api/v1/applications/{flow.id}/attachments",
        headers={**c.applicant.headers, "If-Match": await etag_of(client, flow.id, c.applicant.headers)},
        files={"file": ("盖章页.pdf", MINIMAL_PDF, "application/pdf")},
        data={"kind": "paper_endorsement"},
    )
    assert page.status_code == 201, page.text
    await flow.get(c.applicant)
    assert (await flow.act("submit")).status_code == 200
    for signatory, role, org in (
        (c.undertaking_signatory, "undertaking", c.undertaking),
        (c.participating_signatory, "participating", c.participating),
        (c.guidance_signatory, "guidance", c.guidance),
    ):
        assert (await flow.endorse(signatory, role, org)).status_code == 201
    paper = await flow.endorse(c.applicant, "guarantor", c.guarantor, mode="paper", attachment_id=page.json()["id"])
    assert paper.status_code == 201, paper.text
    await flow.get(c.reviewer)
    assert (await flow.review("recommend", "同意推荐")).status_code == 201
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [flow.id], batch.headers["etag"])
    blocked = await act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit")
    assert blocked.status_code == 422 and blocked.json()["code"] == "unverified_paper_endorsement"
    assert blocked.json()["errors"][0]["pointer"] == "/items/0/application_id"
    await flow.get(c.reviewer)
    v = await flow.post(f"/endorsements/{paper.json()['id']}/verification", c.reviewer, {"verdict": "confirmed"})
    assert v.status_code == 200
    ok = await act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit")
    assert ok.status_code == 200, ok.text


async def test_two_concurrent_submissions_issue_one_receipt(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await cast_for(app, client)
    flows = [await recommended(client, cast, f"济南市第{n}个政务服务标准化试点") for n in (1, 2)]
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [f.id for f in flows], batch.headers["etag"])
    results = await asyncio.gather(
        *(act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit") for _ in range(2))
    )
    assert sorted(x.status_code for x in results)[0] == 200
    assert sorted(x.status_code for x in results)[1] in (409, 412)
    with app.state.database.reader() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Receipt)).scalar_one() == 1


async def test_a_tampered_receipt_fails_verification(
    app: FastAPI,
    client: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    cast = await cast_for(app, client)
    flow = await recommended(client, cast, "济南市历下区政务服务标准化试点")
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [flow.id], batch.headers["etag"])
    assert (await act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit")).status_code == 200
    receipt = (await client.get(f"/api/v1/batches/{batch.json()['id']}/receipt", headers=cast.reviewer.headers)).json()

    async def check(doc: object) -> dict:
        res = await client.post("/api/v1/receipts/verify", json=doc, headers=cast.reviewer.headers)
        assert res.status_code == 200, res.text
        return res.json()

    assert await check(receipt) == {"valid": True, "reason": "valid"}
    changed = {**receipt, "items": [{**receipt["items"][0], "title": "另一个项目"}]}
    assert await check(changed) == {"valid": False, "reason": "signature_mismatch"}
    other = {**receipt, "signatures": [{**receipt["signatures"][0], "kid": "ed25519-0000000000000000"}]}
    assert await check(other) == {"valid": False, "reason": "unknown_key"}
    assert await check({**receipt, "signatures": []}) == {"valid": False, "reason": "unsigned"}
    assert (await check({"hello": 1}))["valid"] is False

    # Offline: the published keys only, no database, no secret.
    keys = tmp_path / "keys.json"
    keys.write_bytes((await client.get("/api/v1/receipt-keys")).content)
    runner = CliRunner()
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    import orjson

    good.write_bytes(orjson.dumps(receipt))
    bad.write_bytes(orjson.dumps(changed))
    ok = runner.invoke(main, ["receipt", "verify", str(good), "--keys", str(keys)])
    assert ok.exit_code == 0 and '"valid":true' in ok.output
    ko = runner.invoke(main, ["receipt", "verify", str(bad), "--keys", str(keys)])
    assert ko.exit_code == 1 and "signature_mismatch" in ko.output


async def test_a_receipt_issued_before_public_key_signatures_still_verifies(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Receipts stored with an HMAC signature keep verifying through POST /receipts/verify."""
    from app.batches import receipts_hmac

    cast = await cast_for(app, client)
    old = receipts_hmac.seal(
        {
            "tracking_number": "SMPS-9THBATCH-370000-001",
            "submitted_at": "2022-11-02T02:00:00Z",
            "call_id": cast.call_id,
            "recommender_id": cast.recommender,
            "batch_id": "bat_x",
            "items": [],
            "previous_tracking_number": None,
        },
        app.state.settings.receipt_signing_key,
    )
    r = await client.post("/api/v1/receipts/verify", json=old, headers=cast.reviewer.headers)
    assert r.json() == {"valid": True, "reason": "valid"}
    r = await client.post(
        "/api/v1/receipts/verify", json={**old, "items": [{"rank": 1}]}, headers=cast.reviewer.headers
    )
    assert r.json() == {"valid": False, "reason": "digest_mismatch"}
    r = await client.post("/api/v1/receipts/verify", json={**old, "signature": "0" * 64}, headers=cast.reviewer.headers)
    assert r.json() == {"valid": False, "reason": "signature_mismatch"}
