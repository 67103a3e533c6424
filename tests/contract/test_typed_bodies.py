"""What the document says of bodies once free-form, and of answers it now describes precisely, is what the
service does, seen through the generated Python client: typed bulk rows, the receipt to verify, the form's
section keys, `allowed_actions` and `submit`, and the 400 of a URL with a NUL character."""

import importlib
import json
import threading
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.applications.schemas import SECTION_KEYS
from app.bulk.columns import SECTIONS
from app.reference.data import SECTIONS_9TH
from app.reference.schemas import CallCreate
from tests.applications.cast import Cast, make_cast
from tests.batches.helpers import act, open_batch, put_items, recommended
from tests.conftest import Actor
from tests.contract.python_client import DOCUMENT, api
from tests.contract.world import asgi_client

pytestmark = pytest.mark.backend_independent

SPEC = json.loads(DOCUMENT.read_text())
SCHEMAS = SPEC["components"]["schemas"]


def _client(package: ModuleType, app: FastAPI, actor: Actor) -> Any:
    return package.AuthenticatedClient(
        base_url="http://testserver",
        token=actor.api_key,
        raise_on_unexpected_status=True,
        httpx_args={"transport": httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))},
    )


def _models(package: ModuleType) -> Any:
    return importlib.import_module(f"{package.__name__}.models")


def _sections_of(member: dict[str, Any]) -> dict[str, Any]:
    return next((s for s in member.get("anyOf", [member]) if s.get("type") == "object"), member)


def test_the_section_keys_are_the_calls_and_closed_on_both_sides() -> None:
    # Every call has the 9th batch's sections: a new call copies an earlier one's, or gets these.
    assert list(SECTION_KEYS) == [s["key"] for s in SECTIONS_9TH] == [key for key, _ in SECTIONS]
    assert "sections" not in CallCreate.model_fields  # no request can give a call other sections
    for component in ("ApplicationCreate", "ApplicationPatch", "ApplicationPublic"):
        sections = _sections_of(SCHEMAS[component]["properties"]["sections"])
        assert sorted(sections["properties"]) == sorted(SECTION_KEYS), component
        assert sections["additionalProperties"] is False, component


