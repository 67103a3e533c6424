"""Against the real server (uvicorn in a subprocess): a 200 MB upload in bounded memory, and SIGKILL
in the middle of uploads leaving either no row or a row whose file exists, with the leftovers swept."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.attachments.blobstore import FileSystemBlobStore
from app.attachments.models import Attachment
from app.attachments.sweep import sweep_storage
from app.core.settings import Settings
from tests.attachments import files
from tests.attachments.conftest import World
from tests.conftest import ROOT_DIR

MiB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    settings: Settings
    process: subprocess.Popen[bytes] | None = None
    url: str = ""

    def start(self) -> None:
        port = _free_port()
        env = {
            **os.environ,
            "SMPS_DATABASE_URL": self.settings.database_url,
            "SMPS_STORAGE_DIR": str(self.settings.storage_dir),
            "SMPS_MAX_ATTACHMENT_BYTES": str(256 * MiB),
            "SMPS_MAX_APPLICATION_ATTACHMENTS_BYTES": str(1024 * MiB),
            "SMPS_LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT_DIR,
            env=env,
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # the app's imports take a while on a busy machine
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()  # not left running when the fixture gives up
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def memory_kib(self, field: str) -> int:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def reset_peak(self) -> bool:
        assert self.process is not None
        try:
            Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
            return True
        except OSError:
            return False


@pytest.fixture
def server(settings: Settings, app: FastAPI) -> Iterator[LiveServer]:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the server's memory")
    live = LiveServer(settings)
    live.start()
    yield live
    live.stop()


def _headers(world: World, boundary: str, length: int | None = None) -> dict[str, str]:
    # Any version (`*`): what is measured here is the streaming, not the concurrency check.
    headers = {**world.applicant.headers, "If-Match": "*", "Content-Type": f"multipart/form-data; boundary={boundary}"}
    if length is not None:
        headers["Content-Length"] = str(length)
    return headers


def _body_length(boundary: str, kind: str, filename: str, size: int) -> int:
    return sum(len(c) for c in files.multipart(boundary, [("kind", kind)], filename, b"")) + size


def test_200_mb_upload_streams_in_bounded_memory(server: LiveServer, world: World, app: FastAPI) -> None:
    url = f"{server.url}/api/v1/applications/{world.application_id}/attachments"
    with httpx.Client(timeout=120) as client:
        # Warm up (imports, pools) with a small upload, then measure the big one alone.
        warm = client.post(
            url,
            headers={**world.applicant.headers, "If-Match": "*"},
            data={"kind": "other"},
            files={"file": ("warm.pdf", files.pdf(), "application/pdf")},
        )
        assert warm.status_code == 201, warm.text
        big = files.BigPdf(200 * MiB)
        before = server.memory_kib("VmRSS")
        exact_peak = server.reset_peak()
        peak_before = server.memory_kib("VmHWM")
        boundary = "smps-test-boundary"
        body = files.Counting(files.multipart(boundary, [("kind", "evidence")], "大扫描件.pdf", big.chunks()))
        response = client.post(
            url,
            content=iter(body),
            headers=_headers(world, boundary, _body_length(boundary, "evidence", "大扫描件.pdf", big.size)),
        )
    assert response.status_code == 201, response.text
    assert response.json()["size"] == big.size and response.json()["sha256"] == big.sha256
    growth_mib = (server.memory_kib("VmHWM") - (before if exact_peak else peak_before)) / 1024
    print(f"peak RSS growth {growth_mib:.1f} MiB (exact peak reset: {exact_peak})")
    assert growth_mib < 64, f"the server's peak RSS grew by {growth_mib:.1f} MiB"
    with app.state.database.reader() as session:
        key = session.execute(sa.select(Attachment.storage_key).where(Attachment.kind == "evidence")).scalar_one()
    assert FileSystemBlobStore(server.settings.storage_dir).path(key).stat().st_size == big.size


def _upload_until_killed(server: LiveServer, world: World, kill_after: int, size: int) -> None:
    """Stream an upload; SIGKILL the server once ``kill_after`` bytes of the body were sent."""
    big = files.BigPdf(size)
    boundary = "smps-kill-boundary"
    sent = threading.Event()

    def body() -> Iterator[bytes]:
        count = 0
        for chunk in files.multipart(boundary, [("kind", "evidence")], "kill.pdf", big.chunks()):
            yield chunk
            count += len(chunk)
            if count >= kill_after:
                sent.set()
                time.sleep(0.05)
        sent.set()

    errors: list[BaseException] = []

    def run() -> None:
        try:
            httpx.post(
                f"{server.url}/api/v1/applications/{world.application_id}/attachments",
                content=body(),
                headers=_headers(world, boundary, _body_length(boundary, "evidence", "kill.pdf", big.size)),
                timeout=60,
            )
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert sent.wait(60)
    server.kill()
    thread.join(60)


def _check_store(app: FastAPI, settings: Settings) -> None:
    """Every row has its file; after a sweep no temporary file and no file without a row remain."""
    store = FileSystemBlobStore(settings.storage_dir)
    report = sweep_storage(app.state.database, store, grace=timedelta(0))
    assert report.missing_files == []
    with app.state.database.reader() as session:
        keys = set(session.execute(sa.select(Attachment.storage_key)).scalars())
        if session.get_bind().dialect.name == "sqlite":
            assert session.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"
    assert {b.key for b in store.list()} == keys
    assert list(store.temp_dir.iterdir()) == []


def test_sigkill_during_uploads_leaves_no_half_done_attachment(server: LiveServer, world: World, app: FastAPI) -> None:
    size = 48 * MiB
    # Killed while reading the body, then right after the body was sent (checking, storing, committing).
    for kill_after in (16 * MiB, size, size):
        _upload_until_killed(server, world, kill_after, size)
        store = FileSystemBlobStore(server.settings.storage_dir)
        with app.state.database.reader() as session:
            keys = set(session.execute(sa.select(Attachment.storage_key)).scalars())
        assert all(store.exists(k) for k in keys)  # no row without its file, before any sweep
        if kill_after < size:
            assert keys == set() and list(store.temp_dir.glob("*.part"))  # the partial upload is left behind
        _check_store(app, server.settings)
        server.start()
    with app.state.database.reader() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Attachment)).scalar_one() <= 1


def test_a_dropped_connection_leaves_nothing_behind(server: LiveServer, world: World, app: FastAPI) -> None:
    boundary = "smps-drop-boundary"
    big = files.BigPdf(32 * MiB)
    length = _body_length(boundary, "evidence", "drop.pdf", big.size)
    host, port = server.url.removeprefix("http://").split(":")
    head = (
        f"POST /api/v1/applications/{world.application_id}/attachments HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {world.applicant.api_key}\r\nIf-Match: *\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    temp_dir = server.settings.storage_dir / "tmp"
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head)
        sent = 0
        for chunk in files.multipart(boundary, [("kind", "evidence")], "drop.pdf", big.chunks()):
            sock.sendall(chunk)
            sent += len(chunk)
            if sent > 8 * MiB:
                break
        deadline = time.monotonic() + 10
        while not list(temp_dir.glob("*.part")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(temp_dir.glob("*.part"))  # the upload was under way
    deadline = time.monotonic() + 10
    while list(temp_dir.glob("*.part")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(temp_dir.glob("*.part")) == []  # removed by the server itself, no sweep needed
    with app.state.database.reader() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Attachment)).scalar_one() == 0
    assert httpx.get(f"{server.url}/healthz").status_code == 200
