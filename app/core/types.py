"""Column helpers shared by the models."""

from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from app.core.db import UTCDateTime


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    """A timezone-aware UTC timestamp column."""
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(sa_type=UTCDateTime, nullable=False, index=index)


def json_column(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_type=sa.JSON, nullable=False)
