"""``GET /applications/{id}``: the hottest read of the service, answered on its lean route.

What the answer costs beyond the framework's own work (``python -m bench.read_path``), and what keeps it
low:

- Rows come straight from the driver (``DirectSelect``), not as ORM objects: the representation only
  reads attributes. Caller, application and deadlines are read in one transaction, so they agree; for an
  API key this process has resolved before, in one query (``app.accounts.key_hints``).
- On SQLite the read runs inline on the event loop, on the loop's own connection
  (``app.core.fast.reader``). On PostgreSQL, a round trip to the server, it runs in one of a few worker
  threads while the loop serves others, on a connection kept for these reads
  (``app.core.fast.server_reader``): in one statement, without a transaction around it, when the
  caller's key is hinted and the body kept; otherwise all of it again on one read-only snapshot.
- The encoded body of an application version is kept in memory (``Representations``). A version is
  named by the row's ``id``, ``version`` and ``updated_at``: every change to what the body shows — an
  edit, a sign-off, a paper verification, a review, a batch step — goes through a compare-and-set that
  moves ``version``, and a version once committed never changes. So a hit needs only the columns that
  decide who may see the row and which actions the caller has (a row of a few short columns), never the
  form itself or its sign-offs. Nothing has to be invalidated: a newer version is another key, and
  several instances need not agree on anything. The caller's actions are part of the key, since they
  depend on who asks and on the deadline.
- The ETag names the body the caller gets: the version and a digest of those actions
  (``app.core.deps.etag``), so a browser revalidating another user's cached copy gets 200 and this
  caller's body, never 304; ``Vary: Authorization`` and ``private, no-cache`` say the same to caches.
"""

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
import sqlalchemy as sa
from fastapi import Request, Response, status
from sqlmodel import col

from app.accounts.key_hints import KEY_HINTS, STILL_GRANTS, KeyHint
from app.accounts.principal import (
    Principal,
    RecordUse,
    authenticate,
    key_use_due,
    oauth2_scheme,
    read_on_loop,
    record_key_use,
)
from app.applications import service
from app.applications.access import loader
from app.applications.models import Application
from app.applications.schemas import SignOff
from app.core.caching import PRIVATE
from app.core.db import Database
from app.core.deps import etag, if_none_match_matches
from app.core.errors import NotFound
from app.core.fast.select import DirectSelect, Executor
from app.core.security import API_KEY_PREFIX, secret_hash

# What a read needs of the row before it knows whether its body is kept: who may see it (the loader's
# filter), which version it is, and what decides the caller's actions, with the two deadlines.
_HEAD = (
    col(Application.id),
    col(Application.version),
    col(Application.updated_at),
    col(Application.state),
    col(Application.call_id),
    col(Application.recommender_id),
    col(Application.undertaking_org_id),
    col(Application.entered_by_org_id),
    service.CALL_DEADLINE,
    service.RECOMMENDER_DEADLINE,
)
_ROW = DirectSelect(sa.select(Application).where(col(Application.id) == sa.bindparam("application_id")))
_ENDORSEMENTS = DirectSelect(service.CURRENT_ENDORSEMENTS)

Version = tuple[str, int, datetime]
# Builds the statement of a read for one kind of caller (roles, recommender kind).
Statement = Callable[[frozenset[str], str | None], DirectSelect]


@functools.lru_cache(maxsize=64)
def _head(roles: frozenset[str], recommender_kind: str | None) -> DirectSelect:
    return DirectSelect(loader(roles, recommender_kind).with_only_columns(*_HEAD))


@functools.lru_cache(maxsize=64)
def _checked_head(roles: frozenset[str], recommender_kind: str | None) -> DirectSelect:
    """The head, and whether the caller's API key still stands for the principal kept with it."""
    return DirectSelect(loader(roles, recommender_kind).with_only_columns(*_HEAD, STILL_GRANTS))


# Who reads a version, as far as its actions go: the principal, and whether the deadline has passed.
Caller = tuple[Principal, bool]
# A version read by more callers than this forgets the actions it kept, and keeps them afresh.
_CALLERS_PER_VERSION = 64


@dataclass(slots=True)
class _Kept:
    signs: list[SignOff]
    bodies: dict[tuple[str, ...], bytes]  # by the caller's actions
    actions: dict[Caller, tuple[str, ...]]


