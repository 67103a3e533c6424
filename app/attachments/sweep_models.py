"""Tables of the storage sweep: its lease (one row) and the record of every sweep."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.types import json_column, utc_column


class StorageSweepLease(SQLModel, table=True):
    """One row (id 1): the sweep running now and when the last one started.

    Claiming it is one conditional UPDATE, so however many processes wake up, one sweeps the store
    per interval; a lease that ran out (its process died mid-way) is taken over.
    """

    __tablename__ = "storage_sweep_lease"

    id: int = Field(primary_key=True)
    sweep_id: str | None = Field(default=None, max_length=32)
    lease_until: datetime | None = utc_column(nullable=True)
    last_started_at: datetime | None = utc_column(nullable=True)


class StorageSweep(SQLModel, table=True):
    """One sweep of the blob store: who swept, when, and what it removed (what operators look at)."""

    __tablename__ = "storage_sweeps"

    id: str = Field(primary_key=True, max_length=32)
    # host:pid of the process that swept.
    owner: str = Field(max_length=200)
    started_at: datetime = utc_column(index=True)
    finished_at: datetime | None = utc_column(nullable=True)
    # running, finished, failed, or abandoned (its lease ran out and another process took over).
    state: str = Field(max_length=16)
    removed_orphans: int = 0
    removed_temporary: int = 0
    missing_files: int = 0
    # The removed blobs' keys (the first ones of a large sweep).
    removed_keys: list[str] = json_column(list)
    error: str | None = Field(default=None, max_length=500)
