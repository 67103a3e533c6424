"""login sources: the addresses each account signed in from, so its backoff never slows them

Revision ID: w1830
Revises: b1301
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.core.db import UTCDateTime

revision: str = "w1830"
down_revision: str | Sequence[str] | None = "b1301"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_sources",
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("first_success_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", "address", name=op.f("pk_login_sources")),
    )


def downgrade() -> None:
    op.drop_table("login_sources")
