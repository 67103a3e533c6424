"""Moving an application through its workflow: transitions, sign-offs, reviews, outcomes."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

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
from app.applications.workflow import Actor, Guard, Step, step_of
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


def deadline_for(session: Session, application: Application) -> datetime:
    """The call's deadline, or the recommender's internal deadline when that is earlier."""
    call = session.get(Call, application.call_id)
    assert call is not None
    deadline = call.deadline
    if application.recommender_id:
        internal = session.execute(
            sa.select(col(Organization.internal_deadline)).where(col(Organization.id) == application.recommender_id)
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


@dataclass(frozen=True, slots=True)
class _Attempt:
    session: Session
    principal: Principal
    application: Application
    step: Step
    now: datetime
    comment: str | None
    document_number: str | None


def _refuse_state(a: _Attempt) -> None:
    if State(a.application.state) in a.step.sources:
        return
    if a.step.refusal is not None:
        raise InvalidTransition(a.step.refusal, extra={"state": a.application.state})
    raise InvalidTransition(
        Text("“{action}”不适用于当前状态 {state}", "'{action}' is not possible in state {state}"),
        action=a.step.action,
        state=a.application.state,
        extra={"state": a.application.state},
    )


def _refuse_actor(a: _Attempt) -> None:
    if not (a.step.actors & actors_of(a.principal, a.application)):
        require_actor(a.principal, a.application, min(a.step.actors))


def _refuse_no_comment(a: _Attempt) -> None:
    if not a.comment:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "/opinion",
                    "required",
                    Text("退回或不予推荐须填写意见", "An opinion is required to return or reject"),
                )
            ]
        )


def _refuse_invalid_content(a: _Attempt) -> None:
    call = a.session.get(Call, a.application.call_id)
    assert call is not None
    report = run_validation(a.session, a.application, call)
    if report.errors:
        raise ApplicationInvalid(Text("请先更正校验错误", "Correct the validation errors first"), errors=report.errors)


def _refuse_late(a: _Attempt) -> None:
    check_deadline(a.session, a.application, a.now)


def _refuse_rejected_paper(a: _Attempt) -> None:
    if any(
        e.mode == "paper" and e.verification == "rejected" for e in current_endorsements(a.session, a.application.id)
    ):
        raise PaperEndorsementRejected(
            Text(
                "存在被驳回的纸质签署，不能推荐",
                "A paper sign-off was rejected: the application cannot be recommended",
            )
        )


def _refuse_no_document_number(a: _Attempt) -> None:
    if not a.document_number:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "/document_number",
                    "required",
                    Text("须填写下达文件文号", "The approving document number is required"),
                )
            ]
        )


def _offer_only(a: _Attempt) -> None:
    """Decides only whether allowed_actions offers the step; taking it is checked in full by the service."""


_GUARDS: dict[Guard, Callable[[_Attempt], None]] = {
    Guard.state: _refuse_state,
    Guard.actor: _refuse_actor,
    Guard.comment: _refuse_no_comment,
    Guard.valid_content: _refuse_invalid_content,
    Guard.deadline: _refuse_late,
    Guard.no_rejected_paper: _refuse_rejected_paper,
    Guard.document_number: _refuse_no_document_number,
    Guard.pending_sign_off: _offer_only,
    Guard.pending_paper: _offer_only,
}


def check_guards(
    session: Session,
    principal: Principal,
    application: Application,
    action: str,
    *,
    now: datetime,
    comment: str | None = None,
    document_number: str | None = None,
) -> Step:
    """The step ``action`` takes, once its guards (workflow table order) let the caller take it now."""
    step = step_of(action)
    if step is None:
        raise InvalidTransition(
            Text("“{action}”不适用于当前状态 {state}", "'{action}' is not possible in state {state}"),
            action=action,
            state=application.state,
            extra={"state": application.state},
        )
    attempt = _Attempt(session, principal, application, step, now, comment, document_number)
    for guard in step.guards:
        _GUARDS[guard](attempt)
    return step


def apply_action(
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
    """Take one workflow step: its guards, then ``prepare`` (values computed once allowed), then a
    compare-and-set on ``version`` that moves the state; the move goes into the history and the event log.
    The only place an application's state changes."""
    step = check_guards(
        session, principal, application, action, now=now, comment=comment, document_number=document_number
    )
    if prepare is not None:
        values.update(prepare())
    if step.target is None:
        compare_and_set(session, application, version, updated_at=now, **values)
        return step
    source = application.state
    if step.target in EDITABLE_STATES:
        # Going back to an editable state voids the sign-offs collected for the old content.
        session.execute(
            sa.update(Endorsement)
            .where(col(Endorsement.application_id) == application.id, col(Endorsement.voided_at).is_(None))
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
            actor_id=principal.user_id,
            comment=comment,
            at=now,
        )
    )
    record_event(
        session,
        "application.state_changed",
        application,
        now=now,
        actor_id=principal.user_id,
        application_id=application.id,
        recommender_id=application.recommender_id,
        organization_id=application.undertaking_org_id,
        data={"action": step.action, "from": source, "to": step.target},
    )
    return step


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
        from app.attachments.service import attachment_digests

        # Sign-off pages are records of approval, not content the parties approve: they stay out of the digest.
        content_files = [a for a in attachment_digests(session, application.id) if a["kind"] != "paper_endorsement"]
        return {"content_digest": canonical_digest(application, content_files), "submitted_at": now}

    apply_action(session, principal, application, action, version=version, now=now, comment=comment, prepare=digest)


def endorse(
    session: Session,
    principal: Principal,
    application: Application,
    body: EndorsementRequest,
    version: int,
    now: datetime,
) -> Endorsement:
    """Record one party's sign-off; when every party agreed the application moves on, a disagreement returns it."""
    check_guards(session, principal, application, "endorse", now=now)
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
        then = "party_disagreed"
    elif all(s.status == "agreed" for s in signs):
        then = "all_agreed"
    else:
        then = "endorse"
    apply_action(
        session,
        principal,
        application,
        then,
        version=version,
        now=now,
        comment=body.opinion if then == "party_disagreed" else None,
    )
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
    check_guards(session, principal, application, "verify_paper_endorsement", now=now)
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
    apply_action(session, principal, application, "verify_paper_endorsement", version=version, now=now)
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

    apply_action(
        session,
        principal,
        application,
        body.decision,
        version=version,
        now=now,
        comment=body.opinion,
        prepare=record,
    )
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
    apply_action(
        session,
        principal,
        application,
        body.decision,
        version=version,
        now=now,
        document_number=body.document_number,
        outcome_document_number=body.document_number,
    )
