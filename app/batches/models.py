"""Tables of the batches package: recommended lists (推荐清单), their items, history and receipts."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import AutoString, Field, SQLModel

from app.core.types import json_column, utc_column


class BatchState(StrEnum):
    """推荐名单状态 state of a recommended list: open (编制中), submitted (已报送), acknowledged (已受理), returned (已退回)."""

    open = "open"
    submitted = "submitted"
    acknowledged = "acknowledged"
    returned = "returned"


# What the office sees: every batch that has been submitted to it at least once.
OFFICE_VISIBLE_BATCH_STATES = (BatchState.submitted, BatchState.acknowledged, BatchState.returned)
EDITABLE_BATCH_STATES = frozenset({BatchState.open, BatchState.returned})


class Batch(SQLModel, table=True):
    """One recommender's ranked list for one call; reused after the office returns it."""

    __tablename__ = "batches"
    __table_args__ = (sa.UniqueConstraint("call_id", "recommender_id", name="uq_batches_call_recommender"),)

    id: str = Field(primary_key=True, max_length=32)
    call_id: str = Field(foreign_key="calls.id", max_length=32, index=True)
    recommender_id: str = Field(foreign_key="organizations.id", max_length=32, index=True)
    # Stored as its text (VARCHAR), as every revision since the first has it; read back as that text.
    state: BatchState = Field(sa_type=AutoString(length=16), index=True)
    version: int = 1
    # The office's reason when it last returned the list.
    return_comment: str | None = Field(default=None, max_length=2000)
    created_by: str = Field(foreign_key="users.id", max_length=32)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    submitted_at: datetime | None = utc_column(nullable=True)
    acknowledged_at: datetime | None = utc_column(nullable=True)


class BatchItem(SQLModel, table=True):
    __tablename__ = "batch_items"
    __table_args__ = (
        sa.UniqueConstraint("batch_id", "rank", name="uq_batch_items_batch_rank"),
        sa.UniqueConstraint("batch_id", "application_id", name="uq_batch_items_batch_application"),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: str = Field(foreign_key="batches.id", max_length=32, index=True, ondelete="CASCADE")
    application_id: str = Field(foreign_key="applications.id", max_length=32, index=True)
    rank: int


class BatchTransition(SQLModel, table=True):
    """The history of a batch: who submitted, acknowledged or returned it, when, and why."""

    __tablename__ = "batch_transitions"

    id: str = Field(primary_key=True, max_length=32)
    batch_id: str = Field(foreign_key="batches.id", max_length=32, index=True, ondelete="CASCADE")
    action: str = Field(max_length=32)
    from_state: str = Field(max_length=16)
    to_state: str = Field(max_length=16)
    actor_id: str | None = Field(default=None, max_length=32)
    comment: str | None = Field(default=None, max_length=2000)
    at: datetime = utc_column()


class Receipt(SQLModel, table=True):
    """A signed receipt of one submission; ``document`` is stored whole and never changes."""

    __tablename__ = "receipts"
    __table_args__ = (sa.UniqueConstraint("batch_id", "seq", name="uq_receipts_batch_seq"),)

    id: str = Field(primary_key=True, max_length=32)
    batch_id: str = Field(foreign_key="batches.id", max_length=32, index=True)
    seq: int
    tracking_number: str = Field(max_length=100, unique=True)
    digest: str = Field(max_length=64)
    document: dict[str, Any] = json_column(dict)
    issued_at: datetime = utc_column()
