"""Every operation of the document, once, through the generated Python client with `raise_on_unexpected_status`.

The generated client raises `UnexpectedStatus` on a status the document does not declare for the operation,
and parses each declared answer into its model: so every call below proves that the answer it got is
declared and readable. One flow walks an application from draft to approval, a list to its receipt, and
the administration around them; the run fails when an operation of the document was not called.
"""

import importlib
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app import examples as ex
from tests.applications.cast import MINIMAL_PDF, Cast, Flow, make_cast
from tests.conftest import Actor
from tests.contract.python_client import DOCUMENT, api
from tests.contract.request_examples import request_example
from tests.contract.world import WEBHOOK_HOST, asgi_client
from tests.factories import PASSWORD
from tests.tags import etag_of

pytestmark = pytest.mark.backend_independent

OPERATIONS = {
    op["operationId"]: (op.get("tags") or ["default"])[0]
    for ops in json.loads(DOCUMENT.read_text())["paths"].values()
    for op in ops.values()
    if isinstance(op, dict) and "operationId" in op
}


# RFC 7009 §2.2: a revocation answers 200 with an empty body.
EMPTY_200 = {"revoke_token"}


class Driver:
    """Calls operations by `operationId` as an actor (or anonymously), and records which were called."""

    def __init__(self, app: FastAPI, package: ModuleType) -> None:
        self.package = package
        self.models = importlib.import_module(f"{package.__name__}.models")
        self.types = importlib.import_module(f"{package.__name__}.types")
        self.transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        self.called: set[str] = set()

    def client(self, actor: Actor | None) -> Any:
        options: dict[str, Any] = {
            "base_url": "http://testserver",
            "raise_on_unexpected_status": True,
            "httpx_args": {"transport": self.transport},
        }
        if actor is None:
            return self.package.Client(**options)
        return self.package.AuthenticatedClient(token=actor.api_key, **options)

    async def __call__(self, operation_id: str, actor: Actor | None, expected: int, **arguments: Any) -> Any:
        module = api(self.package, f"{OPERATIONS[operation_id]}.{operation_id}")
        response = await module.asyncio_detailed(client=self.client(actor), **arguments)
        assert response.status_code == expected, (operation_id, response.status_code, response.content[:600])
        if expected != 204 and operation_id not in EMPTY_200:
            assert response.parsed is not None, operation_id  # a declared body, read into its type
        self.called.add(operation_id)
        return response

    def model(self, name: str, value: dict[str, Any]) -> Any:
        return getattr(self.models, name).from_dict(value)


