"""Tables of the attachments package."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.types import utc_column


class Attachment(SQLModel, table=True):
    """A file attached to an application: immutable metadata; the bytes live in the blob store."""

    __tablename__ = "attachments"
    __table_args__ = (sa.Index("ix_attachments_application_kind", "application_id", "kind"),)

    id: str = Field(primary_key=True, max_length=32)
    application_id: str = Field(foreign_key="applications.id", max_length=32, ondelete="CASCADE")
    kind: str = Field(max_length=32)
    # The client's file name, sanitized; metadata only, never a path.
    filename: str = Field(max_length=255)
    description: str | None = Field(default=None, max_length=500)
    # What the content is (sniffed), not what the client claimed.
    file_type: str = Field(max_length=8)
    media_type: str = Field(max_length=100)
    size: int = Field(sa_type=sa.BigInteger)
    sha256: str = Field(max_length=64)
    # Generated name of the file in the blob store.
    storage_key: str = Field(max_length=64, unique=True)
    uploaded_by: str = Field(foreign_key="users.id", max_length=32)
    created_at: datetime = utc_column()
