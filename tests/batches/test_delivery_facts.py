"""What the office and recommenders read about a submission: tracking numbers, names of fields, the call's contact."""

from datetime import datetime

import httpx
from fastapi import FastAPI

from tests.batches.helpers import act, cast_for, open_batch, put_items, recommended


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_lists_summary_and_call_name_the_tracking_number_fields_and_contact(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cast = await cast_for(app, client)
    flows = [await recommended(client, cast, "济南市历下区政务服务标准化试点", area="1.1", item="1.1.3")]
    batch = await open_batch(client, cast)
    batch_id = batch.json()["id"]
    listed = (await client.get("/api/v1/batches", headers=cast.reviewer.headers)).json()["items"]
    assert [b["tracking_number"] for b in listed if b["id"] == batch_id] == [None]
    r = await put_items(client, batch, cast.reviewer, [f.id for f in flows], batch.headers["etag"])
    submitted = await act(client, batch_id, cast.reviewer, r.headers["etag"], "submit")
    number = submitted.json()["tracking_number"]
    assert number

    for actor in (cast.reviewer, cast.office):
        listed = (await client.get("/api/v1/batches", headers=actor.headers)).json()["items"]
        assert [b["tracking_number"] for b in listed if b["id"] == batch_id] == [number]

    summary = (await client.get(f"/api/v1/calls/{cast.call_id}/summary", headers=cast.office.headers)).json()
    (row,) = [x for x in summary["recommenders"] if x["batch_id"] == batch_id]
    assert row["tracking_number"] == number
    assert _at(row["submitted_at"]) == _at(submitted.json()["submitted_at"])
    assert row["by_field"] == {"1": 1} and row["by_area"] == {"1.1": 1}
    assert summary["names"] == {"1": "行政管理和服务", "1.1": "政务服务"}
    assert summary["totals"]["by_area"] == {"1.1": 1}
    silent = [x for x in summary["recommenders"] if x["batch_id"] is None]
    assert silent and all(x["tracking_number"] is None and x["submitted_at"] is None for x in silent)

    call = (await client.get(f"/api/v1/calls/{cast.call_id}")).json()
    assert call["contact"]["persons"] == ["董艳", "王斌"]
    assert call["contact"]["address"] == "北京市东城区安定门外大街56号" and call["contact"]["postcode"] == "100011"
    assert "010-82261022" in call["contact"]["phones"] and call["contact"]["fax"] == "010-82260667"
