"""Endpoints of the attachments package: upload (streamed), list, metadata, download (ranges), delete."""

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, BackgroundTasks, Header, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlmodel import col
from starlette.concurrency import run_in_threadpool

from app import examples as ex
from app.accounts.principal import CurrentPrincipal, ReadingPrincipal
from app.applications.access import load_visible_application
from app.attachments import service, storing
from app.attachments.blobstore import blob_store_of
from app.attachments.download import content_disposition, download_headers, parse_range, unsatisfiable
from app.attachments.errors import MalformedMultipart, RangeNotSatisfiable, TooManyAttachments
from app.attachments.models import Attachment
from app.attachments.schemas import AttachmentPublic
from app.attachments.sniff import MEDIA_TYPES
from app.attachments.upload import MAX_DESCRIPTION_CHARS, receive_upload
from app.core.deps import DbSession, Now, etag, if_match_allows, if_none_match_parameter
from app.core.errors import (
    Forbidden,
    InvalidTransition,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    UnsupportedMediaType,
    ValidationFailed,
    problem_responses,
)
from app.core.pagination import Keyset, Page, PageSize, PageToken, fetch_page
from app.core.route_facts import IdFrom, facts

# Path parameters that take the id upload_attachment answers with (an OpenAPI link from it).
ATTACHMENT_ID = IdFrom("upload_attachment", "attachment_id")
# Path parameters that take the id create_application answers with (an OpenAPI link from it).
APPLICATION_ID = IdFrom("create_application", "application_id")
router = APIRouter(prefix="/api/v1", tags=["attachments"])
AUTH = problem_responses(NotAuthenticated, ValidationFailed)

ApplicationId = Annotated[str, Path(max_length=32, description="Application id")]
# A download is sent as the type detected when it was stored.
FILE_CONTENT = {
    media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in sorted(set(MEDIA_TYPES.values()))
}
AttachmentId = Annotated[str, Path(max_length=32, description="Attachment id")]


UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["kind", "file"],
                "additionalProperties": False,
                "properties": {
                    "kind": {
                        "type": "string",
                        "maxLength": 32,
                        "description": "A kind from the call's `attachment_rules` (e.g. `application_form_scan`). "
                        "Send it before `file` to have it checked before the file is read.",
                    },
                    "description": {"type": "string", "maxLength": MAX_DESCRIPTION_CHARS},
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "contentMediaType": "application/octet-stream",
                        "description": "PDF, OFD, DOCX, XLSX, JPEG or PNG, judged by content",
                    },
                },
            }
        }
    },
}


@router.post(
    "/applications/{application_id}/attachments",
    operation_id="upload_attachment",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentPublic,
    openapi_extra=facts(
        form_examples=("multipart/form-data", ex.UPLOAD_ATTACHMENT_MULTIPART),
        etag=True,
        application_etag=True,
        location=True,
        id_from=APPLICATION_ID,
        streams_body=True,
        requestBody=UPLOAD_BODY,
    ),
    responses={
        200: {
            "model": AttachmentPublic,
            "description": "The same content was already attached as this kind "
            "(a retried upload): the stored attachment",
        },
        **AUTH,
        **problem_responses(
            MalformedMultipart,
            Forbidden,
            NotFound,
            InvalidTransition,
            TooManyAttachments,
            PayloadTooLarge,
            UnsupportedMediaType,
            PreconditionFailed,
            PreconditionRequired,
        ),
    },
)
async def upload_attachment(
    request: Request,
    application_id: ApplicationId,
    principal: ReadingPrincipal,
    now: Now,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(
            description="The application's ETag as last read (`*`: any); required: 428 if missing, 412 if the "
            "application changed (checked before the file is read, and again when it is stored)"
        ),
    ] = None,
) -> AttachmentPublic:
    """Attach a file (multipart: `kind`, optional `description`, `file`), streamed to storage as it arrives.

    Limits per file and per application are enforced while reading (413 before the rest is read);
    the type is judged by content, the file name kept only as sanitized metadata. An applicant of the
    undertaking organization, or the reviewer of the recommender that entered the application, may
    attach while the application is a draft or returned.

    Attaching changes the application (its version, its content digest): send its ETag as `If-Match`,
    and keep the `Application-ETag` of the answer for the application's next write. The same file sent
    again as the same kind (a retry) is answered 200 with the stored attachment, whatever `If-Match` says.
    """
    database = request.app.state.database
    settings = request.app.state.settings
    store = await run_in_threadpool(blob_store_of, request.app)
    plan = await run_in_threadpool(service.plan_upload, database, principal, application_id, settings, now)
    plan.expect(matched=if_match_allows(if_match, etag(plan.version)), any_version=(if_match or "").strip() == "*")
    plan.require_room()
    form = await receive_upload(request, store.temp_dir, plan.limits, plan.on_field)
    try:
        stored = await storing.store_upload(database, store, principal, plan, form, now)
    finally:
        if form.file is not None:  # off the loop: removing a large file can take a while
            await run_in_threadpool(form.file.temp_path.unlink, True)
    response.status_code = status.HTTP_201_CREATED if stored.created else status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/attachments/{stored.attachment.id}"
    response.headers["ETag"] = f'"{stored.attachment.sha256}"'
    response.headers["Application-ETag"] = stored.application_etag
    return stored.attachment


