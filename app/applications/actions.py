"""Moving an application through its workflow: transitions, sign-offs, reviews, outcomes, each one step
of the table (``app.applications.workflow``) taken through the one engine (``app.workflow.engine``)."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.applications.access import require_actor
from app.applications.attached import attachment_belongs, attachment_digests
from app.applications.content import canonical_digest
from app.applications.events import record_application_event
from app.applications.guards import ApplicationInvalid as ApplicationInvalid
from app.applications.guards import PaperEndorsementRejected as PaperEndorsementRejected
from app.applications.guards import check_guards
from app.applications.models import Application, Endorsement, Review, Transition
from app.applications.representation import current_endorsements, sign_offs
from app.applications.schemas import EndorsementRequest, OutcomeRequest, ReviewRequest, VerificationRequest
from app.applications.states import EDITABLE_STATES
from app.applications.validation import party_list
from app.applications.workflow import Actor, Step
from app.core.errors import AppError, Forbidden
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.invalid import invalid
from app.workflow import engine


class AlreadyEndorsed(AppError):
    status = 409
    code = "already_endorsed"
    title = Text("该方已签署", "This party has already signed off")


def take_step(
    session: Session,
    principal: Principal,
    application: Application,
    action: str,
    *,
    version: int,
    now: datetime,
    comment: str | None = None,
    document_number: str | None = None,
    prepare: Callable[[], dict[str, Any]] | None = None,
    **values: Any,
) -> Step:
    """Take one workflow step: its guards, then ``prepare`` (values computed once allowed), then the move."""
    step = check_guards(
        session, principal, application, action, now=now, comment=comment, document_number=document_number
    )
    if prepare is not None:
        values.update(prepare())
    apply_step(session, principal, application, step, version=version, now=now, comment=comment, **values)
    return step


def apply_step(
    session: Session,
    principal: Principal,
    application: Application,
    step: Step,
    *,
    version: int,
    now: datetime,
    comment: str | None = None,
    **values: Any,
) -> None:
    """Apply a step whose guards passed (``app.workflow.engine.apply_step``): a compare-and-set on
    ``version``; a move goes into the history and the event log, and a move back to an editable state
    voids the sign-offs collected for the old content. The only place an application's state changes."""

    def leaving(target: str) -> dict[str, Any]:
        if target not in EDITABLE_STATES:
            return {}
        session.execute(
            sa.update(Endorsement)
            .where(col(Endorsement.application_id) == application.id, col(Endorsement.voided_at).is_(None))
            .values(voided_at=now)
        )
        return {"content_digest": None}

    def moved(source: str, target: str) -> None:
        line = engine.history_line(
            Transition,
            "trn",
            step,
            source,
            target,
            actor_id=principal.user_id,
            comment=comment,
            at=now,
            application_id=application.id,
        )
        session.add(line)
        record_application_event(
            session,
            "application.state_changed",
            application,
            application,
            principal,
            now=now,
            data={"action": step.action, "from": source, "to": target},
        )

    engine.apply_step(
        session,
        application,
        step,
        source=application.state,
        version=version,
        now=now,
        leaving=leaving,
        moved=moved,
        **values,
    )


def transition(
    session: Session,
    principal: Principal,
    application: Application,
    action: str,
    comment: str | None,
    version: int,
    now: datetime,
) -> None:
    """submit, recall, withdraw (applicant) and reopen (reviewer)."""

    def digest() -> dict[str, Any]:
        if action != "submit":
            return {}
        # Sign-off pages are records of approval, not content the parties approve: they stay out of the digest.
        content_files = [a for a in attachment_digests(session, application.id) if a["kind"] != "paper_endorsement"]
        return {"content_digest": canonical_digest(application, content_files), "submitted_at": now}

    take_step(session, principal, application, action, version=version, now=now, comment=comment, prepare=digest)


