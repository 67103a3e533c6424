"""Endpoints: the token, the caller, API keys, users (admin)."""

from typing import Annotated, Any, cast

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response, status
from sqlmodel import col

from app import examples as ex
from app.accounts import service
from app.accounts.models import ApiKey, Role, User
from app.accounts.principal import CurrentPrincipal, require_role
from app.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    MePublic,
    TokenForm,
    TokenResponse,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from app.core.concurrency import compare_and_set
from app.core.deps import AppSettings, DbSession, IfMatch, Now, WriterDatabase, etag, require_version
from app.core.errors import (
    Duplicate,
    Forbidden,
    InvalidCredentials,
    LastAdmin,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    SelfDeactivation,
    TooManyRequests,
    ValidationFailed,
    problem_responses,
)
from app.core.merge_patch import refuse_nulls
from app.core.pagination import Keyset, Page, PageSize, PageToken, fetch_page
from app.core.route_facts import IdFrom, facts
from app.core.security import hash_password
from app.organizations.models import Organization, RecommenderKind

# Path parameters that take the id create_user answers with (an OpenAPI link from it).
USER_ID = IdFrom("create_user", "user_id")
# Path parameters that take the id create_api_key answers with (an OpenAPI link from it).
KEY_ID = IdFrom("create_api_key", "key_id")
router = APIRouter(prefix="/api/v1")
AUTH = problem_responses(NotAuthenticated, ValidationFailed)
# What a user may change of their own account without being an admin.
SELF_SERVICE = frozenset({"email", "email_notifications"})


def checked_password(
    request: Request, form: Annotated[TokenForm, Depends()], settings: AppSettings, now: Now
) -> service.LoginAttempt:
    """The limits and the password, checked before the write gate is taken (the hash costs milliseconds
    of CPU, which no other request's write should wait for)."""
    # The peer, or the client named by a trusted proxy's X-Forwarded-For (SMPS_TRUSTED_PROXIES).
    address = request.client.host if request.client else "unknown"
    return service.check_password(request.app.state.database, settings, form.username, form.password, address, now)


@router.post(
    "/auth/token",
    tags=["auth"],
    operation_id="create_token",
    openapi_extra=facts(form_examples=("application/x-www-form-urlencoded", ex.CREATE_TOKEN_FORM)),
    response_model=TokenResponse,
    responses=problem_responses(InvalidCredentials, TooManyRequests, ValidationFailed),
)
def create_token(
    attempt: Annotated[service.LoginAttempt, Depends(checked_password)],
    database: WriterDatabase,  # after the attempt: resolved in this order
    settings: AppSettings,
    now: Now,
) -> TokenResponse:
    """Exchange a username and password (OAuth2 password form) for an expiring bearer token.

    The username matches whatever its case. Five failures from one address lock that account from that
    address for 15 minutes, twenty lock the address; many failures from anywhere make each further try of
    the account wait up to a minute after the latest one. API keys are never locked out.

    A login, not a full OAuth 2.0 server: the success body is RFC 6749 §5.1's, every answer is
    `Cache-Control: no-store`, but failures are this service's problem+json (`invalid_credentials` 401,
    `too_many_attempts` 429 with `Retry-After`, `validation_failed` 422), not RFC 6749 §5.2 `error` bodies.
    """
    token, expires_at = service.finish_login(database, settings, attempt, now)
    return TokenResponse(access_token=token, expires_in=int((expires_at - now).total_seconds()), expires_at=expires_at)


