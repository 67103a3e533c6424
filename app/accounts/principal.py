"""Who is calling: resolved once per request from a bearer token or an API key.

The caller itself (``Principal``, ``CurrentPrincipal``, ``require_role``) is ``app.auth``'s, named here
too for the parts that use both; ``authenticate`` is what ``app.auth``'s dependencies call (``create_app``
hands it to them). Two functions work out a caller, for every path that needs one: ``resolve_credential`` (a bearer
token or an ``smps_`` API key, valid now) and ``load_principal`` (a user by id, for work done on a
user's behalf later: webhook deliveries, resumed bulk uploads)."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import anyio
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import AccessToken, ApiKey, User
from app.auth.caller import CurrentPrincipal as CurrentPrincipal
from app.auth.caller import Principal as Principal
from app.auth.caller import ReadingPrincipal as ReadingPrincipal
from app.auth.caller import current_principal as current_principal
from app.auth.caller import oauth2_scheme as oauth2_scheme
from app.auth.caller import reading_principal as reading_principal
from app.auth.caller import require_role as require_role
from app.core.clock import as_utc
from app.core.db import Database, UTCDateTime
from app.core.errors import NotAuthenticated
from app.core.fast.select import DirectSelect, Executor
from app.core.i18n import Text
from app.core.security import API_KEY_PREFIX, secret_hash
from app.organizations.models import Organization

T = TypeVar("T")
log = logging.getLogger("smps")

# Last use of an API key is recorded at most this often, so reads stay reads.
_LAST_USED_GRANULARITY = timedelta(minutes=1)


def key_use_due(last_used: datetime | None, now: datetime) -> bool:
    """Whether a key last used at ``last_used`` has its use recorded again at ``now``."""
    return last_used is None or now - as_utc(last_used) > _LAST_USED_GRANULARITY


def _unauthenticated() -> NotAuthenticated:
    return NotAuthenticated(
        Text(
            "缺少或无效的凭证（令牌已过期、API 密钥已吊销或不存在）",
            "Missing or invalid credentials (expired token, revoked or unknown API key)",
        ),
        headers={"WWW-Authenticate": "Bearer"},
    )


_USER_COLUMNS = (
    col(User.id),
    col(User.username),
    col(User.display_name),
    col(User.organization_id),
    col(User.roles),
    col(User.is_active),
    col(Organization.province_code),
    col(Organization.recommender_kind),
)


def api_key_grants(key: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """Where the API key that ``key`` picks out grants: not revoked, its user active, with the user's
    organization. Written once: the resolver reads a caller through it (``_BY_API_KEY``), and the read
    path checks a key it kept with it (``app.readpath.hints.STILL_GRANTS``)."""
    return sa.and_(
        key,
        col(ApiKey.revoked_at).is_(None),
        col(User.id) == col(ApiKey.user_id),
        col(User.is_active).is_(True),
        col(Organization.id) == col(User.organization_id),
    )


# Built once: the statements of the hottest path are compiled and cached by SQLAlchemy, not rebuilt per request.
_BY_API_KEY = DirectSelect(
    sa.select(*_USER_COLUMNS, col(ApiKey.id), col(ApiKey.last_used_at)).where(
        api_key_grants(col(ApiKey.key_hash) == sa.bindparam("digest"))
    )
)
_BY_TOKEN = DirectSelect(
    sa.select(*_USER_COLUMNS)
    .join(AccessToken, col(AccessToken.user_id) == col(User.id))
    .join(Organization, col(Organization.id) == col(User.organization_id))
    .where(
        col(AccessToken.token_hash) == sa.bindparam("digest"),
        col(AccessToken.expires_at) > sa.bindparam("now", type_=UTCDateTime),
    )
)
_BY_USER = DirectSelect(
    sa.select(*_USER_COLUMNS)
    .join(Organization, col(Organization.id) == col(User.organization_id))
    .where(col(User.id) == sa.bindparam("user_id"))
)


def _principal(row: Any, api_key_id: str | None = None) -> Principal:
    return Principal(
        user_id=row[0],
        username=row[1],
        display_name=row[2],
        organization_id=row[3],
        province_code=row[6],
        recommender_kind=row[7],
        roles=frozenset(row[4]),
        api_key_id=api_key_id,
    )


def _resolve(db: Executor, credential: str, now: datetime) -> tuple[Principal, datetime | None] | None:
    """The principal of a valid credential, with its API key's last use (None for a token)."""
    digest = secret_hash(credential)
    key_id = last_used = None
    if credential.startswith(API_KEY_PREFIX):
        row = _BY_API_KEY.first(db, {"digest": digest})
        if row is not None:
            key_id, last_used = row[8], row[9]
    else:
        row = _BY_TOKEN.first(db, {"digest": digest, "now": now})
    if row is None or not row[5]:  # unknown, expired, revoked, or its user deactivated
        return None
    return _principal(row, key_id), last_used


