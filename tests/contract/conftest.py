"""Fixtures of the contract tests: settings that accept the test webhook host, and no DNS lookups."""

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI

import app.events.webhooks
from app.core.settings import Settings
from tests.contract.world import WEBHOOK_HOST


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, storage_dir=tmp_path / "files", log_level="CRITICAL",
                    webhook_allowed_hosts=WEBHOOK_HOST)


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook addresses resolve to a documentation address here: no lookup leaves the machine."""

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if not host or len(host) > 253:
            raise OSError("unresolvable")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.10", port or 443))]

    monkeypatch.setattr(app.events.webhooks, "socket", SimpleNamespace(getaddrinfo=getaddrinfo, SOCK_STREAM=socket.SOCK_STREAM))


@pytest.fixture(autouse=True)
def settle_background_work(app: FastAPI) -> Iterator[None]:
    """Bulk uploads are processed by threads of their own: let them finish before the database goes."""
    yield
    for thread in threading.enumerate():
        if thread.name.startswith("bulk-"):
            thread.join(timeout=120)
