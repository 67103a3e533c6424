"""Optimistic concurrency: the one compare-and-set on a row's ``version``."""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import SQLModel

from app.core.errors import AppError, PreconditionFailed


def compare_and_set(
    session: Session,
    row: SQLModel,
    expected_version: int,
    *,
    conflict: Callable[[], AppError] = PreconditionFailed,
    **values: Any,
) -> None:
    """Write ``values`` to ``row`` if its stored version is still ``expected_version``, and move the
    version on by one; of two concurrent writers exactly one wins, the other gets ``conflict()``
    (412 ``precondition_failed`` unless the caller says otherwise).

    The row object is updated as stored (not dirty, so the next flush writes no second UPDATE).
    """
    model = type(row)
    columns = sa.inspect(model).columns
    values["version"] = expected_version + 1
    # No session synchronisation: it would test the WHERE clause against every object the session
    # holds (quadratic over a batch of hundreds); the one object concerned is updated just below.
    result = session.execute(
        sa.update(model)
        .where(columns["id"] == sa.inspect(row).identity[0], columns["version"] == expected_version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise conflict()
    for key, value in values.items():
        set_committed_value(row, key, value)
