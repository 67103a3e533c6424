"""Taking a step of the recommended list's workflow (app.batches.workflow): its guards in the table's
order, then the compare-and-set that moves the list on and its line in the history."""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.accounts.principal import Principal, require_role
from app.batches.models import Batch, BatchState, BatchTransition
from app.batches.workflow import BatchActor, BatchGuard, BatchStep, batch_step
from app.core.clock import BEIJING
from app.core.concurrency import compare_and_set
from app.core.errors import DeadlinePassed, Forbidden, InvalidTransition
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.invalid import invalid
from app.reference.models import Call


def require_owner(principal: Principal, batch: Batch) -> None:
    if not (principal.is_recommender_reviewer and principal.organization_id == batch.recommender_id):
        raise Forbidden(
            Text("只有推荐单位的审核人可管理本单位的推荐清单", "Only a reviewer of the recommender manages its list"),
            extra={"required_roles": [Role.reviewer.value]},
        )


def _refuse_actor(principal: Principal, batch: Batch, step: BatchStep) -> None:
    if step.actor is BatchActor.owner:
        require_owner(principal, batch)
    else:
        require_role(principal, Role.office)


def _refuse_state(batch: Batch, step: BatchStep) -> None:
    if BatchState(batch.state) in step.sources:
        return
    if step.refusal is not None:
        raise InvalidTransition(step.refusal, extra={"state": batch.state})
    raise InvalidTransition(
        Text("“{action}”不适用于当前状态 {state}", "'{action}' is not possible in state {state}"),
        action=step.action,
        state=batch.state,
        extra={"state": batch.state},
    )


def _refuse_late(session: Session, batch: Batch, now: datetime) -> None:
    call = session.get(Call, batch.call_id)
    assert call is not None
    if now > call.deadline:
        shown = call.deadline.astimezone(BEIJING)
        raise DeadlinePassed(
            Text(
                "已超过截止时间（北京时间 {deadline}），逾期不予受理",
                "The deadline passed ({deadline} Beijing time); late submissions are not accepted",
            ),
            deadline=shown.strftime("%Y-%m-%d %H:%M:%S"),
            extra={"deadline": shown.isoformat()},
        )


def check_batch_guards(
    session: Session, principal: Principal, batch: Batch, action: str, *, now: datetime, comment: str | None = None
) -> BatchStep:
    """The step ``action`` takes, once its guards (in the table's order) let the caller take it now."""
    step = batch_step(action)
    for guard in step.guards:
        if guard is BatchGuard.actor:
            _refuse_actor(principal, batch, step)
        elif guard is BatchGuard.state:
            _refuse_state(batch, step)
        elif guard is BatchGuard.comment and not comment:
            raise invalid("/comment", "required", Text("退回须填写意见", "A comment is required to return"))
        elif guard is BatchGuard.deadline:
            _refuse_late(session, batch, now)
    return step


def apply_batch_action(
    session: Session,
    principal: Principal,
    batch: Batch,
    step: BatchStep,
    *,
    version: int,
    now: datetime,
    comment: str | None = None,
    **values: Any,
) -> None:
    """Apply a step whose guards passed: a compare-and-set on ``version`` and, when the state moves, a line
    in the list's history. The only place a list's state changes."""
    if step.target is None:
        compare_and_set(session, batch, version, updated_at=now, **values)
        return
    source = batch.state
    compare_and_set(session, batch, version, state=step.target, updated_at=now, **values)
    session.add(
        BatchTransition(
            id=new_id("btr"),
            batch_id=batch.id,
            action=step.action,
            from_state=source,
            to_state=step.target,
            actor_id=principal.user_id,
            comment=comment,
            at=now,
        )
    )
