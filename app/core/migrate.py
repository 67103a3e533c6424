"""Bring a database to the current schema (Alembic) and seed it (the seeding comes from the domain:
app.main passes the reference data's); idempotent."""

import sqlite3
from collections.abc import Callable
from pathlib import Path

import click
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from app.core.db import make_database
from app.core.settings import Settings

# The migrations ship inside the package (package data), so an installed copy migrates from any directory.
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def _migrations_dir() -> Path:
    if not (MIGRATIONS / "env.py").exists():
        raise RuntimeError(f"the migrations are missing from the installed package ({MIGRATIONS})")
    return MIGRATIONS


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    config.attributes["database_url"] = database_url
    return config


def migrate(settings: Settings, seed: Callable[[Session], None] | None = None) -> None:
    """Upgrade to the current schema, then run ``seed`` (idempotent itself) in one committed transaction."""
    command.upgrade(alembic_config(settings.database_url), "heads")
    if seed is None:
        return
    database = make_database(settings)
    try:
        with database.transaction() as session:
            seed(session)
    finally:
        database.dispose()


class DatabaseNotMigrated(click.ClickException):
    """A command that reads the database found none at the current schema (exit 2, one line)."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(self.format_message(), err=True)


def _sqlite_revisions(path: str) -> set[str] | None:
    """The Alembic revisions of a SQLite file, or None when it has none; opened read-only so nothing is created."""
    if not Path(path).is_file():
        return None
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone():
            return None
        return {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
    finally:
        conn.close()


def _server_revisions(url: str) -> set[str] | None:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
            return set(heads) or None
    finally:
        engine.dispose()


def require_migrated(settings: Settings) -> None:
    """Raise ``DatabaseNotMigrated`` unless the database is at the current schema. Reads only: a missing
    SQLite file stays missing, an empty PostgreSQL database stays empty."""
    url = settings.database_url
    where = sa.engine.make_url(url).render_as_string(hide_password=True)
    try:
        if url.startswith("sqlite"):
            path = sa.engine.make_url(url).database
            if not path or path == ":memory:":
                return
            where = str(Path(path).resolve())
            current = _sqlite_revisions(path)
        else:
            current = _server_revisions(url)
    except (sqlite3.Error, sa.exc.SQLAlchemyError) as exc:
        first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseNotMigrated(f"database at {where} cannot be read: {first_line}") from None
    if current is None:
        raise DatabaseNotMigrated(f"database at {where} is not migrated: run `smps migrate`")
    script = ScriptDirectory.from_config(alembic_config(url))
    known = {rev.revision for rev in script.walk_revisions()}
    if current - known:
        raise DatabaseNotMigrated(
            f"database at {where} is at {', '.join(sorted(current - known))}, which this smps does not know: "
            "it was migrated by a newer version"
        )
    if current != set(script.get_heads()):
        raise DatabaseNotMigrated(
            f"database at {where} is not migrated (at {', '.join(sorted(current))}): run `smps migrate`"
        )
