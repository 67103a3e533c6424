"""Request-scoped dependencies: the unit of work, settings, the clock."""

import asyncio
import contextlib
import functools
import hashlib
import re
import weakref
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Header, Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.core.db import Database
from app.core.errors import PreconditionFailed, PreconditionRequired
from app.core.fast.libraries import body_received
from app.core.i18n import Text
from app.core.route_facts import BODYLESS, streams_own_body
from app.core.settings import Settings

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READS_ONLY = "__smps_reads_only__"
F = TypeVar("F", bound=Callable[..., object])


# The rule, for every route: never hold a lock while waiting on someone else.
#
# 1. A request writes unless its method only reads (GET, HEAD, OPTIONS) or its endpoint is marked
#    ``@reads_only`` (a POST that computes an answer, e.g. verifying a receipt): ``writes(request)``.
#    A request that does not write takes neither the write gate nor a write transaction, and its
#    authentication records an API key's use without waiting for anyone (``record_key_use``).
# 2. A writing request takes the gate (``_write_gate``) and its write transaction only once its body
#    has been received in full and every costly check of it is done: ``get_session`` and ``get_writer``
#    read what is left of an ordinary body (bounded by ``app.web.limits``) before taking the gate; a
#    route that streams its own body (it declares ``streams_body``: the bulk upload, attachments) reads and
#    checks it in a dependency that comes before the session, or takes the gate itself for its commit
#    (``write_slot``). A streaming body still unread when the gate is asked for is a programming error.
# tests/core/test_write_gate.py sends a trickling body to every writing route and proves the gate is
# free whenever a request waits for its client.


def reads_only(endpoint: F) -> F:
    """Mark an endpoint whose method is not GET as one that never writes (no write gate, no write lock)."""
    setattr(endpoint, _READS_ONLY, True)
    return endpoint


def writes(request: Request) -> bool:
    """Whether ``request`` writes: the one decision of rule 1 above."""
    if request.method in _READ_METHODS:
        return False
    return not getattr(request.scope.get("endpoint"), _READS_ONLY, False)


async def _receive_body(request: Request) -> None:
    """Rule 2: the body in full before the gate (free when FastAPI has read it for a body parameter)."""
    if body_received(request):
        return
    # The body limits (app.web.limits) bound what is read here, unless the route reads its own body.
    if request.method in BODYLESS or streams_own_body(request.scope):
        raise RuntimeError(f"{request.method} {request.url.path} asks for the write gate before reading its body")
    await request.body()


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


def write_slot(database: Database) -> anyio.CapacityLimiter:
    """The write gate, for code that runs its own short write transaction (``async with write_slot(db):``):
    the commit of a streamed upload, an ``Idempotency-Key``'s claim. Take it with everything read and checked."""
    return _write_gate(database)


def writers_admitted(database: Database) -> int:
    """How many requests hold the write gate now (for tests and metrics)."""
    return int(_write_gate(database).borrowed_tokens)


async def _finish(fn: Callable[..., object], *args: object) -> None:
    """End the transaction (commit or roll back, then close) in a thread of its own (not the shared
    pool, whose threads may be waiting on this transaction's locks: FastAPI runs the exit of sync
    dependencies the same way)."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(fn, *args, limiter=anyio.CapacityLimiter(1))


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's one transaction (``Database.transaction``): a write transaction behind the write gate
    for a request that ``writes``, taken once its body is in; otherwise the reader (non-locking on SQLite)."""
    database: Database = request.app.state.database
    reading = not writes(request)
    if not reading:
        await _receive_body(request)
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
    same write gate as a writing request's session (once its body is in)."""
    database: Database = request.app.state.database
    await _receive_body(request)
    async with _write_gate(database):
        yield database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


DbSession = Annotated[Session, Depends(get_session, scope="function")]
WriterDatabase = Annotated[Database, Depends(get_writer, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings)]
Now = Annotated[datetime, Depends(get_now)]


def etag(version: int, variant: tuple[str, ...] | None = None) -> str:
    """The strong ETag of a version of a resource: ``"7"``; of one representation of it, when the body
    depends on who asks or on the clock, ``"7.<variant>"``, the variant a short digest of what differs
    (an application's or a batch's ``allowed_actions`` for the caller). ``If-Match`` compares the version
    part (``require_version``); ``If-None-Match`` the whole tag, so no caller revalidates another's body."""
    if variant is None:
        return f'"{version}"'
    return f'"{version}.{_variant(variant)}"'


@functools.lru_cache(maxsize=4096)
def _variant(variant: tuple[str, ...]) -> str:
    return hashlib.sha256("\x1f".join(variant).encode()).hexdigest()[:10]


def _version_part(tag: str) -> str:
    """``"7.3f9a…"`` → ``"7"``; a tag without a variant as it is."""
    dot = tag.find(".")
    return tag if dot < 0 else tag[:dot] + '"'


# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a comma-separated list (§5.6.1).
_ENTITY_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*')


def if_match_allows(if_match: str | None, current: str) -> bool:
    """RFC 9110 §13.1.1: ``*``, or a list of entity tags one of which equals ``current`` by the strong
    comparison (a weak tag never matches), a representation's tag (``"7.3f9a…"``) standing for its
    version (``"7"``): the body a caller got decides nothing of a write. Missing → 428; a header that
    does not parse matches nothing."""
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
        if tag.group(1) is None and _version_part(tag.group(2)) == current:
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
