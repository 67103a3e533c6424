"""Bring a database to the current schema (Alembic) and seed the reference data; idempotent."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.core.db import commit, make_database
from app.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _migrations_dir() -> Path:
    # A checkout keeps migrations/ beside app/; an installed copy (the container image) beside the working directory.
    for candidate in (ROOT / "migrations", Path.cwd() / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise RuntimeError("migrations/ not found beside the app or in the working directory")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    config.attributes["database_url"] = database_url
    return config


def migrate(settings: Settings) -> None:
    command.upgrade(alembic_config(settings.database_url), "heads")
    from app.reference.seed import seed_reference_data

    database = make_database(settings)
    try:
        with database.writer() as session:
            seed_reference_data(session)
            commit(session)
    finally:
        database.dispose()
