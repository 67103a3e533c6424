"""the change feed's entries per audience and the grants of applications and lists to audiences;
the pruned range of the log; a redelivery's retry window

Revision ID: e0001
Revises: d001
Create Date: 2026-12-06

Existing events get entries for the audiences that see their application or list now (the rule of the
feed before this revision), at positions after the log's head: a reader's stored cursor stays valid, and
reads those events once more after it (at least once: readers dedupe by event id).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.core.db import UTCDateTime

revision: str = "e0001"
down_revision: str | Sequence[str] | None = "d001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_entries",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_event_entries")),
    )
    with op.batch_alter_table("event_entries", schema=None) as batch_op:
        batch_op.create_index("ix_event_entries_audience_position", ["audience", "position"], unique=False)
        batch_op.create_index("ix_event_entries_event_audience", ["event_seq", "audience"], unique=False)
    op.create_table(
        "event_grants",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("through_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "audience", name=op.f("pk_event_grants")),
    )
    with op.batch_alter_table("event_counter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pruned_through", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_from", UTCDateTime(timezone=True), nullable=True))
    _backfill()


def _backfill() -> None:
    """Entries for the events already in the log, through the publisher the service uses."""
    from sqlalchemy.orm import Session

    from app.events.audiences import write_entries

    bind = op.get_bind()
    session = Session(bind=bind)
    events = [dict(row._mapping) for row in bind.execute(sa.text("SELECT * FROM events ORDER BY seq"))]
    if events:
        write_entries(session, events)
        session.flush()


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_column("retry_from")
    with op.batch_alter_table("event_counter", schema=None) as batch_op:
        batch_op.drop_column("pruned_through")
    op.drop_table("event_grants")
    with op.batch_alter_table("event_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_event_entries_event_audience")
        batch_op.drop_index("ix_event_entries_audience_position")
    op.drop_table("event_entries")
