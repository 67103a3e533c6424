"""What a file is, judged by its bytes: PDF, OFD, DOCX, XLSX, JPEG, PNG — and nothing else.

The first bytes tell PDF, JPEG, PNG and ZIP apart as soon as they arrive, so anything else is
refused before the rest is read. The ZIP-based formats (OFD, DOCX, XLSX) are told apart by their
central directory once the file is complete; a PDF must open, not be encrypted, and have pages; a
PNG or JPEG must decode to its last pixel (Pillow), within a pixel limit. Nothing may follow a file's
end marker (a PNG's IEND chunk, a JPEG's EOI, a PDF's last ``%%EOF`` but whitespace): a picture with an
HTML page or a ZIP behind it is refused (``trailing_data``), not trimmed — what is stored is what the
client sent, byte for byte, or nothing.
"""

import mmap
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

# The extensions a client may use for each type.
EXTENSIONS: dict[str, frozenset[str]] = {
    "pdf": frozenset({"pdf"}),
    "ofd": frozenset({"ofd"}),
    "docx": frozenset({"docx"}),
    "xlsx": frozenset({"xlsx"}),
    "jpeg": frozenset({"jpg", "jpeg"}),
    "png": frozenset({"png"}),
}
MediaType = Literal[
    "application/pdf",
    "application/ofd",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "image/jpeg",
    "image/png",
]
MEDIA_TYPES: dict[str, MediaType] = {
    "pdf": "application/pdf",
    "ofd": "application/ofd",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jpeg": "image/jpeg",
    "png": "image/png",
}
ZIP_TYPES = frozenset({"ofd", "docx", "xlsx"})

# Enough of the head of a file to recognise it.
HEAD_BYTES = 8
_MAGIC: list[tuple[bytes, str]] = [
    (b"%PDF-", "pdf"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"PK\x03\x04", "zip"),
]
# Office files and OFD packages have tens to a few thousand entries; refuse zips built to exhaust memory.
_MAX_ZIP_ENTRIES = 20_000
# A PDF with a broken cross-reference table makes pypdf read the whole file to rebuild it; allow
# that leniency only for files of a size that is harmless to hold in memory.
_LENIENT_PDF_MAX_BYTES = 64 * 1024 * 1024
MAX_FILENAME_CHARS = 200
# Decoding holds the whole picture in memory (3-4 bytes a pixel): 50 megapixels is an A4 page scanned
# at 700 dpi or a phone's best photo. Below Pillow's own bomb threshold (about 89 MP), so its warning
# never fires for an image this check lets through.
MAX_IMAGE_PIXELS = 50_000_000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What may follow a PDF's last %%EOF: line ends and other white space (PDF 32000-1 §7.2.2).
_PDF_WHITESPACE = b" \t\r\n\x00\x0c"
_PDF_TAIL_BYTES = 1024


class Refused(Exception):
    """The content is not acceptable; ``code`` says why."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


def sniff_head(head: bytes) -> str | None:
    """``pdf``, ``jpeg``, ``png``, ``zip`` (to be resolved later) or None, from the first bytes."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None


def extension_of(filename: str) -> str | None:
    stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and stem and ext else None


def types_for_extension(ext: str | None) -> frozenset[str]:
    """Types a file with this extension may be; every type when there is no extension."""
    if ext is None:
        return frozenset(EXTENSIONS)
    return frozenset(t for t, exts in EXTENSIONS.items() if ext in exts)


def _zip_entry_count(fh: BinaryIO) -> int:
    """Number of entries announced by the end-of-central-directory record, without reading the directory."""
    fh.seek(0, 2)
    size = fh.tell()
    tail_len = min(size, 22 + 65535)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise Refused("not_a_document_archive")
    (entries,) = struct.unpack("<H", tail[at + 10 : at + 12])
    return int(entries)


def resolve_zip(path: Path) -> str:
    """``ofd``, ``docx`` or ``xlsx`` for a ZIP that is one of them; any other archive is refused."""
    try:
        with path.open("rb") as fh:
            if _zip_entry_count(fh) >= min(_MAX_ZIP_ENTRIES, 0xFFFF):
                raise Refused("not_a_document_archive")
            with zipfile.ZipFile(fh) as archive:
                names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise Refused("not_a_document_archive") from exc
    if "OFD.xml" in names:
        return "ofd"
    if "[Content_Types].xml" in names:
        if any(n.startswith("word/") for n in names):
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
    raise Refused("not_a_document_archive")


