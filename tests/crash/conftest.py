"""The crash tests share the race tests' fixtures: servers per test, the test clock at real time."""

from tests.races.conftest import real_time, servers  # noqa: F401
