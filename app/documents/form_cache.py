"""Rendered forms kept in the blob store, so a frozen application's form is typeset once.

A frozen application's form is named by a cheap *stamp* rather than by its printed text, so a request
that finds its file builds no text at all. The stamp covers everything the form prints: the
application's row (its ``version`` moves with every sign-off, review and batch step, each of which
goes through a compare-and-set), the content digest frozen at submission, the printed columns of
the parties' organizations, the call's version, the latest reviewer's name and the receipt number,
plus the typesetting version, the faces chosen (``FormFonts.fingerprint``: a form set before a font
was installed is not served once it is) and the time zone the dates are printed in. One
statement reads it (``stamp_read``), its own snapshot, given the organizations the form names; those
are kept per application with the content digest they were read from (``FormFiles.party_ids``), since the
digest covers the content that names them. A cached file therefore always equals what a fresh render
would give, and nothing has to be invalidated: a new sign-off gives a new stamp. The forms served
lately are kept in memory too (``FormFiles.at_hand``, the read path's): a stamp names one file forever.

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
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import FastAPI, Request
from sqlmodel import col

from app.accounts.models import User
from app.applications.access import loader
from app.applications.models import Application, Review
from app.applications.validation import party_list
from app.attachments.blobstore import BlobStore, FileSystemBlobStore, S3BlobStore
from app.batches.models import Batch, BatchItem, BatchState, Receipt
from app.core.fast.select import DirectSelect, Executor
from app.documents.form import PrintedForm
from app.fonts.faces import FormFonts
from app.organizations.models import Organization
from app.readpath import STILL_GRANTS, Visible, read_path_of
from app.readpath.bounded import BoundedLru
from app.readpath.kept import KeptForms, Parties
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


# The content digest and parties of one application, read when its parties are not kept.
PARTIES = DirectSelect(
    sa.select(col(Application.content_digest), col(Application.content), col(Application.recommender_id)).where(
        col(Application.id) == sa.bindparam("application_id")
    )
)


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


@dataclass(frozen=True, slots=True)
class FormFiles:
    """An application's stored forms: its form store, and the forms and parties its read path keeps."""

    store: BlobStore
    at_hand: KeptForms
    party_ids: BoundedLru[str, Parties]

    def kept(self, digest: str) -> bytes | None:
        """A stored form this process has at hand (no file opened, no request to the bucket)."""
        return self.at_hand.get(digest)

    def cached(self, digest: str, *, at_hand: bool = True) -> bytes | None:
        """A stored form, from the store (and kept at hand from now on unless not ``at_hand``: a package
        reads every form of a list once); None if not rendered yet."""
        key = digest[:32]
        if not self.store.exists(key):
            return None
        content = b"".join(self.store.read(key))
        if at_hand:
            self.at_hand.keep(digest, content)
        return content

    def keep(self, digest: str, content: bytes, *, at_hand: bool = True) -> None:
        """Store a rendered form durably (kept at hand too, unless not ``at_hand``); two processes storing
        the same form write the same bytes."""
        temp = self.store.temp_dir / f"form-{secrets.token_hex(8)}.tmp"  # not *.part: the sweep leaves it
        try:
            with temp.open("wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            self.store.put(temp, digest[:32])
        finally:
            temp.unlink(missing_ok=True)
        if at_hand:
            self.at_hand.keep(digest, content)

    def parties_of(self, application_id: str, row: Any) -> Parties:
        """(content digest, party ids) from a row of ``PARTIES``; kept when the application is frozen:
        the digest covers the content the parties are named in, so the ids kept with a digest are right
        for as long as the application has that digest."""
        if row is None:
            return None, []
        ids = party_ids(row.content, row.recommender_id)
        if row.content_digest is not None:
            self.party_ids.put(application_id, (row.content_digest, ids))
        return row.content_digest, ids

    def render_stamp(self, conn: Executor, application: Application, fonts: FormFonts) -> str:
        """The stamp of a frozen application read in ``conn``'s transaction, by id (the render's own)."""
        assert application.content_digest is not None, "a draft's form is named by its text"
        ids = party_ids(application.content, application.recommender_id)
        self.party_ids.put(application.id, (application.content_digest, ids))
        params = {"application_id": application.id, **stamp_params(ids)}
        row = stamp_read(None, None, len(ids)).first(conn, params)
        assert row is not None, "read in the transaction that found it"
        return frozen_stamp(row, ids, fonts)


def form_files(app: FastAPI) -> FormFiles:
    read_path = app.state.read_path
    return FormFiles(form_store_of(app), read_path.forms, read_path.form_parties)


@dataclass(frozen=True, slots=True)
class FormStamp:
    """The view of ``GET /applications/{id}/form.pdf`` (``app.readpath.View``): the row of the stamp,
    and the ETag of the stored form it names — None for a draft, or for an application whose content
    changed since its parties ``ids`` were read (rendered afresh, which reads them again)."""

    digest: str | None
    ids: list[str]
    fonts: FormFonts

    @property
    def params(self) -> dict[str, Any]:
        return stamp_params(self.ids)

    def statement(self, roles: frozenset[str], recommender_kind: str | None, *, checked: bool) -> DirectSelect:
        return stamp_read(roles, recommender_kind, len(self.ids), checked=checked)

    def answer(self, visible: Visible, db: Executor | None) -> tuple[Any, str | None]:
        row = visible.row
        if row.content_digest is None or row.content_digest != self.digest:
            return row, None
        return row, f'"{frozen_stamp(row, self.ids, self.fonts)}"'


async def form_stamp_view(request: Request, application_id: str, fonts: FormFonts) -> FormStamp:
    """The form's view for an application, with the organizations it prints: kept, or read alone."""
    files = form_files(request.app)
    parties = files.party_ids.get(application_id)
    if parties is None:  # the application's first form in this process, or a draft
        row = await read_path_of(request).read_row(request, PARTIES, {"application_id": application_id})
        parties = files.parties_of(application_id, row)
    return FormStamp(parties[0], parties[1], fonts)
