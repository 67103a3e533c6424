"""The hostile-input tests' server is the real `smps serve` command."""

import httpx

from tests.races.live import LiveServer


def test_smps_serve_answers_and_shows_uvicorn_startup(smps_server: LiveServer) -> None:
    assert httpx.get(f"{smps_server.url}/healthz", timeout=10).json() == {"status": "ok", "version": "1.0.0"}
    assert "Application startup complete" in smps_server.log_tail()
