"""Redocly (recommended rules) and Spectral (spectral:oas) find nothing in the committed document: no
error and no warning. A rule is turned off only in contract/redocly.yaml or contract/.spectral.yaml,
with the reason written there."""

import json
from pathlib import Path

import pytest

from tests.contract.consumer_tools import CONTRACT_DIR, DOCUMENT, npx

# The consumers' tools judge the document, not the database: this runs once, in the SQLite pass.
pytestmark = pytest.mark.backend_independent


def test_redocly_recommended_finds_nothing() -> None:
    run = npx("redocly", "lint", "--config", "redocly.yaml", "--format", "json", str(DOCUMENT))
    report = json.loads(run.stdout[run.stdout.index("{") :])
    problems = [
        (p["ruleId"], p["severity"], p["message"], [loc.get("pointer") for loc in p.get("location", [])])
        for p in report["problems"]
    ]
    assert report["totals"]["errors"] == 0 and report["totals"]["warnings"] == 0, problems
    assert report["totals"]["ignored"] == 0  # nothing hidden in an ignore file either
    assert run.returncode == 0, run.stderr


def test_spectral_oas_finds_nothing(tmp_path: Path) -> None:
    out = tmp_path / "spectral.json"
    run = npx(
        "spectral",
        "lint",
        "--ruleset",
        ".spectral.yaml",
        "--format",
        "json",
        "--output",
        str(out),
        "--fail-severity",
        "hint",
        str(DOCUMENT),
    )
    results = json.loads(out.read_text())
    assert [(r["code"], r["severity"], r["message"], ".".join(map(str, r["path"]))) for r in results] == []
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_rulesets_are_the_recommended_ones() -> None:
    # Turning a rule off needs a reason beside it; the base rulesets stay.
    assert "- recommended" in (CONTRACT_DIR / "redocly.yaml").read_text()
    assert "- spectral:oas" in (CONTRACT_DIR / ".spectral.yaml").read_text()
