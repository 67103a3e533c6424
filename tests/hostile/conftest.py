"""Fixtures of the hostile-input tests: a real `smps serve` process on the test's migrated database.

Each test module replays what a careless or hostile caller sends, bounded in time, against the
process a deployment runs (its server settings included), not only the in-process app.
"""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from app.core.clock import BEIJING
from app.core.settings import Settings
from tests.conftest import FakeClock
from tests.races.live import LiveServer, Servers


@pytest.fixture(autouse=True)
def real_time(clock: FakeClock) -> None:
    """The in-process app sets up at the real time: the server reads the system clock."""
    clock.set(datetime.now(BEIJING))


@pytest.fixture
def servers(settings: Settings, tmp_path: Path) -> Iterator[Servers]:
    started = Servers(settings, tmp_path)
    yield started
    started.stop_all()


@pytest.fixture
def smps_server(servers: Servers) -> LiveServer:
    """`smps serve` with one worker (no in-process worker thread: the tests drive what they need)."""
    return servers.start(workers=1, command="smps")
