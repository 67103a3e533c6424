"""Rendered forms kept in the blob store, so a frozen application's form is typeset once.

The key is a SHA-256 of everything the form prints (:class:`PrintedForm`), the typesetting version and
the font files. The content digest alone would not do: sign-offs, reviews, the receipt number and the
parties' names appear on the form and change after the content is frozen. With the printed text in the
key, a cached file always equals what a fresh render would give, and nothing has to be invalidated: a
new sign-off gives a new key. Files live apart from attachments (``<storage_dir>/forms`` or the
``forms/`` prefix of the bucket), so the attachment sweep never sees them; a superseded form stays
behind, small and bounded by the number of sign-offs, until the directory or prefix is cleared (safe at
any time: forms are rendered again on demand).
"""

import hashlib
import os
import secrets
from pathlib import Path

import orjson
from fastapi import FastAPI

from app.attachments.blobstore import BlobStore, FileSystemBlobStore, S3BlobStore
from app.documents.fonts import FormFonts
from app.documents.form import PrintedForm

# Bump when the typesetting changes, so forms rendered before are not served again.
RENDER_VERSION = 2
FORMS = "forms"


def form_digest(form: PrintedForm, fonts: FormFonts) -> str:
    """The hex SHA-256 naming one rendered form."""
    font_files = [(path, os.stat(path).st_size) for path in fonts.files]
    payload = orjson.dumps({"v": RENDER_VERSION, "fonts": font_files, "form": form})  # orjson writes dataclasses
    return hashlib.sha256(payload).hexdigest()


def form_store_of(app: FastAPI) -> BlobStore:
    """The store of rendered forms, made on first use from the app's settings."""
    store = getattr(app.state, "form_store", None)
    if store is None:
        settings = app.state.settings
        if settings.blob_backend == "s3":
            store = S3BlobStore(settings.model_copy(update={"s3_prefix": f"{settings.s3_prefix}{FORMS}/"}))
        else:
            store = FileSystemBlobStore(Path(settings.storage_dir) / FORMS)
        app.state.form_store = store
    return store


def cached(store: BlobStore, digest: str) -> bytes | None:
    key = digest[:32]
    return b"".join(store.read(key)) if store.exists(key) else None


def keep(store: BlobStore, digest: str, content: bytes) -> None:
    """Store a rendered form durably; two processes storing the same form write the same bytes."""
    temp = store.temp_dir / f"form-{secrets.token_hex(8)}.tmp"  # not *.part: the attachment sweep leaves it
    try:
        with temp.open("wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        store.put(temp, digest[:32])
    finally:
        temp.unlink(missing_ok=True)