@router.post(
    "/auth/revoke",
    tags=["auth"],
    operation_id="revoke_token",
    openapi_extra=facts(form_examples=("application/x-www-form-urlencoded", ex.REVOKE_TOKEN_FORM)),
    response_class=Response,
    responses={
        200: {"description": "Revoked, or no such token (RFC 7009 §2.2: the answer is the same)"},
        **problem_responses(ValidationFailed),
    },
)
def revoke_token(
    token: Annotated[
        str, Form(min_length=1, max_length=200, description="The bearer token (`smpt_…`) or API key (`smps_…`) to end")
    ],
    session: DbSession,
    now: Now,
    token_type_hint: Annotated[
        str | None,
        Form(
            max_length=40,
            description="`access_token` (or `api_key`); a hint only: every kind of credential is searched",
        ),
    ] = None,
) -> Response:
    """End a bearer token or an API key (RFC 7009 token revocation, `application/x-www-form-urlencoded`):
    a browser frontend's sign-out. Holding the credential is what entitles one to end it, so no other
    authentication is needed; the answer is 200 whether or not the credential existed, and the
    credential stops working at once on every instance."""
    service.revoke_credential(session, token, now)
    return Response(status_code=status.HTTP_200_OK)


@router.get("/me", tags=["auth"], operation_id="get_me", response_model=MePublic, responses=AUTH)
def get_me(principal: CurrentPrincipal, session: DbSession) -> MePublic:
    """The calling user, its organization and roles."""
    org = session.get(Organization, principal.organization_id)
    user = session.get(User, principal.user_id)
    assert org is not None and user is not None
    return MePublic(
        id=principal.user_id,
        username=principal.username,
        display_name=principal.display_name,
        organization_id=org.id,
        organization_name=org.name,
        province_code=org.province_code,
        recommender_kind=cast(RecommenderKind | None, org.recommender_kind),
        roles=[Role(r) for r in sorted(principal.roles)],
        authenticated_with="api_key" if principal.api_key_id else "token",
        email=user.email,
        email_notifications=user.email_notifications,
        version=user.version,
    )


def _key_public(row: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(row, from_attributes=True)


@router.post(
    "/api-keys",
    tags=["auth"],
    operation_id="create_api_key",
    openapi_extra=facts(examples=ex.CREATE_API_KEY),
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses={**AUTH, **problem_responses(Forbidden, NotFound)},
)
def create_api_key(body: ApiKeyCreate, principal: CurrentPrincipal, session: DbSession, now: Now) -> ApiKeyCreated:
    """Create an API key for the caller (or, for an admin, any user). The key is shown once."""
    user_id = body.user_id or principal.user_id
    if user_id != principal.user_id:
        require_role(principal, Role.admin)
    row, key = service.create_api_key(session, user_id, body.name, now)
    return ApiKeyCreated(**_key_public(row).model_dump(), key=key)


@router.get("/api-keys", tags=["auth"], operation_id="list_api_keys", response_model=Page[ApiKeyPublic], responses=AUTH)
def list_api_keys(
    principal: CurrentPrincipal, session: DbSession, page_size: PageSize = 50, page_token: PageToken = None
) -> Page[ApiKeyPublic]:
    """The caller's API keys (an admin sees every key)."""
    query = sa.select(ApiKey)
    if not principal.is_admin:
        query = query.where(col(ApiKey.user_id) == principal.user_id)
    rows, token = fetch_page(session, query, Keyset((col(ApiKey.id),)), page_token, page_size)
    return Page(items=[_key_public(r) for r in rows], next_page_token=token)


@router.delete(
    "/api-keys/{key_id}",
    tags=["auth"],
    operation_id="revoke_api_key",
    openapi_extra=facts(id_from=KEY_ID),
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH, **problem_responses(NotFound)},
)
def revoke_api_key(
    key_id: Annotated[str, Path(description="API key id (`GET /api-keys` lists them)")],
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
) -> Response:
    """Revoke an API key; it stops working at once."""
    row = session.get(ApiKey, key_id)
    if row is None or (row.user_id != principal.user_id and not principal.is_admin):
        raise NotFound()
    if row.revoked_at is None:
        row.revoked_at = now
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _visible_user(
    principal: CurrentPrincipal, session: DbSession, user_id: Annotated[str, Path(description="User id")]
) -> User:
    """An admin sees every user, anyone else only themselves (`me` names the caller): another user is 403
    (the admin role is what the caller lacks), an unknown one 404."""
    if user_id == "me":
        user_id = principal.user_id
    if user_id != principal.user_id:
        require_role(principal, Role.admin)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


