"""Webhook subscriptions and their deliveries, and the stored responses of idempotent requests.

The event log itself (``Event``, its counter) is the outbox's: ``app.core.outbox_models``.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.types import json_column, utc_column


class Webhook(SQLModel, table=True):
    """A subscription: events its owner may see, of the chosen types, POSTed signed to ``url``."""

    __tablename__ = "webhooks"

    id: str = Field(primary_key=True, max_length=32)
    owner_id: str = Field(foreign_key="users.id", max_length=32, index=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=32, index=True)
    url: str = Field(max_length=2000)
    event_types: list[str] = json_column(list)
    description: str | None = Field(default=None, max_length=500)
    # The signing secret (``whsec_`` + base64): needed in clear to compute the HMAC.
    secret: str = Field(max_length=100)
    # Events up to this sequence number happened before the subscription; it receives later ones.
    start_seq: int = 0
    created_at: datetime = utc_column()
    deleted_at: datetime | None = utc_column(nullable=True)


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription, retried until it succeeds or its retry window closes."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("webhook_id", "event_id"),
        sa.Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=32)
    webhook_id: str = Field(foreign_key="webhooks.id", max_length=32)
    event_id: str = Field(max_length=32)
    event_type: str = Field(max_length=64)
    # The exact body sent on every attempt (the event may be pruned before the last retry).
    payload: str = Field(sa_type=sa.Text)
    state: str = Field(max_length=16)  # pending | succeeded | failed | cancelled
    attempts: int = 0
    # When pending: when the next attempt is due; while an attempt runs, when its lease expires.
    next_attempt_at: datetime | None = utc_column(nullable=True)
    # Set by the worker that claimed the running attempt; only it may record the outcome.
    lease_token: str | None = Field(default=None, max_length=32)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = utc_column()
    # Redelivered: its retry window runs from here instead of ``created_at``.
    retry_from: datetime | None = utc_column(nullable=True)
    last_attempt_at: datetime | None = utc_column(nullable=True)
    completed_at: datetime | None = utc_column(nullable=True, index=True)


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="webhook_deliveries.id", max_length=32, index=True, ondelete="CASCADE")
    number: int
    started_at: datetime = utc_column()
    finished_at: datetime | None = utc_column(nullable=True)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=200)


class WebhookFanout(SQLModel, table=True):
    """One row: the last event the worker turned into deliveries. Its lock serialises fan-out."""

    __tablename__ = "webhook_fanout"

    id: int = Field(primary_key=True)
    last_seq: int = 0


class EventEntry(SQLModel, table=True):
    """One event in one audience's feed, at a ``position`` of the log's order (docs/change-feed.md).

    An event gets an entry for each audience that may read it when it is written; an audience that
    first sees an application (or a list) later gets entries for its earlier events then, after
    everything already in the feed. Positions come from the event counter, so they are commit order.
    """

    __tablename__ = "event_entries"
    __table_args__ = (
        sa.Index("ix_event_entries_audience_position", "audience", "position"),
        sa.Index("ix_event_entries_event_audience", "event_seq", "audience"),
    )

    position: int = Field(primary_key=True)
    event_seq: int
    # ``public``, ``office``, or a role of an organization: ``unit:<org>``, ``party:<org>``, ``recommender:<org>``.
    audience: str = Field(max_length=48)


class EventGrant(SQLModel, table=True):
    """How far an audience has received the events of one application or list (``scope``)."""

    __tablename__ = "event_grants"

    scope: str = Field(primary_key=True, max_length=48)  # application:<id> | batch:<id>
    audience: str = Field(primary_key=True, max_length=48)
    through_seq: int
