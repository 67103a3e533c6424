"""Download headers: RFC 6266 Content-Disposition with a UTF-8 name, byte ranges (RFC 9110 §14)."""

import re
import unicodedata
from typing import Final
from urllib.parse import quote

from app.attachments.sniff import EXTENSIONS, extension_of

# RFC 8187 attr-char, besides ALPHA and DIGIT (which quote() never escapes).
_ATTR_CHARS = "!#$&+-.^_`|~"
_NOT_TOKEN_SAFE = re.compile(r"[^A-Za-z0-9._()\- ]+")


class _Unsatisfiable:
    pass


unsatisfiable: Final = _Unsatisfiable()


def ascii_fallback(filename: str, file_type: str) -> str:
    """A plain-ASCII name for clients that ignore ``filename*``; ``attachment.<ext>`` when little is left."""
    ext = extension_of(filename)
    stem = filename[: -len(ext) - 1] if ext else filename
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    plain = _NOT_TOKEN_SAFE.sub("_", plain).strip(" ._")
    ext = ext if ext and ext.isascii() and ext.isalnum() else sorted(EXTENSIONS[file_type])[0]
    if not any(ch.isalnum() for ch in plain):
        plain = "attachment"
    return f"{plain}.{ext}"


def content_disposition(filename: str, file_type: str) -> str:
    encoded = quote(filename, safe=_ATTR_CHARS)
    return f"attachment; filename=\"{ascii_fallback(filename, file_type)}\"; filename*=UTF-8''{encoded}"


def download_headers(etag: str, disposition: str) -> dict[str, str]:
    return {
        "ETag": etag,
        "Content-Disposition": disposition,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }


def _digits(text: str) -> bool:
    return text == "" or (text.isascii() and text.isdigit())


def parse_range(header: str, size: int) -> tuple[int, int] | _Unsatisfiable | None:
    """A single ``bytes=`` range as (first, last) inclusive; ``unsatisfiable`` (416); or None to send
    the whole file (a malformed header, another unit or several ranges may be ignored, RFC 9110 §14.2)."""
    unit, eq, spec = header.partition("=")
    if not eq or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not _digits(first) or not _digits(last):
        return None
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            return unsatisfiable
        return max(size - suffix, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return unsatisfiable
    return start, min(int(last), size - 1) if last else size - 1
