"""Leases on queued deliveries (webhook deliveries and e-mails): how a worker takes due rows for one
attempt each and records the outcome only while it still holds them.

A queue table has ``state`` ('pending' until settled), ``attempts``, ``next_attempt_at``,
``last_attempt_at`` and ``lease_token``. Taking a row pushes its due time one lease ahead and stamps a
fresh token (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write lock serialises), so no second
worker takes it while the attempt runs; a worker that dies leaves it due again when the lease expires.
"""

import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.db import Database


def _due(table: Any, now: datetime) -> tuple[Any, Any]:
    return col(table.state) == "pending", col(table.next_attempt_at) <= now


def any_due(database: Database, table: Any, now: datetime) -> bool:
    """Whether a row is due: a read, so an idle worker never takes the write lock."""
    with database.reader() as session:
        return session.execute(sa.select(col(table.id)).where(*_due(table, now)).limit(1)).first() is not None


def take_due(session: Session, table: Any, now: datetime, limit: int, lease: timedelta) -> tuple[str, list[str]]:
    """Lease up to ``limit`` due rows (oldest due first) for one attempt each: (the token, their ids)."""
    ids = list(
        session.execute(
            sa.select(col(table.id))
            .where(*_due(table, now))
            .order_by(col(table.next_attempt_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    token = secrets.token_hex(8)
    if ids:
        session.execute(
            sa.update(table)
            .where(col(table.id).in_(ids))
            .values(
                attempts=col(table.attempts) + 1,
                lease_token=token,
                next_attempt_at=now + lease,
                last_attempt_at=now,
            )
        )
    return token, ids


def settle(session: Session, table: Any, row_id: str, token: str, **values: Any) -> None:
    """Record an attempt's outcome, only while ``token`` still holds the row (not reclaimed after the
    lease ran out, not cancelled)."""
    session.execute(
        sa.update(table)
        .where(col(table.id) == row_id, col(table.lease_token) == token, col(table.state) == "pending")
        .values(**values)
    )