async def test_an_unknown_section_key_is_refused_as_the_document_says(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    r = await client.post(
        "/api/v1/applications",
        json=cast.form(sections={"basic_situation": "…", "marketing": "…"}),
        headers=cast.applicant.headers,
    )
    assert r.status_code == 422 and [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [
        ("/sections/marketing", "unknown_section")
    ]


def test_bulk_rows_and_the_receipt_to_verify_are_components() -> None:
    bulk = SPEC["paths"]["/api/v1/bulk-uploads"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    envelope, bare = bulk["anyOf"]
    for rows in (envelope["properties"]["rows"], bare):
        assert rows["items"] == {"$ref": "#/components/schemas/ApplicationCreate"} and rows["minItems"] == 1
    verify = SPEC["paths"]["/api/v1/receipts/verify"]["post"]["requestBody"]
    assert verify["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ReceiptPublic"}
    assert "malformed" in verify["description"]


async def test_bulk_rows_are_typed_and_a_bad_row_is_reported(app: FastAPI, generated: ModuleType) -> None:
    models = _models(generated)
    async with asgi_client(app) as http:
        cast = await make_cast(app, http)
    client = _client(generated, app, cast.applicant)
    good = models.ApplicationCreate.from_dict(cast.form(title="批量上传的试点项目"))
    nowhere = models.ApplicationCreate(call_id="cal_missing", title="不存在的批次")
    body = models.CreateBulkUploadJsonBodyType0(
        rows=[good, nowhere], mode=models.CreateBulkUploadJsonBodyType0Mode.VALID_ROWS
    )
    accepted = await api(generated, "bulk.create_bulk_upload").asyncio_detailed(client=client, body=body)
    assert accepted.status_code == 202 and accepted.parsed.total_rows == 2
    for thread in threading.enumerate():
        if thread.name.startswith("bulk-"):
            thread.join(timeout=120)
    upload = await api(generated, "bulk.get_bulk_upload").asyncio(upload_id=accepted.parsed.id, client=client)
    assert upload.state == "finished", upload.failure
    assert [r.status for r in upload.results] == ["created", "invalid"]
    assert [(e.pointer, e.code) for e in upload.results[1].errors] == [("/rows/1/call_id", "unknown_call")]


async def _submitted_receipt(app: FastAPI, http: httpx.AsyncClient) -> tuple[Cast, str]:
    cast = await make_cast(app, http)
    flow = await recommended(http, cast, "济南市历下区政务服务标准化试点")
    opened = await open_batch(http, cast)
    listed = await put_items(http, opened, cast.reviewer, [flow.id], opened.headers["etag"])
    sent = await act(http, opened.json()["id"], cast.reviewer, listed.headers["etag"], "submit")
    assert sent.status_code == 200, sent.text
    return cast, opened.json()["id"]


async def test_a_typed_receipt_round_trips_and_a_changed_one_does_not_verify(
    app: FastAPI, generated: ModuleType
) -> None:
    async with asgi_client(app) as http:
        cast, batch_id = await _submitted_receipt(app, http)
    client = _client(generated, app, cast.reviewer)
    verify = api(generated, "batches.verify_receipt")
    receipt = await api(generated, "batches.get_batch_receipt").asyncio(batch_id=batch_id, client=client)
    assert isinstance(receipt, _models(generated).ReceiptPublic)
    assert (await verify.asyncio(client=client, body=receipt)).reason == "valid"

    receipt.items[0].title = "另一个试点项目"
    changed = await verify.asyncio(client=client, body=receipt)
    assert (changed.valid, changed.reason) == (False, "signature_mismatch")
    # A member the receipt never had is a change too (the body is read as sent, not through the model).
    extended = await api(generated, "batches.get_batch_receipt").asyncio(batch_id=batch_id, client=client)
    extended["note"] = "added"
    added = await verify.asyncio(client=client, body=extended)
    assert (added.valid, added.reason) == (False, "signature_mismatch")


async def test_a_document_that_is_not_a_receipt_is_reported_malformed(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    for body in ({"tracking_number": "SMPS-1"}, {"tracking_number": "SMPS-1", "signatures": [], "n": 10**30}):
        r = await client.post("/api/v1/receipts/verify", json=body, headers=cast.office.headers)
        assert r.status_code == 200 and r.json()["valid"] is False, r.text
    big = {"tracking_number": "SMPS-1", "signatures": [{"kid": "k", "alg": "Ed25519", "value": "AA=="}], "n": 10**30}
    r = await client.post("/api/v1/receipts/verify", json=big, headers=cast.office.headers)
    assert r.status_code == 200 and r.json() == {"valid": False, "reason": "malformed"}  # not canonicalizable
    r = await client.post("/api/v1/receipts/verify", json=["not", "an", "object"], headers=cast.office.headers)
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"


async def test_submit_is_offered_by_state_role_and_deadline_not_by_completeness(
    app: FastAPI, generated: ModuleType
) -> None:
    description = SCHEMAS["ApplicationPublic"]["properties"]["allowed_actions"]["description"]
    assert "not by the form's content" in description and "application_invalid" in description
    models = _models(generated)
    async with asgi_client(app) as http:
        cast = await make_cast(app, http)
    client = _client(generated, app, cast.applicant)
    incomplete = await api(generated, "applications.create_application").asyncio_detailed(
        client=client, body=models.ApplicationCreate(call_id=cast.call_id, title="未填完的试点项目")
    )
    assert incomplete.status_code == 201 and "submit" in incomplete.parsed.allowed_actions
    report = await api(generated, "applications.validate_application").asyncio(
        application_id=incomplete.parsed.id, client=client
    )
    assert report.valid is False and report.errors
    refused = await api(generated, "applications.transition_application").asyncio_detailed(
        application_id=incomplete.parsed.id,
        client=client,
        if_match=incomplete.headers["etag"],
        body=models.TransitionRequest.from_dict({"action": "submit"}),
    )
    assert refused.status_code == 422 and refused.parsed.code == "application_invalid"


def _parameterless_gets() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, op)
        for path, ops in SPEC["paths"].items()
        for method, op in ops.items()
        if method == "get" and not op.get("parameters") and "{" not in path
    ]


async def test_a_parameterless_get_answers_400_for_a_nul_in_the_url_as_declared(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    gets = _parameterless_gets()
    assert len(gets) >= 8
    for path, op in gets:
        declared = op["responses"]["400"]
        assert "NUL character" in declared["description"], path
        r = await client.get(f"{path}?q=%00")
        assert r.status_code == 400 and r.json()["code"] == "bad_request", path
        assert r.headers["content-type"].startswith("application/problem+json"), path
