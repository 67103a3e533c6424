"""Moving an application through its workflow: transitions, sign-offs, reviews, outcomes."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.applications.models import Application, Endorsement, Review, Transition
from app.applications.schemas import EndorsementRequest, OutcomeRequest, ReviewRequest, VerificationRequest
from app.applications.service import (
    actors_of,
    canonical_digest,
    current_endorsements,
    require_actor,
    run_validation,
    sign_offs,
)
from app.applications.states import EDITABLE_STATES, State
from app.applications.validation import party_list
from app.applications.workflow import Actor, Step, TransitionNotAllowed, step_for
from app.core.clock import BEIJING
from app.core.concurrency import compare_and_set
from app.core.errors import (
    AppError,
    DeadlinePassed,
    FieldError,
    Forbidden,
    InvalidTransition,
    ValidationFailed,
)
from app.core.i18n import Text
from app.core.ids import new_id
from app.events.outbox import record_event
from app.organizations.models import Organization
from app.reference.models import Call


class ApplicationInvalid(AppError):
    status = 422
    code = "application_invalid"
    title = Text("申请书未通过校验", "The application does not pass validation")


class AlreadyEndorsed(AppError):
    status = 409
    code = "already_endorsed"
    title = Text("该方已签署", "This party has already signed off")


class PaperEndorsementRejected(AppError):
    status = 409
    code = "paper_endorsement_rejected"
    title = Text("存在被驳回的纸质签署", "A paper sign-off was rejected")


def _step(action: str, application: Application) -> Step:
    try:
        return step_for(action, application.state)
    except TransitionNotAllowed:
        raise InvalidTransition(
            Text("“{action}”不适用于当前状态 {state}", "'{action}' is not possible in state {state}"),
            action=action,
            state=application.state,
            extra={"state": application.state},
        ) from None


def deadline_for(session: Session, application: Application) -> datetime:
    """The call's deadline, or the recommender's internal deadline when that is earlier."""
    call = session.get(Call, application.call_id)
    assert call is not None
    deadline = call.deadline
    if application.recommender_id:
        internal = session.execute(
            sa.select(Organization.internal_deadline).where(Organization.id == application.recommender_id)
        ).scalar_one_or_none()
        if internal is not None and internal < deadline:
            deadline = internal
    return deadline


def check_deadline(session: Session, application: Application, now: datetime) -> None:
    deadline = deadline_for(session, application)
    if now > deadline:
        shown = deadline.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        raise DeadlinePassed(
            Text(
                "已超过截止时间（北京时间 {deadline}），逾期不予受理",
                "The deadline passed ({deadline} Beijing time); late submissions are not accepted",
            ),
            deadline=shown,
            extra={"deadline": deadline.astimezone(BEIJING).isoformat()},
        )


def apply_step(
    session: Session,
    application: Application,
    step: Step,
    *,
    actor_id: str | None,
    version: int,
    now: datetime,
    comment: str | None = None,
    **values: Any,
) -> None:
    """Apply one workflow step with a compare-and-set, record it in the history and the event log."""
    source = application.state
    if step.target in EDITABLE_STATES:
        session.execute(
            sa.update(Endorsement)
            .where(Endorsement.application_id == application.id, Endorsement.voided_at.is_(None))  # type: ignore[union-attr]
            .values(voided_at=now)
        )
        values["content_digest"] = None
    compare_and_set(session, application, version, state=step.target, updated_at=now, **values)
    session.add(
        Transition(
            id=new_id("trn"),
            application_id=application.id,
            action=step.action,
            from_state=source,
            to_state=step.target,
            actor_id=actor_id,
            comment=comment,
            at=now,
        )
    )
    record_event(
        session,
        "application.state_changed",
        application,
        now=now,
        actor_id=actor_id,
        application_id=application.id,
        recommender_id=application.recommender_id,
        organization_id=application.undertaking_org_id,
        data={"action": step.action, "from": source, "to": step.target},
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
    step = _step(action, application)
    require_actor(principal, application, step.actor)
    values: dict[str, Any] = {}
    if action == "submit":
        call = session.get(Call, application.call_id)
        assert call is not None
        report = run_validation(session, application, call)
        if report.errors:
            raise ApplicationInvalid(
                Text("请先更正校验错误", "Correct the validation errors first"), errors=report.errors
            )
        check_deadline(session, application, now)
        from app.attachments.service import attachment_digests

        # Sign-off pages are records of approval, not content the parties approve: they stay out of the digest.
        content_files = [a for a in attachment_digests(session, application.id) if a["kind"] != "paper_endorsement"]
        values.update(content_digest=canonical_digest(application, content_files), submitted_at=now)
    apply_step(
        session, application, step, actor_id=principal.user_id, version=version, now=now, comment=comment, **values
    )


def endorse(
    session: Session,
    principal: Principal,
    application: Application,
    body: EndorsementRequest,
    version: int,
    now: datetime,
) -> Endorsement:
    """Record one party's sign-off; when every party agreed the application moves on, a disagreement returns it."""
    if application.state != State.endorsing:
        raise InvalidTransition(
            Text("仅在会签阶段可签署意见", "Sign-offs are taken only while the application is endorsing"),
            extra={"state": application.state},
        )
    named = {(role, org) for role, org, _ in party_list(application.content.get("parties") or {})}
    if (body.role, body.organization_id) not in named:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "/organization_id",
                    "not_a_party",
                    Text("该单位不是本申请中该角色的一方", "The organization is not this party of the application"),
                )
            ]
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
            raise ValidationFailed(
                errors=[
                    FieldError(
                        "/attachment_id",
                        "required",
                        Text("纸质签署须附盖章页扫描件", "A paper sign-off needs the scanned stamped page"),
                    )
                ]
            )
        from app.attachments.service import attachment_belongs

        if not attachment_belongs(session, application.id, body.attachment_id, kind="paper_endorsement"):
            raise ValidationFailed(
                errors=[
                    FieldError(
                        "/attachment_id",
                        "unknown_attachment",
                        Text("附件不存在或不是纸质签署页", "No such paper_endorsement attachment on this application"),
                    )
                ]
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
    record_event(
        session,
        "endorsement.recorded",
        endorsement,
        now=now,
        actor_id=principal.user_id,
        application_id=application.id,
        recommender_id=application.recommender_id,
        organization_id=application.undertaking_org_id,
        data={"role": body.role, "organization_id": body.organization_id, "decision": body.decision, "mode": body.mode},
    )
    signs = sign_offs(application, [*current, endorsement])
    if body.decision == "disagree":
        apply_step(
            session,
            application,
            step_for("party_disagreed", application.state),
            actor_id=principal.user_id,
            version=version,
            now=now,
            comment=body.opinion,
        )
    elif all(s.status == "agreed" for s in signs):
        apply_step(
            session,
            application,
            step_for("all_agreed", application.state),
            actor_id=principal.user_id,
            version=version,
            now=now,
        )
    else:
        compare_and_set(session, application, version, updated_at=now)
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
    require_actor(principal, application, Actor.reviewer)
    if application.state not in (State.provincial_review, State.recommended):
        raise InvalidTransition(
            Text("仅在审核阶段可核验纸质签署", "Paper sign-offs are verified during review"),
            extra={"state": application.state},
        )
    endorsement = next((e for e in current_endorsements(session, application.id) if e.id == endorsement_id), None)
    if endorsement is None or endorsement.mode != "paper":
        raise ValidationFailed(
            errors=[
                FieldError(
                    "/endorsement_id",
                    "not_a_paper_endorsement",
                    Text("不是本申请的纸质签署", "Not a paper sign-off of this application"),
                )
            ]
        )
    compare_and_set(session, application, version, updated_at=now)
    endorsement.verification = body.verdict
    endorsement.verified_by = principal.user_id
    endorsement.verified_at = now
    endorsement.verification_comment = body.comment
    record_event(
        session,
        "endorsement.verified",
        endorsement,
        now=now,
        actor_id=principal.user_id,
        application_id=application.id,
        recommender_id=application.recommender_id,
        organization_id=application.undertaking_org_id,
        data={"verdict": body.verdict},
    )
    return endorsement


def review(
    session: Session, principal: Principal, application: Application, body: ReviewRequest, version: int, now: datetime
) -> Review:
    """The recommender's decision: recommend, return for correction (退回修改) or reject (不予推荐)."""
    step = _step(body.decision, application)
    require_actor(principal, application, Actor.reviewer)
    if step.needs_comment and not body.opinion:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "/opinion",
                    "required",
                    Text("退回或不予推荐须填写意见", "An opinion is required to return or reject"),
                )
            ]
        )
    if body.decision == "recommend":
        check_deadline(session, application, now)
        if any(
            e.mode == "paper" and e.verification == "rejected" for e in current_endorsements(session, application.id)
        ):
            raise PaperEndorsementRejected(
                Text(
                    "存在被驳回的纸质签署，不能推荐",
                    "A paper sign-off was rejected: the application cannot be recommended",
                )
            )
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
    session.add(row)
    apply_step(session, application, step, actor_id=principal.user_id, version=version, now=now, comment=body.opinion)
    record_event(
        session,
        "review.recorded",
        row,
        now=now,
        actor_id=principal.user_id,
        application_id=application.id,
        recommender_id=application.recommender_id,
        organization_id=application.undertaking_org_id,
        data={"decision": body.decision},
    )
    return row


def record_outcome(
    session: Session, principal: Principal, application: Application, body: OutcomeRequest, version: int, now: datetime
) -> None:
    """The office records whether the project was approved as a pilot (下达) or not."""
    step = _step(body.decision, application)
    if Actor.office not in actors_of(principal, application):
        require_actor(principal, application, Actor.office)
    if body.decision == "approve" and not body.document_number:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "/document_number",
                    "required",
                    Text("须填写下达文件文号", "The approving document number is required"),
                )
            ]
        )
    apply_step(
        session,
        application,
        step,
        actor_id=principal.user_id,
        version=version,
        now=now,
        outcome_document_number=body.document_number,
    )