VisibleUser = Annotated[User, Depends(_visible_user)]


def _user_public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@router.get(
    "/users",
    tags=["users"],
    operation_id="list_users",
    response_model=Page[UserPublic],
    responses={**AUTH, **problem_responses(Forbidden)},
)
def list_users(
    principal: CurrentPrincipal,
    session: DbSession,
    page_size: PageSize = 50,
    page_token: PageToken = None,
    organization_id: Annotated[
        str | None, Query(max_length=32, description="Only the users of this organization")
    ] = None,
) -> Page[UserPublic]:
    """All users (admin)."""
    require_role(principal, Role.admin)
    query = sa.select(User)
    if organization_id:
        query = query.where(col(User.organization_id) == organization_id)
    rows, token = fetch_page(session, query, Keyset((col(User.id),)), page_token, page_size)
    return Page(items=[_user_public(u) for u in rows], next_page_token=token)


@router.post(
    "/users",
    tags=["users"],
    operation_id="create_user",
    openapi_extra=facts(examples=ex.CREATE_USER, etag=True),
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses={**AUTH, **problem_responses(Forbidden, Duplicate)},
)
def create_user(
    body: UserCreate, principal: CurrentPrincipal, session: DbSession, now: Now, response: Response
) -> UserPublic:
    """Create a user in an organization with one or more roles (admin)."""
    require_role(principal, Role.admin)
    user = service.create_user(
        session,
        username=body.username,
        display_name=body.display_name,
        organization_id=body.organization_id,
        roles=[r.value for r in body.roles],
        password=body.password,
        email=body.email,
        email_notifications=body.email_notifications,
        now=now,
    )
    response.headers["ETag"] = etag(user.version)
    return _user_public(user)


@router.patch(
    "/users/{user_id}",
    tags=["users"],
    operation_id="update_user",
    openapi_extra=facts(examples=ex.UPDATE_USER, etag=True, id_from=USER_ID),
    response_model=UserPublic,
    responses={
        **AUTH,
        **problem_responses(
            Forbidden,
            NotFound,
            PreconditionFailed,
            PreconditionRequired,
            LastAdmin,
            SelfDeactivation,
        ),
    },
)
def update_user(
    user: VisibleUser,
    body: UserUpdate,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> UserPublic:
    """Change a user's name, roles, password, active flag or e-mail (admin; If-Match). Any user may
    change their own `email` (`null` removes it) and `email_notifications` (the version is `GET /me`'s);
    `me` as the id names the caller.

    A new password or deactivation ends the user's bearer tokens (reactivation does not bring them
    back). API keys survive a password change; they are refused while the user is inactive and work
    again once reactivated (revoke them with `DELETE /api-keys/{id}`). No one may deactivate
    themselves, and the last active admin cannot be demoted or deactivated.
    """
    if not (user.id == principal.user_id and body.model_fields_set <= SELF_SERVICE):
        require_role(principal, Role.admin)
    version = require_version(user.version, if_match)
    refuse_nulls(body, "display_name", "roles", "password", "is_active", "email_notifications")
    roles = sorted({r.value for r in body.roles}) if body.roles is not None else None
    service.guard_admin_change(session, principal.user_id, user, roles, body.is_active)
    changes = body.model_dump(exclude_unset=True)
    values: dict[str, Any] = {"updated_at": now}
    if "display_name" in changes and body.display_name is not None:
        values["display_name"] = body.display_name
    if roles is not None:
        values["roles"] = roles
    if body.password is not None:
        values["password_hash"] = hash_password(body.password)
    if body.is_active is not None:
        values["is_active"] = body.is_active
    if "email" in changes:
        values["email"] = body.email
    if body.email_notifications is not None:
        values["email_notifications"] = body.email_notifications
    compare_and_set(session, user, version, **values)
    if body.password is not None or body.is_active is False:
        service.revoke_tokens(session, user.id)  # deleted: reactivation does not bring them back
    session.refresh(user)
    response.headers["ETag"] = etag(user.version)
    return _user_public(user)
