"""What a recommender delivers (国标委发〔2022〕35号, 四): the printable list to stamp, and its electronic copy."""

import asyncio
import contextlib
import contextvars
import ctypes
import hashlib
from collections.abc import AsyncIterator, Generator, Iterator
from functools import cache
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.accounts.principal import CurrentPrincipal, Principal
from app.applications.models import Application
from app.attachments.blobstore import blob_store_of
from app.attachments.download import parse_range, unsatisfiable
from app.attachments.errors import RangeNotSatisfiable
from app.batches.models import Batch, BatchState
from app.batches.receipt_pdf import qr_payload
from app.batches.service import load_visible_batch
from app.core.clock import BEIJING
from app.core.deps import DbSession
from app.core.errors import Forbidden, NotAuthenticated, NotFound, ValidationFailed, problem_responses
from app.core.i18n import Text
from app.core.route_facts import facts
from app.documents import sheets
from app.documents.facts import gather
from app.documents.form import printed_form
from app.documents.form_cache import form_files
from app.documents.list_pdf import list_digest, render_list
from app.documents.listing import printed_list, submitted_receipt
from app.documents.package import PackageFacts, Renderers, checksum_store_of, members, read_facts
from app.documents.pdf import render_form
from app.documents.router import BatchId, _footer, _none_match, _rows
from app.documents.zipstream import Piece, stream_zip
from app.fonts.faces import FontUnavailable, FormFonts, form_fonts
from app.readpath.bounded import BoundedLru

router = APIRouter(prefix="/api/v1", tags=["documents"])
IfNoneMatch = Annotated[
    str | None, Header(max_length=1024, description="An ETag from an earlier download: 304 if it is unchanged")
]


def _fonts(request: Request) -> FormFonts:
    settings = request.app.state.settings
    return form_fonts(settings.cjk_font, settings.cjk_title_font)


def _verify_url(request: Request) -> str:
    base = (request.app.state.settings.public_base_url or str(request.base_url)).rstrip("/")
    return f"{base}/api/v1/receipt-keys"


def _list_pdf(session: Session, batch: Batch, principal: Principal | None, request: Request) -> tuple[bytes, str]:
    """The printed list and its digest; a submitted list's file is kept in the form store, as forms are."""
    fonts, receipt = _fonts(request), submitted_receipt(session, batch)
    qr = qr_payload(receipt.document, receipt.digest, _verify_url(request)) if receipt else None
    printed = printed_list(session, batch, principal, receipt, qr)
    digest = list_digest(printed, fonts)
    if printed.draft:
        return render_list(printed, fonts), digest
    files = form_files(request.app)
    content = files.kept(digest) or files.cached(digest)
    if content is None:
        content = render_list(printed, fonts)
        files.keep(digest, content)
    return content, digest


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
    content, digest = _list_pdf(session, batch, principal, request)
    headers = _headers(f'"{digest}"', "推荐清单.pdf", f"{batch.id}.pdf")
    if _none_match(if_none_match, headers["ETag"]):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content, media_type="application/pdf", headers=headers)


class PackageNotAvailable(NotFound):
    code = "package_not_available"
    title = Text("推荐清单尚未报送，没有电子版", "The list has not been submitted: there is no electronic copy")


# The bag's workbook by a digest of what it prints (tens of KiB each)
_SHEETS: BoundedLru[str, bytes] = BoundedLru(64)


def _renderers(request: Request, batch_id: str) -> Renderers:
    """The bag's documents, each read on a short read transaction of its own when the stream reaches it.
    The fonts are looked up when a document needs them, not before the first bytes (loading them takes a
    second or more the first time in a process)."""
    database, files = request.app.state.database, form_files(request.app)

    def list_pdf() -> bytes:
        with database.reader() as s:
            batch = s.get(Batch, batch_id)
            assert batch is not None
            return _list_pdf(s, batch, None, request)[0]

    def list_xlsx() -> bytes:
        with database.reader() as s:
            batch = s.get(Batch, batch_id)
            assert batch is not None
            title, rows = _rows(s, batch, None)  # type: ignore[arg-type]  # None: the whole list as submitted
            footer = _footer(s, batch)
        # the workbook follows from what it prints: made again only when that changed
        key = hashlib.sha256(repr((title, rows, footer, batch.submitted_at)).encode()).hexdigest()
        content = _SHEETS.get(key)
        if content is None:
            content = sheets.fixed_times(sheets.to_xlsx(title, rows, footer), batch.submitted_at)
            _SHEETS.put(key, content)
        return content

    def form_pdf(submitted: Application) -> tuple[bytes, str]:
        """The stored form of the application as the request read it (frozen: its content does not move),
        named by a stamp read now; rendered from the application read again when not stored yet."""
        fonts = _fonts(request)
        with database.reader() as s:
            stamp = files.render_stamp(s.connection(), submitted, fonts)
            # not kept at hand: the list's forms, read once each, would push out the ones printed lately
            content = files.kept(stamp) or files.cached(stamp, at_hand=False)
            if content is None:
                application = s.get(Application, submitted.id)
                assert application is not None and application.content_digest is not None
                stamp = files.render_stamp(s.connection(), application, fonts)
                content = render_form(printed_form(gather(s, application)), fonts)
                files.keep(stamp, content, at_hand=False)
            return content, stamp

    return Renderers(list_pdf, list_xlsx, form_pdf)


