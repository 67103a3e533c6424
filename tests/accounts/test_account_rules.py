"""Accounts that cannot undo the service: the last admin, self-deactivation, look-alike usernames,
tokens that outlive a password; and what happens to API keys."""

from datetime import UTC, datetime

import httpx
import sqlalchemy as sa
from alembic import command
from fastapi import FastAPI

from app.accounts.models import User
from app.core.migrate import alembic_config
from tests.accounts.test_accounts import token
from tests.factories import PASSWORD, make_org, make_user, seeded_org
from tests.store import fingerprint

NEW_PASSWORD = "another-horse-battery"


async def _patch(app: FastAPI, client: httpx.AsyncClient, admin, user_id: str, **body: object) -> httpx.Response:  # type: ignore[no-untyped-def]
    with app.state.database.reader() as session:
        version = session.get(User, user_id).version  # type: ignore[union-attr]
    return await client.patch(
        f"/api/v1/users/{user_id}", json=body, headers={**admin.headers, "If-Match": f'"{version}"'}
    )


def _only_admin(app: FastAPI):  # type: ignore[no-untyped-def]
    """Leave one active admin: deactivate whatever admins the seed data made."""
    with app.state.database.writer() as session:
        session.execute(sa.update(User).values(is_active=False))
        session.commit()
    return make_user(app, seeded_org(app, "office"), "admin", "office")


async def test_the_last_admin_cannot_be_demoted_or_deactivated(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = _only_admin(app)
    before = fingerprint(app)
    demoted = await _patch(app, client, admin, admin.user_id, roles=["office"])
    assert demoted.status_code == 409 and demoted.json()["code"] == "last_admin", demoted.text
    assert demoted.headers["content-type"] == "application/problem+json"
    assert fingerprint(app) == before
    # With a second admin, one may step down; then the other is the last.
    second = make_user(app, seeded_org(app, "office"), "admin")
    assert (await _patch(app, client, admin, admin.user_id, roles=["office"])).status_code == 200
    last = await _patch(app, client, second, second.user_id, roles=["reviewer"])
    assert last.status_code == 409 and last.json()["code"] == "last_admin"
    # An inactive admin does not count as one.
    third = make_user(app, seeded_org(app, "office"), "admin")
    assert (await _patch(app, client, second, third.user_id, is_active=False)).status_code == 200
    assert (await _patch(app, client, second, second.user_id, roles=["office"])).json()["code"] == "last_admin"


async def test_no_one_deactivates_themselves(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = make_user(app, seeded_org(app, "office"), "admin")
    make_user(app, seeded_org(app, "office"), "admin")  # not the last admin: the rule is its own
    before = fingerprint(app)
    response = await _patch(app, client, admin, admin.user_id, is_active=False)
    assert response.status_code == 409 and response.json()["code"] == "self_deactivation"
    assert fingerprint(app) == before
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 200


async def test_usernames_are_unique_whatever_their_case(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = make_user(app, seeded_org(app, "office"), "admin")
    org = make_org(app)
    body = {"display_name": "张三", "organization_id": org, "roles": ["applicant"], "password": PASSWORD}
    created = await client.post("/api/v1/users", json={**body, "username": "Zhang.San"}, headers=admin.headers)
    assert created.status_code == 201, created.text
    before = fingerprint(app)
    for look_alike in ("zhang.san", "ZHANG.SAN", "Zhang.San"):
        refused = await client.post("/api/v1/users", json={**body, "username": look_alike}, headers=admin.headers)
        assert refused.status_code == 409, refused.text
        assert refused.json()["errors"][0] == {
            **refused.json()["errors"][0],
            "pointer": "/username",
            "code": "duplicate",
        }
    assert fingerprint(app) == before
    # Signing in matches whatever the case; the account keeps the name it was given.
    for spelling in ("zhang.san", "ZHANG.SAN"):
        signed_in = await token(client, spelling)
        assert signed_in.status_code == 200, signed_in.text
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"})
        assert me.json()["username"] == "Zhang.San"


async def test_a_password_change_or_deactivation_ends_tokens_for_good(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = make_user(app, seeded_org(app, "office"), "admin")
    user = make_user(app, make_org(app), "applicant")
    bearer = {"Authorization": f"Bearer {(await token(client, user.username)).json()['access_token']}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200
    assert (await _patch(app, client, admin, user.user_id, password=NEW_PASSWORD)).status_code == 200
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    # The API key survives the password change.
    assert (await client.get("/api/v1/me", headers=user.headers)).json()["authenticated_with"] == "api_key"
    assert (await token(client, user.username)).status_code == 401  # the old password is gone
    fresh = {"Authorization": f"Bearer {(await token(client, user.username, NEW_PASSWORD)).json()['access_token']}"}
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 200
    assert (await _patch(app, client, admin, user.user_id, is_active=False)).status_code == 200
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 401
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 401  # key refused while inactive
    assert (await _patch(app, client, admin, user.user_id, is_active=True)).status_code == 200
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 401  # the token does not come back
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 200  # the key does
    # A change of name or roles leaves tokens alone.
    kept = {"Authorization": f"Bearer {(await token(client, user.username, NEW_PASSWORD)).json()['access_token']}"}
    assert (await _patch(app, client, admin, user.user_id, display_name="新名字")).status_code == 200
    assert (await client.get("/api/v1/me", headers=kept)).status_code == 200


def test_the_migration_keeps_accounts_that_differ_only_in_case(database_url: str) -> None:
    """Existing look-alikes keep their names and exact sign-in; the oldest holds the folded name."""
    config = alembic_config(database_url)
    command.downgrade(config, "0900")
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            org = conn.execute(sa.text("SELECT id FROM organizations LIMIT 1")).scalar_one()
            for i, (user_id, name) in enumerate(
                [("usr_b", "wang"), ("usr_a", "Wang"), ("usr_c", "WANG"), ("usr_d", "li")]
            ):
                at = datetime(2026, 1, 1 + i, tzinfo=UTC)
                conn.execute(
                    sa.text(
                        "INSERT INTO users (id, username, display_name, organization_id, roles, is_active, version, "
                        "created_at, updated_at) VALUES (:id, :name, :name, :org, '[]', true, 1, :at, :at)"
                    ),
                    {"id": user_id, "name": name, "org": org, "at": at},
                )
        command.upgrade(config, "heads")
        with engine.connect() as conn:
            folded = dict(
                conn.execute(
                    sa.text("SELECT username, username_folded FROM users WHERE id LIKE 'usr\\__' ESCAPE '\\'")
                ).all()
            )
        assert folded == {"wang": "wang", "Wang": "wang#usr_a", "WANG": "wang#usr_c", "li": "li"}
        with engine.connect() as conn, conn.begin():
            try:
                conn.execute(sa.text("UPDATE users SET username_folded = 'wang' WHERE id = 'usr_d'"))
            except sa.exc.IntegrityError:
                pass
            else:
                raise AssertionError("the folded name is not unique")
    finally:
        engine.dispose()
