"""Notices by e-mail: one row per (event, recipient), sent by the worker (``app.mail.delivery``)."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.types import utc_column


class MailDelivery(SQLModel, table=True):
    """One message about one event to one user, retried until it is sent or its attempts run out.

    The message is composed once, when the row is made, and sent as it is on every attempt with the
    same ``Message-ID`` (derived from the event and the recipient), so a resend after a worker died
    between sending and recording can be recognised by the receiving side."""

    __tablename__ = "mail_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "user_id"),
        sa.Index("ix_mail_deliveries_due", "state", "next_attempt_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(max_length=32)
    event_type: str = Field(max_length=64)
    # What the notice is about (sign_off_awaited, application_returned, …).
    kind: str = Field(max_length=32)
    user_id: str = Field(max_length=32, index=True)
    address: str = Field(max_length=254)
    message_id: str = Field(max_length=200)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=sa.Text)
    state: str = Field(max_length=16)  # pending | sent | failed
    attempts: int = 0
    # When pending: when the next attempt is due; while an attempt runs, when its lease expires.
    next_attempt_at: datetime | None = utc_column(nullable=True)
    # Set by the worker that claimed the running attempt; only it may record the outcome.
    lease_token: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = utc_column()
    last_attempt_at: datetime | None = utc_column(nullable=True)
    completed_at: datetime | None = utc_column(nullable=True, index=True)


class MailFanout(SQLModel, table=True):
    """One row: the last event the worker turned into mail deliveries. Its lock serialises fan-out."""

    __tablename__ = "mail_fanout"

    id: int = Field(primary_key=True)
    last_seq: int = 0
