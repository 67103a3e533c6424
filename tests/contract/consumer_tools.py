"""The npm tools a consumer of the document uses (contract/package.json, installed with `npm ci`)."""

import shutil
import subprocess

from tests.conftest import ROOT_DIR

CONTRACT_DIR = ROOT_DIR / "contract"
DOCUMENT = ROOT_DIR / "openapi" / "openapi.json"


def npx(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool from contract/node_modules (never fetched on the fly: ``--no-install``)."""
    assert shutil.which("npx"), "Node.js and npm are needed (Debian: nodejs npm)"
    assert (CONTRACT_DIR / "node_modules" / ".bin").is_dir(), "run `npm ci` in contract/ first (.ci/run does)"
    return subprocess.run(
        ["npx", "--no-install", *args], cwd=CONTRACT_DIR, capture_output=True, text=True, timeout=timeout, env=env
    )
