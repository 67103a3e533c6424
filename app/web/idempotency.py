"""``Idempotency-Key`` on every POST under /api/v1 that creates or transitions (docs/conventions.md, "Idempotency").

A pure ASGI middleware, so the request body streams through untouched (uploads may be large): its
SHA-256 is computed on the way to the application, and only the (small JSON) response is kept.

- The first request with a key inserts an ``in_flight`` row in its own short committed transaction,
  taken through the write gate like every other write (``app.core.deps.write_slot``); the unique
  constraint on (user, key) decides who is first, on SQLite and PostgreSQL alike.
- The claim is a lease (``idempotency_lease_seconds``, 10 s) that the request renews while it runs,
  in short writes that never wait. A process that dies mid-request stops renewing: a retry with the
  key proceeds once the lease has run out. ``Retry-After`` says when to come back: 1 s while the claim
  is being renewed, the lease's remaining seconds once it no longer is.
- When the application answers 2xx or 4xx, the response (status, headers, body) is stored before
  its last byte goes out; a 5xx, an exception or a body the application did not read to the end
  releases the key, so the request may be retried.
- A later request with the key: in flight → 409 ``idempotency_in_flight``; same method, path and
  body → the stored response with ``Idempotent-Replayed: true``; otherwise → 422
  ``idempotency_key_reused``.

Keys belong to the authenticated user (a request without valid credentials is not tracked) and are
kept ``idempotency_ttl_hours``; the worker purges expired ones. Who the user is, the accounts part of
the service says: the app factory hands the middleware a ``resolve_user`` callable.
"""

import asyncio
import contextlib
import hashlib
import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.db import Database
from app.core.deps import write_slot
from app.core.errors import (
    AppError,
    FieldError,
    IdempotencyInFlight,
    IdempotencyKeyReused,
    ValidationFailed,
    problem_response,
)
from app.core.i18n import Text
from app.web.idempotency_store import Stored, claim, extend_lease, release, store

log = logging.getLogger("smps")

HEADER = "Idempotency-Key"
PREFIX = "/api/v1/"
EXCLUDED_PATHS = frozenset({"/api/v1/auth/token"})
MAX_KEY_LENGTH = 255
# Renewals of an in-flight claim per lease: one may fail (the database busy) and the next still be in time.
RENEWALS_PER_LEASE = 5
MAX_STORED_BODY = 1024 * 1024
# Response headers that describe one transmission rather than the resource: not replayed.
_NOT_REPLAYED = frozenset(
    {b"content-length", b"date", b"server", b"x-request-id", b"set-cookie", b"transfer-encoding", b"connection"}
)


# The user a bearer credential (token or API key) belongs to when it is valid now; None otherwise.
ResolveUser = Callable[[Database, str, datetime], str | None]


def retry_after(stored: Stored, now: datetime, lease: timedelta) -> int:
    """Seconds until a retry can make progress: soon while the claim is renewed (its request is alive),
    when its lease runs out once it is not (its process died)."""
    if stored.expires_at is None:
        return 1
    remaining = (stored.expires_at - now).total_seconds()
    renewed_lately = remaining > (lease - 2 * lease / RENEWALS_PER_LEASE).total_seconds()
    return 1 if renewed_lately else max(1, math.ceil(remaining))


