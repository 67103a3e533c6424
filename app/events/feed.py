"""Reading the change feed: keyset pages on ``seq`` with opaque cursors, filtered by visibility.

A page reads the head of the log (the highest committed ``seq``) first and then only events up
to it. Every event below the head has committed (``seq`` is allocated at commit, in commit order),
so a caller that is caught up may continue from the head without ever skipping an event.
"""

import base64
import binascii
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.principal import Principal
from app.batches.models import Batch, BatchItem
from app.batches.service import batch_visibility
from app.core.errors import AppError, FieldError, ValidationFailed
from app.core.event_types import EventType
from app.core.i18n import Text
from app.core.outbox_models import Event
from app.events.access import event_visibility, type_filter
from app.events.schemas import EventPage, EventPublic

_CURSOR_PREFIX = "seq:"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def _invalid_cursor() -> AppError:
    return ValidationFailed(errors=[FieldError("query:/after", "invalid_cursor", Text("游标无效", "Invalid cursor"))])


def decode_cursor(session: Session, value: str | None) -> int:
    """The ``seq`` after which to read: from a cursor, or from the id of the last event processed."""
    if not value:
        return 0
    if value.startswith("evt_"):
        seq = session.execute(sa.select(col(Event.seq)).where(col(Event.id) == value)).scalar_one_or_none()
        if seq is None:
            raise _invalid_cursor()
        return seq
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, ValueError):
        raise _invalid_cursor() from None
    number = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not number.isdigit() or len(number) > 18:
        raise _invalid_cursor()
    return int(number)


def event_public(event: Event) -> EventPublic:
    return EventPublic(
        id=event.id,
        type=cast(EventType, event.type),
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        data=event.data,
        cursor=encode_cursor(event.seq),
    )


def history_filter(
    session: Session, principal: Principal, application_id: str | None, batch_id: str | None
) -> sa.ColumnElement[bool]:
    """The events of one application, and/or of one list (推荐清单) and of the applications now in it.

    A list's members are read first, and only from a list the caller sees (an applicant learns nothing of
    lists), so the clause is a plain ``IN`` on the indexed ``application_id``, or-ed with the indexed
    ``subject_id``: a history costs what it holds, not the length of the log. The feed's visibility
    filter still applies to every event.
    """
    clauses: list[sa.ColumnElement[bool]] = []
    if application_id is not None:
        clauses.append(col(Event.application_id) == application_id)
    if batch_id is not None:
        members = list(
            session.execute(
                sa.select(col(BatchItem.application_id))
                .join(Batch, col(Batch.id) == col(BatchItem.batch_id))
                .where(col(BatchItem.batch_id) == batch_id, batch_visibility(principal))
            )
            .scalars()
            .all()
        )
        of_list = sa.and_(col(Event.subject_type) == "batch", col(Event.subject_id) == batch_id)
        clauses.append(sa.or_(of_list, col(Event.application_id).in_(members)) if members else of_list)
    return sa.and_(*clauses) if clauses else sa.true()


def feed_query(
    principal: Principal,
    after: int,
    head: int,
    types: list[str],
    limit: int,
    history: sa.ColumnElement[bool] | None = None,
) -> sa.Select:
    """Keyset on the primary key: the cost of a page does not grow with the length of the log."""
    where = [col(Event.seq) > after, col(Event.seq) <= head, event_visibility(principal), type_filter(types)]
    if history is not None:
        where.append(history)
    return sa.select(Event).where(*where).order_by(col(Event.seq)).limit(limit)


def read_feed(
    session: Session,
    principal: Principal,
    after: int,
    types: list[str],
    page_size: int,
    *,
    application_id: str | None = None,
    batch_id: str | None = None,
) -> EventPage:
    head = session.execute(sa.select(sa.func.max(col(Event.seq)))).scalar() or 0
    history = history_filter(session, principal, application_id, batch_id) if application_id or batch_id else None
    rows = list(session.execute(feed_query(principal, after, head, types, page_size + 1, history)).scalars())
    more = len(rows) > page_size
    rows = rows[:page_size]
    # Caught up: everything up to the head was read (or was not for this caller), so continue from it.
    next_seq = rows[-1].seq if more else max(head, after)
    return EventPage(items=[event_public(e) for e in rows], next_cursor=encode_cursor(next_seq), has_more=more)
