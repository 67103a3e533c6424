"""`/readyz` reports the fonts of the printed documents, and `smps fonts` reports the same; fonts never
change its status."""

import json
import os
import subprocess
import sys

import httpx
import pytest

from app.fonts import faces as fonts
from app.fonts.paths import RECOMMENDED


async def test_readyz_names_the_faces_and_what_they_cover(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200
    report = r.json()["fonts"]
    assert report["available"] and report["covers_printed"] and report["missing"] == []
    # .ci/run installs the official faces: found by the search, body first, then what they lack.
    assert report["recommended"] and [f["file"] for f in report["body"]][0] in RECOMMENDED
    assert report["body"][0]["family"] == "AR PL UMing CN" and report["title"][0]["family"] == "WenQuanYi Micro Hei"
    assert report["body"][-1]["family"] == "SMPS Marks"

    cli = subprocess.run(
        [sys.executable, "-m", "app.cli", "fonts"],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("SMPS_CJK")},
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == report


async def test_without_a_chinese_font_the_service_stays_ready(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "_chosen", {})
    monkeypatch.setattr(fonts, "BODY_CANDIDATES", ("/nonexistent/uming.ttc",))
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"
    assert r.json()["fonts"]["available"] is False and r.json()["fonts"]["covers_printed"] is False
