"""The document's examples are valid by its schemas and accepted by the service (with real ids in place)."""

import json
from typing import Any

import httpx
import jsonschema
from fastapi import FastAPI

from app import examples as ex
from app.core.errors import json_content
from app.openapi.examples import declared_codes
from tests.applications.cast import MINIMAL_PDF, Cast, Flow, make_cast
from tests.conftest import ROOT_DIR
from tests.contract.request_examples import request_example
from tests.tags import etag_of

DOCUMENT = json.loads((ROOT_DIR / "openapi" / "openapi.json").read_text())
PROBLEM = "application/problem+json"


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        {**schema, "components": DOCUMENT["components"]}, format_checker=jsonschema.FormatChecker()
    )


def _json_bodies() -> list[tuple[str, dict[str, Any]]]:
    """Bodies sent as JSON: `application/json`, and the merge patches (`application/merge-patch+json`)."""
    return [
        (op["operationId"], content)
        for ops in DOCUMENT["paths"].values()
        for op in ops.values()
        if (content := json_content(op.get("requestBody", {}).get("content", {}))) is not None
    ]


def test_every_json_request_body_has_examples_that_validate() -> None:
    missing = []
    for operation_id, content in _json_bodies():
        if not content.get("examples"):
            missing.append(operation_id)
            continue
        validator = _validator(content["schema"])
        for name, example in content["examples"].items():
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(example["value"])]
            assert not errors, (operation_id, name, errors)
    assert not missing


def test_each_problem_response_has_an_example_of_each_code_it_declares() -> None:
    validator = _validator({"$ref": "#/components/schemas/Problem"})
    codes = set(DOCUMENT["components"]["schemas"]["Problem"]["properties"]["code"]["enum"])
    seen = set()
    for ops in DOCUMENT["paths"].values():
        for op in ops.values():
            for status, response in op["responses"].items():
                media = response.get("content", {}).get(PROBLEM)
                if media is None:
                    continue
                declared = declared_codes(response)
                assert declared and set(declared) <= codes, (op["operationId"], status, declared)
                assert set(media["examples"]) == set(declared), (op["operationId"], status)
                for example in media["examples"].values():
                    value = example["value"]
                    errors = [e.message for e in validator.iter_errors(value)]
                    assert not errors, (op["operationId"], status, errors)
                    assert value["status"] == int(status) and value["type"] == f"urn:smps:problem:{value['code']}"
                    seen.add(value["code"])
    assert {"validation_failed", "invalid_state_transition", "forbidden", "precondition_failed"} <= seen


