"""Reading the change feed: keyset pages on positions with opaque cursors, one audience's entries.

A caller reads the entries of its audiences (``app.events.audiences``: who may read an event is decided
when it is written, or when an application first becomes visible to an audience); an admin reads the
whole log. A page reads the head of the log (the counter: every position up to it has committed, as
positions are allocated at commit, in commit order) first and then only entries up to it, so a caller
that is caught up may continue from the head without ever skipping an event.
"""

import base64
import binascii

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.principal import Principal
from app.batches.models import Batch, BatchItem
from app.batches.service import batch_visibility
from app.core.errors import AppError, FieldError, ValidationFailed
from app.core.i18n import Text
from app.core.outbox_models import Event, EventCounter
from app.events.access import type_filter
from app.events.audiences import audiences_of
from app.events.models import EventEntry
from app.events.schemas import EventPage, EventPublic

_CURSOR_PREFIX = "seq:"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def _invalid_cursor() -> AppError:
    return ValidationFailed(errors=[FieldError("query:/after", "invalid_cursor", Text("游标无效", "Invalid cursor"))])


class CursorAhead(AppError):
    status = 409
    code = "cursor_ahead"
    title = Text("游标超出事件日志的末尾", "Cursor ahead of the event log")


class CursorExpired(AppError):
    status = 410
    code = "cursor_expired"
    title = Text("游标所指的事件已过保留期被清除", "Cursor into events pruned by retention")


def log_bounds(session: Session) -> tuple[int, int]:
    """(head, pruned_through): the last committed position and the last one pruned."""
    row = session.execute(
        sa.select(col(EventCounter.value), col(EventCounter.pruned_through)).where(col(EventCounter.id) == 1)
    ).one_or_none()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def check_cursor(after: int, head: int, pruned_through: int) -> None:
    """A cursor ahead of the head (a log restored from an older backup) or before the pruned range."""
    if after > head:
        raise CursorAhead(
            Text(
                "游标超出事件日志的末尾（例如数据库自备份恢复后）：请按对账说明从头重建或从已知事件恢复",
                "The cursor is ahead of the event log (e.g. the database was restored from a backup): "
                "rebuild the mirror or resume from an event you hold, as the reconciliation guide says",
            ),
            extra={"head_cursor": encode_cursor(head)},
        )
    if 0 < after < pruned_through:
        raise CursorExpired(
            Text(
                "游标之后的部分事件已过保留期被清除：请按对账说明从头重建",
                "Events after this cursor were pruned by retention: rebuild the mirror from the current state",
            ),
        )


def decode_cursor(session: Session, value: str | None, principal: Principal | None = None) -> int:
    """The position after which to read: from a cursor, or from the id of the last event processed."""
    if not value:
        return 0
    if value.startswith("evt_"):
        position = _event_position(session, value, principal)
        if position is None:
            raise _invalid_cursor()
        return position
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, ValueError):
        raise _invalid_cursor() from None
    number = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not number.isdigit() or len(number) > 18:
        raise _invalid_cursor()
    return int(number)


def _event_position(session: Session, event_id: str, principal: Principal | None) -> int | None:
    seq = session.execute(sa.select(col(Event.seq)).where(col(Event.id) == event_id)).scalar_one_or_none()
    if seq is None or principal is None or principal.is_admin:
        return seq
    return session.execute(
        sa.select(sa.func.min(col(EventEntry.position))).where(
            col(EventEntry.event_seq) == seq, col(EventEntry.audience).in_(audiences_of(principal))
        )
    ).scalar()


def event_public(event: Event, position: int | None = None) -> EventPublic:
    return EventPublic(
        id=event.id,
        type=event.type,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        data=event.data,
        cursor=encode_cursor(event.seq if position is None else position),
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


# Entries read at a time when a filter (types, a history) may pass over some of them.
FILTERED_CHUNK = 1000


def admin_query(
    after: int, head: int, types: list[str], limit: int, history: sa.ColumnElement[bool] | None = None
) -> sa.Select[int, Event]:
    """An admin reads the whole log: keyset on its primary key."""
    where = [type_filter(types), *([history] if history is not None else [])]
    return (
        sa.select(col(Event.seq), Event)
        .where(col(Event.seq) > after, col(Event.seq) <= head, *where)
        .order_by(col(Event.seq))
        .limit(limit)
    )


def entry_query(principal: Principal, after: int, head: int, limit: int) -> sa.Select[int, int]:
    """(position, event_seq) of the caller's entries: keyset on its audiences' index.

    An event that reached the caller through two of its audiences (an applicant who also signs for
    its unit) is shown at the first of its positions only.
    """
    audiences = audiences_of(principal)
    earlier = sa.orm.aliased(EventEntry)
    first_entry = ~sa.exists().where(
        col(earlier.event_seq) == col(EventEntry.event_seq),
        col(earlier.audience).in_(audiences),
        col(earlier.position) < col(EventEntry.position),
    )
    return (
        sa.select(col(EventEntry.position), col(EventEntry.event_seq))
        .where(
            col(EventEntry.audience).in_(audiences),
            col(EventEntry.position) > after,
            col(EventEntry.position) <= head,
            first_entry,
        )
        .order_by(col(EventEntry.position))
        .limit(limit)
    )


def feed_rows(
    session: Session,
    principal: Principal,
    after: int,
    head: int,
    types: list[str],
    limit: int,
    history: sa.ColumnElement[bool] | None = None,
) -> list[tuple[int, Event]]:
    """Up to ``limit`` (position, event) of the caller's feed in (after, head], in order.

    The entries are read by key, then their events by key (two plain lookups, so a page costs what it
    holds whatever the length of the log); a filter reads further entries until the page is full.
    """
    if principal.is_admin:
        return [(int(p), e) for p, e in session.execute(admin_query(after, head, types, limit, history)).all()]
    filtered = bool(types) or history is not None
    out: list[tuple[int, Event]] = []
    while len(out) < limit and after < head:
        chunk = session.execute(entry_query(principal, after, head, FILTERED_CHUNK if filtered else limit)).all()
        if not chunk:
            break
        where = [col(Event.seq).in_([seq for _, seq in chunk]), type_filter(types)]
        if history is not None:
            where.append(history)
        events = {e.seq: e for e in session.execute(sa.select(Event).where(*where)).scalars()}
        for position, seq in chunk:
            if seq in events and len(out) < limit:
                out.append((position, events[seq]))
        after = chunk[-1][0]
    return out


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
    head, pruned_through = log_bounds(session)
    check_cursor(after, head, pruned_through)
    history = history_filter(session, principal, application_id, batch_id) if application_id or batch_id else None
    rows = feed_rows(session, principal, after, head, types, page_size + 1, history)
    more = len(rows) > page_size
    rows = rows[:page_size]
    # Caught up: everything up to the head was read (or was not for this caller), so continue from it.
    next_position = rows[-1][0] if more else max(head, after)
    return EventPage(
        items=[event_public(event, position) for position, event in rows],
        next_cursor=encode_cursor(next_position),
        has_more=more,
    )
