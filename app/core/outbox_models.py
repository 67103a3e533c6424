"""The event log: every change writes one row in the same transaction (an outbox).

``seq`` gives the total order of the change feed. It is allocated just before commit while holding
the counter row's lock, so sequence order is commit order and a reader never skips an event.
"""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.types import json_column, utc_column


class Event(SQLModel, table=True):
    __tablename__ = "events"
    # Retention prunes by age.
    __table_args__ = (sa.Index("ix_events_occurred_at", "occurred_at"),)

    seq: int = Field(primary_key=True)
    id: str = Field(max_length=32, unique=True)
    type: str = Field(max_length=64, index=True)
    subject_type: str = Field(max_length=32)
    subject_id: str = Field(max_length=32, index=True)
    actor_id: str | None = Field(default=None, max_length=32)
    occurred_at: datetime = utc_column()
    # Scope used by the visibility filter of the feed.
    application_id: str | None = Field(default=None, max_length=32, index=True)
    recommender_id: str | None = Field(default=None, max_length=32, index=True)
    organization_id: str | None = Field(default=None, max_length=32, index=True)
    data: dict[str, Any] = json_column(dict)


class EventCounter(SQLModel, table=True):
    """One row; its lock serialises the allocation of ``Event.seq`` until commit."""

    __tablename__ = "event_counter"

    id: int = Field(primary_key=True)
    value: int = 0
    # Positions up to this one were pruned (retention): a cursor before it answers 410 cursor_expired.
    pruned_through: int = 0