def applies(method: str, path: str) -> bool:
    return method == "POST" and path.startswith(PREFIX) and path not in EXCLUDED_PATHS


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, resolve_user: ResolveUser) -> None:
        self.app = app
        self.resolve_user = resolve_user

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not applies(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(b"idempotency-key")
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
            await _problem(
                scope,
                receive,
                send,
                ValidationFailed(
                    errors=[
                        FieldError(
                            f"header:/{HEADER}",
                            "invalid_idempotency_key",
                            Text(
                                "Idempotency-Key 应为 1–255 个可打印 ASCII 字符",
                                "Idempotency-Key must be 1–255 printable ASCII characters",
                            ),
                        )
                    ]
                ),
            )
            return
        state = scope["app"].state
        database: Database = state.database
        now: datetime = state.clock()
        credential = _bearer(headers.get(b"authorization"))
        user_id = await run_in_threadpool(self.resolve_user, database, credential, now) if credential else None
        if user_id is None:  # the application answers 401; nothing to remember
            await self.app(scope, receive, send)
            return
        ttl = timedelta(hours=state.settings.idempotency_ttl_hours)
        lease = timedelta(seconds=state.settings.idempotency_lease_seconds)
        where = (user_id, key)
        live = _live_claims(state)
        async with write_slot(database):
            row_id, existing = await run_in_threadpool(
                claim, database, where, scope["method"], scope["path"], now, lease, frozenset(live)
            )
        if row_id is not None:
            live.add(row_id)
            renewing = asyncio.create_task(_renew(database, row_id, lease, state.clock))
            try:
                await self._first(scope, receive, send, database, row_id, ttl, headers)
            finally:
                live.discard(row_id)
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
            return
        assert existing is not None
        if existing.state != "completed":
            await _problem(
                scope,
                receive,
                send,
                IdempotencyInFlight(
                    Text(
                        "请稍后用同一 Idempotency-Key 重试以获取结果",
                        "Retry later with the same Idempotency-Key to get its result",
                    ),
                    headers={"Retry-After": str(retry_after(existing, now, lease))},
                ),
            )
            return
        digest = await _drain(receive)
        if (existing.method, existing.path, existing.request_sha256) != (scope["method"], scope["path"], digest):
            await _problem(
                scope,
                receive,
                send,
                IdempotencyKeyReused(
                    Text(
                        "同一 Idempotency-Key 只能用于完全相同的请求；新的请求请使用新的键",
                        "An Idempotency-Key may only be reused for the identical request; use a new key for a new request",
                    )
                ),
            )
            return
        await _replay(existing, send)

    async def _first(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        database: Database,
        row_id: int,
        ttl: timedelta,
        request_headers: dict[bytes, bytes],
    ) -> None:
        hasher = hashlib.sha256()
        # A request without a body (no Content-Length, not chunked) is complete before it is read.
        body_read = request_headers.get(b"content-length", b"0") == b"0" and b"transfer-encoding" not in request_headers
        response: dict[str, Any] = {"status": 0, "headers": [], "body": bytearray(), "storable": True}
        stored = False

        async def hashing_receive() -> Message:
            nonlocal body_read
            message = await receive()
            if message["type"] == "http.request":
                hasher.update(message.get("body", b""))
                if not message.get("more_body", False):
                    body_read = True
            return message

        async def capturing_send(message: Message) -> None:
            nonlocal stored
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["headers"] = [
                    [k.decode("latin-1"), v.decode("latin-1")]
                    for k, v in message.get("headers", [])
                    if k.lower() not in _NOT_REPLAYED
                ]
                response["storable"] = 200 <= message["status"] < 300 or 400 <= message["status"] < 500
            elif message["type"] == "http.response.body" and response["storable"]:
                response["body"] += message.get("body", b"")
                if len(response["body"]) > MAX_STORED_BODY:
                    response["storable"] = False
                elif not message.get("more_body", False) and body_read:
                    # Stored before the last byte goes out: a client that has the answer can replay it.
                    try:
                        async with write_slot(database):
                            await run_in_threadpool(store, database, row_id, hasher.hexdigest(), response, ttl)
                        stored = True
                    except Exception:
                        log.exception("could not store an idempotent response")
            await send(message)

        try:
            await self.app(scope, hashing_receive, capturing_send)
        finally:
            if not stored:
                # Also when the request was cancelled (the client went away): the key must not stay taken.
                with anyio.CancelScope(shield=True):
                    async with write_slot(database):
                        await run_in_threadpool(release, database, row_id)


def _live_claims(state: Any) -> set[int]:
    """Ids of the claims this process's requests hold now: never taken over, whatever their lease says."""
    live: set[int] | None = getattr(state, "idempotency_live_claims", None)
    if live is None:
        live = state.idempotency_live_claims = set()
    return live


async def _renew(database: Database, row_id: int, lease: timedelta, clock: Callable[[], datetime]) -> None:
    """Keep the claim's lease running while its request does (cancelled when it ends)."""
    while True:
        await anyio.sleep(lease.total_seconds() / RENEWALS_PER_LEASE)
        try:
            await run_in_threadpool(extend_lease, database, row_id, clock() + lease)
        except Exception:
            log.warning("could not renew an Idempotency-Key's lease", exc_info=True)


def _bearer(value: bytes | None) -> str | None:
    if not value:
        return None
    scheme, _, credential = value.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credential.strip() or None


async def _problem(scope: Scope, receive: Receive, send: Send, error: AppError) -> None:
    await problem_response(Request(scope), error)(scope, receive, send)


async def _drain(receive: Receive) -> str:
    """Read the request body to its end, keeping only its SHA-256."""
    hasher = hashlib.sha256()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        hasher.update(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return hasher.hexdigest()


async def _replay(stored: Stored, send: Send) -> None:
    body = stored.body or b""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    headers += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
