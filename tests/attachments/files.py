"""Files for the tests: real PDFs (one page, none, encrypted, very large), office packages, images, impostors."""

import hashlib
import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator

from PIL import Image
from pypdf import PdfWriter

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(248)


def image(file_type: str = "png", size: tuple[int, int] = (64, 48)) -> bytes:
    """A real picture that decodes whole (a gradient, so JPEG has something to compress)."""
    picture = Image.linear_gradient("L").resize(size).convert("RGB")
    out = io.BytesIO()
    picture.save(out, format=file_type.upper())
    return out.getvalue()


PNG = image("png")
JPEG = image("jpeg")
# Impostors: the first bytes of an image, something else behind them.
PNG_HEADER_HTML = b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(document.cookie)</script></html>" * 4
JPEG_HEADER_HTML = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"<html><body>not a picture</body></html>" * 4


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` pixels (a decompression bomb's shape)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def pdf(pages: int = 1, password: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_package(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def docx() -> bytes:
    return zip_package({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def xlsx() -> bytes:
    return zip_package({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})


def ofd() -> bytes:
    return zip_package({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<ofd:Document/>"})


def plain_zip() -> bytes:
    return zip_package({"readme.txt": b"hello", "payload.bin": b"\x00" * 10})


class BigPdf:
    """A valid one-page PDF of ``size`` bytes, produced in chunks (never whole in memory)."""

    def __init__(self, size: int, chunk: int = 1024 * 1024) -> None:
        head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        objects = [
            b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
            b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n",
            b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>\nendobj\n",
        ]
        offsets, pos = [], len(head)
        for obj in objects:
            offsets.append(pos)
            pos += len(obj)
        offsets.append(pos)

        # Everything but the stream data has a fixed size; solve for the stream length.
        def tail_for(stream_len: int) -> tuple[bytes, bytes]:
            stream_head = b"4 0 obj\n<< /Length %d >>\nstream\n" % stream_len
            xref_at = pos + len(stream_head) + stream_len + len(b"\nendstream\nendobj\n")
            xref = b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
            trailer = b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref_at
            return stream_head, b"\nendstream\nendobj\n" + xref + trailer

        stream_len = size
        for _ in range(3):
            stream_head, tail = tail_for(stream_len)
            stream_len = size - len(head) - sum(map(len, objects)) - len(stream_head) - len(tail)
        stream_head, tail = tail_for(stream_len)
        self.prefix = head + b"".join(objects) + stream_head
        self.suffix = tail
        self.stream_len = stream_len
        self.chunk = chunk
        self.block = os.urandom(chunk)
        self.size = len(self.prefix) + stream_len + len(self.suffix)
        digest = hashlib.sha256()
        for part in self.chunks():
            digest.update(part)
        self.sha256 = digest.hexdigest()

    def chunks(self) -> Iterator[bytes]:
        yield self.prefix
        left = self.stream_len
        while left > 0:
            n = min(self.chunk, left)
            yield self.block[:n]
            left -= n
        yield self.suffix


def multipart(
    boundary: str,
    fields: list[tuple[str, str]],
    filename: str,
    content: Iterator[bytes] | bytes,
    content_type: str = "application/octet-stream",
    fields_after: list[tuple[str, str]] | None = None,
) -> Iterator[bytes]:
    """A multipart/form-data body, as chunks, the way a browser encodes it (raw UTF-8 names)."""

    def field(name: str, value: str) -> bytes:
        return (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n').encode()

    for name, value in fields:
        yield field(name, value)
    quoted = filename.replace("\\", "\\\\").replace('"', "%22")
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    if isinstance(content, bytes):
        yield content
    else:
        yield from content
    yield b"\r\n"
    for name, value in fields_after or []:
        yield field(name, value)
    yield f"--{boundary}--\r\n".encode()


class Counting:
    """Wraps a body's chunks and counts what the server consumed."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.consumed = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.consumed += len(chunk)
            yield chunk

    async def stream(self):  # type: ignore[no-untyped-def]
        for chunk in self.chunks:
            self.consumed += len(chunk)
            yield chunk
