"""The table behind ``Idempotency-Key`` (app.web.idempotency): one row per key a user has sent."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.types import json_column, utc_column


class IdempotencyKey(SQLModel, table=True):
    """A POST seen with an ``Idempotency-Key``: in flight, then its stored response (docs/conventions.md, "Idempotency")."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32)
    key: str = Field(max_length=255)
    method: str = Field(max_length=8)
    path: str = Field(max_length=1000)
    request_sha256: str | None = Field(default=None, max_length=64)
    state: str = Field(max_length=16)  # in_flight | completed
    response_status: int | None = None
    response_headers: list[list[str]] = json_column(list)
    response_body: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    created_at: datetime = utc_column()
    expires_at: datetime = utc_column(index=True)
