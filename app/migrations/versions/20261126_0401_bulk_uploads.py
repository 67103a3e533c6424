"""bulk uploads

Revision ID: 0401
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '0401'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bulk_uploads',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('failure', sa.JSON(), nullable=True),
    sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('lease_until', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_bulk_uploads_organization_id_organizations')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_bulk_uploads_uploaded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_uploads'))
    )
    with op.batch_alter_table('bulk_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_uploads_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulk_uploads_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulk_uploads_uploaded_by'), ['uploaded_by'], unique=False)

    op.create_table('bulk_upload_payloads',
    sa.Column('upload_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['upload_id'], ['bulk_uploads.id'], name=op.f('fk_bulk_upload_payloads_upload_id_bulk_uploads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('upload_id', name=op.f('pk_bulk_upload_payloads'))
    )


def downgrade() -> None:
    op.drop_table('bulk_upload_payloads')
    with op.batch_alter_table('bulk_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_uploads_uploaded_by'))
        batch_op.drop_index(batch_op.f('ix_bulk_uploads_state'))
        batch_op.drop_index(batch_op.f('ix_bulk_uploads_organization_id'))

    op.drop_table('bulk_uploads')
