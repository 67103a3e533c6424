"""The portal's committed build (app/portal_assets/static) is what its sources build to, and its first
load stays under the bundle budget (300 KB of gzip-compressed JavaScript)."""

import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT_DIR

pytestmark = pytest.mark.backend_independent

PORTAL_DIR = ROOT_DIR / "portal"
BUILT = ROOT_DIR / "app" / "portal_assets" / "static"
BUDGET = 300 * 1024


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_committed_build_matches_the_sources(tmp_path: Path) -> None:
    assert shutil.which("npx"), "Node.js and npm are needed"
    assert (PORTAL_DIR / "node_modules" / ".bin").is_dir(), (
        "run `npm ci` in clients/typescript and portal (.ci/run does)"
    )
    check = subprocess.run(
        ["npx", "--no-install", "tsc", "--strict", "--noEmit", "-p", "."],
        cwd=PORTAL_DIR,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    out = tmp_path / "static"
    build = subprocess.run(
        ["npx", "--no-install", "vite", "build", "--outDir", str(out), "--emptyOutDir"],
        cwd=PORTAL_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert files(out) == files(BUILT), "run `npm run build` in portal/ and commit app/portal_assets/static"


def test_the_sources_have_no_any_and_no_hand_written_fetch() -> None:
    for path in (PORTAL_DIR / "src").glob("*.ts"):
        code = re.sub(r"//.*", "", path.read_text())
        assert not re.search(r"\bany\b", code), path.name
        assert not re.search(r"\bfetch\(|XMLHttpRequest", code), path.name


def test_every_label_comes_from_the_catalogue() -> None:
    """No Chinese text outside portal/src/i18n.ts (comments aside): each label has its English twin there."""
    for path in (PORTAL_DIR / "src").glob("*.ts"):
        if path.name == "i18n.ts":
            continue
        code = re.sub(r"//.*", "", path.read_text())
        assert not re.search(r"[\u4e00-\u9fff]", code), path.name


def test_the_first_load_is_under_the_budget() -> None:
    index = (BUILT / "index.html").read_text()
    scripts = re.findall(r'src="/portal/(assets/[^"]+\.js)"', index)
    assert scripts
    size = sum(len(gzip.compress((BUILT / s).read_bytes(), 9)) for s in scripts)
    assert size < BUDGET, f"{size} bytes of gzip-compressed JavaScript"
