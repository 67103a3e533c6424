"""The command line starts without the web application: `smps --version` and `smps receipt verify` (what
third parties run offline) import neither the framework nor the database layer. Their wall time against
`python -c pass` is measured in bench/cli_startup.py."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT_DIR

pytestmark = pytest.mark.backend_independent

HEAVY = ("fastapi", "starlette", "sqlalchemy", "sqlmodel", "pydantic", "uvicorn", "reportlab", "openpyxl", "boto3")
PROBE = """
import json, sys
from app.cli import main
try:
    main(sys.argv[1:], prog_name="smps")
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _run(*args: str) -> dict[str, object]:
    run = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT_DIR, capture_output=True, text=True)
    result: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def test_version_loads_only_the_command_line() -> None:
    result = _run("--version")
    assert result["code"] == 0
    assert not set(HEAVY) & set(result["modules"])  # type: ignore[arg-type]


def test_receipt_verify_loads_no_web_application(tmp_path: Path) -> None:
    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps({"tracking_number": "SMPS-X", "signatures": []}))
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": []}))
    result = _run("receipt", "verify", str(receipt), "--keys", str(keys))
    assert result["code"] == 1  # unsigned: not genuine, but checked
    assert not set(HEAVY) & set(result["modules"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9/api/v1", "give the service root instead: http://127.0.0.1:9"),
        ("127.0.0.1:9", "has no scheme"),
        ("ftp://example.cn", "needs http:// or https://"),
    ],
)
def test_receipt_verify_checks_the_url_before_any_request(tmp_path: Path, url: str, says: str) -> None:
    receipt = tmp_path / "receipt.json"
    receipt.write_text("{}")
    run = subprocess.run(
        [str(ROOT_DIR / ".venv" / "bin" / "smps"), "receipt", "verify", str(receipt), "--url", url],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and says in run.stderr, run.stderr
