"""Uploading: kinds and their rules, type checks by content, names, limits while reading, who and when."""

import hashlib
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.applications.models import Application
from app.attachments.models import Attachment
from app.core.outbox_models import Event
from app.core.settings import Settings
from app.main import create_app
from app.reference.models import Call
from tests.attachments import files
from tests.attachments.conftest import World, make_application, ninth_call_id, set_state
from tests.tags import etag_of

PDF = files.pdf()
# Any version of the application (`If-Match: *`): these tests are about the body, not about concurrency
# (tests/attachments/test_application_etag.py is).
ANY = {"If-Match": "*"}


def url(application_id: str) -> str:
    return f"/api/v1/applications/{application_id}/attachments"


async def upload(
    client: httpx.AsyncClient,
    world: World,
    content: bytes,
    filename: str = "申报书.pdf",
    kind: str = "application_form_scan",
    actor: Any = None,
    if_match: str | None = None,
    **data: str,
) -> httpx.Response:
    headers = (actor or world.applicant).headers
    if if_match is None:
        seen = await client.get(f"/api/v1/applications/{world.application_id}", headers=headers)
        # The ETag the caller read; one who cannot read the application sends any (and is refused for that).
        if_match = seen.headers["etag"] if seen.status_code == 200 else "*"
    return await client.post(
        url(world.application_id),
        headers={**headers, "If-Match": if_match},
        data={"kind": kind, **data},
        files={"file": (filename, content, "application/octet-stream")},
    )


def rows(app: FastAPI) -> list[Attachment]:
    with app.state.database.reader() as session:
        return list(session.execute(sa.select(Attachment)).scalars())


def files_on_disk(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.storage_dir.rglob("*") if p.is_file())


async def test_upload_then_list_get_and_download(client: httpx.AsyncClient, app: FastAPI, world: World) -> None:
    response = await upload(client, world, PDF, description="盖章扫描件")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "application_form_scan" and body["filename"] == "申报书.pdf"
    assert body["file_type"] == "pdf" and body["media_type"] == "application/pdf"
    assert body["size"] == len(PDF) and body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["description"] == "盖章扫描件" and body["uploaded_by"] == world.applicant.user_id
    assert response.headers["location"] == f"/api/v1/attachments/{body['id']}"

    listed = (await client.get(url(world.application_id), headers=world.applicant.headers)).json()
    assert [a["id"] for a in listed["items"]] == [body["id"]] and listed["next_page_token"] is None
    meta = await client.get(f"/api/v1/attachments/{body['id']}", headers=world.reviewer.headers)
    assert meta.status_code == 404  # a draft the reviewer did not enter is not the reviewer's to see
    meta = await client.get(f"/api/v1/attachments/{body['id']}", headers=world.applicant.headers)
    assert meta.json() == body and meta.headers["etag"] == f'"{body["sha256"]}"'

    content = await client.get(f"/api/v1/attachments/{body['id']}/content", headers=world.applicant.headers)
    assert content.status_code == 200 and content.content == PDF
    assert content.headers["content-type"] == "application/pdf"
    assert content.headers["etag"] == f'"{body["sha256"]}"'
    assert content.headers["x-content-type-options"] == "nosniff"

    with app.state.database.reader() as session:
        event = session.execute(sa.select(Event).where(Event.type == "attachment.added")).scalar_one()
        version = session.get(Application, world.application_id).version  # type: ignore[union-attr]
    assert event.subject_id == body["id"] and event.application_id == world.application_id
    assert event.data["sha256"] == body["sha256"] and event.actor_id == world.applicant.user_id
    assert version == 2  # attachments are content: the application has a new version


async def test_chinese_name_round_trips_in_content_disposition(client: httpx.AsyncClient, world: World) -> None:
    name = "济南市历下区 申报书（盖章）.pdf"
    created = (await upload(client, world, PDF, filename=name)).json()
    assert created["filename"] == name
    disposition = (
        await client.get(f"/api/v1/attachments/{created['id']}/content", headers=world.applicant.headers)
    ).headers["content-disposition"]
    assert disposition == (
        'attachment; filename="attachment.pdf"; '
        "filename*=UTF-8''%E6%B5%8E%E5%8D%97%E5%B8%82%E5%8E%86%E4%B8%8B%E5%8C%BA%20"
        "%E7%94%B3%E6%8A%A5%E4%B9%A6%EF%BC%88%E7%9B%96%E7%AB%A0%EF%BC%89.pdf"
    )
    from urllib.parse import unquote

    assert unquote(disposition.split("filename*=UTF-8''")[1]) == name


