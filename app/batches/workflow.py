"""The recommended list's workflow as data: (state, action) → next state, who may take it, its guards.

Pure: no FastAPI, no database. The one engine (``app.workflow.engine``) runs a step's guards in the
order listed here (their checks: ``app.batches.transitions``) and applies it with a compare-and-set on
``version``; nothing else assigns a list's ``state``. ``allowed_actions`` comes from the same table.
"""

from collections.abc import Set
from enum import StrEnum

from app.batches.models import EDITABLE_BATCH_STATES, BatchState
from app.core.i18n import Text
from app.workflow import engine


class BatchActor(StrEnum):
    owner = "owner"  # a reviewer of the recommender whose list it is
    office = "office"


class BatchGuard(StrEnum):
    """A precondition of a step, checked in the order the step lists them."""

    actor = "actor"  # 403 unless the caller acts as the step's actor
    state = "state"  # 409 invalid_transition unless the list is in a source state
    comment = "comment"  # 422 on /comment without one
    deadline = "deadline"  # 409 deadline_passed after the call's deadline


BatchStep = engine.Step[BatchState, BatchActor, BatchGuard]


def _step(
    action: str,
    sources: frozenset[BatchState],
    target: BatchState | None,
    actor: BatchActor,
    guards: tuple[BatchGuard, ...],
    refusal: Text | None = None,
) -> BatchStep:
    return engine.Step(action, sources, target, frozenset({actor}), guards, refusal)


INITIAL_BATCH_STATE = BatchState.open
BATCH_STEPS: tuple[BatchStep, ...] = (
    _step(
        "set_items",
        EDITABLE_BATCH_STATES,
        None,
        BatchActor.owner,
        (BatchGuard.actor, BatchGuard.state),
        refusal=Text("推荐清单已报送，仅在未报送或被退回时可修改", "The list can change only while open or returned"),
    ),
    _step(
        "submit",
        EDITABLE_BATCH_STATES,
        BatchState.submitted,
        BatchActor.owner,
        (BatchGuard.actor, BatchGuard.state, BatchGuard.deadline),
    ),
    _step(
        "acknowledge",
        frozenset({BatchState.submitted}),
        BatchState.acknowledged,
        BatchActor.office,
        (BatchGuard.actor, BatchGuard.state),
    ),
    _step(
        "return",
        frozenset({BatchState.submitted}),
        BatchState.returned,
        BatchActor.office,
        (BatchGuard.actor, BatchGuard.state, BatchGuard.comment, BatchGuard.deadline),
    ),
)
_BY_ACTION = {s.action: s for s in BATCH_STEPS}


def batch_step(action: str) -> BatchStep | None:
    return _BY_ACTION.get(action)


def available_batch_actions(state: str, actors: Set[BatchActor]) -> list[str]:
    """Actions of the table open from ``state`` to a caller acting as any of ``actors``."""
    return engine.available(BATCH_STEPS, state, actors)
