"""History reads of the feed: `application_id` and `batch_id` select one application's or one list's events.

The office sees an application's drafting, sign-offs and review only once its list is submitted, behind
its live cursor; with the filters it reads that history from the start, under the feed's own visibility,
pages and cursors. An application or a list the caller cannot see gives an empty page, as an unknown id.
"""

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import col

from app.core.outbox_models import Event
from tests.applications.cast import make_cast
from tests.batches.helpers import act, open_batch, put_items, recommended
from tests.conftest import Actor


async def _read(client: httpx.AsyncClient, actor: Actor, **params: str | int) -> list[dict]:
    """Every page of a filtered read, following the cursors."""
    items: list[dict] = []
    after = params.pop("after", None)
    while True:
        query = {**params, **({"after": after} if after is not None else {})}
        r = await client.get("/api/v1/events", params=query, headers=actor.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        after = page["next_cursor"]
        if not page["has_more"]:
            return items


def _ids(app: FastAPI, where: sa.ColumnElement[bool]) -> list[str]:
    """The ids of the log's events matching ``where``, in feed order."""
    with app.state.database.reader() as session:
        return list(session.execute(sa.select(col(Event.id)).where(where).order_by(col(Event.seq))).scalars())


async def test_history_of_an_application_and_of_a_list(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    first = await recommended(client, cast, "第一个申请")
    second = await recommended(client, cast, "第二个申请")
    outside = await recommended(client, cast, "不在清单上的申请")
    opened = await open_batch(client, cast)
    batch_id = opened.json()["id"]
    r = await put_items(client, opened, cast.reviewer, [first.id, second.id], opened.headers["etag"])
    assert r.status_code == 200, r.text
    of_first = _ids(app, col(Event.application_id) == first.id)
    assert len(of_first) >= 8  # created, file, submitted, three sign-offs, review, state changes

    # Before the list is submitted: the reviewer reads the whole history; the office sees none of it.
    assert [e["id"] for e in await _read(client, cast.reviewer, application_id=first.id)] == of_first
    assert await _read(client, cast.office, application_id=first.id) == []
    assert await _read(client, cast.office, batch_id=batch_id) == []

    r = await act(client, batch_id, cast.reviewer, r.headers["etag"], "submit")
    assert r.status_code == 200, r.text
    of_first = _ids(app, col(Event.application_id) == first.id)
    assert "application.state_changed" in {e["type"] for e in await _read(client, cast.office, application_id=first.id)}
    assert [e["id"] for e in await _read(client, cast.office, application_id=first.id)] == of_first
    # The list's own events and those of the two applications on it, in commit order; not the third one's.
    of_list = _ids(
        app,
        sa.or_(
            sa.and_(col(Event.subject_type) == "batch", col(Event.subject_id) == batch_id),
            col(Event.application_id).in_([first.id, second.id]),
        ),
    )
    history = await _read(client, cast.office, batch_id=batch_id)
    assert [e["id"] for e in history] == of_list
    assert {"batch.created", "batch.items_set", "batch.submitted", "review.recorded"} <= {e["type"] for e in history}
    assert not {e["id"] for e in history} & set(_ids(app, col(Event.application_id) == outside.id))
    # Both filters: the events matching both; other filters still apply.
    both = await _read(client, cast.office, batch_id=batch_id, application_id=second.id)
    assert [e["id"] for e in both] == _ids(app, col(Event.application_id) == second.id)
    reviews = await _read(client, cast.office, batch_id=batch_id, types="review.recorded")
    assert [e["subject_id"] for e in reviews] != [] and {e["type"] for e in reviews} == {"review.recorded"}

    # Same pages and cursors as the whole feed: small pages join up, `after` starts later.
    paged = await _read(client, cast.office, batch_id=batch_id, page_size=2)
    assert [e["id"] for e in paged] == of_list
    later = await _read(client, cast.office, batch_id=batch_id, after=history[2]["cursor"])
    assert [e["id"] for e in later] == of_list[3:]

    # Who cannot see it gets an empty page: a unit of another city, and an applicant asking for a list.
    assert await _read(client, cast.stranger, application_id=first.id) == []
    assert await _read(client, cast.applicant, batch_id=batch_id) == []
    assert [e["id"] for e in await _read(client, cast.applicant, application_id=first.id)] == of_first
    assert await _read(client, cast.office, application_id="app_0123456789abcdef0123") == []
    assert await _read(client, cast.office, batch_id="bat_0123456789abcdef0123") == []


async def test_an_empty_history_still_gives_a_cursor_to_continue(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    r = await client.get("/api/v1/events", params={"application_id": "app_00"}, headers=cast.office.headers)
    assert r.status_code == 200, r.text
    assert r.json()["items"] == [] and r.json()["has_more"] is False
    whole = await client.get("/api/v1/events", params={"after": r.json()["next_cursor"]}, headers=cast.admin.headers)
    assert whole.status_code == 200 and whole.json()["items"] == []


async def test_bad_history_parameters_are_validation_problems(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    for params, pointer, code in [
        ({"application_id": "not an id"}, "query:/application_id", "invalid_format"),
        ({"application_id": "bat_0123"}, "query:/application_id", "invalid_format"),
        ({"application_id": "app_" + "0" * 40}, "query:/application_id", "too_long"),
        ({"batch_id": "app_0123"}, "query:/batch_id", "invalid_format"),
        ({"batch_id": ""}, "query:/batch_id", "invalid_format"),
    ]:
        response = await client.get("/api/v1/events", params=params, headers=cast.office.headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
        error = response.json()["errors"][0]
        assert (error["pointer"], error["code"]) == (pointer, code), params
        assert "not an id" not in response.text
