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
    id: str = Field(description="Event id: consumers deduplicate by it (delivery is at least once)")
    type: str = Field(
        description="What happened; `subject_type` is its first part. An open set: new types are added without "
        "notice (CHANGELOG.md lists them), so a client keeps, skips or logs a type it does not know",
        json_schema_extra={"examples": list[JsonValue](sorted(EVENT_TYPES)[:3])},
    )
    subject_type: str = Field(
        description="The kind of object the event is about: the first part of `type` (`application`, `batch`…)"
    )
    subject_id: str = Field(description="The id of the object the event is about")
    occurred_at: datetime = Field(description="When it happened (RFC 3339, UTC)")
    actor_id: str | None = Field(description="The user who caused it; null for the system")
    data: dict[str, Any] = Field(description="What changed; its shape depends on `type`")
    cursor: str = Field(description="Opaque position of this event; pass it as `after` to read what follows")


class EventPage(BaseModel):
    """A page of the change feed (变更流), in commit order. Delivery is at least once: dedupe by event `id`."""

    items: list[EventPublic] = Field(description="The events, oldest first")
    next_cursor: str = Field(
        description="Where to continue: pass it as `after`. When `has_more` is false the caller has caught up; "
        "poll again later with the same cursor"
    )
    has_more: bool = Field(description="True when more events follow: read again at once with `after=next_cursor`")


class WebhookCreate(BaseModel):
    """A new webhook subscription: the change feed delivered to a URL."""

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
    ) = Field(default=None, description="What it is for, e.g. 山东省市场监管局业务系统同步")


class WebhookPublic(BaseModel):
    """A webhook subscription."""

    id: str = Field(description="Webhook id")
    url: str = Field(description="Where deliveries are POSTed")
    event_types: list[str] = Field(
        description="The event types it receives (exact names, families such as `application.*`, or `*`)"
    )
    description: str | None = Field(description="What it is for")
    owner_id: str = Field(description="The user who subscribed")
    organization_id: str = Field(description="Their organization: deliveries carry what it may read")
    created_at: datetime = Field(description="When it was created (RFC 3339, UTC)")


class WebhookCreated(WebhookPublic):
    """A new webhook subscription, with its signing secret (shown only in this response)."""

    secret: str = Field(
        description="The signing secret (`whsec_` + base64, Standard Webhooks); shown only in this response"
    )


DELIVERY_ERROR_DESCRIPTION = (
    "Why it did not arrive: `address_not_allowed` (the address is or became non-public), `unresolvable_host`, "
    "`abandoned` (the worker stopped before recording an outcome) or `not_delivered` (no answer, or an answer other than 2xx: the receiver's status is not reported, so "
    "deliveries cannot probe the ports of other hosts); null when it arrived or is in flight"
)


class WebhookAttemptPublic(BaseModel):
    """One attempt to deliver."""

    number: int = Field(description="1 for the first attempt")
    started_at: datetime = Field(description="When it started")
    finished_at: datetime | None = Field(description="When it ended; null while in flight")
    outcome: Literal["succeeded", "failed"] | None = Field(
        description="`succeeded` when the receiver answered 2xx; null while the attempt is in flight"
    )
    error: str | None = Field(description=DELIVERY_ERROR_DESCRIPTION)


class WebhookDeliveryPublic(BaseModel):
    """One event's delivery to a webhook, with its attempts."""

    id: str = Field(description="Sent as the `webhook-id` header; the same on every retry")
    event_id: str = Field(description="The event delivered")
    event_type: str = Field(description="Its type (the feed's event types; new ones may appear)")
    state: DeliveryState = Field(
        description="pending (to be tried, or retried) | succeeded | failed (gave up) | cancelled"
    )
    attempt_count: int = Field(description="Attempts made so far")
    next_attempt_at: datetime | None = Field(description="When it will be tried again; null when done")
    last_error: str | None = Field(description=DELIVERY_ERROR_DESCRIPTION)
    created_at: datetime = Field(description="When the delivery was queued")
    last_attempt_at: datetime | None = Field(description="When it was last tried")
    completed_at: datetime | None = Field(description="When it succeeded, failed for good or was cancelled")
    attempts: list[WebhookAttemptPublic] = Field(description="Its attempts, first first")
