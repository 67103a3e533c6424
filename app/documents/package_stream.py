"""The electronic copy's bytes as they stream: made from the list's documents on a first pass, replayed
from a kept archive map after it, pulled in worker threads a batch at a time."""

import asyncio
import contextlib
import contextvars
import ctypes
import hashlib
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from functools import cache

from fastapi import Request

from app.applications.models import Application
from app.attachments.blobstore import blob_store_of
from app.batches.models import Batch
from app.core.clock import BEIJING
from app.documents import sheets
from app.documents.archive_map import ArchiveMap
from app.documents.facts import gather
from app.documents.form import printed_form
from app.documents.form_cache import form_files
from app.documents.list_file import list_file, request_fonts
from app.documents.package import (
    PackageFacts,
    Renderers,
    checksum_store_of,
    members,
    reader_of,
)
from app.documents.package_maps import (
    KeptPackage,
    package_caches,
)
from app.documents.pdf import render_form
from app.documents.router import _footer, _rows
from app.documents.zipstream import Piece, Reader, Stored, stream_zip
from app.fonts.faces import FormFonts


@dataclass
class Used:
    """What a pass over the package printed with: the faces, and the stored forms it sent."""

    fonts: set[str] = field(default_factory=set)
    forms: list[str] = field(default_factory=list)


def renderers(request: Request, batch_id: str, used: Used) -> Renderers:
    """The bag's documents, each read on a short read transaction of its own when the stream reaches it.
    The fonts are looked up when a document needs them, not before the first bytes (loading them takes a
    second or more the first time in a process)."""
    database, files = request.app.state.database, form_files(request.app)
    read_form = reader_of(files.store)

    def fonts() -> FormFonts:
        chosen = request_fonts(request)
        used.fonts.add(chosen.fingerprint)
        return chosen

    def list_pdf() -> bytes:
        with database.reader() as s:
            batch = s.get(Batch, batch_id)
            assert batch is not None
            return list_file(s, batch, None, request, fonts())[0]

    def list_xlsx() -> bytes:
        with database.reader() as s:
            batch = s.get(Batch, batch_id)
            assert batch is not None
            title, rows = _rows(s, batch, None)  # type: ignore[arg-type]  # None: the whole list as submitted
            footer = _footer(s, batch)
        # the workbook follows from what it prints: made again only when that changed
        key = hashlib.sha256(repr((title, rows, footer, batch.submitted_at)).encode()).hexdigest()
        content = package_caches(request.app).sheets.get(key)
        if content is None:
            content = sheets.fixed_times(sheets.to_xlsx(title, rows, footer), batch.submitted_at)
            package_caches(request.app).sheets.put(key, content)
        return content

    def form_pdf(submitted: Application) -> tuple[bytes, str, Reader]:
        """The stored form of the application as the request read it (frozen: its content does not move),
        named by a stamp read now; rendered from the application read again when not stored yet."""
        faces = fonts()
        with database.reader() as s:
            stamp = files.render_stamp(s.connection(), submitted, faces)
            # not kept at hand: the list's forms, read once each, would push out the ones printed lately
            content = files.kept(stamp) or files.cached(stamp, at_hand=False)
            if content is None:
                application = s.get(Application, submitted.id)
                assert application is not None and application.content_digest is not None
                stamp = files.render_stamp(s.connection(), application, faces)
                content = render_form(printed_form(gather(s, application)), faces)
                files.keep(stamp, content, at_hand=False)
        key = stamp[:32]  # the form store's key of a stamp (``FormFiles.keep``)
        used.forms.append(key)
        return content, stamp, read_form(key)

    return Renderers(list_pdf, list_xlsx, form_pdf)


@dataclass(frozen=True, slots=True)
class Keeping:
    """A whole pass to keep as an archive map: under which key, with the token read before it began."""

    key: tuple[str, str]
    token: str
    organizations: tuple[str, ...]


def package_stream(
    request: Request,
    facts: PackageFacts,
    batch_id: str,
    start: int = 0,
    end: int | None = None,
    sizing: bool = False,
    keeping: Keeping | None = None,
) -> Generator[Piece, None, int]:
    """The ZIP's bytes (see ``stream_zip``); ``facts.known`` carries what one pass learnt to the next. A
    whole pass with ``keeping`` leaves its archive map behind for the downloads after it."""
    used = Used()
    render = renderers(request, batch_id, used)
    when = facts.submitted_at.astimezone(BEIJING).replace(tzinfo=None)
    runs: list[bytearray | Stored] | None = [] if keeping is not None else None
    total = yield from stream_zip(
        members(facts, render, blob_store_of(request.app), checksum_store_of(request.app)),
        when,
        start,
        end,
        sizing=sizing,
        runs=runs,
    )
    if start == 0 and end is None:  # the whole archive: its length
        package_caches(request.app).sizes.put(facts.receipt_digest, total)
    if keeping is not None and runs is not None and len(used.fonts) == 1:  # not when the faces changed midway
        kept = KeptPackage(
            ArchiveMap.of(runs), keeping.token, used.fonts.pop(), keeping.organizations, tuple(used.forms)
        )
        package_caches(request.app).maps.put(keeping.key, kept)
    return total


def replay(request: Request, key: tuple[str, str], archive: ArchiveMap, start: int, end: int | None) -> Iterator[Piece]:
    """A kept map's bytes; a map whose stored file is gone is dropped (the next request makes it again)."""
    try:
        yield from archive.pieces(start, end)
    except Exception:
        package_caches(request.app).maps.pop(key)
        raise


@cache
def map_large_pieces() -> None:
    """Have glibc map and unmap each piece of 256 KiB or more. The pieces are read in worker threads and
    freed on the event loop; kept in the threads' arenas instead, they grew a server by ~100 MiB over a
    1.5 GB download. Elsewhere (another C library) nothing changes."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD (fixed: no dynamic raising)


# Pieces pulled from the stream per trip to a worker thread. A package being made holds its documents'
# bytes in a batch; a kept map's batch is mostly views of files (page cache, mapped), so it goes in larger
# batches: fewer trips, and the mapping of the next files overlaps the sending of the last (+15%).
BATCH = 4 * 1024 * 1024
MAPPED_BATCH = 16 * 1024 * 1024


async def in_batches(stream: Iterator[Piece], batch: int = BATCH) -> AsyncIterator[Piece]:
    """The stream's pieces, pulled in a worker thread (reads, renders and queries block) ``batch`` bytes
    at a time: one thread hop per batch rather than per piece, which halved the throughput. The next batch
    is read while the current one is sent (two batches in memory at most)."""

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
            ahead = loop.run_in_executor(None, context.run, pull, batch)
            for piece in pieces:
                yield piece
            pieces, ahead = await ahead, None
    finally:
        if ahead is not None:  # the client left: the read under way ends on its own
            ahead.cancel()


def package_size(request: Request, facts: PackageFacts, batch_id: str) -> int:
    known = package_caches(request.app).sizes.get(facts.receipt_digest)
    if known is not None:
        return known
    stream = package_stream(request, facts, batch_id, sizing=True)
    while True:
        try:
            next(stream)
        except StopIteration as stop:
            return int(stop.value)
