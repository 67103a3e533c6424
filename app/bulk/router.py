"""Endpoints of the bulk package: upload many applications at once, then follow the upload."""

import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Annotated, Any, cast

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from app import examples as ex
from app.accounts.principal import CurrentPrincipal, ReadingPrincipal
from app.bulk import parsing, runner, service
from app.bulk.columns import EmptyUpload, UnknownColumns
from app.bulk.models import BulkUpload
from app.bulk.schemas import BulkMode, BulkUploadPublic, render_upload
from app.bulk.template import TemplateCall, build_template
from app.core.deps import AppSettings, DbSession, Now
from app.core.errors import (
    BadRequest,
    FieldError,
    Forbidden,
    MalformedJson,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    field_errors_from_pydantic,
    problem_responses,
)
from app.core.fast.collector import loads_without_collector
from app.core.i18n import Text, localized, negotiate
from app.core.invalid import invalid
from app.core.route_facts import IdFrom, facts
from app.reference.models import Call

log = logging.getLogger("smps")
# Path parameters that take the id create_bulk_upload answers with (an OpenAPI link from it).
UPLOAD_ID = IdFrom("create_bulk_upload", "upload_id")
router = APIRouter(prefix="/api/v1", tags=["bulk"])

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: BulkMode = BulkMode.all_or_nothing
    rows: list[Any]


_ROWS = {
    "type": "array",
    "minItems": 1,  # none: 422 empty_upload
    "items": {"$ref": "#/components/schemas/ApplicationCreate"},
    "description": "Applications, each as the body of `POST /applications`; in a row, an organization "
    "(`recommender_id`, `parties`) may also be named by its unified social credit code (统一社会信用代码). "
    "A row that does not fit is still accepted with the upload and reported as `invalid` in its `results`, "
    "with its errors",
}
_REQUEST_BODY = {
    "required": True,
    "content": {
        # Rows are checked one by one after the upload is accepted, each getting its own result: a row
        # that is not a valid application is reported, not a reason to refuse the upload.
        "application/json": {
            "schema": {
                "anyOf": [
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["rows"],
                        "properties": {
                            "mode": {
                                "type": "string",
                                "enum": [m.value for m in BulkMode],
                                "default": "all_or_nothing",
                            },
                            "rows": _ROWS,
                        },
                    },
                    {**_ROWS, "description": "A bare array of rows"},
                ]
            }
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "additionalProperties": False,
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "contentMediaType": "application/octet-stream",
                        "description": "CSV (UTF-8 or GB18030) or XLSX in the layout of `GET /bulk-uploads/template.xlsx`",
                    },
                    "mode": {"type": "string", "enum": [m.value for m in BulkMode], "default": "all_or_nothing"},
                },
            }
        },
    },
}


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The body, refused with 413 as soon as it passes ``limit`` (before the rest is read)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(Text("上传内容超过 {limit} 字节", "The upload is larger than {limit} bytes"), limit=limit)
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise PayloadTooLarge(
                    Text("上传内容超过 {limit} 字节", "The upload is larger than {limit} bytes"), limit=limit
                )
            yield chunk
    except ClientDisconnect:
        # The client went away mid-body: nothing of ours failed, so no 500 and no stack trace.
        log.info("bulk upload: the client disconnected after %d bytes of its body", seen)
        raise BadRequest(Text("上传中断，请重新上传", "The upload was interrupted; send it again")) from None


def _mode(value: Any) -> str:
    try:
        return BulkMode(value or BulkMode.all_or_nothing).value
    except ValueError:
        raise invalid(
            "/mode",
            "invalid_choice",
            Text(
                "取值不在允许范围内：all_or_nothing, valid_rows, upsert",
                "Must be one of all_or_nothing, valid_rows, upsert",
            ),
        ) from None


