"""End to end: two provinces and a member unit submit their recommended lists; the office receives them."""

from datetime import datetime

import httpx
from fastapi import FastAPI

from app.batches import receipts as receipt_signatures
from app.core.clock import BEIJING
from tests.batches.helpers import act, cast_for, open_batch, put_items, recommended
from tests.factories import make_org


async def test_two_provinces_and_a_member_unit(app: FastAPI, client: httpx.AsyncClient, clock) -> None:  # type: ignore[no-untyped-def]
    shandong = await cast_for(app, client)
    beijing = await cast_for(app, client, province="110000", area="110101", base=shandong)
    ministry = make_org(app, name="民政部", province_code="110000", area="110102", recommender_kind="member_unit")
    direct = await cast_for(app, client, province="110000", area="110105", recommender=ministry, base=shandong)
    office = shandong.office

    sd = [
        await recommended(client, shandong, "济南市历下区政务服务标准化试点"),
        await recommended(client, shandong, "青岛市医疗卫生服务标准化试点", area="3.1", item=None),
    ]
    bj = [await recommended(client, beijing, "北京市东城区政务公开标准化试点", area="1.2", item=None)]
    mu = [await recommended(client, direct, "全国养老机构服务标准化试点", area="3.4", item="3.4.1")]

    batches = {}
    for name, cast, flows in (("sd", shandong, sd), ("bj", beijing, bj), ("mu", direct, mu)):
        created = await open_batch(client, cast)
        body = created.json()
        assert body["state"] == "open" and body["items"] == [] and created.headers["etag"].startswith('"1.')
        r = await put_items(client, body, cast.reviewer, [f.id for f in reversed(flows)], created.headers["etag"])
        assert r.status_code == 200, r.text
        assert [i["application_id"] for i in r.json()["items"]] == [f.id for f in reversed(flows)]
        r = await act(client, body["id"], cast.reviewer, r.headers["etag"], "submit")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "submitted" and r.json()["tracking_number"].endswith("-001")
        batches[name] = r.json()
        for flow in flows:
            assert (await flow.get(cast.reviewer)).json()["state"] == "submitted"

    # One list per recommender and call.
    again = await client.post("/api/v1/batches", json={"call_id": shandong.call_id}, headers=shandong.reviewer.headers)
    assert again.status_code == 409 and again.json()["code"] == "duplicate"

    receipt = (
        await client.get(f"/api/v1/batches/{batches['sd']['id']}/receipt", headers=shandong.reviewer.headers)
    ).json()
    assert receipt["tracking_number"] == batches["sd"]["tracking_number"]
    assert receipt["tracking_number"].startswith("SMPS-9THBATCH-370000-")
    assert [(i["rank"], i["application_id"]) for i in receipt["items"]] == [(1, sd[1].id), (2, sd[0].id)]
    assert all(len(i["content_digest"]) == 64 and len(i["attachments"]) == 1 for i in receipt["items"])
    assert receipt["previous_tracking_number"] is None and "signature" not in receipt
    published = (await client.get("/api/v1/receipt-keys")).json()["keys"]
    assert sorted(s["alg"] for s in receipt["signatures"]) == ["Ed25519", "SM2-SM3"]
    assert {s["kid"] for s in receipt["signatures"]} <= {k["kid"] for k in published}
    assert receipt_signatures.verify(receipt, published) == (True, "valid")

    # The office sees the three lists; a province sees only its own; an applicant sees none.
    seen = (await client.get("/api/v1/batches", headers=office.headers)).json()["items"]
    assert {b["id"] for b in seen} == {b["id"] for b in batches.values()}
    own = (await client.get("/api/v1/batches", headers=beijing.reviewer.headers)).json()["items"]
    assert [b["id"] for b in own] == [batches["bj"]["id"]]
    assert (await client.get("/api/v1/batches", headers=shandong.applicant.headers)).json()["items"] == []
    hidden = await client.get(f"/api/v1/batches/{batches['sd']['id']}", headers=beijing.reviewer.headers)
    assert hidden.status_code == 404

    # Acknowledge two; return the Shandong list.
    for name in ("bj", "mu"):
        r = await act(client, batches[name]["id"], office, f'"{batches[name]["version"]}"', "acknowledge")
        assert r.status_code == 200 and r.json()["state"] == "acknowledged", r.text
    no_comment = await act(client, batches["sd"]["id"], office, f'"{batches["sd"]["version"]}"', "return")
    assert no_comment.status_code == 422 and no_comment.json()["errors"][0]["pointer"] == "/comment"
    not_yours = await act(
        client, batches["sd"]["id"], shandong.reviewer, f'"{batches["sd"]["version"]}"', "acknowledge"
    )
    assert not_yours.status_code == 403
    clock.advance(days=1)
    r = await act(client, batches["sd"]["id"], office, f'"{batches["sd"]["version"]}"', "return", "请调整排序")
    assert r.status_code == 200 and r.json()["state"] == "returned", r.text
    assert [(await f.get(shandong.reviewer)).json()["state"] for f in sd] == ["recommended"] * 2

    # The province corrects the order and resubmits: a new receipt linked to the first.
    clock.advance(days=1)
    r = await put_items(client, batches["sd"], shandong.reviewer, [f.id for f in sd], r.headers["etag"])
    assert r.status_code == 200, r.text
    r = await act(client, batches["sd"]["id"], shandong.reviewer, r.headers["etag"], "submit")
    assert r.status_code == 200 and r.json()["tracking_number"].endswith("-002"), r.text
    receipts = (await client.get(f"/api/v1/batches/{batches['sd']['id']}/receipts", headers=office.headers)).json()
    assert len(receipts) == 2 and receipts[1]["previous_tracking_number"] == receipts[0]["tracking_number"]
    assert [i["application_id"] for i in receipts[1]["items"]] == [sd[0].id, sd[1].id]
    history = (await client.get(f"/api/v1/batches/{batches['sd']['id']}/transitions", headers=office.headers)).json()[
        "items"
    ]
    assert [h["action"] for h in history] == ["submit", "return", "submit"]
    r = await act(client, batches["sd"]["id"], office, r.headers["etag"], "acknowledge")
    assert r.status_code == 200

    # Outcomes, through the applications' own endpoint.
    for flow, decision in ((sd[0], "approve"), (mu[0], "not_approve")):
        await flow.get(office)
        r = await flow.post("/outcome", office, {"decision": decision, "document_number": "国标委发〔2023〕5号"})
        assert r.status_code == 200, r.text

    summary = await client.get(f"/api/v1/calls/{shandong.call_id}/summary", headers=office.headers)
    assert summary.status_code == 200, summary.text
    rows = {r["recommender_id"]: r for r in summary.json()["recommenders"]}
    provinces = [r for r in rows.values() if r["recommender_kind"] == "province"]
    assert len(provinces) == 32
    assert rows[shandong.recommender]["state"] == "acknowledged" and rows[shandong.recommender]["item_count"] == 2
    assert rows[shandong.recommender]["by_field"] == {"1": 1, "3": 1}
    assert rows[shandong.recommender]["outcomes"] == {"approved": 1, "pending": 1}
    assert rows[beijing.recommender]["acknowledged"] and rows[beijing.recommender]["by_field"] == {"1": 1}
    assert rows[ministry]["recommender_kind"] == "member_unit" and rows[ministry]["state"] == "acknowledged"
    assert rows[ministry]["outcomes"] == {"not_approved": 1}
    assert sum(r["state"] == "not_submitted" for r in rows.values()) == len(rows) - 3
    assert (
        await client.get(f"/api/v1/calls/{shandong.call_id}/summary", headers=shandong.reviewer.headers)
    ).status_code == 403


async def test_return_is_refused_after_the_deadline(app: FastAPI, client: httpx.AsyncClient, clock) -> None:  # type: ignore[no-untyped-def]
    cast = await cast_for(app, client)
    flow = await recommended(client, cast, "济南市历下区政务服务标准化试点")
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [flow.id], batch.headers["etag"])
    r = await act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit")
    assert r.status_code == 200
    clock.set(datetime(2022, 11, 16, 0, 0, 0, tzinfo=BEIJING))
    late = await act(client, batch.json()["id"], cast.office, r.headers["etag"], "return", "补充材料")
    assert late.status_code == 409 and late.json()["code"] == "deadline_passed"
