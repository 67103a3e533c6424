"""`smps client upload|events --url`: a URL that cannot be the service's root is refused before any request."""

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from app.bulk.client import client as client_group
from app.bulk.client import service_root

BAD_URLS = [
    ("127.0.0.1:8000", "--url '127.0.0.1:8000' has no scheme: did you mean http://127.0.0.1:8000?"),
    (
        "ftp://example.org",
        "--url 'ftp://example.org' needs http:// or https:// and a host (e.g. http://127.0.0.1:8000)",
    ),
    ("http://", "--url 'http://' needs http:// or https:// and a host (e.g. http://127.0.0.1:8000)"),
    (
        "http://127.0.0.1:8000/api/v1",
        "--url points at the API (/api/v1), give the service root instead: http://127.0.0.1:8000",
    ),
    (
        "https://gov.example/smps/api/v1/bulk-uploads/",
        "--url points at the API (/smps/api/v1/bulk-uploads/), give the service root instead: https://gov.example/smps",
    ),
]


@pytest.mark.parametrize("command", ["upload", "events"])
@pytest.mark.parametrize(("url", "message"), BAD_URLS)
def test_a_bad_url_is_a_usage_error_before_any_request(tmp_path: Path, command: str, url: str, message: str) -> None:
    sent: list[httpx.Request] = []
    http = httpx.Client(
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(503)), base_url="http://x"
    )
    source = tmp_path / "rows.json"
    source.write_text("[]")
    # The key file does not exist: the URL is judged first.
    args = [
        command,
        *([str(source)] if command == "upload" else []),
        "--url",
        url,
        "--api-key-file",
        str(tmp_path / "missing-key"),
    ]
    result = CliRunner().invoke(client_group, args, obj={"http": http, "retries": 5, "backoff": 0.0})
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {message}"]
    assert result.stdout == ""
    assert sent == []


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        (" https://gov.example/smps/ ", "https://gov.example/smps"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_a_service_root_is_kept(url: str, root: str) -> None:
    assert service_root(url) == root