# The length of each package streamed whole or sized so far, by receipt digest (its ETag: the same bytes
# on every request): a later download states its Content-Length, so it is not sent in HTTP chunks.
_SIZES: BoundedLru[str, int] = BoundedLru(10_000)


def package_stream(
    request: Request, facts: PackageFacts, batch_id: str, start: int = 0, end: int | None = None, sizing: bool = False
) -> Generator[Piece, None, int]:
    """The ZIP's bytes (see ``stream_zip``); ``facts.known`` carries what one pass learnt to the next."""
    render = _renderers(request, batch_id)
    when = facts.submitted_at.astimezone(BEIJING).replace(tzinfo=None)
    total = yield from stream_zip(
        members(facts, render, blob_store_of(request.app), checksum_store_of(request.app)),
        when,
        start,
        end,
        sizing=sizing,
    )
    if start == 0 and end is None:  # the whole archive: its length
        _SIZES.put(facts.receipt_digest, total)
    return total


@cache
def map_large_pieces() -> None:
    """Have glibc map and unmap each piece of 256 KiB or more. The pieces are read in worker threads and
    freed on the event loop; kept in the threads' arenas instead, they grew a server by ~100 MiB over a
    1.5 GB download. Elsewhere (another C library) nothing changes."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD (fixed: no dynamic raising)


BATCH = 4 * 1024 * 1024  # pieces pulled from the stream per trip to a worker thread


async def in_batches(stream: Iterator[Piece]) -> AsyncIterator[Piece]:
    """The stream's pieces, pulled in a worker thread (reads, renders and queries block) a few MiB at a
    time: one thread hop per batch rather than per piece, which halved the throughput. The next batch is
    read while the current one is sent (two batches in memory at most)."""

    def pull(limit: int) -> list[Piece]:
        pieces, size = [], 0
        for piece in stream:
            pieces.append(piece)
            size += len(piece)
            if size >= limit:
                break
        return pieces

    loop, context = asyncio.get_running_loop(), contextvars.copy_context()  # the request's (its log id)
    # the first piece goes out alone: the bag's first files, before any document is made
    pieces = await loop.run_in_executor(None, context.run, pull, 1)
    ahead: asyncio.Future[list[Piece]] | None = None
    try:
        while pieces:
            ahead = loop.run_in_executor(None, context.run, pull, BATCH)
            for piece in pieces:
                yield piece
            pieces, ahead = await ahead, None
    finally:
        if ahead is not None:  # the client left: the read under way ends on its own
            ahead.cancel()


def package_size(request: Request, facts: PackageFacts, batch_id: str) -> int:
    known = _SIZES.get(facts.receipt_digest)
    if known is not None:
        return known
    stream = package_stream(request, facts, batch_id, sizing=True)
    while True:
        try:
            next(stream)
        except StopIteration as stop:
            return int(stop.value)


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
    facts = read_facts(session, batch, receipt)
    map_large_pieces()
    headers = {
        **_headers(f'"{receipt.digest}"', f"{receipt.tracking_number}.zip", f"{facts.root}.zip"),
        "Accept-Ranges": "bytes",
    }
    if _none_match(if_none_match, headers["ETag"]):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if range_ and (if_range is None or if_range.strip() == headers["ETag"]):
        total = package_size(request, facts, batch.id)
        wanted = parse_range(range_, total)
        if wanted is unsatisfiable:
            raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{total}"})
        if isinstance(wanted, tuple):
            first, last = wanted
            headers |= {"Content-Range": f"bytes {first}-{last}/{total}", "Content-Length": str(last - first + 1)}
            body = in_batches(package_stream(request, facts, batch.id, first, last))
            return StreamingResponse(body, status.HTTP_206_PARTIAL_CONTENT, headers, "application/zip")
    whole = _SIZES.get(facts.receipt_digest)
    if whole is not None:
        headers["Content-Length"] = str(whole)
    body = in_batches(package_stream(request, facts, batch.id))
    return StreamingResponse(body, headers=headers, media_type="application/zip")
