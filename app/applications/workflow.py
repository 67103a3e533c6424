"""The application workflow as data: (state, action) → next state, who may take it, and its guards.

Pure: no FastAPI, no database. The one engine (``app.workflow.engine``) runs a step's guards in the
order listed here (their checks: ``app.applications.guards``) and applies it with a compare-and-set on
``version`` (``app.applications.actions.take``); nothing else assigns ``state``. ``allowed_actions`` for
a caller comes from the same table, so what is offered and what is accepted cannot drift apart.
"""

from collections.abc import Set
from enum import StrEnum

from app.applications.states import EDITABLE_STATES, State
from app.core.i18n import Text
from app.workflow import engine


class Actor(StrEnum):
    """How the caller relates to one application."""

    applicant = "applicant"  # applicant of the undertaking unit (or the reviewer who entered it from paper)
    reviewer = "reviewer"  # reviewer of the application's recommender
    office = "office"
    signatory = "signatory"  # signatory of a party whose sign-off is still pending
    system = "system"  # steps the service takes itself (all parties agreed, batch submitted…)


class Guard(StrEnum):
    """A precondition of a step; each step lists its guards in the order they are checked."""

    state = "state"  # the application is in one of the step's source states (else 409 invalid_state_transition)
    actor = "actor"  # the caller acts as one of the step's actors (else 403)
    comment = "comment"  # an opinion is given (else 422 on /opinion)
    valid_content = "valid_content"  # the content passes validation (else 422 application_invalid)
    deadline = "deadline"  # the call's (or the recommender's internal) deadline has not passed (else 409)
    no_rejected_paper = "no_rejected_paper"  # no paper sign-off was rejected (else 409)
    document_number = "document_number"  # approving needs the document number (else 422)
    # Offered in allowed_actions only when true; not checked when the step is taken (the service checks more).
    pending_sign_off = "pending_sign_off"
    paper_sign_off = "paper_sign_off"  # a paper sign-off to verify (or whose verdict to correct)


Step = engine.Step[State, Actor, Guard]
# The guards the offer judges from what holds now (``facts``): the pending ones only there, the others also
# checked in full when the step is taken.
BY_FACTS = frozenset({Guard.pending_sign_off, Guard.paper_sign_off, Guard.no_rejected_paper})


def _step(
    action: str,
    sources: frozenset[State],
    target: State | None,
    *actors: Actor,
    guards: tuple[Guard, ...] = (Guard.state, Guard.actor),
    refusal: Text | None = None,
    forbidden: Text | None = None,
    offered: bool = True,
) -> Step:
    return engine.Step(action, sources, target, frozenset(actors), guards, refusal, forbidden, offered)


def checks_deadline(step: Step) -> bool:
    return Guard.deadline in step.guards


INITIAL_STATE = State.draft  # where every application starts (created through the API or in bulk)
_ALIVE = frozenset({State.draft, State.returned, State.endorsing, State.provincial_review, State.recommended})
_ON = frozenset
_SYSTEM = (Guard.state,)
_WITH_COMMENT = (Guard.state, Guard.actor, Guard.comment)
_REVIEWING = frozenset({State.provincial_review, State.recommended})
# Changing the content or its files: the caller first (403), then the state (409).
_CHANGING = (Guard.actor, Guard.state)
_FILES_FORBIDDEN = Text(
    "只有申报单位的申报人，或代为录入的推荐单位审核人，可以增删附件",
    "Only an applicant of the undertaking organization, or the reviewer of the recommender that "
    "entered the application, may add or remove attachments",
)
_FILES_FROZEN = Text(
    "申报书仅在草稿或退回修改状态下可增删附件",
    "Attachments can be added or removed only while the application is a draft or returned",
)