class Representations:
    """Encoded bodies by application version and the caller's actions, least recently used first out,
    within ``max_bytes`` of bodies. Each version also keeps its sign-offs (which decide the actions), and
    the actions of the callers who read it lately (a principal and whether the deadline has passed: what
    else decides them is the version's), so a kept answer costs no walk of the workflow table."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._size = 0
        self._versions: OrderedDict[Version, _Kept] = OrderedDict()
        self._lock = threading.Lock()  # PostgreSQL reads run in worker threads

    def sign_offs(self, version: Version) -> list[SignOff] | None:
        with self._lock:
            kept = self._versions.get(version)
            if kept is None:
                return None
            self._versions.move_to_end(version)
            return kept.signs

    def actions(self, version: Version, caller: Caller) -> tuple[str, ...] | None:
        with self._lock:
            kept = self._versions.get(version)
            return kept.actions.get(caller) if kept is not None else None

    def body(self, version: Version, actions: tuple[str, ...]) -> bytes | None:
        with self._lock:
            kept = self._versions.get(version)
            return kept.bodies.get(actions) if kept is not None else None

    def keep_actions(self, version: Version, caller: Caller, actions: tuple[str, ...]) -> None:
        with self._lock:
            kept = self._versions.get(version)
            if kept is None:
                return
            if len(kept.actions) >= _CALLERS_PER_VERSION:
                kept.actions.clear()
            kept.actions[caller] = actions

    def keep(self, version: Version, signs: list[SignOff], actions: tuple[str, ...], body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            kept = self._versions.setdefault(version, _Kept(signs, {}, {}))
            previous = kept.bodies.get(actions)
            kept.bodies[actions] = body
            self._size += len(body) - (len(previous) if previous is not None else 0)
            self._versions.move_to_end(version)
            while self._size > self.max_bytes:
                _, dropped = self._versions.popitem(last=False)
                self._size -= sum(len(b) for b in dropped.bodies.values())


# About 3,000 bodies of a full-size form: the applications being worked on at once in a province's
# busiest hour, per process.
REPRESENTATIONS = Representations(max_bytes=32 * 1024 * 1024)


def _load(db: Executor, application_id: str) -> tuple[Any, list[Any], list[SignOff]]:
    row = _ROW.first(db, {"application_id": application_id})
    assert row is not None, "read in the transaction that found it visible"
    endorsements = _ENDORSEMENTS.all(db, {"application_id": application_id})
    return row, endorsements, service.sign_offs(row, endorsements)


@dataclass(frozen=True, slots=True)
class Hinted:
    """A read by a caller whose API key this process has resolved: the one query that checks the key too."""

    digest: str
    hint: KeyHint
    now: datetime
    head: DirectSelect  # its rows carry ``still_grants``
    params: dict[str, Any]


def hinted(
    request: Request,
    credential: str | None,
    application_id: str,
    checked: Statement = _checked_head,
    params: dict[str, Any] | None = None,
) -> Hinted | None:
    """The hinted read of the application for this caller, if their key is hinted; ``checked`` builds
    the statement for a kind of caller (the loader's filter and ``STILL_GRANTS``), ``params`` are any
    more parameters it takes."""
    if not (credential and credential.startswith(API_KEY_PREFIX)):
        return None
    digest = secret_hash(credential)
    hint = KEY_HINTS.get(digest)
    if hint is None:
        return None
    principal = hint.principal
    return Hinted(
        digest,
        hint,
        request.app.state.clock(),
        checked(principal.roles, principal.recommender_kind),
        {"application_id": application_id, **hint.params(), **(params or {})},
    )


def still_granted(request: Request, hinted: Hinted, head: Any, record_use: RecordUse | None) -> bool:
    """Whether the hinted key still stands for its principal, who may see the application; its use
    recorded when due. Otherwise the hint is forgotten: the caller is resolved afresh."""
    if head is None or not head.still_grants:
        KEY_HINTS.forget(hinted.digest)  # changed, or not visible: answered as without a hint
        return False
    if key_use_due(hinted.hint.last_used, hinted.now):
        (record_use or record_key_use)(request.app.state.database, hinted.params["key_id"], hinted.now)
        hinted.hint.last_used = hinted.now
    return True


async def granted_on_loop(request: Request, hinted: Hinted, head: Any) -> bool:
    """``still_granted`` for a head read on the event loop: the key's use, when due, recorded in a
    thread (a short write, which may wait for a lock)."""
    uses: list[tuple[Database, str, datetime]] = []
    if not still_granted(request, hinted, head, lambda *use: uses.append(use)):
        return False
    for use in uses:
        await anyio.to_thread.run_sync(record_key_use, *use)
    return True


def resolve_caller(
    request: Request, db: Executor, credential: str | None, now: datetime, record_use: RecordUse | None
) -> Principal:
    """The caller, authenticated afresh; an API key is kept for the hinted reads that follow."""
    principal = authenticate(db, request.app.state.database, credential, now, read_only=True, record_use=record_use)
    if credential and credential.startswith(API_KEY_PREFIX):
        KEY_HINTS.keep(db, secret_hash(credential), principal, now)
    return principal


def caller_and_head(
    request: Request,
    db: Executor,
    credential: str | None,
    application_id: str,
    record_use: RecordUse | None,
    statements: tuple[Statement, Statement] = (_checked_head, _head),
    params: dict[str, Any] | None = None,
) -> tuple[Principal, Any, datetime]:
    """The caller, the row of the application if they may see it (None otherwise), and the time read.

    ``statements`` build the row's statement for a kind of caller: with ``STILL_GRANTS`` for a hinted
    key, and without it for a caller resolved afresh (``hinted``'s ``checked``, and the loader's
    filter); ``params`` are any more parameters they take.
    """
    checked, plain = statements
    known = hinted(request, credential, application_id, checked, params)
    if known is not None:
        head = known.head.first(db, known.params)
        if still_granted(request, known, head, record_use):
            return known.hint.principal, head, known.now
    now = request.app.state.clock()
    principal = resolve_caller(request, db, credential, now, record_use)
    head = plain(principal.roles, principal.recommender_kind).first(
        db, {"org": principal.organization_id, "application_id": application_id, **(params or {})}
    )
    return principal, head, now


def _answer(
    request: Request, principal: Principal, head: Any, now: datetime, db: Executor | None
) -> tuple[bytes, str] | None:
    """The body and its ETag for the caller; loaded through ``db`` if not kept, None if not kept and no ``db``."""
    request.state.user_id = principal.user_id  # for the request's log line
    if head is None:
        raise NotFound()
    closed = service.deadlines_passed(now, head.state, (head.call_deadline, head.recommender_deadline))
    version: Version = (head.id, head.version, head.updated_at)
    caller: Caller = (principal, closed)
    loaded = None
    actions = kept_actions = REPRESENTATIONS.actions(version, caller)
    if actions is None:
        signs = REPRESENTATIONS.sign_offs(version)
        if signs is None:
            if db is None:
                return None
            loaded = _load(db, head.id)
            signs = loaded[2]
        actions = tuple(service.open_actions(principal, head, signs, closed=closed))
    body = REPRESENTATIONS.body(version, actions)
    if body is None:
        if db is None:
            return None
        row, endorsements, signs = loaded or _load(db, head.id)
        public = service.represent(principal, row, endorsements, closed=closed)
        body = public.__pydantic_serializer__.to_json(public)
        REPRESENTATIONS.keep(version, signs, tuple(public.allowed_actions), body)
    if kept_actions is None:
        REPRESENTATIONS.keep_actions(version, caller, actions)
    return body, etag(head.version, actions)


def read_application(
    request: Request,
    db: Executor,
    credential: str | None,
    application_id: str,
    record_use: RecordUse | None = None,
) -> tuple[bytes, str]:
    """The body and ETag of the application as the caller sees it; 401 / 404 as the problems say."""
    principal, head, now = caller_and_head(request, db, credential, application_id, record_use)
    answer = _answer(request, principal, head, now, db)
    assert answer is not None, "read with a transaction to load from"
    return answer


async def _read_on_server(request: Request, credential: str | None, application_id: str) -> tuple[bytes, str]:
    """PostgreSQL: a kept answer for a hinted key in one statement awaited on the loop; anything else
    (a key not seen before, a body not kept, a key that changed) read whole on one snapshot, in a thread."""
    known = hinted(request, credential, application_id)
    if known is not None:
        head = await request.app.state.database.loop_statements.first(known.head, known.params)
        if await granted_on_loop(request, known, head):
            answer = _answer(request, known.hint.principal, head, known.now, None)
            if answer is not None:
                return answer
    return await request.app.state.database.server_reader.run_in_thread(
        lambda db: read_application(request, db, credential, application_id), snapshot=True
    )


async def answer_read(request: Request, credential: str | None, application_id: str) -> Response:
    """The response to ``GET /applications/{id}``: 200 with the ETag of the caller's representation
    (version and actions), or 304 on a matching ``If-None-Match``; the body depends on who asks, so
    caches must key it by the credentials and revalidate (``PRIVATE``)."""
    database = request.app.state.database
    if database.dialect == "sqlite":
        body, tag = await read_on_loop(
            database, lambda db, record_use: read_application(request, db, credential, application_id, record_use)
        )
    else:  # a round trip to the server: awaited, the event loop serving others meanwhile
        body, tag = await _read_on_server(request, credential, application_id)
    if if_none_match_matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag, **PRIVATE})
    return Response(body, media_type="application/json", headers={"ETag": tag, **PRIVATE})


async def lean_get_application(request: Request) -> Response | None:
    """The lean handler of ``GET /applications/{id}``: the endpoint's parameters read without FastAPI's
    per-request solving; an id too long for the path is left to FastAPI's handler, which words the 422."""
    application_id = request.path_params["application_id"]
    if len(application_id) > 32:
        return None
    return await answer_read(request, await oauth2_scheme(request), application_id)
