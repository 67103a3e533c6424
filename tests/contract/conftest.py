"""Fixtures of the contract tests: settings that accept the test webhook host, no DNS lookups, the generated
Python client."""

import ipaddress
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi import FastAPI

import app.events.addresses
from app.core.settings import Settings
from app.events.addresses import IPAddress
from tests.contract import python_client
from tests.contract.world import WEBHOOK_HOST


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated Python client, once per run."""
    yield from python_client.generate(tmp_path_factory.mktemp("client"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        storage_dir=tmp_path / "files",
        log_level="CRITICAL",
        webhook_allowed_hosts=WEBHOOK_HOST,
    )


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook addresses resolve to a documentation address here: no lookup leaves the machine."""

    def resolve(host: str, port: int) -> list[IPAddress]:
        if not host or len(host) > 253:
            raise OSError("unresolvable")
        return [ipaddress.ip_address("192.0.2.10")]

    monkeypatch.setattr(app.events.addresses, "resolve", resolve)


@pytest.fixture(autouse=True)
def settle_background_work(app: FastAPI) -> Iterator[None]:
    """Bulk uploads are processed by threads of their own: let them finish before the database goes."""
    yield
    for thread in threading.enumerate():
        if thread.name.startswith("bulk-"):
            thread.join(timeout=120)
