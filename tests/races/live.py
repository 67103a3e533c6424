"""The real service (uvicorn in a subprocess) against the test's migrated database, and what the race
and crash tests share: a call open now, racing many requests at once, one-winner checks."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.core.settings import Settings
from bench.batch_submit import open_call
from tests.applications.cast import Cast, make_cast
from tests.conftest import BACKEND, ROOT_DIR

# PostgreSQL serves with several worker processes, as in production; SQLite with one (its writers queue
# on BEGIN IMMEDIATE anyway). SMPS_TEST_SQLITE_WORKERS runs more SQLite workers side by side.
WORKERS = 4 if BACKEND == "postgresql" else int(os.environ.get("SMPS_TEST_SQLITE_WORKERS", "1"))
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """One uvicorn server (its own process group, so a kill reaches every worker)."""

    settings: Settings
    log_path: Path
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    # "uvicorn": the ASGI app under uvicorn; "smps": the `smps serve` command, with the settings it applies.
    command: str = "uvicorn"
    process: subprocess.Popen[bytes] | None = None
    url: str = ""
    log_offset: int = 0

    def start(self) -> "LiveServer":
        return self.launch().wait_ready()

    def launch(self) -> "LiveServer":
        """Start the process; ``wait_ready`` before sending requests (set up meanwhile: it takes seconds)."""
        port = free_port()
        env = {
            **os.environ,
            "SMPS_DATABASE_URL": self.settings.database_url,
            "SMPS_STORAGE_DIR": str(self.settings.storage_dir),
            "SMPS_LOG_LEVEL": "WARNING",
            **self.env,
        }
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self._argv(port),
                cwd=ROOT_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{port}"
        return self

    def _argv(self, port: int) -> list[str]:
        if self.command == "smps":
            return [
                sys.executable,
                "-m",
                "app.cli",
                "serve",
                "--no-migrate",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(self.workers),
            ]
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "app.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(self.workers),
            "--log-level",
            "info",
            "--no-access-log",
        ]

    def wait_ready(self) -> "LiveServer":
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log_tail()}")
            if self._workers_started() >= self.workers:
                try:
                    if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"the server did not start within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def _signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL the server and all its workers, as a power cut would."""
        if self.process is None:
            return
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(timeout=10)
        else:
            self._signal(signal.SIGKILL)  # workers a dead supervisor may have left

    def _workers_started(self) -> int:
        """Workers that finished starting (uvicorn logs it once per worker): all of them take requests."""
        with self.log_path.open("rb") as log:
            log.seek(self.log_offset)
            return log.read().count(b"Application startup complete")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""


class Servers:
    """Starts servers for one test and stops every one of them at teardown."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.settings, self.tmp_path = settings, tmp_path
        self.started: list[LiveServer] = []

    def launch(self, workers: int = WORKERS, command: str = "uvicorn", **env: str) -> LiveServer:
        """A server starting (call its ``wait_ready``)."""
        server = LiveServer(self.settings, self.tmp_path / f"server-{len(self.started)}.log", workers, env, command)
        self.started.append(server)
        return server.launch()

    def start(self, workers: int = WORKERS, command: str = "uvicorn", **env: str) -> LiveServer:
        return self.launch(workers, command, **env).wait_ready()

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


def open_call_now(app: FastAPI) -> str:
    """A call whose deadline is 60 days from now (the real server reads the system clock)."""
    with app.state.database.transaction() as session:
        call = open_call(session, datetime.now(UTC), f"race-{time.monotonic_ns() % 10**9}")
        return call.id


async def live_cast(app: FastAPI, client: httpx.AsyncClient) -> Cast:
    """The cast of the application tests, applying to a call open now."""
    return replace(await make_cast(app, client), call_id=open_call_now(app))


async def race(
    url: str, n: int, send: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]], timeout: float = 120
) -> list[httpx.Response]:
    """Send ``n`` requests at once over ``n`` connections opened beforehand; every response."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        warm = await asyncio.gather(*(http.get("/healthz") for _ in range(n)))
        assert all(r.status_code == 200 for r in warm)
        return list(await asyncio.wait_for(asyncio.gather(*(send(http, i) for i in range(n))), timeout))


def one_winner(responses: list[httpx.Response], ok: int) -> httpx.Response:
    """Exactly one response is ``ok``; every other is 409 or 412. Returns the winner."""
    codes = Counter(r.status_code for r in responses)
    unexpected = [r for r in responses if r.status_code not in (ok, 409, 412)]
    assert not unexpected, f"{codes}: {unexpected[0].status_code} {unexpected[0].text[:500]}"
    assert codes[ok] == 1, f"expected exactly one {ok}: {dict(codes)}"
    for r in responses:
        if r.status_code != ok:
            assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return next(r for r in responses if r.status_code == ok)
