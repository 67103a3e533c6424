"""An application as a caller sees it: its sign-offs, the steps open to the caller now, its ETag."""

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.applications.access import actors_of
from app.applications.deadlines import past_deadline
from app.applications.models import Application, Endorsement
from app.applications.schemas import (
    ApplicationAction,
    ApplicationPublic,
    EndorsementMode,
    PartyRole,
    SignOff,
    StateName,
    VerificationState,
)
from app.applications.validation import party_list
from app.applications.workflow import DEADLINE_ACTIONS, Actor, Guard, available_actions
from app.core.deps import etag

CURRENT_ENDORSEMENTS = (
    sa.select(Endorsement)
    .where(col(Endorsement.application_id) == sa.bindparam("application_id"), col(Endorsement.voided_at).is_(None))
    .order_by(col(Endorsement.recorded_at))
)


def current_endorsements(session: Session, application_id: str) -> list[Endorsement]:
    return list(session.execute(CURRENT_ENDORSEMENTS, {"application_id": application_id}).scalars())


def sign_offs(application: Application, endorsements: list[Endorsement]) -> list[SignOff]:
    by_party = {(e.party_role, e.organization_id): e for e in endorsements}
    out = []
    for role, org, _ in party_list(application.content.get("parties") or {}):
        e = by_party.get((role, org))
        out.append(
            SignOff.model_construct(
                role=cast(PartyRole, role),
                organization_id=org,
                status="pending" if e is None else ("agreed" if e.decision == "agree" else "disagreed"),
                endorsement_id=e.id if e else None,
                mode=cast(EndorsementMode, e.mode) if e else None,
                verification=cast(VerificationState | None, e.verification) if e else None,
                recorded_at=e.recorded_at if e else None,
            )
        )
    return out


def allowed_actions(principal: Principal, application: Application, signs: list[SignOff]) -> list[str]:
    """The workflow table's steps open to the caller now (app.applications.workflow)."""
    actors = actors_of(principal, application)
    pending = {s.organization_id for s in signs if s.status == "pending"}
    facts: set[Guard] = set()
    if pending:
        facts.add(Guard.pending_sign_off)
        if principal.has(Role.signatory) and principal.organization_id in pending:
            actors.add(Actor.signatory)
    if any(s.mode == "paper" for s in signs):
        facts.add(Guard.paper_sign_off)
    if not any(s.mode == "paper" and s.verification == "rejected" for s in signs):
        facts.add(Guard.no_rejected_paper)
    return available_actions(application.state, actors, facts)


def open_actions(
    principal: Principal, application: Any, signs: list[SignOff], *, closed: bool
) -> list[ApplicationAction]:
    """``allowed_actions`` less the deadline steps once the deadline has passed (``closed``)."""
    return [
        cast(ApplicationAction, a)
        for a in allowed_actions(principal, application, signs)
        if not (closed and a in DEADLINE_ACTIONS)
    ]


def to_public(
    session: Session, principal: Principal, application: Application, now: datetime | None = None
) -> ApplicationPublic:
    return represent(
        principal,
        application,
        current_endorsements(session, application.id),
        closed=past_deadline(session, application, now),
    )


def representation_etag(
    session: Session, principal: Principal, application: Application, now: datetime | None = None
) -> str:
    """The ETag of the application as ``principal`` sees it now (what ``GET`` would send them)."""
    return etag(application.version, tuple(to_public(session, principal, application, now).allowed_actions))


def represent(
    principal: Principal, application: Application, endorsements: list[Endorsement], *, closed: bool = False
) -> ApplicationPublic:
    """The public shape; reads attributes only, so a loaded row serves as well as an ORM object.

    Built without re-validation: every value comes from the store, which only holds validated content.
    """
    c = application.content
    signs = sign_offs(application, endorsements)
    return ApplicationPublic.model_construct(
        id=application.id,
        call_id=application.call_id,
        title=application.title,
        state=cast(StateName, application.state),
        version=application.version,
        content_digest=application.content_digest,
        undertaking_org_id=application.undertaking_org_id,
        province_code=application.province_code,
        entered_by_org_id=application.entered_by_org_id,
        domain=c.get("domain"),
        recommender_id=c.get("recommender_id"),
        parties=c.get("parties") or {},
        contact=c.get("contact"),
        period=c.get("period"),
        sections=c.get("sections") or {},
        standards=c.get("standards") or [],
        funding=c.get("funding"),
        eligibility=c.get("eligibility") or [],
        sign_offs=signs,
        allowed_actions=open_actions(principal, application, signs, closed=closed),
        outcome_document_number=application.outcome_document_number,
        created_at=application.created_at,
        updated_at=application.updated_at,
        submitted_at=application.submitted_at,
    )
