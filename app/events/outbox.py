"""Writing events: in the same transaction as the change, sequenced at commit.

``record_event`` queues an event on the session. Just before the transaction commits, the queued
events take their sequence numbers from the counter row, whose lock is held until the commit: a
later transaction waits for it, so sequence order is commit order and a feed reader that stores
its cursor never misses an event that commits after it read.
"""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.db import BEFORE_COMMIT_HOOKS
from app.core.ids import new_id
from app.events.models import Event, EventCounter
from app.events.types import EVENT_TYPES

_PENDING = "smps_pending_events"


def record_event(
    session: Session,
    type: str,
    subject: Any,
    *,
    now: datetime,
    actor_id: str | None = None,
    application_id: str | None = None,
    recommender_id: str | None = None,
    organization_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Queue an event about ``subject`` (a row with an ``id``) for this transaction."""
    if type not in EVENT_TYPES:  # the document lists them: a new type is added there first
        raise ValueError(f"undeclared event type {type!r}")
    subject_type = type.split(".")[0]
    session.info.setdefault(_PENDING, []).append(
        dict(
            id=new_id("evt"),
            type=type,
            subject_type=subject_type,
            subject_id=subject.id,
            actor_id=actor_id,
            occurred_at=now,
            application_id=application_id,
            recommender_id=recommender_id,
            organization_id=organization_id,
            data=data or {},
        )
    )


def _flush_events(session: Session) -> None:
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    last = session.execute(
        sa.update(EventCounter)
        .where(EventCounter.id == 1)
        .values(value=EventCounter.value + len(pending))
        .returning(EventCounter.value)
    ).scalar_one()
    first = last - len(pending) + 1
    session.execute(sa.insert(Event.__table__), [dict(p, seq=first + i) for i, p in enumerate(pending)])


def discard_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


BEFORE_COMMIT_HOOKS.append(_flush_events)
