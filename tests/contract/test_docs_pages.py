"""The documentation pages in a real browser (headless Chromium): they fetch nothing from outside this
server, and Swagger UI shows the document's example of an application rather than generated values."""

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from app.core.settings import Settings
from tests.races.live import LiveServer

# The consumers' tools judge the document, not the database: this runs once, in the SQLite pass.
pytestmark = pytest.mark.backend_independent

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=20000",
]
# What a page would fetch: the address of an image, a style sheet, a script or a font.
ASSET_URL = re.compile(rb"https?://[^\s\"'<>()]+?\.(?:svg|png|gif|jpe?g|css|js|woff2?|ttf)(?![A-Za-z0-9._/-])")


@pytest.fixture
def server(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is needed (.ci/run installs it)")
    live = LiveServer(settings, tmp_path / "server.log").start()
    yield live
    live.stop()


def _chromium(url: str, net_log: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--log-net-log={net_log}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def _hosts_fetched(net_log: Path, origin: str) -> set[str]:
    """Hosts of the requests the page made (initiated by the server's origin), not the browser's own."""
    text = net_log.read_text(errors="replace").rstrip()
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # written up to the last event when the browser quit (no closing)
        log = json.loads(text.rstrip(",") + "]}")
    events = log["events"]
    urls = {
        e["params"]["url"]
        for e in events
        if isinstance(e.get("params"), dict) and "url" in e["params"] and e["params"].get("initiator") == origin
    }
    assert urls, "the page requested nothing: the net log is not what it was"
    return {urlsplit(u).netloc for u in urls}


def test_redoc_fetches_nothing_remote(server: LiveServer, tmp_path: Path) -> None:
    page = httpx.get(f"{server.url}/redoc").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        body = httpx.get(f"{server.url}{asset}").content
        assert not ASSET_URL.findall(body), (asset, ASSET_URL.findall(body)[:5])
    dom = _chromium(f"{server.url}/redoc", tmp_path / "redoc.json")
    assert "创建" in dom or "create_application" in dom or "Draft an application" in dom
    assert _hosts_fetched(tmp_path / "redoc.json", server.url) == {urlsplit(server.url).netloc}


def test_swagger_ui_shows_the_application_example(server: LiveServer, tmp_path: Path) -> None:
    # Deep linking opens the operation, whose request body shows the selected example.
    dom = _chromium(f"{server.url}/docs#/applications/create_application", tmp_path / "docs.json")
    assert "opblock-summary" in dom
    assert "济南市历下区政务服务标准化试点" in dom and "wangfang@lixia.gov.cn" in dom
    assert _hosts_fetched(tmp_path / "docs.json", server.url) == {urlsplit(server.url).netloc}
    example = json.loads((Path(__file__).parents[2] / "openapi" / "openapi.json").read_text())
    assert example["paths"]["/api/v1/applications"]["post"]["requestBody"]["content"]["application/json"]["examples"]
