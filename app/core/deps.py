"""Request-scoped dependencies: the unit of work, settings, the clock."""

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from app.core.db import Database, unit_of_work
from app.core.errors import PreconditionFailed, PreconditionRequired
from app.core.i18n import Text
from app.core.settings import Settings

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """The request's one transaction; reads use the non-locking reader on SQLite."""
    database: Database = request.app.state.database
    maker = database.reader if request.method in _READ_METHODS else database.writer
    yield from unit_of_work(maker)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_now(request: Request) -> datetime:
    return request.app.state.clock()


DbSession = Annotated[Session, Depends(get_session, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings)]
Now = Annotated[datetime, Depends(get_now)]


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(if_match: str | None) -> int | None:
    """The version named by an If-Match header; None for ``*``. Missing → 428."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(Text("此操作需要 If-Match 请求头（资源的 ETag）", "This operation needs an If-Match header with the resource's ETag"))
    value = if_match.strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip('"')
    if not value.isdigit():
        raise PreconditionFailed()
    return int(value)


def require_version(current: int, if_match: str | None) -> int:
    """Check If-Match against the current version; returns the version to compare-and-set on."""
    expected = parse_if_match(if_match)
    if expected is not None and expected != current:
        raise PreconditionFailed(extra={"current_etag": etag(current)})
    return current


IfMatch = Annotated[
    str | None,
    Header(description="The ETag of the resource as last read; required (428 if missing, 412 if stale)"),
]
