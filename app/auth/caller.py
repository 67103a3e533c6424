"""The caller of a request: its roles, its principal, and the dependencies that resolve it from the
``Authorization`` header (401 without a valid credential, 403 without a role a route requires)."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.core.db import Database
from app.core.deps import DbSession, Now, writes
from app.core.errors import Forbidden
from app.core.fast.select import Executor
from app.core.i18n import Text


class Role(StrEnum):
    """A user's role: applicant (申报人), signatory (签章人), reviewer (推荐单位审核人), office (联席办), admin (管理员)."""

    applicant = "applicant"
    signatory = "signatory"
    reviewer = "reviewer"
    office = "office"
    admin = "admin"


# The roles' Chinese labels (registered for messages with the other labels: app.reference.labels).
ROLES = {
    "applicant": "申报人",
    "signatory": "签署人",
    "reviewer": "审核人",
    "office": "联席会议办公室人员",
    "admin": "管理员",
}

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="A bearer token from `POST /api/v1/auth/token`, or an API key (`smps_…`) sent the same way: "
    "`Authorization: Bearer smps_…`.",
)


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


class Authenticate(Protocol):
    """A bearer token or an API key to its principal, or 401 (``app.accounts.principal.authenticate``)."""

    def __call__(
        self, conn: Executor, database: Database, credential: str | None, now: datetime, *, read_only: bool
    ) -> Principal: ...


def current_principal(
    request: Request,
    session: DbSession,
    now: Now,
    credential: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    authenticate: Authenticate = request.app.state.authenticate
    principal = authenticate(
        session.connection(), request.app.state.database, credential, now, read_only=not writes(request)
    )
    request.state.user_id = principal.user_id  # for the request's log line
    return principal


def reading_principal(
    request: Request, now: Now, credential: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    """The caller, resolved in a short read of its own, for a route that streams its body: the body is
    read and checked after authentication and before the write gate (``app.core.deps``), so no
    transaction is held while it arrives (an API key's use is recorded by ``record_key_use``)."""
    database: Database = request.app.state.database
    authenticate: Authenticate = request.app.state.authenticate
    with database.reader() as session:
        principal = authenticate(session.connection(), database, credential, now, read_only=True)
    request.state.user_id = principal.user_id  # for the request's log line
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
# For the routes that stream their bodies (``reading_principal``).
ReadingPrincipal = Annotated[Principal, Depends(reading_principal)]


def require_role(principal: Principal, *roles: Role) -> None:
    """403 naming the missing role unless the caller has one of ``roles``."""
    if not any(principal.has(r) for r in roles):
        names = Text(
            "、".join(f"{ROLES.get(r.value, r.value)}（{r.value}）" for r in roles), " | ".join(r.value for r in roles)
        )
        raise Forbidden(
            Text("需要以下角色之一：{roles}", "Requires one of the roles: {roles}"),
            roles=names,
            extra={"required_roles": [r.value for r in roles]},
        )
