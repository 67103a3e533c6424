"""Fixtures of the operations tests: the race tests' live servers, the real time for tests that use them;
PostgreSQL-only modules.

A module listed in POSTGRESQL_ONLY is not collected on SQLite, rather than reported as skipped; with
SMPS_TEST_DATABASE=postgresql it runs, and fails if the server is not there."""

from datetime import datetime
from pathlib import Path

import pytest

from app.core.clock import BEIJING
from tests.conftest import BACKEND, FakeClock
from tests.races.conftest import servers  # noqa: F401  (shared fixture)

POSTGRESQL_ONLY = ("test_two_instances.py",)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if BACKEND != "postgresql" and collection_path.name in POSTGRESQL_ONLY:
        return True
    return None


@pytest.fixture
def real_time(clock: FakeClock) -> None:
    """For the tests with live servers: the in-process app sets up at the real time, as the servers read it."""
    clock.set(datetime.now(BEIJING))
