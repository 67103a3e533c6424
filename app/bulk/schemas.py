"""API shapes of bulk uploads."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field


class BulkMode(StrEnum):
    """`all_or_nothing`: every row, or none if one is invalid; `valid_rows`: each valid row; `upsert`: each
    valid row, and a row matching an editable application the caller may edit updates it."""

    all_or_nothing = "all_or_nothing"
    valid_rows = "valid_rows"
    upsert = "upsert"


class RowStatus(StrEnum):
    """What became of one row (docs/bulk-columns.md, "Duplicates and updates")."""

    created = "created"
    updated = "updated"
    duplicate = "duplicate"
    invalid = "invalid"
    skipped = "skipped"


class RowError(BaseModel):
    """One problem with one row of a bulk upload."""

    pointer: str = Field(
        description="`/rows/<row>/…` — a JSON Pointer into the body, or `/rows/<row>/<column>` for files"
    )
    column: str | None = Field(description="The column of the file layout (e.g. `contact_phone`)")
    header: str | None = Field(default=None, description="The header of that column as the file spells it (files only)")
    code: str = Field(description="Stable code, e.g. `required`, `invalid_phone`")
    message: str = Field(description="Human-readable message in the negotiated language")


class RowResult(BaseModel):
    """The outcome of one row of a bulk upload."""

    row: int = Field(description="0-based index of the row in `rows` (or among the file's data rows)")
    line: int | None = Field(default=None, description="Files: the row number in the sheet (the header is row 1)")
    status: RowStatus = Field(
        description="created | updated (upsert: the matching draft now holds the row) | duplicate (an "
        "application with the row's call, undertaking unit and title exists, or an earlier row of the upload "
        "has them: nothing written) | invalid (see `errors`) | skipped (valid, but not created because "
        "another row of an all_or_nothing upload is invalid)"
    )
    application_id: str | None = Field(
        default=None,
        description="created, updated: the application; duplicate: the application it duplicates (absent "
        "when that is an earlier row of an all_or_nothing upload that was not created); invalid: the matching "
        "application an upsert could not update",
    )
    duplicate_of_row: int | None = Field(
        default=None, description="duplicate: the earlier row of this upload with the same call, unit and title"
    )
    errors: list[RowError] | None = Field(default=None, description="Why the row is invalid")


class BulkUploadPublic(BaseModel):
    """A bulk upload (批量导入) and its progress, with a result per processed row."""

    id: str = Field(description="Upload id")
    state: Literal["queued", "running", "finished", "failed"] = Field(
        description="queued | running | finished (every row has its result) | failed"
    )
    mode: BulkMode = Field(
        description="all_or_nothing (any invalid row: nothing is created), valid_rows (the valid rows are "
        "created) or upsert (valid rows created, rows matching an editable application update it)"
    )
    source: Literal["json", "csv", "xlsx"] = Field(description="json | csv | xlsx")
    total_rows: int = Field(description="Rows in the upload")
    processed_rows: int = Field(description="Rows checked so far")
    created_count: int = Field(description="Applications created")
    updated_count: int = Field(default=0, description="Rows that updated a matching draft (upsert)")
    duplicate_count: int = Field(default=0, description="Rows reported `duplicate`")
    error_count: int = Field(description="Rows found invalid")
    omitted_error_count: int = Field(
        default=0,
        description="Row errors not listed in `results`: at most the first "
        "1,000 errors of an upload are listed (`SMPS_MAX_BULK_LISTED_ERRORS`), the rest counted here",
    )
    failure: str | None = Field(default=None, description="Why a failed upload failed")
    results: list[RowResult] = Field(description="One result per processed row, in row order")
    uploaded_by: str = Field(description="The user who uploaded it")
    organization_id: str = Field(description="The uploader's organization (the rows' undertaking unit by default)")
    created_at: datetime = Field(description="When it was uploaded")
    updated_at: datetime = Field(description="When it last changed (RFC 3339, UTC)")
    finished_at: datetime | None = Field(description="When processing ended; null while queued or running")


def render_upload(upload: Any, lang: str) -> BulkUploadPublic:
    key = "message_en" if lang == "en" else "message_zh"
    results = [
        RowResult(
            row=r["row"],
            line=r.get("line"),
            status=r["status"],
            application_id=r.get("application_id"),
            duplicate_of_row=r.get("duplicate_of_row"),
            errors=[
                RowError(
                    pointer=e["pointer"], column=e.get("column"), header=e.get("header"), code=e["code"], message=e[key]
                )
                for e in r["errors"]
            ]
            if r.get("errors") is not None
            else None,
        )
        for r in upload.results
    ]
    failure = (upload.failure or {}).get("en" if lang == "en" else "zh")
    return BulkUploadPublic(
        id=upload.id,
        state=upload.state,
        mode=upload.mode,
        source=upload.source,
        total_rows=upload.total_rows,
        processed_rows=upload.processed_rows,
        created_count=upload.created_count,
        updated_count=upload.updated_count or 0,
        duplicate_count=upload.duplicate_count or 0,
        error_count=upload.error_count,
        omitted_error_count=upload.omitted_error_count or 0,
        failure=failure,
        results=results,
        uploaded_by=upload.uploaded_by,
        organization_id=upload.organization_id,
        created_at=upload.created_at,
        updated_at=upload.updated_at,
        finished_at=upload.finished_at,
    )
