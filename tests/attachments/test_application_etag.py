"""An upload or a removal changes the application: it takes the application's If-Match (428 without,
412 when stale) and answers the application's new ETag (`Application-ETag`), so the client's next save
is not refused."""

import httpx
from fastapi import FastAPI

from tests.applications.cast import MINIMAL_PDF, Flow, make_cast
from tests.store import fingerprint


async def _upload(flow: Flow, if_match: str | None, content: bytes = MINIMAL_PDF) -> httpx.Response:
    headers = dict(flow.cast.applicant.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await flow.client.post(
        f"/api/v1/applications/{flow.id}/attachments",
        headers=headers,
        files={"file": ("佐证材料.pdf", content, "application/pdf")},
        data={"kind": "evidence"},
    )


async def test_an_upload_needs_the_applications_if_match(app: FastAPI, client: httpx.AsyncClient) -> None:
    flow = Flow(client, await make_cast(app, client))
    await flow.create()
    before = fingerprint(app)
    missing = await _upload(flow, None)
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    edited = await client.patch(
        f"/api/v1/applications/{flow.id}",
        json={"title": "新名称"},
        headers={**flow.cast.applicant.headers, "If-Match": flow.etag},
    )
    assert edited.status_code == 200
    stale = await _upload(flow, flow.etag)  # the tag before the edit
    assert stale.status_code == 412 and stale.json()["current_etag"] == f'"{edited.json()["version"]}"', stale.text
    weak = await _upload(flow, f"W/{edited.headers['etag']}")
    assert weak.status_code == 412
    assert fingerprint(app) != before  # only the edit
    after_edit = fingerprint(app)
    ok = await _upload(flow, edited.headers["etag"])
    assert ok.status_code == 201, ok.text
    assert fingerprint(app) != after_edit


async def test_the_upload_answers_the_tag_of_the_next_save(app: FastAPI, client: httpx.AsyncClient) -> None:
    flow = Flow(client, await make_cast(app, client))
    await flow.create()
    uploaded = await _upload(flow, flow.etag)
    assert uploaded.status_code == 201, uploaded.text
    tag = uploaded.headers["application-etag"]
    assert tag == (await flow.get(flow.cast.applicant)).headers["etag"]
    saved = await client.patch(
        f"/api/v1/applications/{flow.id}",
        json={"sections": {"objectives": "改后的目标"}},
        headers={**flow.cast.applicant.headers, "If-Match": tag},
    )
    assert saved.status_code == 200, saved.text
    # A retry of the same file (its answer lost) is the stored attachment, whatever the tag it carries.
    again = await _upload(flow, tag)
    assert again.status_code == 200 and again.json()["id"] == uploaded.json()["id"]
    assert again.headers["application-etag"] == saved.headers["etag"]


async def test_a_removal_answers_the_tag_of_the_next_save(app: FastAPI, client: httpx.AsyncClient) -> None:
    flow = Flow(client, await make_cast(app, client))
    await flow.create()
    uploaded = await _upload(flow, flow.etag)
    removed = await client.delete(
        f"/api/v1/attachments/{uploaded.json()['id']}",
        headers={**flow.cast.applicant.headers, "If-Match": uploaded.headers["etag"]},
    )
    assert removed.status_code == 204, removed.text
    tag = removed.headers["application-etag"]
    assert tag == (await flow.get(flow.cast.applicant)).headers["etag"]
    saved = await client.patch(
        f"/api/v1/applications/{flow.id}",
        json={"title": "再改"},
        headers={**flow.cast.applicant.headers, "If-Match": tag},
    )
    assert saved.status_code == 200, saved.text


def test_the_document_declares_it(app: FastAPI) -> None:
    document = app.openapi()
    upload = document["paths"]["/api/v1/applications/{application_id}/attachments"]["post"]
    if_match = next(p for p in upload["parameters"] if p["name"].lower() == "if-match")
    assert if_match["required"] is True
    assert {"412", "428"} <= set(upload["responses"])
    for status in ("200", "201"):
        assert upload["responses"][status]["headers"]["Application-ETag"]["required"] is True
    delete = document["paths"]["/api/v1/attachments/{attachment_id}"]["delete"]
    assert delete["responses"]["204"]["headers"]["Application-ETag"]["required"] is True
