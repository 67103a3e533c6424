"""Alembic environment: the URL comes from SMPS settings (or the caller's config attribute)."""

from alembic import context
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.core.db import make_database
from app.core.settings import Settings

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("database_url") or Settings().database_url
    database = make_database(Settings(database_url=url))
    try:
        with database.write_engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            driver = conn.connection.driver_connection
            assert driver is not None
            if sqlite:
                # Batch operations copy a table, drop it and rename the copy: with rows in the tables that
                # refer to it, SQLite refuses the drop while foreign keys are enforced (the PRAGMA has no
                # effect inside a transaction, hence on the driver, before SQLAlchemy begins one).
                driver.execute("PRAGMA foreign_keys=OFF")
            try:
                _run(conn)
                conn.commit()
                if sqlite and (broken := driver.execute("PRAGMA foreign_key_check").fetchall()):
                    raise RuntimeError(f"the migrations left rows pointing at no row: {broken[:5]}")
            finally:
                if sqlite:
                    driver.execute("PRAGMA foreign_keys=ON")
    finally:
        database.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