def endorse(
    session: Session,
    principal: Principal,
    application: Application,
    body: EndorsementRequest,
    version: int,
    now: datetime,
) -> Endorsement:
    """Record one party's sign-off; when every party agreed the application moves on, a disagreement returns it."""
    step = check_guards(session, principal, application, "endorse", now=now)
    named = {(role, org) for role, org, _ in party_list(application.content.get("parties") or {})}
    if (body.role, body.organization_id) not in named:
        raise invalid(
            "/organization_id",
            "not_a_party",
            Text("该单位不是本申请中该角色的一方", "The organization is not this party of the application"),
        )
    if body.mode == "online":
        if not (principal.has(Role.signatory) and principal.organization_id == body.organization_id):
            raise Forbidden(
                Text("只能以本单位签署人身份签署本单位意见", "A signatory signs only for its own organization"),
                extra={"required_roles": ["signatory"]},
            )
    else:
        require_actor(principal, application, Actor.applicant)
        if not body.attachment_id:
            raise invalid(
                "/attachment_id",
                "required",
                Text("纸质签署须附盖章页扫描件", "A paper sign-off needs the scanned stamped page"),
            )
        if not attachment_belongs(session, application.id, body.attachment_id, kind="paper_endorsement"):
            raise invalid(
                "/attachment_id",
                "unknown_attachment",
                Text("附件不存在或不是纸质签署页", "No such paper_endorsement attachment on this application"),
            )
    current = current_endorsements(session, application.id)
    if any(e.party_role == body.role and e.organization_id == body.organization_id for e in current):
        raise AlreadyEndorsed()
    assert application.content_digest is not None
    endorsement = Endorsement(
        id=new_id("end"),
        application_id=application.id,
        party_role=body.role,
        organization_id=body.organization_id,
        decision=body.decision,
        opinion=body.opinion,
        signatory_name=body.signatory_name,
        signatory_title=body.signatory_title,
        mode=body.mode,
        attachment_id=body.attachment_id,
        verification="pending" if body.mode == "paper" else None,
        content_digest=application.content_digest,
        recorded_by=principal.user_id,
        recorded_at=now,
    )
    session.add(endorsement)
    session.flush()
    record_application_event(
        session,
        "endorsement.recorded",
        endorsement,
        application,
        principal,
        now=now,
        data={"role": body.role, "organization_id": body.organization_id, "decision": body.decision, "mode": body.mode},
    )
    signs = sign_offs(application, [*current, endorsement])
    if body.decision == "disagree":
        # The system's step: its own guards (the state), once.
        take_step(session, principal, application, "party_disagreed", version=version, now=now, comment=body.opinion)
    elif all(s.status == "agreed" for s in signs):
        take_step(session, principal, application, "all_agreed", version=version, now=now)
    else:
        apply_step(session, principal, application, step, version=version, now=now)  # its guards ran above
    return endorsement


def verify_paper_endorsement(
    session: Session,
    principal: Principal,
    application: Application,
    endorsement_id: str,
    body: VerificationRequest,
    version: int,
    now: datetime,
) -> Endorsement:
    """The recommender's reviewer confirms or rejects a sign-off made on paper."""
    step = check_guards(session, principal, application, "verify_paper_endorsement", now=now)
    endorsement = next((e for e in current_endorsements(session, application.id) if e.id == endorsement_id), None)
    if endorsement is None or endorsement.mode != "paper":
        raise invalid(
            "/endorsement_id",
            "not_a_paper_endorsement",
            Text("不是本申请的纸质签署", "Not a paper sign-off of this application"),
        )
    apply_step(session, principal, application, step, version=version, now=now)  # its guards ran above
    endorsement.verification = body.verdict
    endorsement.verified_by = principal.user_id
    endorsement.verified_at = now
    endorsement.verification_comment = body.comment
    record_application_event(
        session, "endorsement.verified", endorsement, application, principal, now=now, data={"verdict": body.verdict}
    )
    return endorsement


def review(
    session: Session, principal: Principal, application: Application, body: ReviewRequest, version: int, now: datetime
) -> Review:
    """The recommender's decision: recommend, return for correction (退回修改) or reject (不予推荐)."""
    row = Review(
        id=new_id("rev"),
        application_id=application.id,
        recommender_id=principal.organization_id,
        decision=body.decision,
        opinion=body.opinion,
        reviewer_id=principal.user_id,
        content_digest=application.content_digest,
        recorded_at=now,
    )

    def record() -> dict[str, Any]:
        session.add(row)
        return {}

    take_step(
        session,
        principal,
        application,
        body.decision,
        version=version,
        now=now,
        comment=body.opinion,
        prepare=record,
    )
    record_application_event(
        session, "review.recorded", row, application, principal, now=now, data={"decision": body.decision}
    )
    return row


def record_outcome(
    session: Session, principal: Principal, application: Application, body: OutcomeRequest, version: int, now: datetime
) -> None:
    """The office records whether the project was approved as a pilot (下达) or not."""
    take_step(
        session,
        principal,
        application,
        body.decision,
        version=version,
        now=now,
        document_number=body.document_number,
        outcome_document_number=body.document_number,
    )
