"""The checks of the recommended list's guards (``app.batches.workflow``), and taking a step of that
table through the one engine (``app.workflow.engine``): its guards in the table's order, then the
compare-and-set that moves the list on and its line in the history.

A new rule is one ``BatchGuard`` member on the rows it concerns and one check here, in ``CHECKS``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.accounts.principal import Principal, require_role
from app.batches.models import Batch, BatchTransition
from app.batches.workflow import BatchActor, BatchGuard, BatchStep, batch_step
from app.core.errors import Forbidden
from app.core.i18n import Text
from app.core.invalid import invalid
from app.reference.models import Call
from app.workflow import engine
from app.workflow.deadline import refuse_late


def require_owner(principal: Principal, batch: Batch) -> None:
    if not (principal.is_recommender_reviewer and principal.organization_id == batch.recommender_id):
        raise Forbidden(
            Text("只有推荐单位的审核人可管理本单位的推荐清单", "Only a reviewer of the recommender manages its list"),
            extra={"required_roles": [Role.reviewer.value]},
        )


@dataclass(frozen=True, slots=True)
class BatchAttempt:
    """A caller's attempt at one step of one list, with the values the step's guards read."""

    session: Session
    principal: Principal
    batch: Batch
    step: BatchStep
    now: datetime
    comment: str | None = None


def _refuse_actor(a: BatchAttempt) -> None:
    if BatchActor.owner in a.step.actors:
        require_owner(a.principal, a.batch)
    else:
        require_role(a.principal, Role.office)


def _refuse_state(a: BatchAttempt) -> None:
    engine.refuse_state(a.step, a.batch.state)


def _refuse_no_comment(a: BatchAttempt) -> None:
    if not a.comment:
        raise invalid("/comment", "required", Text("退回须填写意见", "A comment is required to return"))


def _refuse_late(a: BatchAttempt) -> None:
    call = a.session.get(Call, a.batch.call_id)
    assert call is not None
    refuse_late(a.now, call.deadline)


CHECKS: dict[BatchGuard, Callable[[BatchAttempt], None]] = {
    BatchGuard.actor: _refuse_actor,
    BatchGuard.state: _refuse_state,
    BatchGuard.comment: _refuse_no_comment,
    BatchGuard.deadline: _refuse_late,
}


def check_batch_guards(
    session: Session, principal: Principal, batch: Batch, action: str, *, now: datetime, comment: str | None = None
) -> BatchStep:
    """The step ``action`` takes, once its guards (in the table's order) let the caller take it now."""
    step = batch_step(action)
    if step is None:
        raise engine.refuse_unknown(action, batch.state)
    engine.run_guards(step, CHECKS, BatchAttempt(session, principal, batch, step, now, comment))
    return step


def apply_batch_step(
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
    """Apply a step whose guards passed (``app.workflow.engine.apply_step``): a compare-and-set on
    ``version`` and, when the state moves, a line in the list's history."""

    def moved(source: str, target: str) -> None:
        line = engine.history_line(
            BatchTransition,
            "btr",
            step,
            source,
            target,
            actor_id=principal.user_id,
            comment=comment,
            at=now,
            batch_id=batch.id,
        )
        session.add(line)

    engine.apply_step(session, batch, step, source=batch.state, version=version, now=now, moved=moved, **values)
