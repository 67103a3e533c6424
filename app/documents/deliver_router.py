"""What a recommender delivers (国标委发〔2022〕35号, 四): the printable list to stamp, and its electronic copy."""

from collections.abc import Callable, Iterator
from functools import partial
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Request, Response, status
from fastapi.responses import StreamingResponse

from app.accounts.models import Role
from app.accounts.principal import CurrentPrincipal
from app.attachments.download import parse_range, unsatisfiable
from app.attachments.errors import RangeNotSatisfiable
from app.batches.models import BatchState
from app.batches.service import load_visible_batch
from app.core.deps import DbSession
from app.core.errors import Forbidden, NotAuthenticated, NotFound, ValidationFailed, problem_responses
from app.core.i18n import Text
from app.core.route_facts import facts
from app.documents.form_cache import form_store_of
from app.documents.list_file import list_file, request_fonts, verify_url
from app.documents.listing import submitted_receipt
from app.documents.package import (
    read_facts,
    safe_name,
)
from app.documents.package_maps import (
    organizations_of,
    package_caches,
    package_token,
    still_holds,
)
from app.documents.package_stream import (
    BATCH,
    MAPPED_BATCH,
    Keeping,
    in_batches,
    map_large_pieces,
    package_size,
    package_stream,
    replay,
)
from app.documents.router import BatchId, _none_match
from app.documents.zipstream import Piece
from app.fonts.faces import FontUnavailable

router = APIRouter(prefix="/api/v1", tags=["documents"])
IfNoneMatch = Annotated[
    str | None, Header(max_length=1024, description="An ETag from an earlier download: 304 if it is unchanged")
]


def _headers(etag: str, filename: str, fallback: str) -> dict[str, str]:
    return {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}",
    }


@router.get(
    "/batches/{batch_id}/recommended-list.pdf",
    operation_id="get_recommended_list_pdf",
    openapi_extra=facts(etag=True, file=True),
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The list to print, stamp and post"},
        304: {"description": "Not modified (`If-None-Match` names the ETag)"},
        **problem_responses(NotAuthenticated, NotFound, ValidationFailed, FontUnavailable),
    },
)
def get_recommended_list_pdf(
    batch_id: BatchId,
    principal: CurrentPrincipal,
    session: DbSession,
    request: Request,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The recommended list (推荐项目清单) as an A4 landscape PDF to print and stamp (推荐单位（盖章）): the items
    in rank order with 承担单位, 申报领域, 试点期, 经费预算 and contact; once submitted, the tracking number and
    the receipt's QR code on every page; while open or returned, a 草稿 watermark. `ETag`: what it prints."""
    batch = load_visible_batch(session, principal, batch_id)
    content, digest = list_file(session, batch, principal, request)
    headers = _headers(f'"{digest}"', "推荐清单.pdf", f"{batch.id}.pdf")
    if _none_match(if_none_match, headers["ETag"]):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content, media_type="application/pdf", headers=headers)


class PackageNotAvailable(NotFound):
    code = "package_not_available"
    title = Text("推荐清单尚未报送，没有电子版", "The list has not been submitted: there is no electronic copy")


@router.get(
    "/batches/{batch_id}/package.zip",
    operation_id="get_batch_package",
    openapi_extra=facts(etag=True, file=True),
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The bag, streamed"},
        206: {"content": {"application/zip": {}}, "description": "The requested byte range (`Range: bytes=…`)"},
        304: {"description": "Not modified (`If-None-Match` names the ETag)"},
        **problem_responses(NotAuthenticated, Forbidden, NotFound, ValidationFailed, FontUnavailable),
        **problem_responses(RangeNotSatisfiable),
    },
)
def get_batch_package(
    batch_id: BatchId,
    principal: CurrentPrincipal,
    session: DbSession,
    request: Request,
    if_none_match: IfNoneMatch = None,
    range_: Annotated[str | None, Header(alias="range", max_length=200, description="`bytes=first-[last]`")] = None,
    if_range: Annotated[str | None, Header(max_length=1024, description="The ETag the range belongs to")] = None,
) -> Response:
    """The electronic copy (电子版) of a submitted list: a BagIt bag (RFC 8493) in a ZIP, with the signed receipt,
    the list (PDF, XLSX), each application's 申请书 PDF and JSON and every attachment, manifests in SHA-256 and
    SM3. The same list gives the same bytes on every request: `ETag` is the receipt's digest, and a broken
    download resumes with `Range` (and `If-Range`). For the recommender that submitted it and the office."""
    batch = load_visible_batch(session, principal, batch_id)
    owner = principal.is_recommender_reviewer and principal.organization_id == batch.recommender_id
    if not owner and not principal.has(Role.office):
        raise Forbidden(Text("电子版仅供报送单位和联席办公室下载", "Only the submitting recommender and the office"))
    receipt = submitted_receipt(session, batch)
    if receipt is None or batch.state not in (BatchState.submitted, BatchState.acknowledged):
        raise PackageNotAvailable()
    map_large_pieces()
    etag = f'"{receipt.digest}"'
    headers = {
        **_headers(etag, f"{receipt.tracking_number}.zip", f"{safe_name(receipt.tracking_number)}.zip"),
        "Accept-Ranges": "bytes",
    }
    if _none_match(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    ranged = range_ if range_ and (if_range is None or if_range.strip() == etag) else None
    key = (receipt.digest, verify_url(request))
    kept = package_caches(request.app).maps.get(key)
    if kept is not None:
        token = package_token(session, batch, receipt, kept.organizations)
        if still_holds(kept, token, request_fonts(request).fingerprint, form_store_of(request.app)):
            archive = kept.archive
            stream = partial(replay, request, key, archive)
            return _respond(headers, ranged, lambda: archive.size, stream, archive.size, MAPPED_BATCH)
    facts = read_facts(session, batch, receipt)
    organizations = organizations_of(facts, batch.recommender_id)
    keeping = Keeping(key, package_token(session, batch, receipt, organizations), organizations)
    return _respond(
        headers,
        ranged,
        lambda: package_size(request, facts, batch.id),
        lambda a, b: package_stream(request, facts, batch.id, a, b, keeping=None if a or b is not None else keeping),
        package_caches(request.app).sizes.get(facts.receipt_digest),
    )


def _respond(
    headers: dict[str, str],
    ranged: str | None,
    size: Callable[[], int],
    stream: Callable[[int, int | None], Iterator[Piece]],
    whole: int | None,
    batch: int = BATCH,
) -> Response:
    """The whole package (200; its length when known), or the range asked for (206; 416 when none of it
    lies in the package)."""
    if ranged:
        total = size()
        wanted = parse_range(ranged, total)
        if wanted is unsatisfiable:
            raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{total}"})
        if isinstance(wanted, tuple):
            first, last = wanted
            headers |= {"Content-Range": f"bytes {first}-{last}/{total}", "Content-Length": str(last - first + 1)}
            body = in_batches(stream(first, last), batch)
            return StreamingResponse(body, status.HTTP_206_PARTIAL_CONTENT, headers, "application/zip")
    if whole is not None:
        headers["Content-Length"] = str(whole)
    return StreamingResponse(in_batches(stream(0, None), batch), headers=headers, media_type="application/zip")
