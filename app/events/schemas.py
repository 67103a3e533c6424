"""API shapes of the change feed and webhooks."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from app.core.event_types import EVENT_TYPES

EVENT_TYPE_PATTERN = r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$"
DeliveryState = Literal["pending", "succeeded", "failed", "cancelled"]
_NAME = EVENT_TYPE_PATTERN[1:-1]
# The feed's `types` filter as the router reads it: names separated by commas, blanks and empty items ignored.
EVENT_TYPES_FILTER_PATTERN = rf"^[\s,]*(?:{_NAME}(?:\s*,[\s,]*{_NAME})*)?[\s,]*$"
EventTypeName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=EVENT_TYPE_PATTERN)]
# The ids the history filters of the feed accept (``app.core.ids.new_id``: a prefix and hexadecimal digits).
APPLICATION_ID_PATTERN = r"^app_[0-9a-f]{1,28}$"
BATCH_ID_PATTERN = r"^bat_[0-9a-f]{1,28}$"
# Events per page of the change feed: the default and the largest, for the API and `smps client events` alike.
FEED_PAGE_SIZE = 500


class EventPublic(BaseModel):
    id: str
    type: str = Field(
        description="What happened; `subject_type` is its first part. An open set: new types are added without "
        "notice (CHANGELOG.md lists them), so a client keeps, skips or logs a type it does not know",
        json_schema_extra={"examples": list[JsonValue](sorted(EVENT_TYPES)[:3])},
    )
    subject_type: str
    subject_id: str
    occurred_at: datetime
    actor_id: str | None
    data: dict[str, Any]
    cursor: str = Field(description="Opaque position of this event; pass it as `after` to read what follows")


class EventPage(BaseModel):
    """A page of the change feed. Delivery is at least once: dedupe by event `id`."""

    items: list[EventPublic]
    next_cursor: str = Field(
        description="Where to continue: pass it as `after`. When `has_more` is false the caller has caught up; "
        "poll again later with the same cursor"
    )
    has_more: bool = Field(description="More events are ready now: read the next page at once")


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] = Field(
        description="An `https://` (or `http://`) address that accepts POSTs; private and loopback addresses are refused",
        json_schema_extra={"format": "uri"},  # the router's address check says more (scheme, host, port)
    )
    event_types: list[EventTypeName] = Field(
        min_length=1,
        max_length=50,
        description='Event types to receive: exact names, a family such as `application.*`, or `["*"]` for all; '
        "a name that is no event type, or a family matching none, is refused",
    )
    description: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")] | None
    ) = None


class WebhookPublic(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str | None
    owner_id: str
    organization_id: str
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(
        description="The signing secret (`whsec_` + base64, Standard Webhooks); shown only in this response"
    )


DELIVERY_ERROR_DESCRIPTION = (
    "Why it did not arrive: `address_not_allowed` (the address is or became non-public), `unresolvable_host`, "
    "`abandoned` (the worker stopped before recording an outcome) or `not_delivered` (no answer, or an answer other than 2xx: the receiver's status is not reported, so "
    "deliveries cannot probe the ports of other hosts); null when it arrived or is in flight"
)


class WebhookAttemptPublic(BaseModel):
    number: int
    started_at: datetime
    finished_at: datetime | None
    outcome: Literal["succeeded", "failed"] | None = Field(
        description="`succeeded` when the receiver answered 2xx; null while the attempt is in flight"
    )
    error: str | None = Field(description=DELIVERY_ERROR_DESCRIPTION)


class WebhookDeliveryPublic(BaseModel):
    id: str = Field(description="Sent as the `webhook-id` header; the same on every retry")
    event_id: str
    event_type: str
    state: DeliveryState = Field(
        description="pending (to be tried, or retried) | succeeded | failed (gave up) | cancelled"
    )
    attempt_count: int
    next_attempt_at: datetime | None
    last_error: str | None = Field(description=DELIVERY_ERROR_DESCRIPTION)
    created_at: datetime
    last_attempt_at: datetime | None
    completed_at: datetime | None
    attempts: list[WebhookAttemptPublic]
