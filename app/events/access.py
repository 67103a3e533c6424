"""Event types as callers name them: exact names, ``family.*`` or ``*``, checked against the closed set.

Who may read which event is decided when it is written (``app.events.audiences``); the feed and
webhook fan-out both read those entries (``app.events.feed.feed_query``), so they cannot disagree.
"""

import sqlalchemy as sa
from sqlmodel import col

from app.core.errors import FieldError
from app.core.event_types import EVENT_TYPES
from app.core.i18n import Text
from app.core.outbox_models import Event


def type_matches(pattern: str, event_type: str) -> bool:
    """The rule of the feed's ``types`` and of subscriptions: an exact name, ``prefix.*``, or ``*``."""
    return pattern == "*" or pattern == event_type or (pattern.endswith(".*") and event_type.startswith(pattern[:-1]))


def unknown_type_errors(patterns: list[str], pointer: str, *, indexed: bool) -> list[FieldError]:
    """A field error for each name that is no event type and each pattern that matches none.

    ``indexed``: the pointer of item ``i`` is ``pointer/i`` (a JSON array); else ``pointer`` itself.
    """
    errors = []
    for i, pattern in enumerate(patterns):
        if not any(type_matches(pattern, known) for known in EVENT_TYPES):
            errors.append(
                FieldError(
                    f"{pointer}/{i}" if indexed else pointer,
                    "unknown_event_type",
                    Text(
                        "未知的事件类型，或不匹配任何事件类型的模式（类型列表见接口文档的 EventType）",
                        "Unknown event type, or a pattern that matches none (the types are listed in the "
                        "document's EventType)",
                    ),
                )
            )
    return errors


def type_filter(types: list[str]) -> sa.ColumnElement[bool]:
    """Event types: exact names, ``prefix.*`` for a family, ``*`` for all."""
    if not types or "*" in types:
        return sa.true()
    exact = [t for t in types if not t.endswith(".*")]
    clauses: list[sa.ColumnElement[bool]] = [col(Event.type).in_(exact)] if exact else []
    clauses += [col(Event.type).startswith(t[:-1], autoescape=True) for t in types if t.endswith(".*")]
    return sa.or_(*clauses)
