"""The published TypeScript client (clients/typescript, `@smps/client`): its committed types are what
openapi-typescript generates from the committed document, it compiles `tsc --strict`, packs with
`npm pack`, and its unit tests (Node's test runner) pass against a live server loaded with the demo data."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.core.settings import Settings
from app.demo import create_demo
from tests.conftest import ROOT_DIR
from tests.races.live import LiveServer

# The consumers' tools judge the document, not the database: this runs once, in the SQLite pass.
pytestmark = pytest.mark.backend_independent

PACKAGE_DIR = ROOT_DIR / "clients" / "typescript"
DOCUMENT = ROOT_DIR / "openapi" / "openapi.json"


def npm(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert shutil.which("npm"), "Node.js and npm are needed (Debian: nodejs npm)"
    assert (PACKAGE_DIR / "node_modules" / ".bin").is_dir(), "run `npm ci` in clients/typescript first (.ci/run does)"
    return subprocess.run(["npm", *args], cwd=PACKAGE_DIR, capture_output=True, text=True, timeout=timeout, env=env)


def test_the_committed_types_are_generated_from_the_committed_document(tmp_path: Path) -> None:
    out = tmp_path / "schema.d.ts"
    run = npm("exec", "--no", "--", "openapi-typescript", str(DOCUMENT), "-o", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    committed = (PACKAGE_DIR / "src" / "schema.d.ts").read_text()
    assert out.read_text() == committed, "run `npm run types` in clients/typescript and commit src/schema.d.ts"


def test_the_package_packs(tmp_path: Path) -> None:
    run = npm("pack", "--json", "--pack-destination", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    packed = json.loads(run.stdout[run.stdout.index("[") :])[0]
    files = {f["path"] for f in packed["files"]}
    assert packed["name"] == "@smps/client"
    assert {"dist/src/index.js", "dist/src/index.d.ts", "dist/src/schema.d.ts", "README.md"} <= files
    assert not any(f.startswith("dist/test") for f in files)


def test_the_unit_tests_pass_against_a_live_server(settings: Settings, tmp_path: Path) -> None:
    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps(create_demo(settings)))
    server = LiveServer(settings, tmp_path / "server.log").start()
    try:
        env = {**os.environ, "SMPS_URL": server.url, "SMPS_DEMO": str(demo)}
        run = npm("test", env=env, timeout=300)
    finally:
        server.stop()
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr + server.log_tail()
    assert "# fail 0" in run.stdout and "# skipped 0" in run.stdout, run.stdout[-3000:]
