"""Factories that create rows through the services (no HTTP), for test setup."""

import functools
import itertools
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import FastAPI

from app.accounts.models import User
from app.accounts.service import create_api_key
from app.core.ids import new_id
from app.core.security import hash_password
from app.organizations.credit_code import check_character
from app.organizations.models import Organization
from tests.conftest import Actor

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


def credit_code(area: str = "370102") -> str:
    """A valid unified social credit code in the given area, unique per call."""
    body = f"11{area}MB{next(_seq):07d}"[:17]
    return body + check_character(body)


def seeded_org(app: FastAPI, key: str) -> str:
    with app.state.database.reader() as session:
        return session.execute(sa.select(Organization.id).where(Organization.key == key)).scalar_one()


def make_org(
    app: FastAPI,
    *,
    name: str | None = None,
    province_code: str = "370000",
    area: str = "370102",
    kind: str = "government_agency",
    recommender_kind: str | None = None,
) -> str:
    now = datetime.now(UTC)
    with app.state.database.transaction() as session:
        org = Organization(
            id=new_id("org"),
            name=name or f"测试单位{next(_seq)}",
            credit_code=credit_code(area),
            province_code=province_code,
            kind=kind,
            recommender_kind=recommender_kind,
            created_at=now,
            updated_at=now,
        )
        session.add(org)
        return org.id


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # Argon2 is slow on purpose: hash the shared test password once


def make_user(app: FastAPI, organization_id: str, *roles: str, username: str | None = None) -> Actor:
    now = datetime.now(UTC)
    username = username or f"user{next(_seq)}"
    with app.state.database.transaction() as session:
        user = User(
            id=new_id("usr"),
            username=username,
            display_name=username,
            organization_id=organization_id,
            roles=sorted(roles),
            password_hash=_password_hash(),
            created_at=now,
            updated_at=now,
        )
        session.add(user)
        session.flush()
        _, key = create_api_key(session, user.id, "test", now)
        return Actor(user.id, username, organization_id, key)
