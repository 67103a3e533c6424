"""Tables of the bulk package: an upload, its progress and per-row results, and its parsed rows."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.types import json_column, utc_column


class BulkUpload(SQLModel, table=True):
    """One bulk upload. Its parsed rows are stored apart (``bulk_upload_payloads``) so reads stay light."""

    __tablename__ = "bulk_uploads"

    id: str = Field(primary_key=True, max_length=32)
    uploaded_by: str = Field(foreign_key="users.id", max_length=32, index=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=32, index=True)
    mode: str = Field(max_length=16)  # all_or_nothing | valid_rows | upsert
    source: str = Field(max_length=8)  # json | csv | xlsx
    state: str = Field(max_length=16, index=True)  # queued | running | finished | failed
    total_rows: int = 0
    processed_rows: int = 0
    created_count: int = 0
    updated_count: int = 0
    duplicate_count: int = 0
    error_count: int = 0
    # [{row, status, application_id?, duplicate_of_row?, errors?: [{pointer, column, code, message_zh, message_en}]}] in row order
    results: list[dict[str, Any]] = json_column(list)
    # Row errors beyond the first max_bulk_listed_errors are counted here instead of listed in results.
    omitted_error_count: int = 0
    # Why a failed upload failed (bilingual), for the uploader.
    failure: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON, nullable=True)
    # A runner owns the upload while lease_until is in the future; every claim counts an attempt.
    lease_owner: str | None = Field(default=None, max_length=32)
    lease_until: datetime | None = utc_column(nullable=True)
    attempts: int = 0
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    finished_at: datetime | None = utc_column(nullable=True)


class BulkUploadPayload(SQLModel, table=True):
    """The rows of an upload as parsed when it arrived, kept until it is processed (and after, for audit)."""

    __tablename__ = "bulk_upload_payloads"

    upload_id: str = Field(primary_key=True, foreign_key="bulk_uploads.id", max_length=32, ondelete="CASCADE")
    # {"rows": [ApplicationCreate-shaped dicts], "lines": [sheet row numbers] | null, "headers": {column: header}}
    data: dict[str, Any] = json_column(dict)
