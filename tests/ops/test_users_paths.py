"""What a user meets before any test fixture does: the production install the Dockerfile makes, and the
README's first command (`make run`) on a fresh clone, followed by the walkthrough twice.

Both build real environments from uv.lock (packages come from uv's cache or the registry), so they run
once, in the SQLite pass.
"""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT_DIR
from tests.races.live import free_port

pytestmark = pytest.mark.backend_independent

UV = ROOT_DIR / ".venv-tools" / "bin" / "uv"
START_TIMEOUT = 300.0


def _build_stage(dockerfile: str) -> tuple[list[str], list[str], dict[str, str]]:
    """The build stage's COPY sources, `uv sync` commands and UV_ settings, read from the Dockerfile itself
    so the test installs exactly what the image installs."""
    stage = dockerfile.split("\nFROM ", 2)[1]
    copies: list[str] = []
    syncs: list[str] = []
    env: dict[str, str] = {}
    for line in stage.replace("\\\n", " ").splitlines():
        words = shlex.split(line) if line.strip() and not line.startswith("#") else []
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            copies += words[1:-1]
        elif words[:2] == ["RUN", "uv"]:
            syncs.append(" ".join(words[1:]))
        elif words[:1] == ["ENV"]:
            for word in words[1:]:
                name, _, value = word.partition("=")
                if name.startswith("UV_"):
                    env[name] = value
    return copies, syncs, env


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the service exited ({process.returncode}):\n{log.read_text()[-4000:]}"
        try:
            answer = httpx.get(url, timeout=5)
            if answer.status_code == 200:
                return answer
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer 200 within {START_TIMEOUT} s:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_production_install_starts_and_serves_from_an_empty_directory(tmp_path: Path) -> None:
    assert UV.exists(), "scripts/setup.sh installs uv into .venv-tools"
    dockerfile = (ROOT_DIR / "Dockerfile").read_text()
    pinned = next(
        line for line in (ROOT_DIR / "scripts" / "setup.sh").read_text().splitlines() if "UV_VERSION=" in line
    )
    assert f"uv=={pinned.split('=', 1)[1]}" in dockerfile, "the image and scripts/setup.sh use the same uv"
    copies, syncs, uv_env = _build_stage(dockerfile)
    assert copies and syncs and all("--locked" in s and "--no-dev" in s for s in syncs)
    src = tmp_path / "src"
    src.mkdir()
    for name in copies:
        origin = ROOT_DIR / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, src / name)
    venv = tmp_path / "venv"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV", "SMPS_"))},
        **uv_env,
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
    }
    for sync in syncs:
        run = subprocess.run([str(UV), *shlex.split(sync)[1:]], cwd=src, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr

    # An empty directory, the image's settings (production mode) with paths of this test.
    home = tmp_path / "empty"
    home.mkdir()
    data = tmp_path / "data"
    service_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SMPS_", "VIRTUAL_ENV", "PYTHON"))},
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "SMPS_ENVIRONMENT": "production",
        "SMPS_DATABASE_URL": f"sqlite:///{data / 'smps.db'}",
        "SMPS_STORAGE_DIR": str(data / "files"),
        "SMPS_RECEIPT_KEYS_DIR": str(data / "keys"),
    }

    def smps(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "smps"), *args], cwd=home, env=service_env, capture_output=True, text=True
        )

    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import app; print(app.__file__)"],
        cwd=home,
        env=service_env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(venv)), "the installed package, not the checkout, is what runs"
    version = smps("--version")
    assert version.returncode == 0 and "1." in version.stdout, version.stderr
    data.mkdir()
    keys = smps("keys", "generate")
    assert keys.returncode == 0, keys.stderr
    migrated = smps("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.returncode == smps("migrate").returncode == 0  # idempotent

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(venv / "bin" / "smps"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=home,
            env=service_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ready = _wait(f"http://127.0.0.1:{port}/readyz", process, log)
        assert ready.json()["status"] == "ready"
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/calls", timeout=10).status_code == 200
    finally:
        _stop(process)
    assert list(home.iterdir()) == [], "nothing is written into the working directory"


def test_make_run_on_a_fresh_clone_serves_the_walkthrough_twice(tmp_path: Path) -> None:
    assert shutil.which("git") and shutil.which("make") and shutil.which("jq") and shutil.which("curl")
    clone = tmp_path / "smps"
    cloned = subprocess.run(["git", "clone", "--quiet", str(ROOT_DIR), str(clone)], capture_output=True, text=True)
    assert cloned.returncode == 0, cloned.stderr
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SMPS_", "VIRTUAL_ENV", "UV_"))},
        "SMPS_PORT": str(port),
    }
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "run"], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        health = _wait(f"http://127.0.0.1:{port}/healthz", process, log)
        assert health.json()["status"] == "ok"
        walks = [
            subprocess.run(["scripts/walkthrough.sh"], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
            for _ in range(2)
        ]
    finally:
        _stop(process)
    for walk in walks:
        assert walk.returncode == 0, walk.stdout + walk.stderr + log.read_text()[-4000:]
    first, second = (httpx.Response(200, content=w.stdout.strip().splitlines()[-1]).json() for w in walks)
    assert first["state"] == second["state"] == "approved"
    assert first["tracking_number"] != second["tracking_number"]
    assert "new practice round" in walks[1].stderr
    # `make run` installed only what the project declares (no test extras), and said where it serves.
    assert not (clone / ".venv" / "bin" / "pytest").exists()
    assert f"http://127.0.0.1:{port}/docs" in log.read_text()
