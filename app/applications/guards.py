"""The checks of the application workflow's guards: one function per ``Guard`` of the table, run by the
engine (``app.workflow.engine.run_guards``) in the order each step lists them.

A new rule is one ``Guard`` member on the rows it concerns (``app.applications.workflow``) and one
check here, in ``CHECKS``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.applications.access import actors_of, require_actor
from app.applications.content import run_validation
from app.applications.deadlines import refuse_late
from app.applications.models import Application
from app.applications.representation import current_endorsements
from app.applications.workflow import Guard, Step, step_of
from app.core.errors import AppError, Forbidden
from app.core.i18n import Text
from app.core.invalid import invalid
from app.reference.models import Call
from app.workflow.engine import refuse_state, refuse_unknown, run_guards


class ApplicationInvalid(AppError):
    status = 422
    code = "application_invalid"
    title = Text("申请书未通过校验", "The application does not pass validation")


class PaperEndorsementRejected(AppError):
    status = 409
    code = "paper_endorsement_rejected"
    title = Text("存在被驳回的纸质签署", "A paper sign-off was rejected")


@dataclass(frozen=True, slots=True)
class Attempt:
    """A caller's attempt at one step of one application, with the values the step's guards read."""

    session: Session
    principal: Principal
    application: Application
    step: Step
    now: datetime
    comment: str | None = None
    document_number: str | None = None


def _refuse_state(a: Attempt) -> None:
    refuse_state(a.step, a.application.state)


def _refuse_actor(a: Attempt) -> None:
    if a.step.actors & actors_of(a.principal, a.application):
        return
    if a.step.forbidden is not None:
        # Acting as the applicant is open to the unit's applicants and to the reviewer who entered it.
        raise Forbidden(a.step.forbidden, extra={"required_roles": [Role.applicant.value, Role.reviewer.value]})
    require_actor(a.principal, a.application, min(a.step.actors))


def _refuse_no_comment(a: Attempt) -> None:
    if not a.comment:
        raise invalid(
            "/opinion", "required", Text("退回或不予推荐须填写意见", "An opinion is required to return or reject")
        )


def _refuse_invalid_content(a: Attempt) -> None:
    call = a.session.get(Call, a.application.call_id)
    assert call is not None
    report = run_validation(a.session, a.application, call)
    if report.errors:
        raise ApplicationInvalid(Text("请先更正校验错误", "Correct the validation errors first"), errors=report.errors)


def _refuse_late(a: Attempt) -> None:
    refuse_late(a.session, a.application, a.now)


def _refuse_rejected_paper(a: Attempt) -> None:
    if any(
        e.mode == "paper" and e.verification == "rejected" for e in current_endorsements(a.session, a.application.id)
    ):
        raise PaperEndorsementRejected(
            Text(
                "存在被驳回的纸质签署，不能推荐",
                "A paper sign-off was rejected: the application cannot be recommended",
            )
        )


def _refuse_no_document_number(a: Attempt) -> None:
    if not a.document_number:
        raise invalid(
            "/document_number", "required", Text("须填写下达文件文号", "The approving document number is required")
        )


def _offer_only(a: Attempt) -> None:
    """Decides only whether allowed_actions offers the step; taking it is checked in full by the service."""


CHECKS: dict[Guard, Callable[[Attempt], None]] = {
    Guard.state: _refuse_state,
    Guard.actor: _refuse_actor,
    Guard.comment: _refuse_no_comment,
    Guard.valid_content: _refuse_invalid_content,
    Guard.deadline: _refuse_late,
    Guard.no_rejected_paper: _refuse_rejected_paper,
    Guard.document_number: _refuse_no_document_number,
    Guard.pending_sign_off: _offer_only,
    Guard.paper_sign_off: _offer_only,
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
        raise refuse_unknown(action, application.state)
    run_guards(step, CHECKS, Attempt(session, principal, application, step, now, comment, document_number))
    return step