def _real(value: Any, ids: dict[str, str]) -> Any:
    """An example of the document with its stand-in ids replaced by real ones."""
    if isinstance(value, dict):
        return {k: _real(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_real(v, ids) for v in value]
    return ids.get(value, value) if isinstance(value, str) else value


def _example(operation_id: str, name: str, ids: dict[str, str]) -> dict[str, Any]:
    return _real(request_example(operation_id, name), ids)


@contextmanager
def _all_called(driver: Driver) -> Iterator[None]:
    yield
    missing = sorted(set(OPERATIONS) - driver.called)
    assert not missing, f"operations the walk does not call: {missing}"


async def _etag(http: httpx.AsyncClient, path: str, actor: Actor) -> str:
    r = await http.get(path, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.headers["etag"]


async def test_every_operation_answers_as_declared(app: FastAPI, generated: ModuleType) -> None:
    driver = Driver(app, generated)
    async with asgi_client(app) as http:
        cast = await make_cast(app, http)
        with _all_called(driver):
            await _public(driver, cast)
            await _application(driver, http, cast)
            await _review_and_list(driver, http, cast)
            await _administration(driver, http, cast)


async def _public(call: Driver, cast: Cast) -> None:
    for operation_id in ("get_index", "get_api_index", "get_health", "get_readiness", "list_provinces", "list_calls"):
        await call(operation_id, None, 200)
    await call("get_call", None, 200, call_id=cast.call_id)
    await call("list_receipt_keys", None, 200)
    body = call.model("BodyCreateToken", {"username": cast.applicant.username, "password": PASSWORD})
    token = await call("create_token", None, 200, body=body)
    assert token.parsed.access_token.startswith("smpt_")
    revoke = call.model("BodyRevokeToken", {"token": token.parsed.access_token, "token_type_hint": "access_token"})
    await call("revoke_token", None, 200, body=revoke)


async def _application(call: Driver, http: httpx.AsyncClient, cast: Cast) -> None:
    applicant = cast.applicant
    await call("get_me", applicant, 200)
    await call("list_events", applicant, 200)
    created = await call("create_application", applicant, 201, body=call.model("ApplicationCreate", cast.form()))
    app_id = created.parsed.id
    await call("list_applications", applicant, 200)
    current = await call("get_application", applicant, 200, application_id=app_id)
    changed = await call(
        "update_application",
        applicant,
        200,
        application_id=app_id,
        body=call.model("ApplicationPatch", {"title": "济南市历下区政务服务标准化试点（修订）"}),
        if_match=current.headers["etag"],
    )
    assert changed.parsed.sections.basic_situation == "basic_situation 的内容。"  # a typed section
    scan = call.types.File(payload=io.BytesIO(MINIMAL_PDF), file_name="申请书扫描件.pdf", mime_type="application/pdf")
    body = call.models.UploadAttachmentBody(kind="application_form_scan", file=scan)
    attachment = await call(
        "upload_attachment", applicant, 201, application_id=app_id, body=body, if_match=changed.headers["etag"]
    )
    assert attachment.headers["application-etag"].startswith(f'"{changed.parsed.version + 1}.')
    await call("list_attachments", applicant, 200, application_id=app_id)
    await call("get_attachment", applicant, 200, attachment_id=attachment.parsed.id)
    await call("download_attachment_content", applicant, 200, attachment_id=attachment.parsed.id)
    report = await call("validate_application", applicant, 200, application_id=app_id)
    assert report.parsed.valid, report.parsed.errors
    path = f"/api/v1/applications/{app_id}"
    await call(
        "transition_application",
        applicant,
        200,
        application_id=app_id,
        body=call.model("TransitionRequest", {"action": "submit"}),
        if_match=await _etag(http, path, applicant),
    )
    await call("list_application_transitions", applicant, 200, application_id=app_id)
    body = call.model(
        "EndorsementRequest",
        {
            "role": "undertaking",
            "organization_id": cast.undertaking,
            "decision": "agree",
            "opinion": "同意申报",
            "signatory_name": "张伟",
        },
    )
    signatory = cast.undertaking_signatory
    await call(
        "create_endorsement",
        signatory,
        201,
        application_id=app_id,
        body=body,
        if_match=await _etag(http, path, signatory),
    )
    await call("list_endorsements", applicant, 200, application_id=app_id)
    await call("get_application_form_pdf", applicant, 200, application_id=app_id)

    # A draft with an attachment, both removed again.
    draft = Flow(http, cast)
    await draft.create(title="删除的草稿")
    scan_id = await draft.attach_scan()
    attachment_etag = await _etag(http, f"/api/v1/attachments/{scan_id}", applicant)
    await call("delete_attachment", applicant, 204, attachment_id=scan_id, if_match=attachment_etag)
    await draft.get(applicant)
    await call("delete_application", applicant, 204, application_id=draft.id, if_match=draft.etag)

    # The bulk upload of typed rows: one application, one row that names no call (reported, not refused).
    rows = [
        call.model("ApplicationCreate", cast.form(title="批量上传的试点项目")),
        call.model("ApplicationCreate", {"call_id": "cal_missing", "title": "不存在的批次"}),
    ]
    body = call.model("CreateBulkUploadJsonBodyType0", {"mode": "valid_rows", "rows": [r.to_dict() for r in rows]})
    upload = await call("create_bulk_upload", applicant, 202, body=body)
    await call("get_bulk_upload", applicant, 200, upload_id=upload.parsed.id)
    await call("get_bulk_upload_template", applicant, 200)


async def _review_and_list(call: Driver, http: httpx.AsyncClient, cast: Cast) -> None:
    reviewer, office = cast.reviewer, cast.office
    flow = Flow(http, cast)
    await flow.to_review()
    path = f"/api/v1/applications/{flow.id}"
    await call(
        "create_review",
        reviewer,
        201,
        application_id=flow.id,
        body=call.model("ReviewRequest", {"decision": "recommend", "opinion": "同意推荐"}),
        if_match=await _etag(http, path, reviewer),
    )
    await call("list_reviews", reviewer, 200, application_id=flow.id)
    paper = await _paper_sign_off(http, cast)
    await call(
        "verify_paper_endorsement",
        reviewer,
        200,
        application_id=paper[0].id,
        endorsement_id=paper[1],
        body=call.model("VerificationRequest", {"verdict": "confirmed"}),
        if_match=await _etag(http, f"/api/v1/applications/{paper[0].id}", reviewer),
    )

    opened = await call("create_batch", reviewer, 201, body=call.model("BatchCreate", {"call_id": cast.call_id}))
    batch_id = opened.parsed.id
    listed = await call(
        "set_batch_items",
        reviewer,
        200,
        batch_id=batch_id,
        body=call.model("ItemsPut", {"items": [{"application_id": flow.id, "rank": 1}]}),
        if_match=opened.headers["etag"],
    )
    await call("get_batch", reviewer, 200, batch_id=batch_id)
    await call("list_batches", reviewer, 200)
    await call(
        "transition_batch",
        reviewer,
        200,
        batch_id=batch_id,
        body=call.model("BatchTransitionRequest", {"action": "submit"}),
        if_match=listed.headers["etag"],
    )
    await call("list_batch_transitions", reviewer, 200, batch_id=batch_id)
    receipt = await call("get_batch_receipt", reviewer, 200, batch_id=batch_id)
    await call("list_batch_receipts", reviewer, 200, batch_id=batch_id)
    await call("get_batch_receipt_pdf", reviewer, 200, batch_id=batch_id)
    await call("get_recommended_list_csv", reviewer, 200, batch_id=batch_id)
    await call("get_recommended_list_xlsx", reviewer, 200, batch_id=batch_id)
    await call("get_recommended_list_pdf", reviewer, 200, batch_id=batch_id)
    await call("get_batch_package", reviewer, 200, batch_id=batch_id)
    # The receipt as the client read it (a typed ReceiptPublic), sent back as it is.
    verdict = await call("verify_receipt", office, 200, body=receipt.parsed)
    assert (verdict.parsed.valid, verdict.parsed.reason) == (True, "valid")
    await call("get_call_summary", office, 200, call_id=cast.call_id)
    await call(
        "record_outcome",
        office,
        200,
        application_id=flow.id,
        body=call.model("OutcomeRequest", {"decision": "approve", "document_number": "国标委发〔2023〕5号"}),
        if_match=await _etag(http, path, office),
    )


async def _paper_sign_off(http: httpx.AsyncClient, cast: Cast) -> tuple[Flow, str]:
    """An application in provincial review whose guarantor signed on paper, not yet verified."""
    flow = Flow(http, cast)
    await flow.create(title="纸质签署的试点项目")
    await flow.attach_scan()
    page = await http.post(
        f"/api/v1/applications/{flow.id}/attachments",
        headers={**cast.applicant.headers, "If-Match": await etag_of(http, flow.id, cast.applicant.headers)},
        files={"file": ("盖章页.pdf", MINIMAL_PDF, "application/pdf")},
        data={"kind": "paper_endorsement"},
    )
    assert page.status_code == 201, page.text
    await flow.get(cast.applicant)
    assert (await flow.act("submit")).status_code == 200
    for signatory, role, org in (
        (cast.undertaking_signatory, "undertaking", cast.undertaking),
        (cast.participating_signatory, "participating", cast.participating),
        (cast.guidance_signatory, "guidance", cast.guidance),
    ):
        assert (await flow.endorse(signatory, role, org)).status_code == 201
    signed = await flow.endorse(
        cast.applicant, "guarantor", cast.guarantor, mode="paper", attachment_id=page.json()["id"]
    )
    assert signed.status_code == 201, signed.text
    return flow, signed.json()["id"]


async def _administration(call: Driver, http: httpx.AsyncClient, cast: Cast) -> None:
    admin, office, reviewer = cast.admin, cast.office, cast.reviewer
    ids = {ex.CALL: cast.call_id, ex.UNDERTAKING: cast.undertaking}

    metrics = await call("get_metrics", admin, 200)
    assert b"smps_http_requests" in metrics.content  # the exposition, counting the walk's own requests
    await call("get_metrics", reviewer, 403)
    await call("list_api_keys", admin, 200)
    key = await call(
        "create_api_key", admin, 201, body=call.model("ApiKeyCreate", _example("create_api_key", "system", ids))
    )
    await call("revoke_api_key", admin, 204, key_id=key.parsed.id)

    await call("list_organizations", admin, 200)
    unit = call.model("OrganizationCreate", _example("create_organization", "unit", ids))
    await call("create_organization", admin, 201, body=unit)
    recommender = await call("get_organization", admin, 200, org_id=cast.recommender)
    await call(
        "update_organization",
        admin,
        200,
        org_id=cast.recommender,
        body=call.model("OrganizationUpdate", _example("update_organization", "deadline", ids)),
        if_match=recommender.headers["etag"],
    )

    await call("list_users", admin, 200)
    user = await call(
        "create_user", admin, 201, body=call.model("UserCreate", _example("create_user", "applicant", ids))
    )
    await call(
        "update_user",
        admin,
        200,
        user_id=user.parsed.id,
        body=call.model("UserUpdate", _example("update_user", "roles", ids)),
        if_match=user.headers["etag"],
    )

    ninth = await _etag(http, f"/api/v1/calls/{cast.call_id}", office)
    await call(
        "update_call",
        office,
        200,
        call_id=cast.call_id,
        body=call.model("CallUpdate", _example("update_call", "extend", ids)),
        if_match=ninth,
    )
    await call("create_call", office, 201, body=call.model("CallCreate", _example("create_call", "tenth", ids)))

    hook = call.model(
        "WebhookCreate", {**_example("create_webhook", "sync", ids), "url": f"https://{WEBHOOK_HOST}/smps"}
    )
    created = await call("create_webhook", reviewer, 201, body=hook)
    await call("list_webhooks", reviewer, 200)
    await call("get_webhook", reviewer, 200, webhook_id=created.parsed.id)
    await call("list_webhook_deliveries", reviewer, 200, webhook_id=created.parsed.id)
    sent = await call("send_webhook_test", reviewer, 202, webhook_id=created.parsed.id)
    # Still pending, so refused as declared (tests/events/test_webhook_actions.py redelivers a finished one).
    await call("redeliver_webhook_delivery", reviewer, 409, webhook_id=created.parsed.id, delivery_id=sent.parsed.id)
    await call("delete_webhook", reviewer, 204, webhook_id=created.parsed.id)
