"""Test fixtures: a migrated database per test (SQLite or PostgreSQL), the app, clients, factories."""

import os
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.core.clock import BEIJING
from app.core.settings import Settings
from app.main import create_app, migrate

ROOT_DIR = Path(__file__).resolve().parents[1]
BACKEND = os.environ.get("SMPS_TEST_DATABASE", "sqlite")
PG_URL = os.environ.get("SMPS_TEST_POSTGRES_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Checks of PostgreSQL's own read paths (marked ``postgresql_only``) run in the PostgreSQL pass;
    in the SQLite pass they are deselected, and counted as such."""
    if BACKEND == "postgresql":
        return
    deselected = [item for item in items if item.get_closest_marker("postgresql_only")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql_only")]


class FakeClock:
    """A settable clock. Starts before the 9th-batch deadline (2022-11-15, Beijing time)."""

    def __init__(self) -> None:
        self.now = datetime(2022, 11, 1, 10, 0, tzinfo=BEIJING)

    def __call__(self) -> datetime:
        # Time moves on a little with every reading, as it does, so histories keep their order.
        self.now = self.now + timedelta(microseconds=1)
        return self.now

    def set(self, value: datetime) -> None:
        self.now = value

    def advance(self, **delta: float) -> None:
        self.now = self.now + timedelta(**delta)


def _pg_admin_url() -> str:
    if not PG_URL:
        raise pytest.UsageError(
            "SMPS_TEST_DATABASE=postgresql but SMPS_TEST_POSTGRES_URL is not set: run scripts/test.sh, which starts a cluster"
        )
    return PG_URL


def _with_db(url: str, name: str) -> str:
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once (the migrations are the schema), copied for every test."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.db"
        migrate(Settings(database_url=f"sqlite:///{path}"))
        yield str(path)
        return
    admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"smps_template_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    migrate(Settings(database_url=_with_db(_pg_admin_url(), name)))
    yield name
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    if BACKEND == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(template_database, path)
        yield f"sqlite:///{path}"
        return
    admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"smps_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield _with_db(_pg_admin_url(), name)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, storage_dir=tmp_path / "files", log_level="WARNING")


@pytest.fixture
def app(settings: Settings, clock: FakeClock):  # type: ignore[no-untyped-def]
    application = create_app(settings, clock=clock)
    yield application
    # A bulk upload's runner may still be writing: let it finish before its database goes.
    for thread in threading.enumerate():
        if thread.name.startswith("bulk-"):
            thread.join(timeout=30)
    application.state.database.dispose()


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass
class Actor:
    """A user the tests act as, with the headers to send."""

    user_id: str
    username: str
    organization_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}
