"""A newcomer's first commands: a database that is missing or not migrated is named in one line, and
nothing is created by a command that only reads it."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import BACKEND, ROOT_DIR, _pg_admin_url, _with_db

TIMEOUT = 120


def smps(*args: str, cwd: Path, database_url: str | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMPS_")}
    env["PYTHONPATH"] = str(ROOT_DIR)
    if database_url:
        env["SMPS_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def files_under(path: Path) -> list[Path]:
    return sorted(path.rglob("*"))


@pytest.mark.parametrize(
    "args",
    [
        ("create-api-key", "--username", "x"),
        ("storage", "sweep", "--dry-run"),
        ("worker", "--once"),
    ],
)
def test_a_command_outside_the_checkout_says_the_database_is_not_migrated_and_creates_nothing(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    result = smps(*args, cwd=empty)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"database at {empty.resolve() / 'var' / 'smps.db'} is not migrated: run `smps migrate`"
    ]
    assert result.stdout == ""
    assert files_under(empty) == []


def test_create_user_stops_before_reading_the_password(tmp_path: Path) -> None:
    result = smps(
        "create-user",
        "--username",
        "x",
        "--organization",
        "office",
        "--role",
        "office",
        "--password-stdin",
        cwd=tmp_path,
        stdin="short\n",
    )
    assert result.returncode == 2
    assert result.stderr.strip().endswith("is not migrated: run `smps migrate`")
    assert files_under(tmp_path) == []


@pytest.fixture
def empty_database_url(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A database that exists but was never migrated: an empty SQLite file, or an empty PostgreSQL database."""
    if BACKEND == "sqlite":
        path = tmp_path / "empty.db"
        path.touch()
        yield f"sqlite:///{path}"
        assert path.stat().st_size == 0
        return
    admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"smps_empty_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = _with_db(_pg_admin_url(), name)
    yield url
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []
    engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def test_an_empty_database_is_not_migrated_and_stays_empty(tmp_path: Path, empty_database_url: str) -> None:
    result = smps("create-api-key", "--username", "x", cwd=tmp_path, database_url=empty_database_url)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.strip().endswith("is not migrated: run `smps migrate`")


def test_a_migrated_database_passes_the_check(tmp_path: Path, database_url: str) -> None:
    result = smps("create-api-key", "--username", "nobody", cwd=tmp_path, database_url=database_url)
    assert result.returncode == 1
    assert "no user 'nobody'" in result.stderr


@pytest.mark.parametrize(
    ("version", "says"),
    [
        ("first", "is not migrated (at {version}): run `smps migrate`"),
        ("zzz_future", "is at zzz_future, which this smps does not know: it was migrated by a newer version"),
    ],
)
def test_a_database_behind_or_ahead_of_the_code_is_named(database_url: str, version: str, says: str) -> None:
    from alembic.script import ScriptDirectory

    from app.core.migrate import DatabaseNotMigrated, alembic_config, require_migrated
    from app.core.settings import Settings

    if version == "first":
        version = next(iter(ScriptDirectory.from_config(alembic_config(database_url)).get_bases()))
    engine = sa.create_engine(
        database_url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.pool.NullPool
    )
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM alembic_version"))
        conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
    engine.dispose()
    with pytest.raises(DatabaseNotMigrated) as caught:
        require_migrated(Settings(database_url=database_url))
    assert caught.value.exit_code == 2
    assert caught.value.format_message().endswith(says.format(version=version))