async def _read_json(request: Request, limit: int) -> tuple[str, list[Any], str]:
    """(mode, rows, the body as the upload's stored payload: JSON text with ``rows``)."""
    body = b"".join([chunk async for chunk in _limited(request, limit)])
    try:
        document = loads_without_collector(body)
    except orjson.JSONDecodeError:
        raise MalformedJson(Text("请求体不是有效的 JSON", "The request body is not valid JSON")) from None
    bare = isinstance(document, list)
    if bare:  # a bare array of applications
        document = {"rows": document, "mode": request.query_params.get("mode")}
        if document["mode"] is None:
            del document["mode"]
    try:
        envelope = _Envelope.model_validate(document)
    except ValidationError as exc:
        raise ValidationFailed(errors=field_errors_from_pydantic(cast(list[dict[str, Any]], exc.errors()))) from None
    # The body is valid JSON whose rows are what was parsed: it is stored as it came (an envelope has
    # only `mode` and `rows`), not serialized again.
    text = body.decode()
    return envelope.mode.value, envelope.rows, '{"rows":' + text + "}" if bare else text


async def _read_file(request: Request, limit: int, limits: parsing.Limits) -> tuple[str, str, Any]:
    parser = MultiPartParser(request.headers, _limited(request, limit), max_files=1, max_fields=5)
    try:
        form = await parser.parse()
    except MultiPartException:
        raise BadRequest(Text("multipart 请求体格式错误", "Malformed multipart body")) from None
    unknown = sorted(set(form.keys()) - {"file", "mode"})
    if unknown:  # as in a JSON body: a field the form does not have is an error, not ignored
        raise ValidationFailed(
            errors=[
                FieldError(
                    "/" + name.replace("~", "~0").replace("/", "~1"),
                    "unknown_field",
                    Text("不允许的未知字段", "Unknown field"),
                )
                for name in unknown
            ]
        )
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise invalid("/file", "required", Text("缺少上传文件 file", "The file field is required"))
    mode = _mode(form.get("mode"))
    data = await upload.read()
    await upload.close()
    source, parsed = await run_in_threadpool(parsing.parse_file, upload.filename or "", data, limits)
    return mode, source, parsed


@dataclass(frozen=True, slots=True)
class _Received:
    """A bulk upload's body, read and parsed in full."""

    mode: str
    source: str
    rows: list[Any]
    lines: list[int] | None = None
    headers: dict[str, str] | None = None
    stored: str | None = None  # the JSON body as stored


