"""Accounts: logins with a database-backed failure limit, users, API keys."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import AccessToken, ApiKey, LoginFailure, LoginSource, Role, User, fold_username
from app.core.clock import as_utc
from app.core.db import Database
from app.core.errors import (
    AppError,
    Duplicate,
    FieldError,
    InvalidCredentials,
    LastAdmin,
    NotFound,
    SelfDeactivation,
    TooManyRequests,
    ValidationFailed,
)
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.security import API_KEY_PREFIX, TOKEN_PREFIX, hash_password, new_secret, secret_hash, verify_password
from app.core.settings import Settings
from app.organizations.models import Organization


def _too_many(settings: Settings, retry_after: int) -> AppError:
    return TooManyRequests(
        Text("登录失败次数过多，请 {seconds} 秒后再试", "Too many failed logins; try again in {seconds} seconds"),
        seconds=retry_after,
        headers={"Retry-After": str(retry_after)},
    )


def check_login_limits(session: Session, settings: Settings, account: str, address: str, now: datetime) -> None:
    """429 while this (account, address) pair or this address has failed too often, or, for a source the
    account has not signed in from before, while the account's backoff after many failures from anywhere
    has not yet passed."""
    window_start = now - timedelta(seconds=settings.login_window_seconds)
    by_pair, by_address, by_account = session.execute(
        sa.select(
            sa.func.count().filter(col(LoginFailure.username) == account, col(LoginFailure.address) == address),
            sa.func.count().filter(col(LoginFailure.address) == address),
            sa.func.count().filter(col(LoginFailure.username) == account),
        ).where(
            col(LoginFailure.at) > window_start,
            sa.or_(col(LoginFailure.username) == account, col(LoginFailure.address) == address),
        )
    ).one()
    if by_pair >= settings.login_max_failures or by_address >= settings.login_max_failures_per_address:
        raise _too_many(settings, settings.login_window_seconds)
    if by_account < settings.login_account_backoff_after:
        return
    known, lifted_at = _source_standing(session, account, address)
    if known:
        return  # failures elsewhere never make the owner wait where they signed in before
    since = max(window_start, as_utc(lifted_at)) if lifted_at is not None else window_start
    by_account, latest = session.execute(
        sa.select(sa.func.count(), sa.func.max(col(LoginFailure.at))).where(
            col(LoginFailure.username) == account, col(LoginFailure.at) > since
        )
    ).one()
    if by_account >= settings.login_account_backoff_after and latest is not None:
        excess = by_account - settings.login_account_backoff_after
        delay = min(2 ** min(excess, 30), settings.login_account_backoff_max_seconds)
        wait = as_utc(latest) + timedelta(seconds=delay) - now
        if wait > timedelta(0):
            raise _too_many(settings, max(1, math.ceil(wait.total_seconds())))


def _source_standing(session: Session, account: str, address: str) -> tuple[bool, datetime | None]:
    """Whether the account signed in from this address before, and when its backoff was last lifted: a
    success from a source it had signed in from already, or the use of one of its API keys."""
    known = sa.select(col(LoginSource.address)).where(
        col(LoginSource.username) == account, col(LoginSource.address) == address
    )
    lifted = sa.select(sa.func.max(col(LoginSource.last_success_at))).where(
        col(LoginSource.username) == account, col(LoginSource.last_success_at) > col(LoginSource.first_success_at)
    )
    key_used = (
        sa.select(sa.func.max(col(ApiKey.last_used_at)))
        .join(User, col(User.id) == col(ApiKey.user_id))
        .where(col(User.username_folded) == account)
    )
    is_known, lifted_at, key_used_at = session.execute(
        sa.select(known.exists(), lifted.scalar_subquery(), key_used.scalar_subquery())
    ).one()
    moments = [as_utc(m) for m in (lifted_at, key_used_at) if m is not None]
    return bool(is_known), max(moments) if moments else None


def find_user(session: Session, username: str) -> User | None:
    """The account a login names: its exact username first, else the one it folds to."""
    rows = (
        session.execute(
            sa.select(User).where(
                sa.or_(col(User.username) == username, col(User.username_folded) == fold_username(username))
            )
        )
        .scalars()
        .all()
    )
    return next((u for u in rows if u.username == username), rows[0] if rows else None)


@dataclass(frozen=True)
class LoginAttempt:
    """A password checked against an account, before anything is written."""

    account: str  # the folded username the limits count
    address: str
    user_id: str | None  # the user the password proved, if it did (and the user is active)


def check_password(
    database: Database, settings: Settings, username: str, password: str, address: str, now: datetime
) -> LoginAttempt:
    """The limits (429) and the password, on a read transaction; the costly hash is checked after it,
    holding no lock and no write gate, so one sign-in never delays anyone else's write."""
    account = fold_username(username)[:64]
    address = address[:64]
    with database.transaction(read=True) as session:
        check_login_limits(session, settings, account, address, now)
        user = find_user(session, username)
        stored = user.password_hash if user else None
        user_id = user.id if user is not None and user.is_active else None
    ok = verify_password(password, stored)
    return LoginAttempt(account, address, user_id if ok else None)


