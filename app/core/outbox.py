"""Writing events: in the same transaction as the change, sequenced at commit.

``record_event`` queues an event on the session; ``Database.transaction`` writes the queued events
(``flush_events``) just before it commits. They take their sequence numbers from the counter row
(``sequence``), whose lock is held until the commit: a later transaction waits for it, so sequence
order is commit order and a feed reader that stores its cursor never misses an event that commits
after it read. Code that inserts many events itself (bulk uploads) numbers them with ``sequence`` too.
"""

import importlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypedDict, Unpack

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.event_types import EVENT_TYPES
from app.core.ids import new_id
from app.core.outbox_models import Event, EventCounter

_PENDING = "smps_pending_events"
# Called with the events just written (numbered), before the commit: the change feed's audiences
# (``app.events.audiences``) are written by one, in the same transaction. That module registers itself
# when imported; a process that imported only core (a script) has it loaded, by name, at its first event.
Publisher = Callable[[Session, list[dict[str, Any]]], None]
PUBLISHERS: list[Publisher] = []
DEFAULT_PUBLISHER_MODULE = "app.events.audiences"
_EVENTS = Event.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__ on the class


class EventScope(TypedDict, total=False):
    """Who acted, whom the event concerns (the feed's visibility filter reads these) and its data."""

    actor_id: str | None
    application_id: str | None
    recommender_id: str | None
    organization_id: str | None
    data: dict[str, Any] | None


def new_event(type: str, subject_id: str, *, now: datetime, **scope: Unpack[EventScope]) -> dict[str, Any]:
    """The row of an event (without its ``seq``, which ``sequence`` gives at commit)."""
    if type not in EVENT_TYPES:  # the document lists them: a new type is added there first
        raise ValueError(f"undeclared event type {type!r}")
    return dict(
        id=new_id("evt"),
        type=type,
        subject_type=type.split(".")[0],
        subject_id=subject_id,
        actor_id=scope.get("actor_id"),
        occurred_at=now,
        application_id=scope.get("application_id"),
        recommender_id=scope.get("recommender_id"),
        organization_id=scope.get("organization_id"),
        data=scope.get("data") or {},
    )


def queue_event(session: Session, event: dict[str, Any]) -> None:
    """Queue an event row (from ``new_event``) for this transaction."""
    session.info.setdefault(_PENDING, []).append(event)


def record_event(session: Session, type: str, subject: Any, *, now: datetime, **scope: Unpack[EventScope]) -> None:
    """Queue an event about ``subject`` (a row with an ``id``) for this transaction."""
    queue_event(session, new_event(type, subject.id, now=now, **scope))


def allocate(session: Session, count: int) -> int:
    """Take ``count`` consecutive numbers of the log's order and return the first: the counter row
    moves by ``count`` and stays locked until the transaction ends."""
    last = session.execute(
        sa.update(EventCounter)
        .where(col(EventCounter.id) == 1)
        .values(value=col(EventCounter.value) + count)
        .returning(col(EventCounter.value))
    ).scalar_one()
    return int(last) - count + 1


def sequence(session: Session, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Number ``events`` (sets their ``seq``, in order) and return them. Call it last before the commit."""
    if not events:
        return events
    first = allocate(session, len(events))
    for i, event in enumerate(events):
        event["seq"] = first + i
    return events


def publish(session: Session, events: list[dict[str, Any]]) -> None:
    """Hand the events just inserted (numbered by ``sequence``) to the publishers, in this transaction."""
    if events:
        if not PUBLISHERS:
            importlib.import_module(DEFAULT_PUBLISHER_MODULE)  # registers itself
        if not PUBLISHERS:  # the feed would lack these events: fail loudly, never silently
            raise RuntimeError(f"no event publisher registered ({DEFAULT_PUBLISHER_MODULE})")
        for publisher in PUBLISHERS:
            publisher(session, events)


def flush_events(session: Session) -> None:
    """Write the events queued on this session, numbered (``Database.transaction`` calls it before committing)."""
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    if pending:
        session.execute(sa.insert(_EVENTS), sequence(session, pending))
        publish(session, pending)


def discard_events(session: Session) -> None:
    """Forget the queued events (the transaction rolls back)."""
    session.info.pop(_PENDING, None)
