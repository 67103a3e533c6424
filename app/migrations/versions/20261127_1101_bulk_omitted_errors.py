"""bulk uploads count the row errors they do not list

Revision ID: 1101
Revises: 1001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1101"
down_revision: str | Sequence[str] | None = "1001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bulk_uploads") as batch:
        batch.add_column(sa.Column("omitted_error_count", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("bulk_uploads") as batch:
        batch.drop_column("omitted_error_count")