STEPS: tuple[Step, ...] = (
    _step(
        "submit",
        EDITABLE_STATES,
        State.endorsing,
        Actor.applicant,
        guards=(Guard.state, Guard.actor, Guard.valid_content, Guard.deadline),
    ),
    _step("recall", _ON({State.endorsing}), State.draft, Actor.applicant),
    _step("withdraw", _ALIVE, State.withdrawn, Actor.applicant),
    _step("all_agreed", _ON({State.endorsing}), State.provincial_review, Actor.system, guards=_SYSTEM),
    _step("party_disagreed", _ON({State.endorsing}), State.returned, Actor.system, guards=_SYSTEM),
    _step(
        "recommend",
        _ON({State.provincial_review}),
        State.recommended,
        Actor.reviewer,
        guards=(Guard.state, Guard.actor, Guard.deadline, Guard.no_rejected_paper),
    ),
    _step("return", _ON({State.provincial_review}), State.returned, Actor.reviewer, guards=_WITH_COMMENT),
    _step("reject", _ON({State.provincial_review}), State.rejected, Actor.reviewer, guards=_WITH_COMMENT),
    _step("reopen", _ON({State.recommended}), State.provincial_review, Actor.reviewer),
    _step("batch_submitted", _ON({State.recommended}), State.submitted, Actor.system, guards=_SYSTEM),
    _step("batch_returned", _ON({State.submitted}), State.recommended, Actor.system, guards=_SYSTEM),
    _step(
        "approve",
        _ON({State.submitted}),
        State.approved,
        Actor.office,
        guards=(Guard.state, Guard.actor, Guard.document_number),
    ),
    _step("not_approve", _ON({State.submitted}), State.not_approved, Actor.office),
)
# Steps that leave the state as it is: offered in allowed_actions, guarded like the others.
IN_PLACE_STEPS: tuple[Step, ...] = (
    _step(
        "edit",
        EDITABLE_STATES,
        None,
        Actor.applicant,
        guards=_CHANGING,
        refusal=Text(
            "申请已冻结，仅草稿或退回状态可修改",
            "The application is frozen: only drafts and returned applications can be edited",
        ),
    ),
    _step(
        "attach",
        EDITABLE_STATES,
        None,
        Actor.applicant,
        guards=_CHANGING,
        refusal=_FILES_FROZEN,
        forbidden=_FILES_FORBIDDEN,
    ),
    _step(
        "delete",
        _ON({State.draft}),
        None,
        Actor.applicant,
        guards=_CHANGING,
        refusal=Text("仅草稿可删除", "Only drafts can be deleted"),
    ),
    _step(
        "endorse",
        _ON({State.endorsing}),
        None,
        Actor.applicant,
        Actor.signatory,
        guards=(Guard.state, Guard.pending_sign_off),
        refusal=Text("仅在会签阶段可签署意见", "Sign-offs are taken only while the application is endorsing"),
    ),
    _step(
        "verify_paper_endorsement",
        _REVIEWING,
        None,
        Actor.reviewer,
        guards=(Guard.actor, Guard.state, Guard.paper_sign_off),
        refusal=Text("仅在审核阶段可核验纸质签署", "Paper sign-offs are verified during review"),
    ),
)
# Steps the service takes on the applicant's behalf and never offers: a party's stamped sign-off page is
# added, or one no current sign-off rests on removed, while the other parties are signing.
HIDDEN_STEPS: tuple[Step, ...] = (
    _step(
        "attach_sign_off_page",
        _ON({State.endorsing}) | EDITABLE_STATES,
        None,
        Actor.applicant,
        guards=_CHANGING,
        refusal=_FILES_FROZEN,
        forbidden=_FILES_FORBIDDEN,
        offered=False,
    ),
)
ALL_STEPS = STEPS + IN_PLACE_STEPS + HIDDEN_STEPS
_BY_ACTION = {s.action: s for s in ALL_STEPS}
# Steps refused once the deadline has passed, and the states they start from.
DEADLINE_ACTIONS = frozenset(s.action for s in STEPS if checks_deadline(s))
DEADLINE_STATES = frozenset(state for s in STEPS if checks_deadline(s) for state in s.sources)


def step_of(action: str) -> Step | None:
    return _BY_ACTION.get(action)


def available_actions(state: str, actors: Set[Actor], facts: Set[Guard]) -> list[str]:
    """Actions of the table open from ``state`` to a caller acting as any of ``actors``; ``facts`` are the
    offer-only guards that hold now (a pending sign-off, a paper sign-off awaiting verification)."""
    return engine.available(ALL_STEPS, state, actors, facts, BY_FACTS)