async def test_path_traversal_name_is_stored_safely(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    hostile_names = ("../../etc/passwd.pdf", "..\\..\\windows\\passwd.pdf", "/abs/\x00evil\u202egpj.pdf")
    for pages, hostile in enumerate(hostile_names, start=1):
        response = await upload(client, world, files.pdf(pages=pages), filename=hostile, kind="evidence")
        assert response.status_code == 201, response.text
        name = response.json()["filename"]
        assert "/" not in name and "\\" not in name and "\x00" not in name and "\u202e" not in name
        assert not name.startswith(".")
        disposition = (
            await client.get(f"/api/v1/attachments/{response.json()['id']}/content", headers=world.applicant.headers)
        ).headers["content-disposition"]
        assert "/" not in disposition and ".." not in disposition
    stored = files_on_disk(settings)
    assert all(len(n) == 32 and n.isalnum() for n in stored)  # generated names only
    assert not (settings.storage_dir.parent / "etc").exists()


@pytest.mark.parametrize(
    ("content", "filename", "reason"),
    [
        (files.ELF, "report.pdf", "type_mismatch"),
        (files.ELF, "program", "type_mismatch"),
        (files.PNG, "scan.pdf", "type_mismatch"),
        (files.plain_zip(), "bundle.zip", "type_mismatch"),
        (files.plain_zip(), "plan.docx", "not_a_document_archive"),
        (files.xlsx(), "plan.docx", "type_mismatch"),
        (b"plain text, not a document", "notes.txt", "type_mismatch"),
    ],
)
async def test_content_must_be_an_allowed_type_matching_its_name(
    client: httpx.AsyncClient, app: FastAPI, world: World, content: bytes, filename: str, reason: str
) -> None:
    response = await upload(client, world, content, filename=filename, kind="evidence")
    assert response.status_code == 415, response.text
    assert response.json()["code"] == "unsupported_media_type"
    assert "{" not in response.json()["detail"] and response.json()["reason"] == reason
    assert response.headers["content-type"] == "application/problem+json"
    assert rows(app) == []


@pytest.mark.parametrize(
    ("content", "filename", "file_type"),
    [
        (files.docx(), "实施方案.docx", "docx"),
        (files.xlsx(), "标准体系表.xlsx", "xlsx"),
        (files.ofd(), "批复.ofd", "ofd"),
        (files.PNG, "photo.png", "png"),
        (files.JPEG, "photo.JPG", "jpeg"),
        (files.JPEG, "photo.jpeg", "jpeg"),
        (PDF, "no-extension", "pdf"),
    ],
)
async def test_allowed_types_are_recognised(
    client: httpx.AsyncClient, world: World, content: bytes, filename: str, file_type: str
) -> None:
    response = await upload(client, world, content, filename=filename, kind="evidence")
    assert response.status_code == 201, response.text
    assert response.json()["file_type"] == file_type
    if filename == "no-extension":
        assert response.json()["filename"] == "no-extension.pdf"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (files.pdf(password="secret"), "encrypted_pdf"),
        (files.pdf(pages=0), "pdf_without_pages"),
        (b"%PDF-1.7\n%garbage that is no pdf at all", "unreadable_pdf"),
    ],
)
async def test_empty_encrypted_and_broken_files_are_refused(
    client: httpx.AsyncClient, app: FastAPI, world: World, settings: Settings, content: bytes, code: str
) -> None:
    response = await upload(client, world, content)
    assert response.status_code == 415, response.text
    assert response.json()["code"] == "unsupported_media_type" and response.json()["reason"] == code
    assert rows(app) == [] and files_on_disk(settings) == []


