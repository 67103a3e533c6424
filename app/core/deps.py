"""Request-scoped dependencies: the unit of work, settings, the clock."""

import asyncio
import contextlib
import re
import weakref
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, Header, Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.core.db import Database
from app.core.errors import PreconditionFailed, PreconditionRequired
from app.core.i18n import Text
from app.core.settings import Settings

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Write transactions of requests admitted at once, per database and event loop: one on SQLite (it has
# one writer anyway), half the thread pool on PostgreSQL. A request's dependencies, endpoint and response
# run in the shared thread pool one step after another, and a transaction waiting for a lock (SQLite's,
# or a row's) waits inside a pool thread. Were every thread so waiting, the request holding the lock
# would get none for its next step, and all of them would wait for ever (PostgreSQL) or until the busy
# timeout failed them (SQLite: 500 "database is locked"). Requests beyond the limit wait here, on the
# event loop, holding no thread. Per loop: the thread pool is per loop too.
_WRITE_GATES: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[Engine, anyio.CapacityLimiter]]" = weakref.WeakKeyDictionary()


def _write_gate(database: Database) -> anyio.CapacityLimiter:
    gates = _WRITE_GATES.setdefault(asyncio.get_running_loop(), weakref.WeakKeyDictionary())
    gate = gates.get(database.write_engine)
    if gate is None:
        gate = gates[database.write_engine] = anyio.CapacityLimiter(1)
    if database.dialect != "sqlite":
        gate.total_tokens = max(1, anyio.to_thread.current_default_thread_limiter().total_tokens // 2)
    return gate


async def _finish(fn: Callable[..., object], *args: object) -> None:
    """End the transaction (commit or roll back, then close) in a thread of its own (not the shared
    pool, whose threads may be waiting on this transaction's locks: FastAPI runs the exit of sync
    dependencies the same way)."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(fn, *args, limiter=anyio.CapacityLimiter(1))


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's one transaction (``Database.transaction``); reads use the non-locking reader on SQLite."""
    database: Database = request.app.state.database
    reading = request.method in _READ_METHODS
    async with contextlib.nullcontext() if reading else _write_gate(database):
        transaction = database.transaction(read=reading)
        session = transaction.__enter__()  # only makes the session: the transaction begins at its first statement
        try:
            yield session
        except BaseException as exc:
            await _finish(transaction.__exit__, type(exc), exc, exc.__traceback__)
            raise
        await _finish(transaction.__exit__, None, None, None)


async def get_writer(request: Request) -> AsyncIterator[Database]:
    """The database, for an endpoint that runs its own ``Database.transaction``, admitted through the
    same write gate as a writing request's session."""
    database: Database = request.app.state.database
    async with _write_gate(database):
        yield database


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_now(request: Request) -> datetime:
    return request.app.state.clock()


DbSession = Annotated[Session, Depends(get_session, scope="function")]
WriterDatabase = Annotated[Database, Depends(get_writer, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings)]
Now = Annotated[datetime, Depends(get_now)]


def etag(version: int) -> str:
    return f'"{version}"'


# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a comma-separated list (§5.6.1).
_ENTITY_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*')


def if_match_allows(if_match: str | None, current: str) -> bool:
    """RFC 9110 §13.1.1: ``*``, or a list of entity tags one of which equals ``current`` by the strong
    comparison (a weak tag never matches). Missing → 428; a header that does not parse matches nothing."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            Text(
                "此操作需要 If-Match 请求头（资源的 ETag）",
                "This operation needs an If-Match header with the resource's ETag",
            )
        )
    if if_match.strip() == "*":
        return True
    for member in if_match.split(","):
        if not member.strip():
            continue  # empty list elements are allowed (§5.6.1)
        tag = _ENTITY_TAG.fullmatch(member)
        if tag is None:
            return False
        if tag.group(1) is None and tag.group(2) == current:
            return True
    return False


def if_none_match_parameter(what: str) -> dict[str, Any]:
    """`If-None-Match` as the document declares it where a route reads it from the request itself."""
    return {
        "name": "if-none-match",
        "in": "header",
        "required": False,
        "description": f"An ETag from an earlier response: 304 if {what} is unchanged (RFC 9110 §13.1.2)",
        "schema": {"type": "string", "maxLength": 1024},
    }


def if_none_match_matches(if_none_match: str | None, current: str) -> bool:
    """RFC 9110 §13.1.2: a list of entity tags compared weakly (W/ ignored), or `*`."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    for member in if_none_match.split(","):
        tag = _ENTITY_TAG.fullmatch(member)
        if tag is not None and tag.group(2) == current:
            return True
    return False


def require_version(current: int, if_match: str | None) -> int:
    """Check If-Match against the current version; returns the version to compare-and-set on."""
    if not if_match_allows(if_match, etag(current)):
        raise PreconditionFailed(extra={"current_etag": etag(current)})
    return current


IfMatch = Annotated[
    str | None,
    Header(description="The ETag of the resource as last read (`*`: any); required: 428 if missing, 412 if stale"),
]
