"""Fixtures of the hostile-input tests: a real `smps serve` process on the test's migrated database.

Each test module replays what a careless or hostile caller sends, bounded in time, against the
process a deployment runs (its server settings included), not only the in-process app.
"""

import pytest

from tests.races.conftest import real_time, servers  # noqa: F401  (the live servers of the race tests)
from tests.races.live import LiveServer, Servers


@pytest.fixture
def smps_server(servers: Servers) -> LiveServer:  # noqa: F811
    """`smps serve` with one worker (no in-process worker thread: the tests drive what they need)."""
    return servers.start(workers=1, command="smps")
