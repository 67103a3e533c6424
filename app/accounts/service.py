"""Accounts: logins with a database-backed failure limit, users, API keys."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import AccessToken, ApiKey, LoginFailure, User
from app.core.errors import Duplicate, FieldError, InvalidCredentials, NotFound, TooManyRequests, ValidationFailed
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.security import API_KEY_PREFIX, TOKEN_PREFIX, hash_password, new_secret, secret_hash, verify_password
from app.core.settings import Settings
from app.organizations.models import Organization


def login(session: Session, settings: Settings, username: str, password: str, address: str, now: datetime) -> tuple[str, datetime]:
    """Check a password and issue a bearer token; too many recent failures → 429."""
    since = now - timedelta(seconds=settings.login_window_seconds)
    by_user, by_address = session.execute(
        sa.select(
            sa.func.count().filter(LoginFailure.username == username),
            sa.func.count().filter(LoginFailure.address == address),
        ).where(LoginFailure.at > since, sa.or_(LoginFailure.username == username, LoginFailure.address == address))
    ).one()
    if by_user >= settings.login_max_failures or by_address >= settings.login_max_failures_per_address:
        raise TooManyRequests(
            Text("登录失败次数过多，请 {minutes} 分钟后再试", "Too many failed logins; try again in {minutes} minutes"),
            minutes=max(1, settings.login_window_seconds // 60),
            headers={"Retry-After": str(settings.login_window_seconds)},
        )
    user = session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    ok = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        # Recorded in its own committed write below (the caller's unit of work), even though we raise.
        session.add(LoginFailure(username=username[:64], address=address[:64], at=now))
        session.commit()
        raise InvalidCredentials()
    token = new_secret(TOKEN_PREFIX)
    expires_at = now + timedelta(minutes=settings.token_lifetime_minutes)
    session.add(AccessToken(id=new_id("tok"), user_id=user.id, token_hash=secret_hash(token), created_at=now, expires_at=expires_at))
    session.execute(sa.delete(LoginFailure).where(LoginFailure.username == username))
    return token, expires_at


def organization_or_error(session: Session, org_id: str, pointer: str) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise ValidationFailed(errors=[FieldError(pointer, "unknown_organization", Text("组织不存在", "No such organization"))])
    return org


def create_user(session: Session, *, username: str, display_name: str, organization_id: str, roles: list[str], password: str, now: datetime) -> User:
    organization_or_error(session, organization_id, "/organization_id")
    if session.execute(sa.select(User.id).where(User.username == username)).first():
        raise Duplicate(
            Text("用户名已被使用", "The username is taken"),
            errors=[FieldError("/username", "duplicate", Text("用户名已被使用", "The username is taken"))],
        )
    user = User(
        id=new_id("usr"), username=username, display_name=display_name, organization_id=organization_id,
        roles=sorted(set(roles)), password_hash=hash_password(password), created_at=now, updated_at=now,
    )
    session.add(user)
    session.flush()
    return user


def create_api_key(session: Session, user_id: str, name: str, now: datetime) -> tuple[ApiKey, str]:
    if session.get(User, user_id) is None:
        raise NotFound()
    key = new_secret(API_KEY_PREFIX)
    row = ApiKey(id=new_id("key"), user_id=user_id, name=name, key_hash=secret_hash(key), key_hint=key[:10], created_at=now)
    session.add(row)
    session.flush()
    return row, key