def resolve_credential(db: Executor, credential: str, now: datetime) -> Principal | None:
    """The principal a bearer token or an API key stands for, if it is valid now (an active user)."""
    found = _resolve(db, credential, now)
    return found[0] if found is not None else None


def load_principal(session: Session, user_id: str) -> Principal | None:
    """The principal a user acts as now, read in ``session``'s transaction; None when the user is gone or
    deactivated."""
    row = _BY_USER.first(session.connection(), {"user_id": user_id})
    return _principal(row) if row is not None and row[5] else None


def user_of_credential(database: Database, credential: str, now: datetime) -> str | None:
    """The user id of a valid credential, in a short read of its own (what ``Idempotency-Key`` is kept under)."""
    with database.reader() as session:
        principal = resolve_credential(session.connection(), credential, now)
    return principal.user_id if principal is not None else None


def authenticate(
    db: Executor,
    database: Database,
    credential: str | None,
    now: datetime,
    *,
    read_only: bool,
    record_use: Callable[[Database, str, datetime], None] | None = None,
) -> Principal:
    """Resolve a bearer token or an API key to its principal, or raise 401; records an API key's use.

    ``record_use``: on a read, what records the key's last use (its own short write by default).
    """
    found = _resolve(db, credential, now) if credential else None
    if found is None:
        raise _unauthenticated()
    principal, last_used = found
    key_id = principal.api_key_id
    if key_id is not None and key_use_due(last_used, now):
        if read_only:
            (record_use or record_key_use)(database, key_id, now)
        else:  # already a write transaction: record it there (a second writer would wait on this one)
            assert isinstance(db, sa.Connection), "a write transaction is a session's connection"
            db.execute(sa.update(ApiKey).where(col(ApiKey.id) == key_id).values(last_used_at=now))
    return principal


def record_key_use(database: Database, key_id: str, now: datetime) -> None:
    """Record a key's use in a short write of its own (a read keeps its read-only transaction) that never
    waits: when another writer holds the lock (SQLite's, or the key's row), this use goes unrecorded and a
    later one, at most a minute on, records it."""
    update = sa.update(ApiKey).where(col(ApiKey.id) == key_id).values(last_used_at=now)
    if not database.write_now(lambda conn: conn.execute(update)):
        log.debug("api key use not recorded: the database is busy")


RecordUse = Callable[[Database, str, datetime], None]


async def read_on_loop(database: Database, read: Callable[[Executor, RecordUse], T]) -> T:
    """SQLite: ``read(db, record_use)`` in a read transaction on the event loop's own connection.

    SQLite reads are lookups in this process's page cache (WAL: a reader never waits for a writer),
    cheaper than a hop to a worker thread and back. Only a key's last-use write, which may wait for the
    write lock, goes to a thread, before the answer.
    """
    uses: list[tuple[Database, str, datetime]] = []
    try:
        with database.loop_reader.transaction() as db:
            return read(db, lambda *use: uses.append(use))
    finally:
        for use in uses:
            await anyio.to_thread.run_sync(record_key_use, *use)
