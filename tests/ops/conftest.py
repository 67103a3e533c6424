"""Fixtures of the operations tests: the race tests' live servers; PostgreSQL-only modules.

A module that needs PostgreSQL (``pytestmark = pytest.mark.postgresql_only``) is not collected on
SQLite, rather than reported as skipped; with SMPS_TEST_DATABASE=postgresql but no server it fails."""

from tests.conftest import BACKEND
from tests.races.conftest import real_time, servers  # noqa: F401  (shared fixtures)

POSTGRESQL_ONLY = ("test_two_instances.py",)


def pytest_ignore_collect(collection_path, config):  # type: ignore[no-untyped-def]
    if BACKEND != "postgresql" and collection_path.name in POSTGRESQL_ONLY:
        return True
    return None