async def test_unknown_and_missing_kind(client: httpx.AsyncClient, world: World) -> None:
    unknown = await upload(client, world, PDF, kind="selfie")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/kind"
    assert unknown.json()["errors"][0]["code"] == "unknown_attachment_kind"
    assert "selfie" not in unknown.text  # never echoes input
    missing = await client.post(
        url(world.application_id),
        headers={**world.applicant.headers, **ANY},
        files={"file": ("a.pdf", PDF, "application/pdf")},
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["pointer"] == "/kind"
    no_file = await client.post(
        url(world.application_id),
        headers={**world.applicant.headers, **ANY},
        data={"kind": "evidence"},
        files={"other": ("a.pdf", PDF, "application/pdf")},
    )
    assert no_file.status_code == 422 and no_file.json()["errors"][0]["pointer"] == "/file"


async def test_max_count_per_kind(client: httpx.AsyncClient, app: FastAPI, world: World) -> None:
    for pages in (1, 2, 3):  # application_form_scan: max_count 3
        assert (await upload(client, world, files.pdf(pages=pages))).status_code == 201
    fourth = await upload(client, world, files.pdf(pages=4))
    assert fourth.status_code == 409 and fourth.json()["code"] == "attachment_limit_reached"
    assert fourth.json()["max_count"] == 3
    assert len(rows(app)) == 3


async def test_same_content_again_returns_the_stored_attachment(
    client: httpx.AsyncClient, app: FastAPI, world: World, settings: Settings
) -> None:
    first = await upload(client, world, PDF)
    again = await upload(client, world, PDF, filename="retry.pdf")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert len(rows(app)) == 1 and len(files_on_disk(settings)) == 1


async def test_frozen_application_refuses_uploads_and_deletes(
    client: httpx.AsyncClient, app: FastAPI, world: World
) -> None:
    created = (await upload(client, world, PDF)).json()
    for state in ("provincial_review", "recommended", "submitted", "withdrawn"):
        set_state(app, world.application_id, state)
        refused = await upload(client, world, files.pdf(pages=2))
        assert refused.status_code == 409 and refused.json()["code"] == "invalid_state_transition"
        deleted = await client.delete(f"/api/v1/attachments/{created['id']}", headers=world.applicant.headers)
        assert deleted.status_code == 409 and deleted.json()["code"] == "invalid_state_transition"
    set_state(app, world.application_id, "returned")
    assert (await upload(client, world, files.pdf(pages=2))).status_code == 201
    assert len(rows(app)) == 2


async def test_who_may_upload(client: httpx.AsyncClient, app: FastAPI, world: World) -> None:
    # Another organization's applicant cannot see the application at all.
    assert (await upload(client, world, PDF, actor=world.other_applicant)).status_code == 404
    # The recommender's reviewer sees it once past draft, but may not change it.
    set_state(app, world.application_id, "returned")
    forbidden = await upload(client, world, PDF, actor=world.reviewer)
    assert forbidden.status_code == 403 and forbidden.json()["required_roles"] == ["applicant", "reviewer"]
    # A paper application the reviewer entered for the unit: the reviewer may attach.
    entered = make_application(
        app,
        undertaking_org_id=world.applicant.organization_id,
        created_by=world.reviewer.user_id,
        recommender_id=world.province_id,
        entered_by_org_id=world.province_id,
    )
    response = await client.post(
        url(entered),
        headers={**world.reviewer.headers, "If-Match": await etag_of(client, entered, world.reviewer.headers)},
        data={"kind": "paper_endorsement"},
        files={"file": ("签字页.pdf", PDF, "application/pdf")},
    )
    assert response.status_code == 201, response.text
    unauthenticated = await client.post(url(entered), data={"kind": "evidence"}, files={"file": ("a.pdf", PDF)})
    assert unauthenticated.status_code == 401
    assert rows(app)[0].application_id == entered


async def test_download_by_someone_who_cannot_see_the_application_is_404(
    client: httpx.AsyncClient, world: World
) -> None:
    created = (await upload(client, world, PDF)).json()
    for path in (
        f"/api/v1/attachments/{created['id']}",
        f"/api/v1/attachments/{created['id']}/content",
        url(world.application_id),
    ):
        for actor in (world.other_applicant, world.reviewer):
            response = await client.get(path, headers=actor.headers)
            assert response.status_code == 404 and response.json()["code"] == "not_found"
    gone = await client.delete(f"/api/v1/attachments/{created['id']}", headers=world.other_applicant.headers)
    assert gone.status_code == 404


async def test_delete_while_editable(client: httpx.AsyncClient, app: FastAPI, world: World, settings: Settings) -> None:
    created = (await upload(client, world, PDF)).json()
    assert len(files_on_disk(settings)) == 1
    signatory = await client.delete(f"/api/v1/attachments/{created['id']}", headers=world.signatory.headers)
    assert signatory.status_code == 404  # a signatory does not see drafts
    stale = await client.delete(
        f"/api/v1/attachments/{created['id']}", headers={**world.applicant.headers, "If-Match": '"0123"'}
    )
    assert stale.status_code == 412 and stale.json()["current_etag"] == f'"{created["sha256"]}"'
    # If-Match is required (RFC 9110 §13.1.1: a list, strong comparison; a weak tag never matches).
    missing = await client.delete(f"/api/v1/attachments/{created['id']}", headers=world.applicant.headers)
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    for wrong in (f'W/"{created["sha256"]}"', '"0123", W/"abc"', f"{created['sha256']}"):
        refused = await client.delete(
            f"/api/v1/attachments/{created['id']}", headers={**world.applicant.headers, "If-Match": wrong}
        )
        assert refused.status_code == 412, wrong
    assert len(rows(app)) == 1
    deleted = await client.delete(
        f"/api/v1/attachments/{created['id']}",
        headers={**world.applicant.headers, "If-Match": f'"0123", "{created["sha256"]}"'},
    )
    assert deleted.status_code == 204
    assert rows(app) == [] and files_on_disk(settings) == []
    assert (
        await client.get(f"/api/v1/attachments/{created['id']}", headers=world.applicant.headers)
    ).status_code == 404
    with app.state.database.reader() as session:
        types = list(session.execute(sa.select(Event.type).order_by(Event.seq)).scalars())
    assert types[-2:] == ["attachment.added", "attachment.deleted"]


async def test_oversize_announced_by_content_length_is_refused_unread(
    app: FastAPI, world: World, settings: Settings, clock: Any
) -> None:
    small = create_app(settings.model_copy(update={"max_attachment_bytes": 1024 * 1024}), clock=clock)
    big = files.BigPdf(8 * 1024 * 1024, chunk=64 * 1024)
    body = files.Counting(files.multipart("b0undary", [("kind", "evidence")], "big.pdf", big.chunks()))
    transport = httpx.ASGITransport(app=small)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            url(world.application_id),
            content=body.stream(),
            headers={
                **world.applicant.headers,
                **ANY,
                "Content-Type": "multipart/form-data; boundary=b0undary",
                "Content-Length": str(big.size + 400),
            },
        )
    small.state.database.dispose()
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert response.json()["max_bytes"] == 1024 * 1024
    assert body.consumed == 0


