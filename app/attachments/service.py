"""Attachments of an application: who may add or remove them, the call's rules per kind, storing.

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

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.applications.access import load_visible_application, visibility_filter
from app.applications.models import Application, Endorsement
from app.applications.service import representation_etag
from app.applications.states import EDITABLE_STATES, State
from app.attachments import sniff
from app.attachments.blobstore import BlobStore
from app.attachments.errors import TooManyAttachments, upload_too_large
from app.attachments.models import Attachment
from app.attachments.schemas import AttachmentPublic
from app.attachments.upload import MAX_DESCRIPTION_CHARS, ReceivedFile, ReceivedForm, UploadLimits
from app.core.concurrency import compare_and_set
from app.core.db import Database
from app.core.deps import etag, if_match_allows
from app.core.errors import (
    FieldError,
    Forbidden,
    InvalidState,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.outbox import record_event
from app.core.settings import Settings
from app.reference.models import Call

_REFUSALS: dict[str, Text] = {
    "type_mismatch": Text(
        "文件内容不是允许的类型，或与扩展名不符",
        "The file's content is not an allowed type or does not match its extension",
    ),
    "not_a_document_archive": Text(
        "压缩包不是 OFD、DOCX 或 XLSX 文档，不予接收",
        "Archives other than OFD, DOCX and XLSX documents are not accepted",
    ),
    "encrypted_pdf": Text("PDF 已加密，请去除密码后上传", "The PDF is encrypted; upload it without a password"),
    "pdf_without_pages": Text("PDF 没有页面", "The PDF has no pages"),
    "unreadable_pdf": Text("PDF 文件已损坏或无法读取", "The PDF is damaged or cannot be read"),
    "unreadable_image": Text("图片已损坏或无法完整解码", "The image is damaged or does not decode whole"),
    "image_too_large": Text("图片像素超过上限（5000 万像素）", "The image has more than 50 megapixels"),
    "trailing_data": Text(
        "文件结束标记之后还有其他数据，不予接收", "The file has data after its end marker and is not accepted"
    ),
}


def public(row: Attachment) -> AttachmentPublic:
    return AttachmentPublic.model_validate(row, from_attributes=True)


# --- who may change an application's attachments, and when ---------------------------------------


def may_change(principal: Principal, application: Application) -> bool:
    """An applicant of the undertaking organization, or the recommender's reviewer who entered it."""
    org = principal.organization_id
    if principal.has(Role.applicant) and application.undertaking_org_id == org:
        return True
    return principal.has(Role.reviewer) and application.entered_by_org_id == org


def require_may_change(principal: Principal, application: Application) -> None:
    if not may_change(principal, application):
        raise Forbidden(
            Text(
                "只有申报单位的申报人，或代为录入的推荐单位审核人，可以增删附件",
                "Only an applicant of the undertaking organization, or the reviewer of the recommender that "
                "entered the application, may add or remove attachments",
            ),
            extra={"required_roles": [Role.applicant.value, Role.reviewer.value]},
        )


# A party's stamped sign-off page arrives while the other parties are signing.
PAPER_ENDORSEMENT_KIND = "paper_endorsement"


def require_accepts_upload(application: Application, kind: str | None) -> None:
    """Files are added while the content is editable, and paper sign-off pages during sign-off.

    ``kind`` None means "not known yet" (a streamed form whose kind comes after its file).
    """
    require_state_accepts(application.state, kind)


def require_state_accepts(state: str, kind: str | None) -> None:
    if state == State.endorsing and kind in (None, PAPER_ENDORSEMENT_KIND):
        return
    _require_editable_state(state)


def require_editable(application: Application) -> None:
    _require_editable_state(application.state)


def _require_editable_state(state: str) -> None:
    if state not in EDITABLE_STATES:
        raise InvalidState(
            Text(
                "申报书仅在草稿或退回修改状态下可增删附件",
                "Attachments can be added or removed only while the application is a draft or returned",
            ),
            extra={"state": state},
        )


def _unknown_kind(rules: dict[str, Any]) -> ValidationFailed:
    return ValidationFailed(
        errors=[
            FieldError(
                "/kind",
                "unknown_attachment_kind",
                Text("附件类别应为：{kinds}", "The kind must be one of: {kinds}"),
                (("kinds", ", ".join(sorted(rules))),),
            )
        ]
    )


def check_kind(rules: dict[str, Any], kind: str, count: int) -> None:
    """422 for a kind the call does not know; 409 when the application has the most of it allowed."""
    rule = rules.get(kind)
    if not isinstance(rule, dict):
        raise _unknown_kind(rules)
    max_count = rule.get("max_count")
    if isinstance(max_count, int) and count >= max_count:
        raise TooManyAttachments(
            Text("该类附件最多 {max} 个", "At most {max} attachments of this kind"),
            max=max_count,
            extra={"kind": kind, "max_count": max_count},
        )


def allowed_types(settings: Settings, rules: dict[str, Any], kind: str | None) -> frozenset[str]:
    """The service's allowed types, narrowed by the call's ``types`` for the kind when it names some."""
    allowed = frozenset(settings.allowed_attachment_types)
    rule = rules.get(kind) if kind else None
    if isinstance(rule, dict) and isinstance(rule.get("types"), list):
        allowed &= frozenset(rule["types"])
    return allowed


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
            require_state_accepts(self.state, value)
            check_kind(self.rules, value, self.counts.get(value, 0))
            self.limits.allowed_types = allowed_types(self.settings, self.rules, value)


