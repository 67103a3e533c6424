"""Who is calling: ``resolve_credential`` and ``load_principal``, the two ways the service works out a
caller, agree with each other on a session and on a bare connection (the fast read path)."""

from dataclasses import replace
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import col

from app.accounts.models import ApiKey, User
from app.accounts.principal import load_principal, resolve_credential, user_of_credential
from tests.factories import make_org, make_user


def _set(app: FastAPI, statement: sa.Update) -> None:
    with app.state.database.transaction() as session:
        session.execute(statement)


def test_a_credential_and_its_user_resolve_to_the_same_principal(app: FastAPI) -> None:
    org = make_org(app)
    actor = make_user(app, org, "applicant", "signatory")
    now = datetime.now(UTC)
    database = app.state.database
    with database.reader() as session:
        by_key = resolve_credential(session.connection(), actor.api_key, now)
        by_id = load_principal(session, actor.user_id)
    with database.read_engine.connect() as conn, conn.begin():
        on_connection = resolve_credential(conn, actor.api_key, now)
    assert by_key is not None and by_id is not None
    assert by_key.user_id == actor.user_id and by_key.organization_id == org
    assert by_key.roles == frozenset({"applicant", "signatory"}) and by_key.api_key_id is not None
    assert by_id.api_key_id is None and by_id == replace(by_key, api_key_id=None)
    assert on_connection == by_key
    assert user_of_credential(database, actor.api_key, now) == actor.user_id


def test_unknown_revoked_and_deactivated_resolve_to_nobody(app: FastAPI) -> None:
    actor = make_user(app, make_org(app), "applicant")
    now = datetime.now(UTC)
    database = app.state.database
    with database.reader() as session:
        assert resolve_credential(session.connection(), "smps_not-a-key", now) is None
        assert resolve_credential(session.connection(), "smpt_not-a-token", now) is None
        assert load_principal(session, "usr_nobody") is None
    _set(app, sa.update(ApiKey).where(col(ApiKey.user_id) == actor.user_id).values(revoked_at=now))
    with database.reader() as session:
        assert resolve_credential(session.connection(), actor.api_key, now) is None
        assert load_principal(session, actor.user_id) is not None  # the user is still active
    _set(app, sa.update(User).where(col(User.id) == actor.user_id).values(is_active=False))
    with database.reader() as session:
        assert load_principal(session, actor.user_id) is None
    assert user_of_credential(database, actor.api_key, now) is None
