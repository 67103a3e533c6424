"""Endpoints of the documents package: the printable application form and the recommended list."""

from collections import Counter
from typing import Annotated, Any
from urllib.parse import quote

import anyio
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Path, Request, Response
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.principal import CurrentPrincipal, Principal, RecordUse, oauth2_scheme, read_on_loop
from app.applications.models import Application, Endorsement
from app.applications.reading import Statement, caller_and_head, granted_on_loop, hinted
from app.attachments.blobstore import FileSystemBlobStore
from app.batches.models import Batch
from app.batches.service import items_of, latest_receipt, load_visible_batch
from app.core.deps import DbSession
from app.core.errors import NotAuthenticated, NotFound, ValidationFailed, problem_responses
from app.core.fast.routes import lean_route
from app.core.fast.select import Executor
from app.documents import sheets
from app.documents.facts import domain_label, gather
from app.documents.fonts import FontUnavailable, form_fonts
from app.documents.form import printed_form
from app.documents.form_cache import (
    PARTIES,
    PARTY_IDS,
    cached,
    form_digest,
    form_store_of,
    frozen_stamp,
    keep,
    kept,
    parties,
    parties_of,
    render_stamp,
    stamp_params,
    stamp_read,
)
from app.documents.pdf import render_form
from app.organizations.models import Organization
from app.reference.models import Call

router = APIRouter(prefix="/api/v1", tags=["documents"])
BatchId = Annotated[str, Path(max_length=32, description="Batch id")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(content: bytes, media_type: str, filename: str, fallback: str, etag: str | None = None) -> Response:
    headers = {"Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"}
    if etag:
        headers.update({"ETag": etag, "Cache-Control": "private, no-cache"})
    return Response(content, media_type=media_type, headers=headers)


def _not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "private, no-cache"})


def _none_match(header: str | None, etag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in (header or "").split(",")}
    return "*" in tags or etag in tags


async def get_application_form_pdf(
    request: Request,
    application_id: Annotated[str, Path(max_length=32, description="Application id")],
    credential: Annotated[str | None, Depends(oauth2_scheme)],
    if_none_match: Annotated[
        str | None,
        Header(max_length=1024, description="An ETag from an earlier download: 304 if the form is unchanged"),
    ] = None,
) -> Response:
    """The application form (申请书) as an A4 PDF: cover, unit profile, sections, standards, attestations, opinions.

    The `ETag` changes with everything the form prints (a sign-off, a review, a party's name).
    A frozen application's form is rendered once per ETag and then served from storage; a draft's each time."""
    return await _answer_form(request, credential, application_id, if_none_match)


async def _lean_form_pdf(request: Request) -> Response | None:
    # The same parameters as above, read without FastAPI's per-request solving; what is too long for
    # them is left to FastAPI's handler, which words the 422.
    application_id = request.path_params["application_id"]
    if_none_match = request.headers.get("if-none-match")
    if len(application_id) > 32 or (if_none_match is not None and len(if_none_match) > 1024):
        return None
    return await _answer_form(request, await oauth2_scheme(request), application_id, if_none_match)


router.add_api_route(
    "/applications/{application_id}/form.pdf",
    get_application_form_pdf,
    methods=["GET"],
    operation_id="get_application_form_pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The form; `ETag` names what it prints"},
        304: {"description": "Not modified (`If-None-Match` names the ETag)"},
        **problem_responses(NotAuthenticated, NotFound, ValidationFailed, FontUnavailable),
    },
    route_class_override=lean_route(_lean_form_pdf),
)