async def test_oversize_chunked_body_is_refused_as_soon_as_it_passes_the_limit(
    world: World, settings: Settings, clock: Any
) -> None:
    limit = 1024 * 1024
    small = create_app(settings.model_copy(update={"max_attachment_bytes": limit}), clock=clock)
    big = files.BigPdf(32 * 1024 * 1024, chunk=64 * 1024)
    body = files.Counting(files.multipart("b0undary", [("kind", "evidence")], "big.pdf", big.chunks()))
    transport = httpx.ASGITransport(app=small)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            url(world.application_id),
            content=body.stream(),
            headers={**world.applicant.headers, **ANY, "Content-Type": "multipart/form-data; boundary=b0undary"},
        )
    small.state.database.dispose()
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert limit < body.consumed <= limit + 2 * 64 * 1024  # stopped within a chunk of the limit
    assert not list((settings.storage_dir / "tmp").iterdir())


async def test_kind_sent_before_the_file_is_checked_before_the_file_is_read(
    client: httpx.AsyncClient, world: World
) -> None:
    big = files.BigPdf(16 * 1024 * 1024, chunk=64 * 1024)
    body = files.Counting(files.multipart("b0undary", [("kind", "selfie")], "big.pdf", big.chunks()))
    response = await client.post(
        url(world.application_id),
        content=body.stream(),
        headers={**world.applicant.headers, **ANY, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "/kind"
    assert body.consumed < 1024


async def test_an_impostor_is_refused_at_its_first_bytes(client: httpx.AsyncClient, world: World) -> None:
    def elf() -> Any:
        yield files.ELF
        for _ in range(256):
            yield bytes(64 * 1024)

    body = files.Counting(files.multipart("b0undary", [("kind", "evidence")], "report.pdf", elf()))
    response = await client.post(
        url(world.application_id),
        content=body.stream(),
        headers={**world.applicant.headers, **ANY, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 415
    assert body.consumed < 128 * 1024


async def test_application_total_limit(world: World, settings: Settings, clock: Any, app: FastAPI) -> None:
    one = files.pdf(pages=1)
    capped = create_app(
        settings.model_copy(update={"max_application_attachments_bytes": len(one) * 2 + 10}), clock=clock
    )
    transport = httpx.ASGITransport(app=capped)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await upload(client, world, one, kind="evidence")).status_code == 201
        assert (await upload(client, world, files.pdf(pages=1) + b"\r\n", kind="evidence")).status_code == 201
        third = await upload(client, world, files.pdf(pages=2), kind="evidence")
    capped.state.database.dispose()
    assert third.status_code == 413 and third.json()["code"] == "payload_too_large"
    assert len(rows(app)) == 2


async def test_malformed_requests(client: httpx.AsyncClient, world: World) -> None:
    not_multipart = await client.post(
        url(world.application_id), headers={**world.applicant.headers, **ANY}, json={"kind": "x"}
    )
    assert not_multipart.status_code == 415
    truncated = await client.post(
        url(world.application_id),
        content=b"--b0undary\r\nContent-Disposition: form-data",
        headers={**world.applicant.headers, **ANY, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert truncated.status_code == 400 and truncated.json()["code"] == "malformed_multipart"
    long_description = await upload(client, world, PDF, description="说" * 501)
    assert long_description.status_code == 422
    assert long_description.json()["errors"][0]["pointer"] == "/description"
    control = await upload(client, world, PDF, description="a\x07b")
    assert control.status_code == 422


async def test_a_call_may_narrow_the_types_of_a_kind(client: httpx.AsyncClient, app: FastAPI, world: World) -> None:
    with app.state.database.transaction() as session:
        call = session.get(Call, ninth_call_id(app))
        assert call is not None
        call.attachment_rules = {
            **call.attachment_rules,
            "evidence": {"required": False, "max_count": 5, "types": ["png", "jpeg"]},
        }
    assert (await upload(client, world, PDF, kind="evidence")).status_code == 415
    assert (await upload(client, world, files.PNG, filename="photo.png", kind="evidence")).status_code == 201
    assert (await upload(client, world, PDF)).status_code == 201


async def test_kind_sent_after_the_file(
    client: httpx.AsyncClient, app: FastAPI, world: World, settings: Settings
) -> None:
    for pages in (1, 2, 3):
        body = files.multipart(
            "b0undary",
            [],
            "scan.pdf",
            files.pdf(pages=pages),
            fields_after=[("kind", "application_form_scan"), ("description", "后置字段")],
        )
        response = await client.post(
            url(world.application_id),
            content=b"".join(body),
            headers={**world.applicant.headers, **ANY, "Content-Type": "multipart/form-data; boundary=b0undary"},
        )
        assert response.status_code == 201, response.text
        assert response.json()["description"] == "后置字段"
    body = files.multipart(
        "b0undary", [], "scan.pdf", files.pdf(pages=4), fields_after=[("kind", "application_form_scan")]
    )
    over = await client.post(
        url(world.application_id),
        content=b"".join(body),
        headers={**world.applicant.headers, **ANY, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert over.status_code == 409 and over.json()["code"] == "attachment_limit_reached"
    assert len(rows(app)) == 3 and len(files_on_disk(settings)) == 3


async def test_concurrent_uploads_respect_max_count(
    client: httpx.AsyncClient, app: FastAPI, world: World, settings: Settings
) -> None:
    import asyncio

    # Each with `If-Match: *`: the count rule is what is tested (with the tag read, all but one would be 412).
    responses = await asyncio.gather(*(upload(client, world, files.pdf(pages=n), if_match="*") for n in range(1, 9)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 3 + [409] * 5, [r.text for r in responses]
    assert len(rows(app)) == 3 and len(files_on_disk(settings)) == 3
    with app.state.database.reader() as session:
        version = session.get(Application, world.application_id).version  # type: ignore[union-attr]
        added = session.execute(
            sa.select(sa.func.count()).select_from(Event).where(Event.type == "attachment.added")
        ).scalar_one()
    assert version == 4 and added == 3


async def test_paper_sign_off_pages_arrive_during_sign_off(
    client: httpx.AsyncClient, app: FastAPI, world: World, settings: Settings
) -> None:
    created = (await upload(client, world, PDF)).json()
    set_state(app, world.application_id, "endorsing")
    page = await upload(client, world, files.pdf(pages=2), filename="保证单位盖章页.pdf", kind="paper_endorsement")
    assert page.status_code == 201, page.text
    other = await upload(client, world, files.pdf(pages=3), kind="evidence")
    assert other.status_code == 409 and other.json()["code"] == "invalid_state_transition"
    # The kind sent first: refused before the file is read.
    big = files.BigPdf(4 * 1024 * 1024, chunk=64 * 1024)
    body = files.Counting(files.multipart("b0undary", [("kind", "evidence")], "big.pdf", big.chunks()))
    early = await client.post(
        url(world.application_id),
        content=body.stream(),
        headers={**world.applicant.headers, **ANY, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert early.status_code == 409 and body.consumed < 1024
    # The kind sent last: refused before the file is stored.
    late = files.multipart("b0undary", [], "late.pdf", files.pdf(pages=4), fields_after=[("kind", "evidence")])
    refused = await client.post(
        url(world.application_id),
        content=b"".join(late),
        headers={**world.applicant.headers, **ANY, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert refused.status_code == 409
    # Content stays frozen: nothing but a sign-off page is added, nothing is removed.
    deleted = await client.delete(f"/api/v1/attachments/{created['id']}", headers=world.applicant.headers)
    assert deleted.status_code == 409
    assert sorted(a.kind for a in rows(app)) == ["application_form_scan", "paper_endorsement"]
    assert len(files_on_disk(settings)) == 2


async def test_a_file_sent_in_many_small_pieces_is_stored_byte_for_byte(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    # Thousands of 1000-byte pieces: more per batch than one writev takes, batches ending mid-piece.
    big = files.BigPdf(5 * 1024 * 1024 + 17, chunk=1000)
    body = files.multipart("b0undary", [("kind", "evidence")], "pieces.pdf", big.chunks())

    async def stream():  # type: ignore[no-untyped-def]
        for chunk in body:
            yield chunk

    response = await client.post(
        url(world.application_id),
        content=stream(),
        headers={**world.applicant.headers, **ANY, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["size"] == big.size and response.json()["sha256"] == big.sha256
    content = await client.get(f"/api/v1/attachments/{response.json()['id']}/content", headers=world.applicant.headers)
    assert hashlib.sha256(content.content).hexdigest() == big.sha256
    assert not list((settings.storage_dir / "tmp").iterdir())


async def test_a_failed_write_mid_upload_leaves_nothing_behind(
    client: httpx.AsyncClient, app: FastAPI, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    writes = []
    real_writev = os.writev

    def disk_fills_up(fd: int, buffers: Any) -> int:
        writes.append(fd)
        if len(writes) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_writev(fd, buffers)

    monkeypatch.setattr(os, "writev", disk_fills_up)
    big = files.BigPdf(24 * 1024 * 1024, chunk=256 * 1024)
    body = files.Counting(files.multipart("b0undary", [("kind", "evidence")], "full.pdf", big.chunks()))
    with pytest.raises(OSError, match="No space left"):  # a 500 for the client; the test client re-raises it
        await client.post(
            url(world.application_id),
            content=body.stream(),
            headers={**world.applicant.headers, **ANY, "Content-Type": "multipart/form-data; boundary=b0undary"},
        )
    assert body.consumed < big.size  # it stopped soon after the failure, not at the end of the file
    assert not list((settings.storage_dir / "tmp").iterdir()) and rows(app) == []