def check_pdf(path: Path, size: int) -> None:
    """Refuse a PDF that does not open, is encrypted, or has no pages."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        with path.open("rb") as fh:
            reader = PdfReader(fh, strict=size > _LENIENT_PDF_MAX_BYTES)
            if reader.is_encrypted:
                raise Refused("encrypted_pdf")
            pages = len(reader.pages)
    except Refused:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError) as exc:
        raise Refused("unreadable_pdf") from exc
    if pages == 0:
        raise Refused("pdf_without_pages")
    _check_pdf_tail(path, size)


def _check_pdf_tail(path: Path, size: int) -> None:
    """Only white space after the last ``%%EOF`` (an incremental update's own ``%%EOF`` comes last)."""
    with path.open("rb") as fh:
        fh.seek(max(0, size - _PDF_TAIL_BYTES))
        tail = fh.read()
    at = tail.rfind(b"%%EOF")
    if at < 0 or tail[at + 5 :].strip(_PDF_WHITESPACE):
        raise Refused("trailing_data")


def _png_end(data: mmap.mmap) -> int:
    """The offset just past the IEND chunk, walking the chunks from the signature."""
    if not data[:8] == _PNG_SIGNATURE:
        raise Refused("unreadable_image")
    at = 8
    while at + 12 <= len(data):
        length: int = struct.unpack_from(">I", data, at)[0]
        kind = data[at + 4 : at + 8]
        at += 12 + length
        if kind == b"IEND":
            return at
    raise Refused("unreadable_image")


def _jpeg_end(data: mmap.mmap) -> int:
    """The offset just past the EOI marker, walking the segments and the entropy-coded scans from SOI."""
    at, size = 2, len(data)
    while at < size:
        if data[at] != 0xFF:
            raise Refused("unreadable_image")
        while at < size and data[at] == 0xFF:  # fill bytes
            at += 1
        if at >= size:
            break
        marker = data[at]
        at += 1
        if marker == 0xD9:
            return at
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue  # standalone markers
        if at + 2 > size:
            break
        (length,) = struct.unpack_from(">H", data, at)
        at += length
        if marker == 0xDA:  # a scan: its coded data runs to the next marker that is not a stuffed 0xFF00 or RSTn
            while True:
                at = data.find(b"\xff", at)
                if at < 0 or at + 1 >= size:
                    raise Refused("unreadable_image")
                follower = data[at + 1]
                if follower != 0x00 and not 0xD0 <= follower <= 0xD7:
                    break
                at += 2
    raise Refused("unreadable_image")


def _check_image_end(path: Path, file_type: str) -> None:
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        end = _png_end(data) if file_type == "png" else _jpeg_end(data)
        if end != len(data):
            raise Refused("trailing_data")


def check_image(path: Path, file_type: str) -> None:
    """Refuse a PNG or JPEG that does not decode whole, or that has more than ``MAX_IMAGE_PIXELS``."""
    from PIL import Image

    formats = ["PNG"] if file_type == "png" else ["JPEG"]
    try:
        with Image.open(path, formats=formats) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise Refused("image_too_large")
            image.verify()  # the structure and, for PNG, every chunk's checksum
        with Image.open(path, formats=formats) as image:
            if file_type == "jpeg":
                # Every scan is still decoded, at an eighth of the size: the check costs little memory.
                image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
        _check_image_end(path, file_type)  # something may hide behind the picture
    except Refused:
        raise
    except Image.DecompressionBombError as exc:
        raise Refused("image_too_large") from exc
    except (
        OSError,
        SyntaxError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        struct.error,
        EOFError,
        MemoryError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise Refused("unreadable_image") from exc


@dataclass(frozen=True, slots=True)
class Detected:
    file_type: str
    media_type: str


def finish(path: Path, head_kind: str, size: int, allowed: frozenset[str]) -> Detected:
    """The type of a complete file whose head was ``head_kind``, if it is among ``allowed``."""
    file_type = resolve_zip(path) if head_kind == "zip" else head_kind
    if file_type not in allowed:
        raise Refused("type_mismatch")
    if file_type == "pdf":
        check_pdf(path, size)
    elif file_type in ("png", "jpeg"):
        check_image(path, file_type)
    return Detected(file_type, MEDIA_TYPES[file_type])


def sanitize_filename(raw: str, *, fallback_ext: str | None = None) -> str:
    """The client's file name as harmless metadata: no directories, no control or bidi characters,
    no leading dots, at most 200 characters (the extension kept); Unicode such as Chinese is kept."""
    name = unicodedata.normalize("NFC", raw)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= 10:
            name = stem[: MAX_FILENAME_CHARS - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:MAX_FILENAME_CHARS].rstrip(" .")
    if not name or name.startswith("."):
        name = "attachment" + (f".{fallback_ext}" if fallback_ext else "")
    return name
