"""`smps demo` is idempotent: run again, it reuses its call, organizations, users and API keys."""

from pathlib import Path

import httpx
import orjson
import sqlalchemy as sa
from click.testing import CliRunner

from app.accounts.models import ApiKey, User
from app.cli import main
from app.core.settings import Settings
from app.demo import create_demo, previous_keys
from app.organizations.models import Organization
from app.reference.models import Call


def _counts(settings: Settings) -> dict[str, int]:
    engine = sa.create_engine(
        settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.pool.NullPool
    )
    with engine.connect() as conn:
        counts = {
            model.__tablename__: conn.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
            for model in (Call, Organization, User, ApiKey)
        }
        counts["live_demo_keys"] = conn.execute(
            sa.select(sa.func.count()).select_from(ApiKey).where(ApiKey.name == "demo", ApiKey.revoked_at.is_(None))
        ).scalar_one()  # type: ignore[union-attr]
    engine.dispose()
    return counts


def _keys(output: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {u["username"]: u["api_key"] for u in output["users"]}


def test_run_twice_the_demo_reuses_its_rows_and_keys(settings: Settings) -> None:
    first = create_demo(settings)
    after_first = _counts(settings)
    second = create_demo(settings, previous_keys(first))
    assert second == first
    assert _counts(settings) == after_first
    assert after_first["live_demo_keys"] == len(first["users"]) == 7


async def test_without_its_keys_the_demo_mints_new_ones_and_revokes_the_stale(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    first = create_demo(settings)
    kept = previous_keys(first)
    lost = dict(kept)
    lost["demo_reviewer"] = "smps_not-a-key-this-database-made"
    del lost["demo_office"]
    second = create_demo(settings, lost)
    renewed = _keys(second)
    assert {u for u in kept if renewed[u] != kept[u]} == {"demo_reviewer", "demo_office"}
    assert _counts(settings)["live_demo_keys"] == 7
    stale = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {kept['demo_reviewer']}"})
    assert stale.status_code == 401
    for username in ("demo_reviewer", "demo_applicant"):
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {renewed[username]}"})
        assert me.status_code == 200, me.text
        assert me.json()["username"] == username


def test_smps_demo_keeps_its_keys_in_the_output_file(settings: Settings, tmp_path: Path) -> None:
    output = tmp_path / "var" / "demo.json"
    env = {"SMPS_DATABASE_URL": settings.database_url, "SMPS_STORAGE_DIR": str(settings.storage_dir)}
    runs = [CliRunner().invoke(main, ["demo", "--output", str(output)], env=env) for _ in range(2)]
    assert [r.exit_code for r in runs] == [0, 0], runs[0].output
    assert orjson.loads(runs[0].stdout) == orjson.loads(runs[1].stdout) == orjson.loads(output.read_bytes())
    assert output.stat().st_mode & 0o077 == 0
    assert _counts(settings)["api_keys"] == 7


def test_the_document_examples_name_the_demo_s_objects(settings: Settings) -> None:
    from app import examples as ex

    create_demo(settings)
    engine = sa.create_engine(
        settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.pool.NullPool
    )
    with engine.connect() as conn:
        ids = {row[0] for model in (Call, Organization, User) for row in conn.execute(sa.select(model.id))}
    engine.dispose()
    assert ids >= ex.DEMO_IDS, ex.DEMO_IDS - ids