def _real(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _real(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_real(v, ids) for v in value]
    return ids.get(value, value) if isinstance(value, str) else value


def _body(operation_id: str, name: str, ids: dict[str, str]) -> dict[str, Any]:
    return _real(request_example(operation_id, name), ids)


async def _paper_page(client: httpx.AsyncClient, flow: Flow, cast: Cast) -> str:
    r = await client.post(
        f"/api/v1/applications/{flow.id}/attachments",
        headers={**cast.applicant.headers, "If-Match": await etag_of(client, flow.id, cast.applicant.headers)},
        files={"file": ("指导单位盖章页.pdf", MINIMAL_PDF, "application/pdf")},
        data={"kind": "paper_endorsement"},
    )
    assert r.status_code == 201, r.text
    await flow.get(cast.applicant)
    return r.json()["id"]


async def test_the_examples_walk_an_application_to_approval(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    ids = {
        ex.CALL: cast.call_id,
        ex.RECOMMENDER: cast.recommender,
        ex.UNDERTAKING: cast.undertaking,
        ex.PARTICIPATING: cast.participating,
        ex.GUARANTOR: cast.guarantor,
        ex.GUIDANCE: cast.guidance,
    }
    r = await client.post(
        "/api/v1/applications", json=_body("create_application", "draft", ids), headers=cast.applicant.headers
    )
    assert r.status_code == 201, r.text
    flow = Flow(client, cast)
    flow.id, flow.etag = r.json()["id"], r.headers["etag"]
    ids[ex.APPLICATION] = flow.id
    r = await client.patch(
        f"/api/v1/applications/{flow.id}",
        json=_body("update_application", "contact", ids),
        headers={**cast.applicant.headers, "If-Match": flow.etag},
    )
    assert r.status_code == 200 and r.json()["contact"]["name"] == "赵磊", r.text
    flow.etag = r.headers["etag"]
    await flow.attach_scan()
    ids[ex.PAPER_PAGE] = await _paper_page(client, flow, cast)
    assert (
        await flow.post("/transitions", cast.applicant, _body("transition_application", "submit", ids))
    ).status_code == 200

    for signatory, role, org in (
        (cast.undertaking_signatory, "undertaking", cast.undertaking),
        (cast.participating_signatory, "participating", cast.participating),
    ):
        assert (await flow.endorse(signatory, role, org)).status_code == 201
    online = await flow.post("/endorsements", cast.guarantor_signatory, _body("create_endorsement", "online", ids))
    assert online.status_code == 201, online.text
    paper = await flow.post("/endorsements", cast.applicant, _body("create_endorsement", "paper", ids))
    assert paper.status_code == 201 and paper.json()["verification"] == "pending", paper.text
    verified = await flow.post(
        f"/endorsements/{paper.json()['id']}/verification",
        cast.reviewer,
        _body("verify_paper_endorsement", "confirmed", ids),
    )
    assert verified.status_code == 200, verified.text
    assert (await flow.post("/reviews", cast.reviewer, _body("create_review", "recommend", ids))).status_code == 201

    batch = await client.post("/api/v1/batches", json=_body("create_batch", "open", ids), headers=cast.reviewer.headers)
    assert batch.status_code == 201, batch.text
    url = f"/api/v1/batches/{batch.json()['id']}"
    items = await client.put(
        f"{url}/items",
        json=_body("set_batch_items", "ranked", ids),
        headers={**cast.reviewer.headers, "If-Match": batch.headers["etag"]},
    )
    assert items.status_code == 200, items.text
    sent = await client.post(
        f"{url}/transitions",
        json=_body("transition_batch", "submit", ids),
        headers={**cast.reviewer.headers, "If-Match": items.headers["etag"]},
    )
    assert sent.status_code == 200, sent.text
    back = await client.post(
        f"{url}/transitions",
        json=_body("transition_batch", "return", ids),
        headers={**cast.office.headers, "If-Match": sent.headers["etag"]},
    )
    assert back.status_code == 200 and back.json()["state"] == "returned", back.text
    again = await client.post(
        f"{url}/transitions",
        json={"action": "submit"},
        headers={**cast.reviewer.headers, "If-Match": back.headers["etag"]},
    )
    assert again.status_code == 200, again.text

    await flow.get(cast.office)
    outcome = await flow.post("/outcome", cast.office, _body("record_outcome", "approve", ids))
    assert outcome.status_code == 200 and outcome.json()["state"] == "approved", outcome.text


async def test_the_administrative_examples_are_accepted(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    ids = {ex.CALL: cast.call_id, ex.UNDERTAKING: cast.undertaking}
    admin, office = cast.admin.headers, cast.office.headers
    call = await client.get(f"/api/v1/calls/{cast.call_id}")
    r = await client.patch(
        f"/api/v1/calls/{cast.call_id}",
        json=_body("update_call", "extend", ids),
        headers={**office, "If-Match": call.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/calls", json=_body("create_call", "tenth", ids), headers=office)
    assert r.status_code == 201, r.text
    org = await client.post("/api/v1/organizations", json=_body("create_organization", "unit", ids), headers=admin)
    assert org.status_code == 201, org.text
    recommender = await client.get(f"/api/v1/organizations/{cast.recommender}", headers=admin)
    r = await client.patch(
        f"/api/v1/organizations/{cast.recommender}",
        json=_body("update_organization", "deadline", ids),
        headers={**admin, "If-Match": recommender.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    user = await client.post("/api/v1/users", json=_body("create_user", "applicant", ids), headers=admin)
    assert user.status_code == 201, user.text
    r = await client.patch(
        f"/api/v1/users/{user.json()['id']}",
        json=_body("update_user", "roles", ids),
        headers={**admin, "If-Match": user.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    assert (
        await client.post("/api/v1/api-keys", json=_body("create_api_key", "system", ids), headers=admin)
    ).status_code == 201
    hook = await client.post(
        "/api/v1/webhooks", json=_body("create_webhook", "sync", ids), headers=cast.reviewer.headers
    )
    assert hook.status_code == 201, hook.text
    verified = await client.post("/api/v1/receipts/verify", json=_body("verify_receipt", "issued", ids), headers=admin)
    assert verified.status_code == 200 and verified.json()["reason"] == "unknown_key", verified.text
    ids |= {ex.RECOMMENDER: cast.recommender, ex.PARTICIPATING: cast.participating}
    ids |= {ex.GUARANTOR: cast.guarantor, ex.GUIDANCE: cast.guidance}
    bulk = await client.post(
        "/api/v1/bulk-uploads", json=_body("create_bulk_upload", "rows", ids), headers=cast.applicant.headers
    )
    assert bulk.status_code == 202, bulk.text


def _media() -> list[tuple[str, str, dict[str, Any]]]:
    """Every media type object of the document with an example: (operation, where, media)."""
    out = []
    for ops in DOCUMENT["paths"].values():
        for op in ops.values():
            for media_type, media in op.get("requestBody", {}).get("content", {}).items():
                out.append((op["operationId"], f"request {media_type}", media))
            for status, response in op["responses"].items():
                for media_type, media in response.get("content", {}).items():
                    out.append((op["operationId"], f"{status} {media_type}", media))
    return [(o, w, m) for o, w, m in out if "example" in m or "examples" in m]


def test_every_example_of_the_document_validates_against_its_schema() -> None:
    checked = 0
    for operation_id, where, media in _media():
        validator = _validator(media["schema"])
        values = [media["example"]] if "example" in media else [e["value"] for e in media["examples"].values()]
        for value in values:
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]
            assert not errors, (operation_id, where, errors[:3])
            checked += 1
    assert checked > 450


def test_every_json_success_response_has_an_example() -> None:
    missing = [
        (op["operationId"], status)
        for ops in DOCUMENT["paths"].values()
        for op in ops.values()
        for status, response in op["responses"].items()
        if status.startswith("2")
        and "example" not in response.get("content", {}).get("application/json", {"example": 0})
    ]
    assert not missing
