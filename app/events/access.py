"""Which events a caller may see: the change feed and webhook fan-out share this one filter.

An event is visible to a caller exactly when the caller can see its resource now (API.md, "Roles and
who sees what"): an application's events (its endorsements, reviews, attachments) while the caller
sees the application, a batch's events while it sees the batch, calls' and organizations' events to
every caller (everyone reads them). A deleted draft's events vanish with it, except
``application.deleted`` itself, shown to whoever could see the draft when it was deleted: its unit's
applicants and the reviewers of the recommender that entered it.
"""

import sqlalchemy as sa
from sqlmodel import col

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.applications.access import visibility_filter
from app.applications.models import Application
from app.batches.models import Batch
from app.batches.service import batch_visibility
from app.core.outbox_models import Event

DELETED = "application.deleted"
# Reference data: every signed-in caller reads calls and organizations.
PUBLIC_SUBJECTS = ("call", "organization")


def event_visibility(principal: Principal) -> sa.ColumnElement[bool]:
    """A WHERE clause on ``Event`` selecting the events ``principal`` may see."""
    # No shortcut for admins: they too see no events of a draft that is gone.
    org = principal.organization_id
    about_application = sa.and_(
        col(Event.application_id).is_not(None),
        col(Event.type) != DELETED,
        sa.exists().where(col(Application.id) == col(Event.application_id), visibility_filter(principal)),
    )
    # Recorded with the undertaking unit and, for a draft a recommender entered, that recommender.
    could_see_draft: list[sa.ColumnElement[bool]] = [sa.true()] if principal.is_admin else []
    if principal.has(Role.applicant):
        could_see_draft.append(col(Event.organization_id) == org)
    if principal.is_recommender_reviewer:
        could_see_draft.append(col(Event.recommender_id) == org)
    deleted = sa.and_(col(Event.type) == DELETED, sa.or_(*could_see_draft)) if could_see_draft else sa.false()
    about_batch = sa.and_(
        col(Event.subject_type) == "batch",
        sa.exists().where(col(Batch.id) == col(Event.subject_id), batch_visibility(principal)),
    )
    public = sa.and_(col(Event.application_id).is_(None), col(Event.subject_type).in_(PUBLIC_SUBJECTS))
    return sa.or_(about_application, deleted, about_batch, public)


def type_filter(types: list[str]) -> sa.ColumnElement[bool]:
    """Event types: exact names, ``prefix.*`` for a family, ``*`` for all."""
    if not types or "*" in types:
        return sa.true()
    exact = [t for t in types if not t.endswith(".*")]
    clauses: list[sa.ColumnElement[bool]] = [col(Event.type).in_(exact)] if exact else []
    clauses += [col(Event.type).startswith(t[:-1], autoescape=True) for t in types if t.endswith(".*")]
    return sa.or_(*clauses)
