"""Fixtures of the race tests: servers started per test (stopped at teardown), the test clock at real time."""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from app.core.clock import BEIJING
from app.core.settings import Settings
from tests.conftest import FakeClock
from tests.races.live import Servers


@pytest.fixture(autouse=True)
def real_time(clock: FakeClock) -> None:
    """The in-process app sets up at the real time: the servers read the system clock."""
    clock.set(datetime.now(BEIJING))


@pytest.fixture
def servers(settings: Settings, tmp_path: Path) -> Iterator[Servers]:
    started = Servers(settings, tmp_path)
    yield started
    started.stop_all()