def _usage(session: Session, application_id: str) -> tuple[dict[str, int], int]:
    rows = session.execute(
        sa.select(col(Attachment.kind), sa.func.count(), sa.func.coalesce(sa.func.sum(col(Attachment.size)), 0))
        .where(col(Attachment.application_id) == application_id)
        .group_by(col(Attachment.kind))
    ).all()
    return {kind: int(n) for kind, n, _ in rows}, sum(int(total) for _, _, total in rows)


def plan_upload(
    database: Database, principal: Principal, application_id: str, settings: Settings, if_match: str | None
) -> UploadPlan:
    """Checks that need no body: visible (404), allowed (403), editable (409), If-Match sent (428),
    room left (413)."""
    with database.reader() as session:
        application = load_visible_application(session, principal, application_id)
        require_may_change(principal, application)
        require_accepts_upload(application, None)
        matched = if_match_allows(if_match, etag(application.version))
        call = session.get(Call, application.call_id)
        rules = dict(call.attachment_rules) if call else {}
        counts, total = _usage(session, application_id)
    plan = UploadPlan(
        application_id,
        application.state,
        rules,
        counts,
        total,
        settings,
        version=application.version,
        version_matched=matched,
        any_version=(if_match or "").strip() == "*",
    )
    if plan.limits.file_bytes <= 0:
        raise upload_too_large(plan.limits)
    return plan


def _form_fields(form: ReceivedForm, rules: dict[str, Any]) -> tuple[str, str | None]:
    kind = form.fields.get("kind")
    errors = []
    if not kind:
        errors.append(FieldError("/kind", "required", Text("必填字段缺失", "Field required")))
    if form.file is None:
        errors.append(FieldError("/file", "required", Text("必填字段缺失", "Field required")))
    description = (form.fields.get("description") or "").strip() or None
    if description is not None:
        if len(description) > MAX_DESCRIPTION_CHARS:
            errors.append(
                FieldError(
                    "/description",
                    "too_long",
                    Text("长度超过上限 {max_length}", "At most {max_length} characters"),
                    (("max_length", MAX_DESCRIPTION_CHARS),),
                )
            )
        elif any(ord(ch) < 32 and ch not in "\n\t" or ord(ch) == 127 for ch in description):
            errors.append(
                FieldError(
                    "/description",
                    "control_characters",
                    Text("不能包含控制字符", "Must not contain control characters"),
                )
            )
    if errors:
        raise ValidationFailed(errors=errors)
    assert kind is not None
    if kind not in rules:
        raise _unknown_kind(rules)
    return kind, description


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
    kind, description = _form_fields(form, plan.rules)
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
    require_state_accepts(plan.state, kind)
    check_kind(plan.rules, kind, plan.counts.get(kind, 0))
    return (
        kind,
        description,
        allowed_types(plan.settings, plan.rules, kind) & sniff.types_for_extension(received.extension),
    )


def detect(received: ReceivedFile, allowed: frozenset[str]) -> sniff.Detected:
    """The file's type by its content, with its costly checks (image decode, PDF structure), or 415."""
    try:
        return sniff.finish(received.temp_path, received.head_kind, received.size, allowed)
    except sniff.Refused as refused:
        raise UnsupportedMediaType(_REFUSALS[refused.code], extra={"reason": refused.code}) from refused


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
        require_may_change(principal, application)
        require_accepts_upload(application, kind)
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


def delete_attachment(
    session: Session,
    principal: Principal,
    attachment_id: str,
    now: datetime,
    if_match: str | None = None,
) -> tuple[str, str]:
    """Remove the row (the caller's transaction commits it); returns the storage key to remove after,
    and the application's new ETag for the caller.

    ``If-Match`` must name this attachment's ETag (or be ``*``): the caller deletes what it has seen.
    """
    row = load_visible_attachment(session, principal, attachment_id)
    application = load_visible_application(session, principal, row.application_id, for_update=True)
    require_may_change(principal, application)
    _require_removable(session, application, row)
    if not if_match_allows(if_match, f'"{row.sha256}"'):
        raise PreconditionFailed(extra={"current_etag": f'"{row.sha256}"'})
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


def _require_removable(session: Session, application: Application, row: Attachment) -> None:
    """Any attachment while the content is editable; during sign-off, a sign-off page no current
    sign-off rests on (one uploaded by mistake, or left over from a sign-off voided earlier).

    Called under the application's lock: a paper sign-off naming the page either committed before
    (and is seen here) or fails its compare-and-set on the version this removal moves on.
    """
    if application.state == State.endorsing and row.kind == PAPER_ENDORSEMENT_KIND:
        endorsement_id = session.execute(
            sa.select(col(Endorsement.id))
            .where(
                col(Endorsement.application_id) == application.id,
                col(Endorsement.attachment_id) == row.id,
                col(Endorsement.voided_at).is_(None),
            )
            .limit(1)
        ).scalar_one_or_none()
        if endorsement_id is not None:
            raise InvalidState(
                Text(
                    "该盖章页是一项现行会签意见的依据，不能删除",
                    "A current sign-off rests on this page; it cannot be removed",
                ),
                extra={
                    "state": application.state,
                    "reason": "page_of_current_sign_off",
                    "endorsement_id": endorsement_id,
                },
            )
        return
    require_editable(application)


def remove_blob_if_unreferenced(database: Database, store: BlobStore, key: str) -> None:
    """After a deletion committed: remove the file unless a row still names it (the sweep is the backstop)."""
    with database.reader() as session:
        if session.execute(sa.select(col(Attachment.id)).where(col(Attachment.storage_key) == key)).first():
            return
    store.delete(key)


# --- for the application workflow and batches ------------------------------------------------------
