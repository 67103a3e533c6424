"""What other parts ask of an application's attachments, answered from the attachment table alone.

The applications and batches packages read these; this module imports none of them, so the
attachment service (which loads applications) and the application workflow depend on it and not on
each other.
"""

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.attachments.models import Attachment
from app.reference.models import Call


def attachment_digests(session: Session, application_id: str) -> list[dict[str, str]]:
    """``[{"id", "kind", "sha256"}]`` of the application's attachments, sorted by id (stored digests, no file read)."""
    rows = session.execute(
        sa.select(col(Attachment.id), col(Attachment.kind), col(Attachment.sha256))
        .where(col(Attachment.application_id) == application_id)
        .order_by(col(Attachment.id))
    ).all()
    return [{"id": r.id, "kind": r.kind, "sha256": r.sha256} for r in rows]


def missing_required_kinds(session: Session, call: Call, application_id: str) -> list[str]:
    """Kinds the call requires (``required: true``) of which the application has no attachment, sorted."""
    required = {
        k for k, rule in (call.attachment_rules or {}).items() if isinstance(rule, dict) and rule.get("required")
    }
    if not required:
        return []
    present = set(
        session.execute(
            sa.select(col(Attachment.kind)).where(col(Attachment.application_id) == application_id).distinct()
        ).scalars()
    )
    return sorted(required - present)


def attachment_belongs(session: Session, application_id: str, attachment_id: str, kind: str | None = None) -> bool:
    """Whether the attachment exists on this application (and is of ``kind`` when given)."""
    query = sa.select(col(Attachment.id)).where(
        col(Attachment.id) == attachment_id, col(Attachment.application_id) == application_id
    )
    if kind is not None:
        query = query.where(col(Attachment.kind) == kind)
    return session.execute(query).first() is not None
