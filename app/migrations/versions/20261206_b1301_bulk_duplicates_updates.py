"""bulk uploads count updated and duplicate rows; applications found by call, unit and title

Revision ID: b1301
Revises: 1201
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1301"
down_revision: str | Sequence[str] | None = "1201"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bulk_uploads") as batch:
        batch.add_column(sa.Column("updated_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("duplicate_count", sa.Integer(), nullable=False, server_default="0"))
    # A bulk row matches an application by (undertaking unit, call, title): one index lookup per row.
    op.create_index(
        "ix_applications_undertaking_call_title", "applications", ["undertaking_org_id", "call_id", "title"]
    )


def downgrade() -> None:
    op.drop_index("ix_applications_undertaking_call_title", table_name="applications")
    with op.batch_alter_table("bulk_uploads") as batch:
        batch.drop_column("duplicate_count")
        batch.drop_column("updated_count")