@router.get(
    "/applications/{application_id}/attachments",
    operation_id="list_attachments",
    openapi_extra=facts(id_from=APPLICATION_ID),
    response_model=Page[AttachmentPublic],
    responses={**AUTH, **problem_responses(NotFound)},
)
def list_attachments(
    application_id: ApplicationId,
    principal: CurrentPrincipal,
    session: DbSession,
    page_size: PageSize = 50,
    page_token: PageToken = None,
    kind: Annotated[
        str | None, Query(max_length=32, description="Only the attachments of this kind (`application_form_scan`…)")
    ] = None,
) -> Page[AttachmentPublic]:
    """The attachments of an application the caller can see, oldest id first."""
    load_visible_application(session, principal, application_id)
    query = sa.select(Attachment).where(col(Attachment.application_id) == application_id)
    if kind:
        query = query.where(col(Attachment.kind) == kind)
    keyset = Keyset((col(Attachment.id),))
    rows, token = fetch_page(session, query, keyset, page_token, page_size)
    return Page(items=[service.public(r) for r in rows], next_page_token=token)


@router.get(
    "/attachments/{attachment_id}",
    operation_id="get_attachment",
    openapi_extra=facts(etag=True, id_from=ATTACHMENT_ID),
    response_model=AttachmentPublic,
    responses={**AUTH, **problem_responses(NotFound)},
)
def get_attachment(
    attachment_id: AttachmentId, principal: CurrentPrincipal, session: DbSession, response: Response
) -> AttachmentPublic:
    """An attachment's metadata (kind, name, size, SHA-256); its `ETag` is the quoted SHA-256."""
    row = service.load_visible_attachment(session, principal, attachment_id)
    response.headers["ETag"] = f'"{row.sha256}"'
    return service.public(row)


@router.get(
    "/attachments/{attachment_id}/content",
    operation_id="download_attachment_content",
    response_class=Response,
    responses={
        200: {
            "content": FILE_CONTENT,
            "description": "The file; `Content-Type` is the detected type, `ETag` its SHA-256",
        },
        206: {"content": FILE_CONTENT, "description": "The requested byte range (`Range: bytes=…`)"},
        304: {"description": "Not modified (`If-None-Match` names the ETag)"},
        **AUTH,
        **problem_responses(NotFound, RangeNotSatisfiable),
    },
    openapi_extra=facts(etag=True, file=True, id_from=ATTACHMENT_ID, parameters=[if_none_match_parameter("the file")]),
)
def download_attachment_content(
    attachment_id: AttachmentId, principal: CurrentPrincipal, session: DbSession, request: Request
) -> Response:
    """Download the file. Supports a single `Range` (206; 416 when unsatisfiable), `If-Range` and
    `If-None-Match`. `Content-Disposition` carries the original name (RFC 6266, UTF-8 and an ASCII fallback)."""
    row = service.load_visible_attachment(session, principal, attachment_id)
    etag = f'"{row.sha256}"'
    headers = download_headers(etag, content_disposition(row.filename, row.file_type))
    if _none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    byte_range = parse_range(wanted, row.size) if wanted and (if_range is None or if_range.strip() == etag) else None
    if byte_range is unsatisfiable:
        raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{row.size}"})
    store = blob_store_of(request.app)
    if isinstance(byte_range, tuple):
        start, end = byte_range
        headers["Content-Range"] = f"bytes {start}-{end}/{row.size}"
        headers["Content-Length"] = str(end - start + 1)
        return StreamingResponse(
            store.read(row.storage_key, start, end),
            status_code=status.HTTP_206_PARTIAL_CONTENT,
            media_type=row.media_type,
            headers=headers,
        )
    headers["Content-Length"] = str(row.size)
    return StreamingResponse(store.read(row.storage_key), media_type=row.media_type, headers=headers)


def _none_match(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


@router.delete(
    "/attachments/{attachment_id}",
    operation_id="delete_attachment",
    openapi_extra=facts(application_etag=True, id_from=ATTACHMENT_ID),
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        **AUTH,
        **problem_responses(Forbidden, NotFound, InvalidTransition, PreconditionFailed, PreconditionRequired),
    },
)
def delete_attachment(
    attachment_id: AttachmentId,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    request: Request,
    background: BackgroundTasks,
    if_match: Annotated[
        str | None, Header(description="The attachment's ETag (428 if missing, 412 if it names another)")
    ] = None,
) -> Response:
    """Remove an attachment while its application is a draft or returned; during sign-off, a `paper_endorsement` page that no current sign-off rests on (409 otherwise).

    `If-Match` names the attachment; the answer's `Application-ETag` is the application's new ETag, for its next write."""
    row, application = service.load_removable(session, principal, attachment_id, now)
    if not if_match_allows(if_match, f'"{row.sha256}"'):  # the caller deletes what it has seen
        raise PreconditionFailed(extra={"current_etag": f'"{row.sha256}"'})
    key, application_etag = service.delete_attachment(session, principal, row, application, now)
    # Runs after the response, so after the transaction committed; the file goes only if no row names it.
    background.add_task(
        service.remove_blob_if_unreferenced, request.app.state.database, blob_store_of(request.app), key
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"Application-ETag": application_etag})
