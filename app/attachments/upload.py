"""Reading a multipart upload as it arrives: never the whole body in memory, limits enforced while reading.

The body is fed chunk by chunk to python-multipart's push parser. The ``file`` part goes to a
temporary file in the storage directory, hashed (SHA-256) on the way; its first bytes decide at once
whether it can be an allowed type. A ``Content-Length`` that announces too much, or a running count
that passes the limit, ends the request with 413 without reading the rest.
"""

import asyncio
import hashlib
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from app.attachments import sniff
from app.attachments.blobstore import new_key
from app.attachments.errors import MalformedMultipart, upload_too_large
from app.core.errors import AppError, FieldError, UnsupportedMediaType, ValidationFailed
from app.core.i18n import Text

# A received chunk, or a slice of one (never copied).
Buffer = bytes | memoryview

# Room for the boundaries, the part headers and the small fields around the file.
FORM_OVERHEAD_BYTES = 64 * 1024
# Bytes of the file handed at once to the threads that hash and write it.
BATCH_BYTES = 2 * 1024 * 1024
# At most this much of the file waits in memory for those threads (then reading pauses).
MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024
try:
    _IOV_MAX = max(16, os.sysconf("SC_IOV_MAX"))  # buffers per writev (POSIX: at least 16)
except (ValueError, OSError):
    _IOV_MAX = 16
MAX_DESCRIPTION_CHARS = 500
_FIELD_MAX_BYTES = {"kind": 64, "description": MAX_DESCRIPTION_CHARS * 4}
_MAX_PARTS = 8


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


@dataclass
class ReceivedForm:
    file: ReceivedFile | None = None
    fields: dict[str, str] = field(default_factory=dict)


_NOT_ALLOWED = Text(
    "文件内容不是允许的类型（{allowed}），或与扩展名不符",
    "The file's content is not an allowed type ({allowed}) or does not match its extension",
)


def _not_allowed(limits: UploadLimits) -> AppError:
    allowed = ", ".join(sorted(limits.allowed_types))
    return UnsupportedMediaType(
        _NOT_ALLOWED, allowed=allowed, extra={"reason": "type_mismatch", "allowed_types": sorted(limits.allowed_types)}
    )


class _FileSink:
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


def _boundary(request: Request) -> bytes:
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data":
        raise UnsupportedMediaType(
            Text("请求体应为 multipart/form-data", "The request body must be multipart/form-data")
        )
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 70:
        raise MalformedMultipart(Text("multipart 分隔符缺失或无效", "Missing or invalid multipart boundary"))
    return boundary


def _content_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    if not raw.isdigit():
        raise MalformedMultipart(Text("Content-Length 无效", "Invalid Content-Length"))
    return int(raw)


async def receive_upload(
    request: Request, temp_dir: Path, limits: UploadLimits, on_field: Callable[[str, str], None]
) -> ReceivedForm:
    """Parse the multipart body of ``request``: the ``file`` part into a temporary file, small fields
    into memory. ``on_field(name, value)`` sees each small field as soon as it is complete (so a
    ``kind`` sent before the file is checked before the file is read). The caller owns the
    temporary file of the result; on any error it is removed here.
    """
    boundary = _boundary(request)
    body_limit = limits.file_bytes + FORM_OVERHEAD_BYTES
    announced = _content_length(request)
    if announced is not None and announced > body_limit:
        raise upload_too_large(limits)

    events: list[tuple[str, Any]] = []
    headers: dict[bytes, bytes] = {}
    header_name = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        headers.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers[bytes(header_name).lower()] = bytes(header_value)
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        events.append(("start", dict(headers)))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        # The chunk itself, or a view of it: immutable bytes, safe to hand to the threads uncopied.
        events.append(("data", data if start == 0 and end == len(data) else memoryview(data)[start:end]))

    def on_part_end() -> None:
        events.append(("end", None))

    def on_end() -> None:
        events.append(("done", None))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
        max_header_count=8,
        max_header_size=8 * 1024,
    )

    form = ReceivedForm()
    sink: _FileSink | None = None
    current: str | None = None  # name of the part being read; "" for a part that is ignored
    value = bytearray()
    parts = 0
    received = 0
    complete = False
    chunks = request.stream()
    try:
        while True:
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                break
            except ClientDisconnect:
                # A flaky link, not a fault of ours: no stack trace, the partial file goes.
                raise MalformedMultipart(
                    Text("上传中断，请重新上传", "The upload was interrupted; send it again")
                ) from None
            received += len(chunk)
            if received > body_limit:
                raise upload_too_large(limits)
            try:
                parser.write(chunk)
            except MultipartParseError as exc:
                raise MalformedMultipart(Text("multipart 请求体格式错误", "Malformed multipart body")) from exc
            for event, data in events:
                if event == "data":
                    if current == "file":
                        assert sink is not None
                        await sink.add(data)
                    elif current:
                        value += data
                        if len(value) > _FIELD_MAX_BYTES[current]:
                            raise _field_too_long(current)
                elif event == "start":
                    parts += 1
                    if parts > _MAX_PARTS:
                        raise MalformedMultipart(Text("multipart 部分过多", "Too many multipart parts"))
                    current = _part_name(data)
                    value.clear()
                    if current == "file":
                        if sink is not None or form.file is not None:
                            raise _only_one_file()
                        sink = _FileSink(temp_dir, _filename(data), limits)
                        await run_in_threadpool(sink.open)
                elif event == "end":
                    if current == "file":
                        assert sink is not None
                        form.file = await sink.finish()
                        sink = None
                    elif current:
                        text = _decode_field(current, bytes(value))
                        form.fields[current] = text
                        on_field(current, text)
                    current = None
                elif event == "done":
                    complete = True
            events.clear()
        if not complete:
            raise MalformedMultipart(Text("multipart 请求体不完整", "Incomplete multipart body"))
    except BaseException:
        if sink is not None:
            await sink.discard()
        if form.file is not None:  # complete, then something after it was wrong
            await run_in_threadpool(form.file.temp_path.unlink, True)  # off the loop: a large file takes a while
        raise
    return form


def _part_name(part_headers: dict[bytes, bytes]) -> str:
    disposition, params = parse_options_header(part_headers.get(b"content-disposition", b""))
    if disposition != b"form-data":
        raise MalformedMultipart(Text("multipart 部分缺少 Content-Disposition", "A part lacks Content-Disposition"))
    name = params.get(b"name", b"").decode("latin-1")
    return name if name == "file" or name in _FIELD_MAX_BYTES else ""


def _filename(part_headers: dict[bytes, bytes]) -> str:
    _, params = parse_options_header(part_headers.get(b"content-disposition", b""))
    raw = params.get(b"filename", b"").decode("utf-8", errors="replace")
    return sniff.sanitize_filename(raw)


def _decode_field(name: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            errors=[FieldError(f"/{name}", "invalid_encoding", Text("应为 UTF-8 文本", "Must be UTF-8 text"))]
        ) from exc


def _field_too_long(name: str) -> AppError:
    return ValidationFailed(errors=[FieldError(f"/{name}", "too_long", Text("长度超过上限", "Too long"))])


def _only_one_file() -> AppError:
    return ValidationFailed(
        errors=[FieldError("/file", "too_many_files", Text("每个请求只能上传一个文件", "One file per request"))]
    )
