"""The application workflow as data: (state, action) → next state, and who may take it.

Pure: no FastAPI, no database. The service applies a step with a compare-and-set on ``version``;
nothing else assigns ``state``. ``allowed_actions`` for a caller comes from the same table.
"""

from dataclasses import dataclass
from enum import StrEnum

from app.applications.states import State


class Actor(StrEnum):
    """How the caller relates to one application."""

    applicant = "applicant"  # applicant of the undertaking unit (or the reviewer who entered it from paper)
    reviewer = "reviewer"  # reviewer of the application's recommender
    office = "office"
    system = "system"  # steps the service takes itself (all parties agreed, batch submitted…)


@dataclass(frozen=True, slots=True)
class Step:
    action: str
    sources: frozenset[State]
    target: State
    actor: Actor
    needs_comment: bool = False
    checks_deadline: bool = False


_ALIVE = frozenset({State.draft, State.returned, State.endorsing, State.provincial_review, State.recommended})

STEPS: tuple[Step, ...] = (
    Step("submit", frozenset({State.draft, State.returned}), State.endorsing, Actor.applicant, checks_deadline=True),
    Step("recall", frozenset({State.endorsing}), State.draft, Actor.applicant),
    Step("withdraw", _ALIVE, State.withdrawn, Actor.applicant),
    Step("all_agreed", frozenset({State.endorsing}), State.provincial_review, Actor.system),
    Step("party_disagreed", frozenset({State.endorsing}), State.returned, Actor.system),
    Step("recommend", frozenset({State.provincial_review}), State.recommended, Actor.reviewer, checks_deadline=True),
    Step("return", frozenset({State.provincial_review}), State.returned, Actor.reviewer, needs_comment=True),
    Step("reject", frozenset({State.provincial_review}), State.rejected, Actor.reviewer, needs_comment=True),
    Step("reopen", frozenset({State.recommended}), State.provincial_review, Actor.reviewer),
    Step("batch_submitted", frozenset({State.recommended}), State.submitted, Actor.system),
    Step("batch_returned", frozenset({State.submitted}), State.recommended, Actor.system),
    Step("approve", frozenset({State.submitted}), State.approved, Actor.office),
    Step("not_approve", frozenset({State.submitted}), State.not_approved, Actor.office),
)
_BY_ACTION = {s.action: s for s in STEPS}

# Going back to an editable state voids the sign-offs collected for the old content.
EDIT_RETURN_TARGETS = frozenset({State.draft, State.returned})


class TransitionNotAllowed(Exception):
    def __init__(self, action: str, state: str) -> None:
        self.action, self.state = action, state
        super().__init__(f"{action} not allowed in {state}")


def step_for(action: str, state: str) -> Step:
    """The step ``action`` takes from ``state``, or TransitionNotAllowed."""
    step = _BY_ACTION.get(action)
    if step is None or State(state) not in step.sources:
        raise TransitionNotAllowed(action, state)
    return step


def actor_for(action: str) -> Actor:
    return _BY_ACTION[action].actor


def available_actions(state: str, actors: set[Actor]) -> list[str]:
    """Actions of the table open from ``state`` to a caller acting as any of ``actors``."""
    current = State(state)
    return [s.action for s in STEPS if current in s.sources and s.actor in actors and s.actor is not Actor.system]
