"""The rows behind ``Idempotency-Key`` (app.web.idempotency): claim a key, store the response, renew or
release the claim. Synchronous, each in a short transaction of its own; the middleware runs them in the
thread pool."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from app.core.db import Database
from app.core.idempotency_models import IdempotencyKey

log = logging.getLogger("smps")


@dataclass(frozen=True, slots=True)
class Stored:
    state: str
    method: str
    path: str
    request_sha256: str | None
    status: int | None
    headers: list[list[str]]
    body: bytes | None
    expires_at: datetime | None = None


def match(where: tuple[str, str]) -> sa.ColumnElement[bool]:
    return sa.and_(col(IdempotencyKey.user_id) == where[0], col(IdempotencyKey.key) == where[1])


def claim(
    database: Database,
    where: tuple[str, str],
    method: str,
    path: str,
    now: datetime,
    lease: timedelta,
    live: frozenset[int] = frozenset(),
) -> tuple[int | None, Stored | None]:
    """Insert the in-flight row (its id: this request is first) or return the row that is there.

    A row past its ``expires_at`` is taken over: a stored response kept its time, or a claim whose
    lease ran out (its process died) — unless a request of this process still holds it (``live``)."""
    for _ in range(3):
        try:
            with database.transaction() as session:
                expired = sa.delete(IdempotencyKey).where(match(where), col(IdempotencyKey.expires_at) <= now)
                if live:
                    expired = expired.where(col(IdempotencyKey.id).not_in(live))
                session.execute(expired)
                row_id = session.execute(
                    sa.insert(IdempotencyKey)
                    .values(
                        user_id=where[0],
                        key=where[1],
                        method=method,
                        path=path[:1000],
                        state="in_flight",
                        response_headers=[],
                        created_at=now,
                        expires_at=now + lease,
                    )
                    .returning(col(IdempotencyKey.id))
                ).scalar_one()
            return row_id, None
        except IntegrityError:
            pass  # another request holds the key: read its row
        with database.reader() as session:
            row = session.execute(sa.select(IdempotencyKey).where(match(where))).scalar_one_or_none()
            if row is not None:
                return None, Stored(
                    row.state,
                    row.method,
                    row.path,
                    row.request_sha256,
                    row.response_status,
                    row.response_headers,
                    row.response_body,
                    row.expires_at,
                )
        # Released between our insert and our read: try again.
    return None, Stored("in_flight", method, path, None, None, [], None)


def store(database: Database, row_id: int, digest: str, response: dict[str, Any], ttl: timedelta) -> None:
    with database.transaction() as session:
        created = session.execute(
            sa.select(col(IdempotencyKey.created_at)).where(col(IdempotencyKey.id) == row_id)
        ).scalar_one()
        session.execute(
            sa.update(IdempotencyKey)
            .where(col(IdempotencyKey.id) == row_id)
            .values(
                state="completed",
                request_sha256=digest,
                response_status=response["status"],
                response_headers=response["headers"],
                response_body=bytes(response["body"]),
                expires_at=created + ttl,
            )
        )


def extend_lease(database: Database, row_id: int, until: datetime) -> None:
    """Move an in-flight claim's lease on, in a short write that never waits: when the database is busy,
    this renewal is skipped and the next one, a fifth of a lease later, tries again."""
    extend = (
        sa.update(IdempotencyKey)
        .where(col(IdempotencyKey.id) == row_id, col(IdempotencyKey.state) == "in_flight")
        .values(expires_at=until)
    )
    if not database.write_now(lambda conn: conn.execute(extend)):
        log.debug("Idempotency-Key lease not renewed this time: the database is busy")


def release(database: Database, row_id: int) -> None:
    with database.transaction() as session:
        session.execute(
            sa.delete(IdempotencyKey).where(col(IdempotencyKey.id) == row_id, col(IdempotencyKey.state) == "in_flight")
        )
