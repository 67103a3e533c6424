"""The guards of the application workflow: what each ``Guard`` of the table checks, and the one
function that runs a step's guards in the table's order."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.principal import Principal
from app.applications.models import Application
from app.applications.service import actors_of, current_endorsements, require_actor, run_validation
from app.applications.states import State
from app.applications.workflow import Guard, Step, step_of
from app.core.clock import BEIJING
from app.core.errors import AppError, DeadlinePassed, InvalidTransition
from app.core.i18n import Text
from app.core.invalid import invalid
from app.organizations.models import Organization
from app.reference.models import Call


class ApplicationInvalid(AppError):
    status = 422
    code = "application_invalid"
    title = Text("申请书未通过校验", "The application does not pass validation")


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
        raise invalid(
            "/opinion", "required", Text("退回或不予推荐须填写意见", "An opinion is required to return or reject")
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
        raise invalid(
            "/document_number", "required", Text("须填写下达文件文号", "The approving document number is required")
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
