"""The committed OpenAPI document is valid, and a client generated from it works.

`openapi-spec-validator` checks the document; `openapi-python-client` generates a Python client
with warnings treated as failures (tests/contract/python_client.py), and the generated package then
talks to the app.
"""

import importlib
import json
from types import ModuleType

import httpx
import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate

from tests.contract.python_client import DOCUMENT, api
from tests.factories import make_user, seeded_org

# The consumers' tools judge the document, not the database: this runs once, in the SQLite pass.
pytestmark = pytest.mark.backend_independent


def test_the_document_is_valid_openapi() -> None:
    validate(json.loads(DOCUMENT.read_text()))


async def test_a_generated_client_calls_the_api(app: FastAPI, generated: ModuleType) -> None:
    reviewer = make_user(app, seeded_org(app, "370000"), "reviewer")
    client = generated.AuthenticatedClient(
        base_url="http://testserver", token=reviewer.api_key, httpx_args={"transport": httpx.ASGITransport(app=app)}
    )
    list_calls, get_call = api(generated, "reference.list_calls"), api(generated, "reference.get_call")
    models = importlib.import_module(f"{generated.__name__}.models")

    calls = await list_calls.asyncio(client=client)
    ninth = next(c for c in calls if c.key == "9th-batch")
    call = await get_call.asyncio(call_id=ninth.id, client=client)
    assert isinstance(call, models.CallPublic)
    assert call.id == ninth.id and call.deadline.utcoffset() is not None
    assert [s.key for s in call.sections][:2] == ["basic_situation", "groundwork"]

    # A problem answer is typed too.
    missing = await get_call.asyncio_detailed(call_id="cal_missing", client=client)
    assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
    assert missing.parsed.code == "not_found"

    # An authenticated operation with query parameters: the change feed.
    page = await api(generated, "events.list_events").asyncio(client=client, page_size=5)
    assert isinstance(page, models.EventPage) and isinstance(page.has_more, bool)


async def test_downloads_are_bytes_and_no_declared_answer_is_unexpected(app: FastAPI, generated: ModuleType) -> None:
    from tests.applications.cast import make_cast
    from tests.batches.helpers import open_batch, put_items, recommended
    from tests.contract.world import asgi_client

    async with asgi_client(app) as http:
        cast = await make_cast(app, http)
        flow = await recommended(http, cast, "济南市历下区政务服务标准化试点")
        opened = await open_batch(http, cast)
        assert (await put_items(http, opened, cast.reviewer, [flow.id], opened.headers["etag"])).status_code == 200
        batch = opened.json()
    application = {"id": flow.id}
    transport = httpx.ASGITransport(app=app)
    client = generated.AuthenticatedClient(
        base_url="http://testserver",
        token=cast.reviewer.api_key,
        raise_on_unexpected_status=True,
        httpx_args={"transport": transport},
    )
    anonymous = generated.Client(
        base_url="http://testserver", raise_on_unexpected_status=True, httpx_args={"transport": transport}
    )
    types = importlib.import_module(f"{generated.__name__}.types")

    template = await api(generated, "bulk.get_bulk_upload_template").asyncio_detailed(client=client)
    assert template.status_code == 200 and isinstance(template.parsed, types.File)
    assert template.parsed.payload.read()[:2] == b"PK"  # an XLSX is a zip
    listed = await api(generated, "documents.get_recommended_list_csv").asyncio_detailed(
        batch_id=batch["id"], client=client
    )
    assert listed.status_code == 200 and isinstance(listed.parsed, types.File)
    assert "济南市历下区".encode() in listed.parsed.payload.read()

    # Answers other than success are declared, so raise_on_unexpected_status never fires on them.
    get_application = api(generated, "applications.get_application")
    assert (
        await get_application.asyncio_detailed(application_id=application["id"], client=anonymous)
    ).status_code == 401
    assert (await get_application.asyncio_detailed(application_id="app_missing", client=client)).status_code == 404
    current = await get_application.asyncio_detailed(application_id=application["id"], client=client)
    assert current.status_code == 200
    unchanged = await get_application.asyncio_detailed(
        application_id=application["id"], client=client.with_headers({"If-None-Match": current.headers["etag"]})
    )
    assert unchanged.status_code == 304
    stale = await api(generated, "applications.transition_application").asyncio_detailed(
        application_id=application["id"],
        client=client,
        if_match='"0"',
        body=importlib.import_module(f"{generated.__name__}.models").TransitionRequest.from_dict({"action": "reopen"}),
    )
    # The current version's tag: what If-Match compares (the caller's representation tag names the same version).
    assert stale.status_code == 412 and stale.parsed.current_etag == current.headers["etag"].split(".")[0] + '"'
    assert stale.parsed.current_etag == f'"{current.parsed.version}"'


def test_a_page_with_an_unknown_event_type_parses(generated: ModuleType) -> None:
    """New event types are additive (docs/versioning.md): a client generated from this document reads an
    event of a type added later as an `UnknownEvent`, and the known ones as their own types."""
    models = importlib.import_module(f"{generated.__name__}.models")
    event = {
        "subject_type": "application",
        "subject_id": "app_1",
        "occurred_at": "2026-12-06T10:00:00+08:00",
        "actor_id": None,
        "cursor": "c2VxOjE",
    }
    page = models.EventPage.from_dict(
        {
            "items": [
                {**event, "id": "evt_1", "type": "application.archived", "data": {"archived_by": "usr_1"}},
                {**event, "id": "evt_2", "type": "application.deleted", "data": {"title": "试点"}},
            ],
            "next_cursor": "c2VxOjI",
            "has_more": False,
        }
    )
    unknown, deleted = page.items
    assert isinstance(unknown, models.UnknownEvent) and unknown.type_ == "application.archived"
    assert unknown.data.additional_properties == {"archived_by": "usr_1"}
    assert isinstance(deleted, models.ApplicationDeletedEvent) and deleted.data.title == "试点"
    # A webhook delivery of an unknown type parses too.
    delivery = models.UnknownEventDelivery.from_dict(
        {"type": "application.archived", "timestamp": event["occurred_at"], "data": unknown.to_dict()}
    )
    assert delivery.data.id == "evt_1"
