"""usernames unique case-insensitively: users.username_folded

Accounts that already differ only in case keep their usernames and can still sign in with them
exactly: the oldest (by creation, then id) holds the folded name, each other one ``folded#id``, so
no one is locked out and no new look-alike can be created.

Revision ID: 1001
Revises: 0900
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "1001"
down_revision: str | Sequence[str] | None = "0900"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username_folded", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    users = sa.table(
        "users", sa.column("id"), sa.column("username"), sa.column("created_at"), sa.column("username_folded")
    )
    connection = op.get_bind()
    taken: set[str] = set()
    for user_id, username, _ in connection.execute(
        sa.select(users.c.id, users.c.username, users.c.created_at).order_by(users.c.created_at, users.c.id)
    ).all():
        folded = username.casefold()  # the rule of app.accounts.models.fold_username
        key = folded if folded not in taken else f"{folded}#{user_id}"
        taken.add(folded)
        connection.execute(sa.update(users).where(users.c.id == user_id).values(username_folded=key))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "username_folded", existing_type=sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False
        )
        batch_op.create_unique_constraint(batch_op.f("uq_users_username_folded"), ["username_folded"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_username_folded"), type_="unique")
        batch_op.drop_column("username_folded")
