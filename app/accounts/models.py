"""Users, their credentials (bearer tokens, API keys) and failed-login records."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.auth.caller import Role as Role  # the roles are the callers' (app.auth), named here with the users
from app.core.types import json_column, utc_column


def fold_username(username: str) -> str:
    """The form usernames are unique in and looked up by: ``Alice`` and ``alice`` are one account."""
    return username.casefold()


def _folded_default(context: Any) -> str:
    return fold_username(context.get_current_parameters()["username"])


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=32)
    username: str = Field(max_length=64, unique=True)
    # Filled from ``username`` on insert. Accounts that already differed only in case when the rule came
    # keep their names: the oldest holds the folded name, the others ``folded#id`` (migration 1001).
    username_folded: str = Field(max_length=100, unique=True, sa_column_kwargs={"default": _folded_default})
    display_name: str = Field(max_length=100)
    organization_id: str = Field(foreign_key="organizations.id", max_length=32, index=True)
    roles: list[str] = json_column(list)
    password_hash: str | None = Field(default=None, max_length=255)
    is_active: bool = True
    # Where notices go (app.mail); none: the user gets none. ``email_notifications`` false: opted out.
    email: str | None = Field(default=None, max_length=254)
    email_notifications: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    version: int = 1
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="users.id", max_length=32, index=True)
    name: str = Field(max_length=100)
    key_hash: str = Field(max_length=64, unique=True)
    # The first characters of the key, to recognise it in lists without revealing it.
    key_hint: str = Field(max_length=16)
    created_at: datetime = utc_column()
    last_used_at: datetime | None = utc_column(nullable=True)
    revoked_at: datetime | None = utc_column(nullable=True)


class AccessToken(SQLModel, table=True):
    __tablename__ = "access_tokens"

    id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="users.id", max_length=32, index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = utc_column()
    expires_at: datetime = utc_column(index=True)


class LoginFailure(SQLModel, table=True):
    """Failed logins, kept in the database so the limit holds across workers and instances."""

    __tablename__ = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    address: str = Field(max_length=64, index=True)
    at: datetime = utc_column(index=True)


class LoginSource(SQLModel, table=True):
    """An address an account signed in from: its sign-ins there are never slowed by the account's
    backoff, and a later success there lifts it (failures before it no longer count for the account)."""

    __tablename__ = "login_sources"

    username: str = Field(max_length=64, primary_key=True)
    address: str = Field(max_length=64, primary_key=True)
    first_success_at: datetime = utc_column()
    last_success_at: datetime = utc_column()
