"""Reading a multipart upload as it arrives: never the whole body in memory, limits enforced while reading.

The body is fed chunk by chunk to python-multipart's push parser. The ``file`` part goes to a
temporary file in the storage directory, hashed (SHA-256) on the way; its first bytes decide at once
whether it can be an allowed type. A ``Content-Length`` that announces too much, or a running count
that passes the limit, ends the request with 413 without reading the rest.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from app.attachments import sniff
from app.attachments.errors import MalformedMultipart, upload_too_large
from app.attachments.file_sink import FileSink, ReceivedFile, UploadLimits
from app.core.errors import AppError, FieldError, UnsupportedMediaType, ValidationFailed
from app.core.i18n import Text

__all__ = [
    "FORM_OVERHEAD_BYTES",
    "MAX_DESCRIPTION_CHARS",
    "ReceivedFile",
    "ReceivedForm",
    "UploadLimits",
    "receive_upload",
]

# Room for the boundaries, the part headers and the small fields around the file.
FORM_OVERHEAD_BYTES = 64 * 1024
MAX_DESCRIPTION_CHARS = 500
_FIELD_MAX_BYTES = {"kind": 64, "description": MAX_DESCRIPTION_CHARS * 4}
_MAX_PARTS = 8


@dataclass
class ReceivedForm:
    file: ReceivedFile | None = None
    fields: dict[str, str] = field(default_factory=dict)


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


class _Parts:
    """The push parser's callbacks, turned into a list of events the reader handles after each chunk."""

    def __init__(self, boundary: bytes) -> None:
        self.events: list[tuple[str, Any]] = []
        self.headers: dict[bytes, bytes] = {}
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self.headers.clear,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": lambda: self.events.append(("end", None)),
                "on_end": lambda: self.events.append(("done", None)),
            },
            max_header_count=8,
            max_header_size=8 * 1024,
        )

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name.extend(data[start:end])

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value.extend(data[start:end])

    def _on_header_end(self) -> None:
        self.headers[bytes(self.header_name).lower()] = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def _on_headers_finished(self) -> None:
        self.events.append(("start", dict(self.headers)))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        # The chunk itself, or a view of it: immutable bytes, safe to hand to the threads uncopied.
        self.events.append(("data", data if start == 0 and end == len(data) else memoryview(data)[start:end]))

    def feed(self, chunk: bytes) -> list[tuple[str, Any]]:
        """The events of one more chunk of the body."""
        self.events.clear()
        try:
            self.parser.write(chunk)
        except MultipartParseError as exc:
            raise MalformedMultipart(Text("multipart 请求体格式错误", "Malformed multipart body")) from exc
        return self.events


class _Reader:
    """What the parts of one upload have given so far: the form, the file on its way, the field being read."""

    def __init__(self, temp_dir: Path, limits: UploadLimits, on_field: Callable[[str, str], None]) -> None:
        self.temp_dir, self.limits, self.on_field = temp_dir, limits, on_field
        self.form = ReceivedForm()
        self.sink: FileSink | None = None
        self.current: str | None = None  # name of the part being read; "" for a part that is ignored
        self.value = bytearray()
        self.parts = 0
        self.complete = False

    async def handle(self, event: str, data: Any) -> None:
        if event == "data":
            await self._data(data)
        elif event == "start":
            await self._start(data)
        elif event == "end":
            await self._end()
        elif event == "done":
            self.complete = True

    async def _data(self, data: Any) -> None:
        if self.current == "file":
            assert self.sink is not None
            await self.sink.add(data)
        elif self.current:
            self.value += data
            if len(self.value) > _FIELD_MAX_BYTES[self.current]:
                raise _field_too_long(self.current)

    async def _start(self, part_headers: dict[bytes, bytes]) -> None:
        self.parts += 1
        if self.parts > _MAX_PARTS:
            raise MalformedMultipart(Text("multipart 部分过多", "Too many multipart parts"))
        self.current = _part_name(part_headers)
        self.value.clear()
        if self.current == "file":
            if self.sink is not None or self.form.file is not None:
                raise _only_one_file()
            self.sink = FileSink(self.temp_dir, _filename(part_headers), self.limits)
            await run_in_threadpool(self.sink.open)

    async def _end(self) -> None:
        if self.current == "file":
            assert self.sink is not None
            self.form.file = await self.sink.finish()
            self.sink = None
        elif self.current:
            text = _decode_field(self.current, bytes(self.value))
            self.form.fields[self.current] = text
            self.on_field(self.current, text)
        self.current = None

    async def discard(self) -> None:
        if self.sink is not None:
            await self.sink.discard()
        if self.form.file is not None:  # complete, then something after it was wrong
            await run_in_threadpool(self.form.file.temp_path.unlink, True)  # off the loop: a large file takes a while


async def _next_chunk(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None
    except ClientDisconnect:
        # A flaky link, not a fault of ours: no stack trace, the partial file goes.
        raise MalformedMultipart(Text("上传中断，请重新上传", "The upload was interrupted; send it again")) from None


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

    parts = _Parts(boundary)
    reader = _Reader(temp_dir, limits, on_field)
    received = 0
    chunks = request.stream()
    try:
        while (chunk := await _next_chunk(chunks)) is not None:
            received += len(chunk)
            if received > body_limit:
                raise upload_too_large(limits)
            for event, data in parts.feed(chunk):
                await reader.handle(event, data)
        if not reader.complete:
            raise MalformedMultipart(Text("multipart 请求体不完整", "Incomplete multipart body"))
    except BaseException:
        await reader.discard()
        raise
    return reader.form


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
