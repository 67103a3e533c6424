"""merge package branches

Revision ID: 0900
Revises: 0101, 0201, 0301, 0401
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import app.core.db

revision: str = '0900'
down_revision: str | Sequence[str] | None = ('0101', '0201', '0301', '0401')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
