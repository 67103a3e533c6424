"""Who is calling: resolved once per request from a bearer token or an API key."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.accounts.models import AccessToken, ApiKey, Role, User
from app.core.db import Database
from app.core.deps import DbSession, Now
from app.core.errors import Forbidden, NotAuthenticated
from app.core.i18n import Text
from app.core.security import API_KEY_PREFIX, secret_hash
from app.organizations.models import Organization

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="A bearer token from `POST /api/v1/auth/token`, or an API key (`smps_…`) sent the same way: "
    "`Authorization: Bearer smps_…`.",
)

# Last use of an API key is recorded at most this often, so reads stay reads.
_LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    username: str
    display_name: str
    organization_id: str
    province_code: str
    recommender_kind: str | None
    roles: frozenset[str]
    api_key_id: str | None = None

    def has(self, role: Role) -> bool:
        return role.value in self.roles

    @property
    def is_admin(self) -> bool:
        return Role.admin.value in self.roles

    @property
    def is_recommender_reviewer(self) -> bool:
        return Role.reviewer.value in self.roles and self.recommender_kind is not None


def _unauthenticated() -> NotAuthenticated:
    return NotAuthenticated(
        Text("缺少或无效的凭证（令牌已过期、API 密钥已吊销或不存在）",
             "Missing or invalid credentials (expired token, revoked or unknown API key)"),
        headers={"WWW-Authenticate": "Bearer"},
    )


def current_principal(
    request: Request,
    session: DbSession,
    now: Now,
    credential: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    if not credential:
        raise _unauthenticated()
    digest = secret_hash(credential)
    columns = (User, Organization.province_code, Organization.recommender_kind)
    api_key: ApiKey | None = None
    if credential.startswith(API_KEY_PREFIX):
        row = session.execute(
            sa.select(*columns, ApiKey)
            .join(ApiKey, ApiKey.user_id == User.id)
            .join(Organization, Organization.id == User.organization_id)
            .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))  # type: ignore[union-attr]
        ).first()
        if row is not None:
            api_key = row[3]
    else:
        row = session.execute(
            sa.select(*columns)
            .join(AccessToken, AccessToken.user_id == User.id)
            .join(Organization, Organization.id == User.organization_id)
            .where(AccessToken.token_hash == digest, AccessToken.expires_at > now)
        ).first()
    if row is None or not row[0].is_active:
        raise _unauthenticated()
    user: User = row[0]
    if api_key is not None and (api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USED_GRANULARITY):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            _record_key_use(request.app.state.database, api_key.id, now)
        else:  # already a write transaction: record it there (a second writer would wait on this one)
            session.execute(sa.update(ApiKey).where(ApiKey.id == api_key.id).values(last_used_at=now))
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        organization_id=user.organization_id,
        province_code=row[1],
        recommender_kind=row[2],
        roles=frozenset(user.roles),
        api_key_id=api_key.id if api_key else None,
    )


def _record_key_use(database: Database, key_id: str, now: datetime) -> None:
    # Its own short write, so a GET keeps its read-only transaction.
    with database.writer() as session, session.begin():
        session.execute(sa.update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(principal: Principal, *roles: Role) -> None:
    """403 naming the missing role unless the caller has one of ``roles``."""
    if not any(principal.has(r) for r in roles):
        names = " | ".join(r.value for r in roles)
        raise Forbidden(
            Text("需要以下角色之一：{roles}", "Requires one of the roles: {roles}"),
            roles=names,
            extra={"required_roles": [r.value for r in roles]},
        )