async def _answer_form(
    request: Request, credential: str | None, application_id: str, if_none_match: str | None
) -> Response:
    # A stored form is found without building its text (see form_cache): the application's stamp, one
    # statement, then the file. On SQLite the stamp is read on the event loop as for GET
    # /applications/{id}; on PostgreSQL, for a hinted API key, awaited on the loop, otherwise in a read
    # thread. A form served lately is at hand in memory; one on the local disk is read on the loop, one
    # in S3 in a worker thread, as is every render.
    database, store = request.app.state.database, form_store_of(request.app)
    if database.dialect == "sqlite":
        stamped = await read_on_loop(
            database, lambda db, record_use: _form_stamp(request, db, credential, application_id, record_use)
        )
    else:
        stamped = await _stamp_on_server(request, credential, application_id)
    if stamped is not None:
        row, etag = stamped
        if _none_match(if_none_match, etag):
            return _not_modified(etag)
        stamp = etag.strip('"')
        found = kept(stamp)
        if found is None:
            found = (
                cached(store, stamp)
                if isinstance(store, FileSystemBlobStore)
                else await anyio.to_thread.run_sync(cached, store, stamp)
            )
        if found is not None:
            return _form_download(found, row.title, row.id, etag)
    return await anyio.to_thread.run_sync(_form_pdf, request, credential, application_id, if_none_match)


def _stamp_reads(org_count: int) -> tuple[Statement, Statement]:
    """The stamp's statement for a hinted API key (``STILL_GRANTS``) and for a caller resolved afresh."""
    return (
        lambda roles, kind: stamp_read(roles, kind, org_count, checked=True),
        lambda roles, kind: stamp_read(roles, kind, org_count),
    )


def _stamped(row: Any, digest: str | None, ids: list[str], request: Request) -> tuple[Any, str] | None:
    """The row and the ETag of its stored form; None for a draft, or for an application whose content
    changed since its parties were read (rendered afresh, which reads them again)."""
    if row.content_digest is None or row.content_digest != digest:
        return None
    state = request.app.state
    return row, f'"{frozen_stamp(row, ids, form_fonts(state.settings.cjk_font, state.settings.cjk_title_font))}"'


async def _stamp_on_server(request: Request, credential: str | None, application_id: str) -> tuple[Any, str] | None:
    """``_form_stamp`` on PostgreSQL: awaited on the loop for a hinted API key, else in a read thread."""
    statements = request.app.state.database.loop_statements
    known_parties = PARTY_IDS.get(application_id)
    if known_parties is None:  # the application's first form in this process
        known_parties = parties_of(application_id, await statements.first(PARTIES, {"application_id": application_id}))
    digest, ids = known_parties
    known = hinted(request, credential, application_id, _stamp_reads(len(ids))[0], stamp_params(ids))
    if known is not None:
        row = await statements.first(known.head, known.params)
        if await granted_on_loop(request, known, row):
            request.state.user_id = known.hint.principal.user_id  # for the request's log line
            return _stamped(row, digest, ids, request)
    stamped: tuple[Any, str] | None = await request.app.state.database.server_reader.run_in_thread(
        lambda db: _form_stamp(request, db, credential, application_id), snapshot=True
    )
    return stamped


def _form_stamp(
    request: Request, db: Executor, credential: str | None, application_id: str, record_use: RecordUse | None = None
) -> tuple[Any, str] | None:
    """A frozen application's row (as the caller may see it) and the ETag of its form; None for a draft."""
    digest, ids = parties(db, application_id)
    principal, row, _ = caller_and_head(
        request, db, credential, application_id, record_use, _stamp_reads(len(ids)), stamp_params(ids)
    )
    request.state.user_id = principal.user_id  # for the request's log line
    if row is None:
        raise NotFound()
    return _stamped(row, digest, ids, request)


def _form_pdf(request: Request, credential: str | None, application_id: str, if_none_match: str | None) -> Response:
    state = request.app.state
    fonts = form_fonts(state.settings.cjk_font, state.settings.cjk_title_font)
    store = form_store_of(request.app)
    # A draft, or a frozen form not rendered yet (the caller may see it: _form_stamp said so): the printed
    # text and its stamp, read on one snapshot.
    with state.database.reader() as session:
        if state.database.dialect == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        application = session.get(Application, application_id)  # visible: checked above
        if application is None:
            raise NotFound()
        form = printed_form(gather(session, application))
        if application.content_digest is None:  # a draft changes with every edit: nothing worth keeping
            etag = f'"{form_digest(form, fonts)}"'
            if _none_match(if_none_match, etag):
                return _not_modified(etag)
            return _form_download(render_form(form, fonts), application.title, application.id, etag)
        digest = render_stamp(session.connection(), application, fonts)
        content = render_form(form, fonts)
    keep(store, digest, content)
    return _form_download(content, application.title, application.id, f'"{digest}"')


