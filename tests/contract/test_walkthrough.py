"""scripts/walkthrough.sh (the flow the README shows, curl + jq) runs as written against a live server
loaded with the demo data, so it cannot drift from the service."""

import json
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


def test_the_walkthrough_runs_as_written(settings: Settings, tmp_path: Path) -> None:
    assert shutil.which("curl") and shutil.which("jq"), "curl and jq are needed (.ci/run installs them)"
    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps(create_demo(settings)))
    revoked = tmp_path / "revoked.json"
    revoked.write_text(
        json.dumps({**json.loads(demo.read_text()), "users": [{"username": "demo_reviewer", "api_key": "smps_x"}]})
    )
    server = LiveServer(settings, tmp_path / "server.log").start()
    try:
        run = subprocess.run(
            [str(ROOT_DIR / "scripts" / "walkthrough.sh"), server.url, str(demo)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        refused = subprocess.run(
            [str(ROOT_DIR / "scripts" / "walkthrough.sh"), server.url, str(revoked)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.stop()
    # A refused request stops the walk with what was asked and the problem the service answered.
    assert refused.returncode != 0
    assert "answered 401" in refused.stderr and '"code": "not_authenticated"' in refused.stderr, refused.stderr
    assert run.returncode == 0, run.stdout + run.stderr + server.log_tail()
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["state"] == "approved" and result["tracking_number"]
    # Each step printed what it changed, the four sign-offs among them (one on paper).
    assert run.stderr.count('"decision":"agree"') == 3 and '"mode":"paper"' in run.stderr
    assert '"verification":"confirmed"' in run.stderr and '"state":"acknowledged"' in run.stderr
