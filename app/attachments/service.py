"""Attachments of an application: planning an upload, storing its row, removing one.

Who may add or remove files and when is the workflow table's (``app.attachments.changing``); what a
call allows per kind and what a file must be, ``app.attachments.kinds``.

Storing follows one order so that a crash at any point leaves either no row, or a row whose file
exists: the upload is complete and fsynced in a temporary file, it is moved into the blob store,
and only then is the row committed. Removing commits the row's deletion first; the file goes after.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.principal import Principal
from app.applications.access import load_visible_application, visibility_filter
from app.applications.models import Application
from app.applications.representation import representation_etag
from app.attachments import sniff
from app.attachments.blobstore import BlobStore
from app.attachments.changing import refuse_state_for, require_may_attach, require_removable
from app.attachments.errors import upload_too_large
from app.attachments.kinds import allowed_types, check_kind, form_fields
from app.attachments.kinds import detect as detect
from app.attachments.models import Attachment
from app.attachments.schemas import AttachmentPublic
from app.attachments.upload import ReceivedFile, ReceivedForm, UploadLimits
from app.core.concurrency import compare_and_set
from app.core.db import Database
from app.core.deps import etag
from app.core.errors import NotFound, PayloadTooLarge, PreconditionFailed
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.outbox import record_event
from app.core.settings import Settings
from app.reference.models import Call


def public(row: Attachment) -> AttachmentPublic:
    return AttachmentPublic.model_validate(row, from_attributes=True)


# --- uploading -------------------------------------------------------------------------------------


class Stored(NamedTuple):
    """A stored upload: the attachment, whether it is new, and the application's ETag for the uploader."""

    attachment: AttachmentPublic
    created: bool
    application_etag: str


@dataclass
class UploadPlan:
    """What is known before the body is read: the rules, the counts, the room left."""

    application_id: str
    state: str
    rules: dict[str, Any]
    counts: dict[str, int]
    total_bytes: int
    settings: Settings
    kind: str | None = None
    # The application's version when the upload began, and whether If-Match named it: a stale one is
    # answered 412 once the file is read, unless the file is already attached (a retry, answered 200).
    # ``any_version``: If-Match was `*`, so a change while the file arrived is no conflict either.
    version: int = 0
    version_matched: bool = True
    any_version: bool = False
    limits: UploadLimits = field(init=False)

    def __post_init__(self) -> None:
        room = max(self.settings.max_application_attachments_bytes - self.total_bytes, 0)
        per_file = self.settings.max_attachment_bytes
        self.limits = UploadLimits(min(per_file, room), per_file, allowed_types(self.settings, self.rules, None))

    def on_field(self, name: str, value: str) -> None:
        """A kind sent before the file is checked before the file is read."""
        if name == "kind":
            self.kind = value
            refuse_state_for(self.state, value)
            check_kind(self.rules, value, self.counts.get(value, 0))
            self.limits.allowed_types = allowed_types(self.settings, self.rules, value)

    def expect(self, *, matched: bool, any_version: bool) -> None:
        """What the caller's If-Match (checked by the router) said of ``version``."""
        self.version_matched = matched
        self.any_version = any_version

    def require_room(self) -> None:
        """413 when the application has no room left for another file."""
        if self.limits.file_bytes <= 0:
            raise upload_too_large(self.limits)


def _usage(session: Session, application_id: str) -> tuple[dict[str, int], int]:
    rows = session.execute(
        sa.select(col(Attachment.kind), sa.func.count(), sa.func.coalesce(sa.func.sum(col(Attachment.size)), 0))
        .where(col(Attachment.application_id) == application_id)
        .group_by(col(Attachment.kind))
    ).all()
    return {kind: int(n) for kind, n, _ in rows}, sum(int(total) for _, _, total in rows)


def plan_upload(
    database: Database, principal: Principal, application_id: str, settings: Settings, now: datetime
) -> UploadPlan:
    """Checks that need no body: visible (404), allowed (403), in a state that takes files (409). The
    router then checks If-Match (428) and the room left (413, ``UploadPlan.require_room``)."""
    with database.reader() as session:
        application = load_visible_application(session, principal, application_id)
        require_may_attach(session, principal, application, None, now)
        call = session.get(Call, application.call_id)
        rules = dict(call.attachment_rules) if call else {}
        counts, total = _usage(session, application_id)
    return UploadPlan(application_id, application.state, rules, counts, total, settings, version=application.version)


def _existing_copy(session: Session, application_id: str, kind: str, sha256: str) -> Attachment | None:
    return session.execute(
        sa.select(Attachment)
        .where(
            col(Attachment.application_id) == application_id,
            col(Attachment.kind) == kind,
            col(Attachment.sha256) == sha256,
        )
        .limit(1)
    ).scalar_one_or_none()