def _form_download(content: bytes, title: str, application_id: str, etag: str) -> Response:
    return _download(content, "application/pdf", f"{title}-申请书.pdf", f"{application_id}.pdf", etag)


def _rows(session: Session, batch: Batch, principal: Principal) -> tuple[str, list[list[Any]]]:
    call = session.get(Call, batch.call_id)
    recommender = session.get(Organization, batch.recommender_id)
    assert call is not None and recommender is not None
    items = items_of(session, batch.id, principal)
    ids = [a.id for _, a in items]
    units: dict[str, str] = (
        {
            org_id: name
            for org_id, name in session.execute(
                sa.select(col(Organization.id), col(Organization.name)).where(
                    col(Organization.id).in_({a.undertaking_org_id for _, a in items})
                )
            ).all()
        }
        if items
        else {}
    )
    signs: dict[str, Counter[str]] = {i: Counter() for i in ids}
    if ids:
        for app_id, decision, mode in session.execute(
            sa.select(col(Endorsement.application_id), col(Endorsement.decision), col(Endorsement.mode)).where(
                col(Endorsement.application_id).in_(ids), col(Endorsement.voided_at).is_(None)
            )
        ).all():
            signs[app_id][decision] += 1
            signs[app_id]["paper"] += mode == "paper"
    rows = []
    for item, a in items:
        c = a.content
        period, contact, s = c.get("period") or {}, c.get("contact") or {}, signs[a.id]
        summary = (
            f"{s['agree']} 方同意"
            + (f"，{s['disagree']} 方不同意" if s["disagree"] else "")
            + (f"（纸质 {s['paper']}）" if s["paper"] else "")
        )
        rows.append(
            [
                item.rank,
                a.title,
                units.get(a.undertaking_org_id, ""),
                domain_label(call, c.get("domain")),
                f"{period.get('start', '')} 至 {period.get('end', '')}" if period else "",
                " ".join(x for x in (contact.get("name"), contact.get("phone")) if x),
                summary,
                a.content_digest or "",
            ]
        )
    receipt = latest_receipt(session, batch.id)
    title = f"{recommender.name} {call.name} 推荐清单" + (f"（回执 {receipt.tracking_number}）" if receipt else "")
    return title, rows


def _footer(session: Session, batch: Batch) -> str:
    """The latest receipt's tracking number and the kids of its signatures, printed under the list."""
    receipt = latest_receipt(session, batch.id)
    if receipt is None:
        return ""
    kids = [s["kid"] for s in receipt.document.get("signatures", [])] or [receipt.document.get("key_id", "")]
    return f"回执 {receipt.tracking_number}  签名密钥 {', '.join(kids)}"


@router.get(
    "/batches/{batch_id}/recommended-list.xlsx",
    operation_id="get_recommended_list_xlsx",
    response_class=Response,
    responses={
        200: {"content": {XLSX: {}}, "description": "The list"},
        **problem_responses(NotAuthenticated, NotFound, ValidationFailed),
    },
)
def get_recommended_list_xlsx(batch_id: BatchId, principal: CurrentPrincipal, session: DbSession) -> Response:
    """The recommended list as a sheet to print (A4 landscape) and stamp, in rank order."""
    batch = load_visible_batch(session, principal, batch_id)
    title, rows = _rows(session, batch, principal)
    return _download(sheets.to_xlsx(title, rows, _footer(session, batch)), XLSX, "推荐清单.xlsx", f"{batch.id}.xlsx")


@router.get(
    "/batches/{batch_id}/recommended-list.csv",
    operation_id="get_recommended_list_csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The list"},
        **problem_responses(NotAuthenticated, NotFound, ValidationFailed),
    },
)
def get_recommended_list_csv(batch_id: BatchId, principal: CurrentPrincipal, session: DbSession) -> Response:
    """The recommended list as UTF-8 CSV with a BOM (Excel opens the Chinese text), in rank order."""
    batch = load_visible_batch(session, principal, batch_id)
    _, rows = _rows(session, batch, principal)
    return _download(
        sheets.to_csv(rows, _footer(session, batch)), "text/csv; charset=utf-8", "推荐清单.csv", f"{batch.id}.csv"
    )
