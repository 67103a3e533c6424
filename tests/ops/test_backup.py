"""`smps backup` then a restore into a fresh database: the service reads the same data (same ETags)."""

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi import FastAPI

from app.cli import main
from app.core.settings import Settings
from app.main import create_app
from tests.applications.cast import Flow, make_cast
from tests.conftest import BACKEND, PG_URL, FakeClock, _with_db


@pytest.fixture
def restored_url(tmp_path: Path) -> Iterator[str]:
    """Where the backup is restored: a file beside the test's, or a new empty PostgreSQL database."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    assert PG_URL, "SMPS_TEST_POSTGRES_URL is required with SMPS_TEST_DATABASE=postgresql"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"smps_restore_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield _with_db(PG_URL, name)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def restore(backup: Path, url: str) -> None:
    if BACKEND == "sqlite":
        # The backup is a SQLite database file: restoring is putting it where SMPS_DATABASE_URL points.
        target = sa.engine.make_url(url).database
        assert target
        shutil.copyfile(backup, target)
        return
    pg_restore = shutil.which("pg_restore")
    assert pg_restore, "pg_restore is needed for the PostgreSQL restore test"
    subprocess.run(
        [pg_restore, "--no-owner", "--exit-on-error", f"--dbname={url}", str(backup)], check=True, capture_output=True
    )


async def test_backup_restores_to_the_same_data(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: FakeClock, restored_url: str, tmp_path: Path
) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    submitted = await flow.act("submit")
    assert submitted.status_code == 200, submitted.text
    original = await flow.get(cast.applicant)
    assert original.status_code == 200

    output = tmp_path / "backups" / ("smps.db" if BACKEND == "sqlite" else "smps.dump")
    result = CliRunner().invoke(main, ["backup", str(output)], env={"SMPS_DATABASE_URL": settings.database_url})
    assert result.exit_code == 0, result.output
    assert str(output) in result.output
    assert ("online backup API" if BACKEND == "sqlite" else "pg_dump --format=custom") in result.output
    assert not output.with_name(output.name + ".partial").exists()

    # Changes after the backup are not in it.
    later = Flow(client, cast)
    await later.create()

    restore(output, restored_url)
    restored = create_app(settings.model_copy(update={"database_url": restored_url}), clock=clock)
    try:
        transport = httpx.ASGITransport(app=restored)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as again:
            r = await again.get(f"/api/v1/applications/{flow.id}", headers=cast.applicant.headers)
            assert r.status_code == 200, r.text
            assert r.headers["etag"] == original.headers["etag"]
            assert r.json() == original.json()
            gone = await again.get(f"/api/v1/applications/{later.id}", headers=cast.applicant.headers)
            assert gone.status_code == 404
            # The restored database is writable and still at the current schema.
            r = await again.post("/api/v1/applications", json=cast.form(), headers=cast.applicant.headers)
            assert r.status_code == 201, r.text
    finally:
        restored.state.database.dispose()


def test_backup_refuses_a_database_that_is_not_there(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["backup", str(tmp_path / "out.db")], env={"SMPS_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"}
    )
    assert result.exit_code != 0
    assert not (tmp_path / "out.db").exists()
