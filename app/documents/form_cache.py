"""Rendered forms kept in the blob store, so a frozen application's form is typeset once.

A frozen application's form is named by a cheap *stamp* rather than by its printed text, so a request
that finds its file builds no text at all. The stamp covers everything the form prints: the
application's row (its ``version`` moves with every sign-off, review and batch step, each of which
goes through a compare-and-set), the content digest frozen at submission, the printed columns of
the parties' organizations, the call's version, the latest reviewer's name and the receipt number,
plus the typesetting version, the faces chosen (``FormFonts.fingerprint``: a form set before a font
was installed is not served once it is) and the time zone the dates are printed in. One
statement reads it (``stamp_read``), its own snapshot, given the organizations the form names; those
are kept per application with the content digest they were read from (``PARTY_IDS``), since the
digest covers the content that names them. A cached file therefore always equals what a fresh render
would give, and nothing has to be invalidated: a new sign-off gives a new stamp. The forms served
lately are kept in memory too (``KeptForms``): a stamp names one file forever.

A draft changes with every edit and is rendered each time; its ETag stays the digest of the printed
text (:func:`form_digest`). Files live apart from attachments (``<storage_dir>/forms`` or the
``forms/`` prefix of the bucket), so the attachment sweep never sees them; a superseded form stays
behind, small and bounded by the number of the application's versions, until the directory or prefix
is cleared (safe at any time: forms are rendered again on demand).
"""

import hashlib
import os
import secrets
import threading
import time
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import col

from app.accounts.key_hints import STILL_GRANTS
from app.accounts.models import User
from app.applications.access import loader
from app.applications.models import Application, Review
from app.applications.validation import party_list
from app.attachments.blobstore import BlobStore, FileSystemBlobStore, S3BlobStore
from app.batches.models import Batch, BatchItem, BatchState, Receipt
from app.core.bounded import BoundedLru
from app.core.fast.select import DirectSelect, Executor
from app.documents.fonts import FormFonts
from app.documents.form import PrintedForm
from app.organizations.models import Organization
from app.reference.models import Call

# Bump when the typesetting changes, so forms rendered before are not served again.
RENDER_VERSION = 4
FORMS = "forms"


def form_digest(form: PrintedForm, fonts: FormFonts) -> str:
    """The hex SHA-256 of a form's printed text (a draft's ETag)."""
    payload = orjson.dumps({"v": RENDER_VERSION, "fonts": fonts.fingerprint, "form": form})
    return hashlib.sha256(payload).hexdigest()  # orjson writes dataclasses


_LATEST_REVIEWER = (
    sa.select(col(Review.reviewer_id))
    .where(
        col(Review.application_id) == col(Application.id),
        col(Review.recommender_id) == col(Application.recommender_id),
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
        col(BatchItem.application_id) == col(Application.id),
        sa.or_(col(Batch.state) == BatchState.submitted, col(Batch.state) == BatchState.acknowledged),
    )
    .order_by(col(Receipt.seq).desc())
    .limit(1)
    .scalar_subquery()
)
# What the stamp reads, beside the parties' organizations: the application's row (its ``version`` moves
# with every change), the call, the latest reviewer of its recommender and the latest receipt.
_STAMPED: tuple[Any, ...] = (
    col(Application.id),
    col(Application.version),
    col(Application.content_digest),
    col(Application.title),
    col(Application.state),
    col(Application.submitted_at),
    col(Application.updated_at),
    col(Application.undertaking_org_id),
    col(Application.recommender_id),
    col(Application.call_id),
    col(Call.version).label("call_version"),
    col(Call.updated_at).label("call_updated_at"),
    col(Call.name).label("call_name"),
    sa.select(col(User.display_name)).where(col(User.id) == _LATEST_REVIEWER).scalar_subquery().label("reviewer"),
    sa.select(col(User.version)).where(col(User.id) == _LATEST_REVIEWER).scalar_subquery().label("reviewer_version"),
    _TRACKING.label("tracking_number"),
)
_CALL_COLUMNS = ("call_version", "call_updated_at", "call_name", "reviewer", "reviewer_version", "tracking_number")
_ORG_COLUMNS = ("name", "credit_code", "kind", "version")


def _org_columns(count: int) -> list[Any]:
    """The printed columns of the organizations bound as ``o0``… ``o{count-1}``, one scalar subquery each."""
    return [
        sa.select(getattr(Organization, name))
        .where(col(Organization.id) == sa.bindparam(f"o{i}", type_=sa.String))
        .scalar_subquery()
        .label(f"o{i}_{name}")
        for i in range(count)
        for name in _ORG_COLUMNS
    ]


@cache
def stamp_read(
    roles: frozenset[str] | None, recommender_kind: str | None, org_count: int, *, checked: bool = False
) -> DirectSelect:
    """The one statement a stamp reads, for ``org_count`` parties' organizations: with the loader's
    filter for a kind of caller (``roles`` None: by id alone, the caller already allowed), and with
    ``STILL_GRANTS`` for a hinted API key (``checked``)."""
    if roles is None:
        query = sa.select(Application).where(col(Application.id) == sa.bindparam("application_id"))
    else:
        query = loader(roles, recommender_kind)
    extra = (STILL_GRANTS,) if checked else ()
    return DirectSelect(
        query.join(Call, col(Call.id) == col(Application.call_id)).with_only_columns(
            *_STAMPED, *_org_columns(org_count), *extra
        )
    )