def finish_login(database: Database, settings: Settings, attempt: LoginAttempt, now: datetime) -> tuple[str, datetime]:
    """Record the failure (401), or issue a bearer token if the limits still allow it (failures may have
    come from elsewhere meanwhile) and the user is still active."""
    with database.transaction() as session:
        user = session.get(User, attempt.user_id) if attempt.user_id is not None else None
        if user is None or not user.is_active:
            # Committed with this transaction: the refusal is raised only after it.
            session.add(LoginFailure(username=attempt.account, address=attempt.address, at=now))
            issued = None
        else:
            check_login_limits(session, settings, attempt.account, attempt.address, now)
            issued = _issue_token(session, settings, user, attempt.account, attempt.address, now)
    if issued is None:
        raise InvalidCredentials()
    return issued


def login(
    database: Database, settings: Settings, username: str, password: str, address: str, now: datetime
) -> tuple[str, datetime]:
    """Check a password and issue a bearer token; too many recent failures → 429.

    Usernames match case-insensitively (``Alice`` signs in as ``alice``). Failures count per folded
    account name and client address (``SMPS_TRUSTED_PROXIES`` decides what the address is).
    """
    return finish_login(database, settings, check_password(database, settings, username, password, address, now), now)


def _issue_token(
    session: Session, settings: Settings, user: User, account: str, address: str, now: datetime
) -> tuple[str, datetime]:
    token = new_secret(TOKEN_PREFIX)
    expires_at = now + timedelta(minutes=settings.token_lifetime_minutes)
    session.add(
        AccessToken(
            id=new_id("tok"), user_id=user.id, token_hash=secret_hash(token), created_at=now, expires_at=expires_at
        )
    )
    # This address has proved itself: its failures go, and it becomes (or stays) a known source. A success
    # from a source known before lifts the account's backoff (see check_login_limits).
    session.execute(
        sa.delete(LoginFailure).where(col(LoginFailure.username) == account, col(LoginFailure.address) == address)
    )
    source = session.get(LoginSource, (account, address))
    if source is None:
        session.add(LoginSource(username=account, address=address, first_success_at=now, last_success_at=now))
    else:
        source.last_success_at = now
    return token, expires_at


def revoke_tokens(session: Session, user_id: str) -> None:
    """End every bearer token of a user (password changed, account deactivated); API keys stay."""
    session.execute(sa.delete(AccessToken).where(col(AccessToken.user_id) == user_id))


def revoke_credential(session: Session, credential: str, now: datetime) -> None:
    """RFC 7009: end the bearer token or API key ``credential`` (whoever holds it may end it); an unknown
    or already ended one is no error. Either stops working at once: tokens and keys are looked up on
    every request, and a key the read path keeps (``app.readpath.hints``) is checked by the query that reads
    with it."""
    digest = secret_hash(credential)
    if credential.startswith(TOKEN_PREFIX):
        session.execute(sa.delete(AccessToken).where(col(AccessToken.token_hash) == digest))
    elif credential.startswith(API_KEY_PREFIX):
        session.execute(
            sa.update(ApiKey)
            .where(col(ApiKey.key_hash) == digest, col(ApiKey.revoked_at).is_(None))
            .values(revoked_at=now)
        )


def guard_admin_change(
    session: Session, principal_user_id: str, user: User, roles: list[str] | None, is_active: bool | None
) -> None:
    """Refuse to deactivate oneself, and to demote or deactivate the last active admin."""
    if is_active is False and user.id == principal_user_id:
        raise SelfDeactivation()
    losing_admin = (roles is not None and Role.admin.value not in roles) or is_active is False
    if not (user.is_active and Role.admin.value in user.roles and losing_admin):
        return
    # Every active admin row locked in one order (PostgreSQL), so two admins demoting each other at
    # once cannot both succeed: the second sees the first's change, and is refused.
    admins = session.execute(
        sa.select(col(User.id), col(User.roles))
        .where(col(User.is_active), sa.cast(col(User.roles), sa.String).like('%"admin"%'))
        .order_by(col(User.id))
        .with_for_update()
    ).all()
    if not any(Role.admin.value in roles_ and user_id != user.id for user_id, roles_ in admins):
        raise LastAdmin()


def organization_or_error(session: Session, org_id: str, pointer: str) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise ValidationFailed(
            errors=[FieldError(pointer, "unknown_organization", Text("组织不存在", "No such organization"))]
        )
    return org


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    organization_id: str,
    roles: list[str],
    password: str,
    now: datetime,
    user_id: str | None = None,
    email: str | None = None,
    email_notifications: bool = True,
) -> User:
    """``user_id``: a known id (the demo's users), else a new one."""
    organization_or_error(session, organization_id, "/organization_id")
    if session.execute(sa.select(col(User.id)).where(col(User.username_folded) == fold_username(username))).first():
        raise Duplicate(
            Text("用户名已被使用", "The username is taken"),
            errors=[FieldError("/username", "duplicate", Text("用户名已被使用", "The username is taken"))],
        )
    user = User(
        id=user_id or new_id("usr"),
        username=username,
        username_folded=fold_username(username),
        display_name=display_name,
        organization_id=organization_id,
        roles=sorted(set(roles)),
        password_hash=hash_password(password),
        email=email,
        email_notifications=email_notifications,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    return user


def create_api_key(session: Session, user_id: str, name: str, now: datetime) -> tuple[ApiKey, str]:
    if session.get(User, user_id) is None:
        raise NotFound()
    key = new_secret(API_KEY_PREFIX)
    row = ApiKey(
        id=new_id("key"), user_id=user_id, name=name, key_hash=secret_hash(key), key_hint=key[:10], created_at=now
    )
    session.add(row)
    session.flush()
    return row, key
