"""storage sweeps: a lease so one process sweeps the store per interval, and a record of each sweep

Revision ID: 1201
Revises: 1101
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.core.db import UTCDateTime

revision: str = "1201"
down_revision: str | Sequence[str] | None = "1101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    lease = op.create_table(
        "storage_sweep_lease",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sweep_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_started_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_sweep_lease")),
    )
    op.create_table(
        "storage_sweeps",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("removed_orphans", sa.Integer(), nullable=False),
        sa.Column("removed_temporary", sa.Integer(), nullable=False),
        sa.Column("missing_files", sa.Integer(), nullable=False),
        sa.Column("removed_keys", sa.JSON(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_sweeps")),
    )
    with op.batch_alter_table("storage_sweeps") as batch:
        batch.create_index(batch.f("ix_storage_sweeps_started_at"), ["started_at"], unique=False)
    assert lease is not None
    op.bulk_insert(lease, [{"id": 1}])


def downgrade() -> None:
    with op.batch_alter_table("storage_sweeps") as batch:
        batch.drop_index(batch.f("ix_storage_sweeps_started_at"))
    op.drop_table("storage_sweeps")
    op.drop_table("storage_sweep_lease")