def party_ids(content: dict[str, Any], recommender_id: str | None) -> list[str]:
    """The organizations a form prints: its named parties and its recommender."""
    return sorted({org for _, org, _ in party_list(content.get("parties") or {})} | {recommender_id or ""} - {""})


# The organizations of a frozen application's form, by application: (content digest, ids). The digest
# covers the content the parties are named in, so the ids kept with a digest are right for as long as
# the application has that digest; a read whose row has another digest takes them afresh.
PARTY_IDS: BoundedLru[str, tuple[str | None, list[str]]] = BoundedLru(10_000)
# The content digest and parties of one application, read when its parties are not kept.
PARTIES = DirectSelect(
    sa.select(col(Application.content_digest), col(Application.content), col(Application.recommender_id)).where(
        col(Application.id) == sa.bindparam("application_id")
    )
)


def parties_of(application_id: str, row: Any) -> tuple[str | None, list[str]]:
    """(content digest, party ids) from a row of ``PARTIES``; kept when the application is frozen."""
    if row is None:
        return None, []
    ids = party_ids(row.content, row.recommender_id)
    if row.content_digest is not None:
        PARTY_IDS.put(application_id, (row.content_digest, ids))
    return row.content_digest, ids


def stamp_params(ids: list[str]) -> dict[str, str]:
    return {f"o{i}": org for i, org in enumerate(ids)}


def frozen_stamp(row: Any, ids: list[str], fonts: FormFonts) -> str:
    """The hex SHA-256 naming a frozen application's rendered form, from a row of ``stamp_read`` for ``ids``."""
    orgs = [[org, *(getattr(row, f"o{i}_{name}") for name in _ORG_COLUMNS)] for i, org in enumerate(ids)]
    payload = orjson.dumps(
        [
            RENDER_VERSION,
            fonts.fingerprint,
            time.tzname,
            [row.id, row.version, row.content_digest, row.title, row.state, row.submitted_at, row.updated_at],
            [row.undertaking_org_id, row.recommender_id, row.call_id],
            [str(getattr(row, name)) for name in _CALL_COLUMNS],
            orgs,
        ]
    )
    return hashlib.sha256(payload).hexdigest()


def parties(conn: Executor, application_id: str) -> tuple[str | None, list[str]]:
    """(content digest, party ids) of an application: kept, or read in ``conn``'s transaction."""
    return PARTY_IDS.get(application_id) or parties_of(
        application_id, PARTIES.first(conn, {"application_id": application_id})
    )


def render_stamp(conn: Executor, application: Application, fonts: FormFonts) -> str:
    """The stamp of a frozen application read in ``conn``'s transaction, by id (the render's own)."""
    assert application.content_digest is not None, "a draft's form is named by its text"
    ids = party_ids(application.content, application.recommender_id)
    PARTY_IDS.put(application.id, (application.content_digest, ids))
    row = stamp_read(None, None, len(ids)).first(conn, {"application_id": application.id, **stamp_params(ids)})
    assert row is not None, "read in the transaction that found it"
    return frozen_stamp(row, ids, fonts)


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


class KeptForms:
    """Stored forms this process served lately, by stamp: a stamp names one file forever, so nothing
    is invalidated. Bounded in bytes, the least recently used dropped first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._forms: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()  # renders run in worker threads

    def get(self, digest: str) -> bytes | None:
        with self._lock:
            content = self._forms.get(digest)
            if content is not None:
                self._forms.move_to_end(digest)
            return content

    def keep(self, digest: str, content: bytes) -> None:
        if len(content) > self.max_bytes:
            return
        with self._lock:
            previous = self._forms.pop(digest, None)
            self._size += len(content) - (len(previous) if previous is not None else 0)
            self._forms[digest] = content
            while self._size > self.max_bytes:
                _, dropped = self._forms.popitem(last=False)
                self._size -= len(dropped)


# Some 250 forms of full size, per process: the ones a province's reviewers print on deadline day.
KEPT_FORMS = KeptForms(max_bytes=32 * 1024 * 1024)


def kept(digest: str) -> bytes | None:
    """A stored form this process has at hand (no file opened, no request to the bucket)."""
    return KEPT_FORMS.get(digest)


def cached(store: BlobStore, digest: str, *, at_hand: bool = True) -> bytes | None:
    """A stored form, from the store (and kept at hand from now on unless not ``at_hand``: a package reads
    every form of a list once); None if not rendered yet."""
    key = digest[:32]
    if not store.exists(key):
        return None
    content = b"".join(store.read(key))
    if at_hand:
        KEPT_FORMS.keep(digest, content)
    return content


def keep(store: BlobStore, digest: str, content: bytes, *, at_hand: bool = True) -> None:
    """Store a rendered form durably (kept at hand too, unless not ``at_hand``); two processes storing the
    same form write the same bytes."""
    temp = store.temp_dir / f"form-{secrets.token_hex(8)}.tmp"  # not *.part: the attachment sweep leaves it
    try:
        with temp.open("wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        store.put(temp, digest[:32])
    finally:
        temp.unlink(missing_ok=True)
    if at_hand:
        KEPT_FORMS.keep(digest, content)
