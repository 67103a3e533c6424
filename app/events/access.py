"""Which events a caller may see: the change feed and webhook fan-out share this one filter.

An event about an application is visible while its application is (so a deleted draft's events
vanish); a batch event (recommender, no application) to that recommender's reviewers and the office;
any other event (organizations, calls) to the office, and an organization's events to its members.
"""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.applications.access import visibility_filter
from app.applications.models import Application
from app.events.models import Event
from app.organizations.models import Organization


def event_visibility(principal: Principal) -> sa.ColumnElement[bool]:
    """A WHERE clause on ``Event`` selecting the events ``principal`` may see."""
    if principal.is_admin:
        return sa.true()
    org = principal.organization_id
    office = principal.has(Role.office)
    about_application = sa.and_(
        Event.application_id.is_not(None),  # type: ignore[union-attr]
        sa.exists().where(Application.id == Event.application_id, visibility_filter(principal)),
    )
    batch_readers: list[sa.ColumnElement[bool]] = []
    if office:
        batch_readers.append(sa.true())
    if principal.is_recommender_reviewer:
        batch_readers.append(Event.recommender_id == org)
    about_batch = sa.and_(
        Event.application_id.is_(None),  # type: ignore[union-attr]
        Event.recommender_id.is_not(None),  # type: ignore[union-attr]
        sa.or_(*batch_readers) if batch_readers else sa.false(),
    )
    about_rest = sa.and_(
        Event.application_id.is_(None),  # type: ignore[union-attr]
        Event.recommender_id.is_(None),  # type: ignore[union-attr]
        sa.true() if office else Event.organization_id == org,
    )
    return sa.or_(about_application, about_batch, about_rest)


def type_filter(types: list[str]) -> sa.ColumnElement[bool]:
    """Event types: exact names, ``prefix.*`` for a family, ``*`` for all."""
    if not types or "*" in types:
        return sa.true()
    exact = [t for t in types if not t.endswith(".*")]
    clauses: list[sa.ColumnElement[bool]] = [Event.type.in_(exact)] if exact else []  # type: ignore[attr-defined]
    clauses += [Event.type.startswith(t[:-1], autoescape=True) for t in types if t.endswith(".*")]  # type: ignore[attr-defined]
    return sa.or_(*clauses)


def principal_of_user(session: Session, user_id: str) -> Principal | None:
    """The principal a user acts as now; None when the user is gone or deactivated."""
    row = session.execute(
        sa.select(User, Organization.province_code, Organization.recommender_kind)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.id == user_id)
    ).first()
    if row is None or not row[0].is_active:
        return None
    user: User = row[0]
    return Principal(
        user_id=user.id, username=user.username, display_name=user.display_name,
        organization_id=user.organization_id, province_code=row[1], recommender_kind=row[2],
        roles=frozenset(user.roles),
    )
