"""The ``file`` part of an upload on its way to disk: hashed and written off the event loop, size-limited,
its first bytes judged against the allowed types (``app.attachments.upload`` feeds it)."""

import asyncio
import hashlib
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from app.attachments import sniff
from app.attachments.blobstore import new_key
from app.attachments.errors import upload_too_large
from app.core.errors import AppError, UnsupportedMediaType
from app.core.i18n import Text

# A received chunk, or a slice of one (never copied).
Buffer = bytes | memoryview

# Bytes of the file handed at once to the threads that hash and write it.
BATCH_BYTES = 2 * 1024 * 1024
# At most this much of the file waits in memory for those threads (then reading pauses).
MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024
try:
    _IOV_MAX = max(16, os.sysconf("SC_IOV_MAX"))  # buffers per writev (POSIX: at least 16)
except (ValueError, OSError):
    _IOV_MAX = 16


@dataclass
class UploadLimits:
    file_bytes: int  # the largest file this request may carry
    per_file_bytes: int  # the per-file setting (to tell the client which limit bit)
    allowed_types: frozenset[str]


@dataclass
class ReceivedFile:
    temp_path: Path
    filename: str
    extension: str | None
    head_kind: str
    size: int
    sha256: str


_NOT_ALLOWED = Text(
    "文件内容不是允许的类型（{allowed}），或与扩展名不符",
    "The file's content is not an allowed type ({allowed}) or does not match its extension",
)


def _not_allowed(limits: UploadLimits) -> AppError:
    allowed = ", ".join(sorted(limits.allowed_types))
    return UnsupportedMediaType(
        _NOT_ALLOWED, allowed=allowed, extra={"reason": "type_mismatch", "allowed_types": sorted(limits.allowed_types)}
    )


class FileSink:
    """The temporary file of the ``file`` part: hashed and written off the event loop, size limit.

    The received chunks are not copied: batches of them go to two threads of this upload, one
    hashing (SHA-256 cannot be split, so it alone sets the pace; hashlib lets go of the GIL while
    it digests) and one writing with ``os.writev``; one fsync at the end makes the file durable (syncing
    as it went made each write wait for the disk, and the kernel writes back dirty pages meanwhile anyway). At most ``MAX_IN_FLIGHT_BYTES`` wait for either; beyond that the request
    stops reading until they catch up. A file smaller than one batch takes one trip to a thread.
    """

    def __init__(self, temp_dir: Path, filename: str, limits: UploadLimits) -> None:
        self.path = temp_dir / f"{new_key()}.part"
        self.filename = filename
        self.extension = sniff.extension_of(filename)
        self.limits = limits
        self.candidates = limits.allowed_types & sniff.types_for_extension(self.extension)
        if not self.candidates:
            raise _not_allowed(limits)
        self.hash = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.head_kind: str | None = None
        self.pending: list[Buffer] = []
        self.pending_bytes = 0
        self.fd: int | None = None
        self.written = 0  # touched by the writing thread only
        self.lanes: tuple[ThreadPoolExecutor, ThreadPoolExecutor] | None = None  # (hashing, writing)
        self.in_flight: deque[tuple[int, Future[None], Future[None]]] = deque()
        self.in_flight_bytes = 0

    def open(self) -> None:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

    def _judge_head(self) -> None:
        kind = sniff.sniff_head(self.head)
        fits = kind is not None and (kind in self.candidates or (kind == "zip" and self.candidates & sniff.ZIP_TYPES))
        if not fits:
            raise _not_allowed(self.limits)
        self.head_kind = kind

    # --- in the threads ---

    def _hash(self, batch: list[Buffer]) -> None:
        for data in batch:
            self.hash.update(data)

    def _write(self, batch: list[Buffer]) -> None:
        assert self.fd is not None
        views = [memoryview(data) for data in batch]
        while views:
            written = os.writev(self.fd, views[:_IOV_MAX])
            self.written += written
            while views and written >= len(views[0]):
                written -= len(views.pop(0))
            if written:
                views[0] = views[0][written:]

    def _close(self) -> None:
        assert self.fd is not None
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = None

    def _whole(self, batch: list[Buffer]) -> None:
        self._hash(batch)
        self._write(batch)
        self._close()

    # --- on the event loop ---

    async def add(self, data: Buffer) -> None:
        self.size += len(data)
        if self.size > self.limits.file_bytes:
            raise upload_too_large(self.limits)
        if self.head_kind is None:
            self.head += bytes(data[: sniff.HEAD_BYTES - len(self.head)])
            if len(self.head) >= sniff.HEAD_BYTES:
                self._judge_head()
        self.pending.append(data)
        self.pending_bytes += len(data)
        if self.pending_bytes >= BATCH_BYTES:
            self._dispatch()
            await self._settle(MAX_IN_FLIGHT_BYTES)

    def _dispatch(self) -> None:
        batch, nbytes = self.pending, self.pending_bytes
        self.pending, self.pending_bytes = [], 0
        if self.lanes is None:
            self.lanes = (ThreadPoolExecutor(1, "smps-upload-hash"), ThreadPoolExecutor(1, "smps-upload-write"))
        hashing, writing = self.lanes
        self.in_flight.append((nbytes, hashing.submit(self._hash, batch), writing.submit(self._write, batch)))
        self.in_flight_bytes += nbytes

    async def _settle(self, limit: int) -> None:
        """Forget the batches both threads are done with; wait while more than ``limit`` bytes are held."""
        while self.in_flight:
            nbytes, hashed, written = self.in_flight[0]
            if self.in_flight_bytes > limit or limit == 0:
                for job in (hashed, written):
                    if not job.done():
                        await asyncio.wrap_future(job)
            elif not (hashed.done() and written.done()):
                return
            hashed.result()
            written.result()  # a failed write (a full disk) ends the request here
            self.in_flight.popleft()
            self.in_flight_bytes -= nbytes

    async def finish(self) -> ReceivedFile:
        if self.size == 0:
            raise UnsupportedMediaType(Text("文件为空", "The file is empty"), extra={"reason": "empty_file"})
        if self.head_kind is None:
            self._judge_head()
        if self.lanes is None:
            batch, self.pending, self.pending_bytes = self.pending, [], 0
            await run_in_threadpool(self._whole, batch)
        else:
            if self.pending:
                self._dispatch()
            closed = self.lanes[1].submit(self._close)
            await self._settle(0)
            await asyncio.wrap_future(closed)
            self._stop_lanes()
        assert self.head_kind is not None
        return ReceivedFile(self.path, self.filename, self.extension, self.head_kind, self.size, self.hash.hexdigest())

    def _stop_lanes(self) -> None:
        if self.lanes is not None:
            for lane in self.lanes:
                lane.shutdown(wait=False)
            self.lanes = None

    async def discard(self) -> None:
        self.pending = []
        lanes, self.lanes = self.lanes, None
        self.in_flight.clear()
        await run_in_threadpool(self._discard, lanes)

    def _discard(self, lanes: tuple[ThreadPoolExecutor, ThreadPoolExecutor] | None) -> None:
        if lanes is not None:
            for lane in lanes:  # let the threads finish with the descriptor first
                lane.shutdown(wait=True, cancel_futures=True)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.path.unlink(missing_ok=True)
