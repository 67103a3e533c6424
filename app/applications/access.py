"""Who may see which applications (one filter, used by the list and by every loader), and how a caller
relates to one it sees (the actors of the workflow table).

Anything the caller may not see answers 404, never 403 — no existence leaks.
"""

import functools
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Path
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import Role
from app.accounts.principal import CurrentPrincipal, Principal
from app.applications.models import Application, ApplicationParty
from app.applications.states import OFFICE_VISIBLE_STATES, State
from app.applications.workflow import Actor
from app.core.deps import DbSession
from app.core.errors import FieldError, Forbidden, NotFound
from app.core.i18n import Text
from app.reference.data import XPCC_CODE, XPCC_SERVED_PROVINCES
from app.reference.labels import ROLES, labelled


def visibility_filter(principal: Principal) -> sa.ColumnElement[bool]:
    """A WHERE clause selecting the applications ``principal`` may see (docs/roles.md)."""
    if principal.is_admin:
        return sa.true()
    org = principal.organization_id
    # "Once past draft": a draft withdrawn before it was ever submitted never went before the parties.
    past_draft = sa.and_(
        col(Application.state) != State.draft,
        sa.or_(col(Application.state) != State.withdrawn, col(Application.submitted_at).is_not(None)),
    )
    clauses: list[sa.ColumnElement[bool]] = []
    if principal.has(Role.applicant):
        clauses.append(col(Application.undertaking_org_id) == org)
    if principal.has(Role.signatory):
        named = sa.exists().where(
            col(ApplicationParty.application_id) == col(Application.id), col(ApplicationParty.organization_id) == org
        )
        clauses.append(sa.and_(past_draft, named))
    if principal.has(Role.reviewer) and principal.recommender_kind:
        clauses.append(
            sa.and_(
                col(Application.recommender_id) == org,
                sa.or_(past_draft, col(Application.entered_by_org_id) == org),
            )
        )
    if principal.has(Role.office):
        # Equalities, not IN: the statement is compiled once and reused as is (no expanding parameters).
        clauses.append(sa.or_(*(col(Application.state) == s for s in OFFICE_VISIBLE_STATES)))
    return sa.or_(*clauses) if clauses else sa.false()


def entry_errors(principal: Principal, undertaking_province_code: str) -> list[FieldError]:
    """Whether a recommender's reviewer may enter an application for a unit of this province.

    A provincial bureau enters paper applications only for units of the region it serves (XPCC's
    bureau serves Xinjiang too); a member unit recommends nationally, so for any unit. The one rule
    of ``POST /applications`` and of bulk uploads: what a reviewer enters, it sees as a draft.
    """
    if principal.recommender_kind != "province":
        return []
    code = principal.province_code
    serves = XPCC_SERVED_PROVINCES if code == XPCC_CODE else {code}
    if undertaking_province_code in serves:
        return []
    return [
        FieldError(
            "/parties/undertaking",
            "undertaking_outside_province",
            Text(
                "省级市场监管部门只能为本省单位代录申请",
                "A provincial bureau enters applications only for units of its province",
            ),
        )
    ]


@functools.lru_cache(maxsize=64)
def loader(roles: frozenset[str], recommender_kind: str | None) -> sa.Select[Application]:
    """The loading statement for callers of one kind, with the organization as a bound parameter."""
    shape = Principal(
        user_id="",
        username="",
        display_name="",
        organization_id=sa.bindparam("org"),  # type: ignore[arg-type]  # a bound parameter, so one statement serves every organization
        province_code="",
        recommender_kind=recommender_kind,
        roles=roles,
    )
    return sa.select(Application).where(col(Application.id) == sa.bindparam("application_id"), visibility_filter(shape))


def load_visible_application(
    session: Session, principal: Principal, application_id: str, *, for_update: bool = False
) -> Application:
    """The application if the caller may see it, else 404 (``for_update`` locks the row on PostgreSQL)."""
    query = loader(principal.roles, principal.recommender_kind)
    if for_update and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    application = session.execute(
        query, {"org": principal.organization_id, "application_id": application_id}
    ).scalar_one_or_none()
    if application is None:
        raise NotFound()
    return application


def _visible_application(
    principal: CurrentPrincipal,
    session: DbSession,
    application_id: Annotated[str, Path(max_length=32, description="Application id")],
) -> Application:
    return load_visible_application(session, principal, application_id)


VisibleApplication = Annotated[Application, Depends(_visible_application)]


def actors_of(principal: Principal, application: Application) -> set[Actor]:
    """How the caller relates to this application."""
    org = principal.organization_id
    actors: set[Actor] = set()
    if (principal.has(Role.applicant) and application.undertaking_org_id == org) or (
        principal.has(Role.reviewer) and application.entered_by_org_id == org
    ):
        actors.add(Actor.applicant)
    if principal.has(Role.reviewer) and application.recommender_id == org:
        actors.add(Actor.reviewer)
    if principal.has(Role.office):
        actors.add(Actor.office)
    return actors


def require_actor(principal: Principal, application: Application, actor: Actor) -> None:
    if actor not in actors_of(principal, application):
        role = {Actor.applicant: Role.applicant, Actor.reviewer: Role.reviewer, Actor.office: Role.office}[actor]
        raise Forbidden(
            Text("需要本申请的{role}角色", "Requires the {role} role for this application"),
            role=labelled(ROLES, role.value),
            extra={"required_roles": [role.value]},
        )
