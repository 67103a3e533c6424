"""Rendered forms kept in the blob store, so a frozen application's form is typeset once.

A frozen application's form is named by a cheap *stamp* rather than by its printed text, so a request
that finds its file builds no text at all. The stamp covers everything the form prints: the
application's row (its ``version`` moves with every sign-off, review and batch step, each of which
goes through a compare-and-set), the content digest frozen at submission, the printed columns of
the parties' organizations, the call's version, the latest reviewer's name and the receipt number,
plus the typesetting version, the font files and the time zone the dates are printed in. Two
small queries read it. A cached file therefore always equals what a fresh render would give, and
nothing has to be invalidated: a new sign-off gives a new stamp.

A draft changes with every edit and is rendered each time; its ETag stays the digest of the printed
text (:func:`form_digest`). Files live apart from attachments (``<storage_dir>/forms`` or the
``forms/`` prefix of the bucket), so the attachment sweep never sees them; a superseded form stays
behind, small and bounded by the number of the application's versions, until the directory or prefix
is cleared (safe at any time: forms are rendered again on demand).
"""

import hashlib
import os
import secrets
import time
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import orjson
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import col

from app.accounts.models import User
from app.applications.models import Review
from app.applications.validation import party_list
from app.attachments.blobstore import BlobStore, FileSystemBlobStore, S3BlobStore
from app.batches.models import Batch, BatchItem, BatchState, Receipt
from app.core.fast.select import DirectSelect, Executor
from app.documents.fonts import FormFonts
from app.documents.form import PrintedForm
from app.organizations.models import Organization
from app.reference.models import Call

# Bump when the typesetting changes, so forms rendered before are not served again.
RENDER_VERSION = 3
FORMS = "forms"


@cache
def _font_files(files: tuple[str, ...]) -> list[tuple[str, int]]:
    """The font files and their sizes; a font changes only with a deployment, which restarts the process."""
    return [(path, os.stat(path).st_size) for path in files]


def form_digest(form: PrintedForm, fonts: FormFonts) -> str:
    """The hex SHA-256 of a form's printed text (a draft's ETag)."""
    payload = orjson.dumps({"v": RENDER_VERSION, "fonts": _font_files(tuple(fonts.files)), "form": form})
    return hashlib.sha256(payload).hexdigest()  # orjson writes dataclasses


class FrozenRow(Protocol):
    """What the stamp reads of an application: an ORM object or a row straight from the driver."""

    id: str
    version: int
    content_digest: str | None
    title: str
    state: str
    submitted_at: datetime | None
    updated_at: datetime
    undertaking_org_id: str
    recommender_id: str | None
    call_id: str
    content: dict[str, Any]


_LATEST_REVIEWER = (
    sa.select(col(Review.reviewer_id))
    .where(
        col(Review.application_id) == sa.bindparam("application_id"), col(Review.recommender_id) == sa.bindparam("rec")
    )
    .order_by(col(Review.recorded_at).desc())
    .limit(1)
    .scalar_subquery()
)
_TRACKING = (
    sa.select(col(Receipt.tracking_number))
    .join(Batch, col(Batch.id) == col(Receipt.batch_id))
    .join(BatchItem, col(BatchItem.batch_id) == col(Batch.id))
    .where(
        col(BatchItem.application_id) == sa.bindparam("application_id"),
        sa.or_(col(Batch.state) == BatchState.submitted, col(Batch.state) == BatchState.acknowledged),
    )
    .order_by(col(Receipt.seq).desc())
    .limit(1)
    .scalar_subquery()
)
# Built once and run on the driver directly: a request that finds its file spends its time here.
_CALL_STAMP = DirectSelect(
    sa.select(
        col(Call.version),
        col(Call.updated_at),
        col(Call.name),
        sa.select(col(User.display_name)).where(col(User.id) == _LATEST_REVIEWER).scalar_subquery(),
        sa.select(col(User.version)).where(col(User.id) == _LATEST_REVIEWER).scalar_subquery(),
        _TRACKING,
    ).where(col(Call.id) == sa.bindparam("call_id"))
)


@cache
def _orgs_stamp(count: int) -> DirectSelect:
    """The printed columns of ``count`` organizations (one statement per count: no IN list to expand)."""
    columns: tuple[Any, ...] = (
        col(Organization.id),
        col(Organization.name),
        col(Organization.credit_code),
        col(Organization.kind),
        col(Organization.version),
    )
    return DirectSelect(
        sa.select(*columns)
        .where(sa.or_(*(col(Organization.id) == sa.bindparam(f"o{i}") for i in range(count))))
        .order_by(col(Organization.id))
    )


def _stamp_params(a: FrozenRow) -> tuple[dict[str, Any], DirectSelect, dict[str, Any]]:
    """The parameters of the call's stamp, and the statement and parameters of the organizations'."""
    ids = sorted({org for _, org, _ in party_list(a.content.get("parties") or {})} | {a.recommender_id or ""})
    call = {"call_id": a.call_id, "application_id": a.id, "rec": a.recommender_id}
    return call, _orgs_stamp(len(ids)), {f"o{i}": org for i, org in enumerate(ids)}


def _stamp(a: FrozenRow, call: Any, orgs: list[Any], fonts: FormFonts) -> str:
    payload = orjson.dumps(
        [
            RENDER_VERSION,
            _font_files(tuple(fonts.files)),
            time.tzname,
            [a.id, a.version, a.content_digest, a.title, a.state, a.submitted_at, a.updated_at],
            [a.undertaking_org_id, a.recommender_id, a.call_id],
            None if call is None else [str(v) for v in call],
            [list(o) for o in orgs],
        ]
    )
    return hashlib.sha256(payload).hexdigest()


def frozen_stamp(conn: Executor, a: FrozenRow, fonts: FormFonts) -> str:
    """The hex SHA-256 naming a frozen application's rendered form, read without building the form."""
    call_params, orgs, orgs_params = _stamp_params(a)
    return _stamp(a, _CALL_STAMP.first(conn, call_params), orgs.all(conn, orgs_params), fonts)


async def frozen_stamp_async(driver: Any, dialect: sa.Dialect, a: FrozenRow, fonts: FormFonts) -> str:
    """``frozen_stamp`` on an asyncpg connection (``LoopStatements.run``), in the transaction that read ``a``."""
    call_params, orgs, orgs_params = _stamp_params(a)
    call = await _CALL_STAMP.first_async(driver, dialect, call_params)
    return _stamp(a, call, await orgs.all_async(driver, dialect, orgs_params), fonts)


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