def judge_upload(
    database: Database, principal: Principal, plan: UploadPlan, form: ReceivedForm, now: datetime
) -> tuple[str, str | None, frozenset[str]] | Stored:
    """The cheap checks of a received form: (kind, description, the types its file may be), or the
    attachment already stored with the same content as the same kind (a retried upload, answered 200
    whatever its If-Match); otherwise a stale If-Match is answered 412 now."""
    kind, description = form_fields(form, plan.rules)
    received = form.file
    assert received is not None
    with database.reader() as session:
        copy = _existing_copy(session, plan.application_id, kind, received.sha256)
        if copy is not None:
            application = load_visible_application(session, principal, plan.application_id)
            return Stored(public(copy), False, representation_etag(session, principal, application, now))
    if not plan.version_matched:
        raise PreconditionFailed(extra={"current_etag": etag(plan.version)})
    # A kind sent after the file is checked here, before the file is stored.
    refuse_state_for(plan.state, kind)
    check_kind(plan.rules, kind, plan.counts.get(kind, 0))
    return (
        kind,
        description,
        allowed_types(plan.settings, plan.rules, kind) & sniff.types_for_extension(received.extension),
    )


def commit_row(
    database: Database,
    principal: Principal,
    plan: UploadPlan,
    kind: str,
    description: str | None,
    filename: str,
    detected: sniff.Detected,
    received: ReceivedFile,
    key: str,
    now: datetime,
) -> Stored:
    with database.transaction() as session:
        # Under the application's lock (BEGIN IMMEDIATE on SQLite): the rules hold against every commit.
        application = load_visible_application(session, principal, plan.application_id, for_update=True)
        require_may_attach(session, principal, application, kind, now)
        copy = _existing_copy(session, application.id, kind, received.sha256)
        if copy is not None:
            return Stored(public(copy), False, representation_etag(session, principal, application, now))
        if not plan.any_version and application.version != plan.version:  # changed while the file arrived
            raise PreconditionFailed(extra={"current_etag": etag(application.version)})
        counts, total = _usage(session, application.id)
        check_kind(plan.rules, kind, counts.get(kind, 0))
        if total + received.size > plan.settings.max_application_attachments_bytes:
            raise PayloadTooLarge(
                Text("该申报的附件总量超过上限", "The application's attachments exceed their total limit"),
                extra={"max_bytes": plan.settings.max_application_attachments_bytes},
            )
        row = Attachment(
            id=new_id("att"),
            application_id=application.id,
            kind=kind,
            filename=filename,
            description=description,
            file_type=detected.file_type,
            media_type=detected.media_type,
            size=received.size,
            sha256=received.sha256,
            storage_key=key,
            uploaded_by=principal.user_id,
            created_at=now.astimezone(UTC),
        )
        session.add(row)
        _touch(session, application, now)
        record_event(
            session,
            "attachment.added",
            row,
            now=now,
            actor_id=principal.user_id,
            application_id=application.id,
            recommender_id=application.recommender_id,
            organization_id=application.undertaking_org_id,
            data={"kind": kind, "sha256": row.sha256, "size": row.size, "file_type": row.file_type},
        )
        session.flush()
        return Stored(public(row), True, representation_etag(session, principal, application, now))


def _touch(session: Session, application: Application, now: datetime) -> None:
    """Attachments are part of the application's content: a new version, so a concurrent
    transition that read the old set of attachments fails its compare-and-set. The caller holds the
    application's lock, so the version it read is the stored one."""
    compare_and_set(session, application, application.version, updated_at=now)


# --- reading and removing --------------------------------------------------------------------------


def load_visible_attachment(session: Session, principal: Principal, attachment_id: str) -> Attachment:
    """The attachment if the caller may see its application, else 404."""
    row = session.execute(
        sa.select(Attachment)
        .join(Application, col(Application.id) == col(Attachment.application_id))
        .where(col(Attachment.id) == attachment_id, visibility_filter(principal))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound()
    return row


def load_removable(
    session: Session, principal: Principal, attachment_id: str, now: datetime
) -> tuple[Attachment, Application]:
    """The attachment and its application (locked) if the caller may remove it now: visible (404),
    allowed (403), removable in the application's state (409)."""
    row = load_visible_attachment(session, principal, attachment_id)
    application = load_visible_application(session, principal, row.application_id, for_update=True)
    require_removable(session, principal, application, row, now)
    return row, application


def delete_attachment(
    session: Session, principal: Principal, row: Attachment, application: Application, now: datetime
) -> tuple[str, str]:
    """Remove the row (the caller's transaction commits it); returns the storage key to remove after,
    and the application's new ETag for the caller."""
    key = row.storage_key
    record_event(
        session,
        "attachment.deleted",
        row,
        now=now,
        actor_id=principal.user_id,
        application_id=application.id,
        recommender_id=application.recommender_id,
        organization_id=application.undertaking_org_id,
        data={"kind": row.kind, "sha256": row.sha256},
    )
    session.delete(row)
    _touch(session, application, now)
    session.flush()
    return key, representation_etag(session, principal, application, now)


def remove_blob_if_unreferenced(database: Database, store: BlobStore, key: str) -> None:
    """After a deletion committed: remove the file unless a row still names it (the sweep is the backstop)."""
    with database.reader() as session:
        if session.execute(sa.select(col(Attachment.id)).where(col(Attachment.storage_key) == key)).first():
            return
    store.delete(key)
