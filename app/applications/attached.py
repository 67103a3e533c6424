"""What the application workflow reads of an application's attachments: their digests (the content
digest at submission), the kinds present (validation) and whether a file is on the application (a paper
sign-off's page).

The attachments package (its model, uploads, downloads) depends on this package, not the other way
round: the attachments table is read here through a lightweight table of the few columns these
queries name (``tests/applications/test_attached.py`` checks them against the model).
"""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.reference.models import Call

ATTACHMENTS = sa.table(
    "attachments",
    sa.column("id", sa.String),
    sa.column("application_id", sa.String),
    sa.column("kind", sa.String),
    sa.column("sha256", sa.String),
)
_C = ATTACHMENTS.c


def attachment_digests(session: Session, application_id: str) -> list[dict[str, str]]:
    """``[{"id", "kind", "sha256"}]`` of the application's attachments, sorted by id (stored digests, no file read)."""
    rows = session.execute(
        sa.select(_C.id, _C.kind, _C.sha256).where(_C.application_id == application_id).order_by(_C.id)
    ).all()
    return [{"id": r.id, "kind": r.kind, "sha256": r.sha256} for r in rows]


def missing_required_kinds(session: Session, call: Call, application_id: str) -> list[str]:
    """Kinds the call requires (``required: true``) of which the application has no attachment, sorted."""
    required = {
        k for k, rule in (call.attachment_rules or {}).items() if isinstance(rule, dict) and rule.get("required")
    }
    if not required:
        return []
    present = set(session.execute(sa.select(_C.kind).where(_C.application_id == application_id).distinct()).scalars())
    return sorted(required - present)


def attachment_belongs(session: Session, application_id: str, attachment_id: str, kind: str | None = None) -> bool:
    """Whether the attachment exists on this application (and is of ``kind`` when given)."""
    query = sa.select(_C.id).where(_C.id == attachment_id, _C.application_id == application_id)
    if kind is not None:
        query = query.where(_C.kind == kind)
    return session.execute(query).first() is not None
