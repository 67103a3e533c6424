"""Application states (docs/state-machine.md)."""

from enum import StrEnum


class State(StrEnum):
    """申请书状态 state of an application (see `docs/state-machine.md`)."""

    draft = "draft"
    endorsing = "endorsing"
    provincial_review = "provincial_review"
    recommended = "recommended"
    submitted = "submitted"
    approved = "approved"
    not_approved = "not_approved"
    returned = "returned"
    rejected = "rejected"
    withdrawn = "withdrawn"


EDITABLE_STATES = frozenset({State.draft, State.returned})
# What the joint office sees: everything submitted to it.
OFFICE_VISIBLE_STATES = (State.submitted, State.approved, State.not_approved)
