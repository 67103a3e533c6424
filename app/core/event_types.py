"""Every event type the service emits (the change feed's and webhooks' `type`)."""

from typing import Literal, get_args

EventType = Literal[
    "application.created",
    "application.updated",
    "application.deleted",
    "application.state_changed",
    "endorsement.recorded",
    "endorsement.verified",
    "review.recorded",
    "attachment.added",
    "attachment.deleted",
    "batch.created",
    "batch.items_set",
    "batch.submitted",
    "batch.acknowledged",
    "batch.returned",
    "call.created",
    "call.updated",
    "organization.created",
    "organization.updated",
]
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))