async def _receive(request: Request, principal: ReadingPrincipal, settings: AppSettings) -> _Received:
    """The body read and parsed (the XLSX or CSV file included) after authentication and before the
    write gate (``app.core.deps``): a slow client or a costly file holds no lock."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limit = settings.max_bulk_upload_bytes
    if content_type == "application/json" or content_type.endswith("+json"):
        mode, rows, stored = await _read_json(request, limit)
        received = _Received(mode, "json", rows, stored=stored)
    elif content_type == "multipart/form-data":
        mode, source, parsed = await _read_file(request, limit, parsing.Limits.of(settings))
        received = _Received(mode, source, parsed.rows, parsed.lines, parsed.headers)
    else:
        raise UnsupportedMediaType(
            Text(
                "请以 JSON 或 multipart/form-data（CSV、XLSX 文件）上传",
                "Send JSON, or a CSV or XLSX file as multipart/form-data",
            )
        )
    if not received.rows:
        raise EmptyUpload()
    if len(received.rows) > settings.max_bulk_upload_rows:
        raise parsing.TooManyRows(
            Text("每次最多上传 {max} 行", "At most {max} rows per upload"), max=settings.max_bulk_upload_rows
        )
    return received


@router.post(
    "/bulk-uploads",
    operation_id="create_bulk_upload",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BulkUploadPublic,
    openapi_extra=facts(
        examples=ex.CREATE_BULK_UPLOAD,
        form_examples=("multipart/form-data", ex.CREATE_BULK_UPLOAD_MULTIPART),
        location=True,
        streams_body=True,
        requestBody=_REQUEST_BODY,
    ),
    responses=problem_responses(
        BadRequest,
        MalformedJson,
        NotAuthenticated,
        Forbidden,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        UnknownColumns,
        EmptyUpload,
        *parsing.ERRORS,
    ),
)
async def create_bulk_upload(
    request: Request,
    received: Annotated[_Received, Depends(_receive)],  # first: the body is in before the session's write gate
    principal: ReadingPrincipal,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    background: BackgroundTasks,
    response: Response,
) -> BulkUploadPublic:
    """Upload many applications: a JSON body `{mode, rows}` (or a bare array), or a CSV/XLSX file (multipart `file`, `mode`).

    Answers 202 at once with the upload; rows are checked and created in the background by the rules
    of `POST /applications`. Follow it with `GET /bulk-uploads/{id}`: one result per row, with the row's
    errors pointing at `/rows/<row>/…` (JSON) or at the file's column. `all_or_nothing` creates every
    row or, if any row is invalid, none; `valid_rows` creates the valid rows; `upsert` too, and a row
    matching an editable draft updates it. Organizations may be named by id or by unified social
    credit code. A row with the call, undertaking unit and title of an application the caller can see
    (or of an earlier row) is a `duplicate`, with that application's id, and creates nothing; it is
    not an error, so it voids no `all_or_nothing` upload (docs/bulk-columns.md).
    """
    lang = negotiate(request.headers.get("accept-language"))

    def _store() -> BulkUploadPublic:
        upload = service.create_upload(
            session,
            principal,
            mode=received.mode,
            source=received.source,
            rows=received.rows,
            lines=received.lines,
            headers=received.headers,
            now=now,
            stored=received.stored,
        )
        return render_upload(upload, lang)

    public = await run_in_threadpool(_store)
    # Runs after the request's transaction has committed the upload.
    background.add_task(
        runner.start_processing,
        request.app.state.database,
        settings,
        public.id,
        request.app.state.clock,
        service.payload_of(received.rows, received.lines, received.headers),
    )
    response.headers["Location"] = f"/api/v1/bulk-uploads/{public.id}"  # where to follow the processing
    response.headers.update(localized(lang))
    return public


@router.get(
    "/bulk-uploads/template.xlsx",
    operation_id="get_bulk_upload_template",
    openapi_extra=facts(file=True),
    response_class=Response,
    responses={
        200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The XLSX template"},
        **problem_responses(NotAuthenticated),
    },
)
def get_bulk_upload_template(principal: CurrentPrincipal, session: DbSession, settings: AppSettings) -> Response:
    """The XLSX template of the file layout: bilingual headers (`中文 (key)`), drop-down lists of the coded
    columns (calls, domain codes of the calls in the store), and a sheet documenting each column and its values."""
    calls = [
        TemplateCall(*row)
        for row in session.execute(
            sa.select(col(Call.key), col(Call.name), col(Call.catalogue), col(Call.conditions)).order_by(
                col(Call.deadline).desc(), col(Call.key)
            )
        )
    ]
    template = build_template(calls, settings.max_bulk_upload_rows)
    return Response(
        template,
        media_type=XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": 'attachment; filename="bulk-upload-template.xlsx"; '
            "filename*=UTF-8''%E6%89%B9%E9%87%8F%E4%B8%8A%E4%BC%A0%E6%A8%A1%E6%9D%BF.xlsx"
        },
    )


def _visible_upload(
    principal: CurrentPrincipal,
    session: DbSession,
    upload_id: Annotated[str, Path(max_length=32, description="Bulk upload id")],
) -> BulkUpload:
    return service.load_visible_upload(session, principal, upload_id)


VisibleUpload = Annotated[BulkUpload, Depends(_visible_upload)]


@router.get(
    "/bulk-uploads/{upload_id}",
    operation_id="get_bulk_upload",
    openapi_extra=facts(id_from=UPLOAD_ID),
    response_model=BulkUploadPublic,
    responses=problem_responses(NotAuthenticated, NotFound, ValidationFailed),
)
def get_bulk_upload(request: Request, response: Response, upload: VisibleUpload) -> BulkUploadPublic:
    """Progress of an upload and one result per processed row (the uploader, its organization's applicants, admins)."""
    lang = negotiate(request.headers.get("accept-language"))
    response.headers.update(localized(lang))
    return render_upload(upload, lang)
