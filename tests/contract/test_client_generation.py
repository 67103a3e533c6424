"""The committed OpenAPI document is valid, and a client generated from it works.

`openapi-spec-validator` checks the document; `openapi-python-client` generates a Python client
with warnings treated as failures (a duplicate model name, a schema it cannot read, a response it
cannot type would each fail here), and the generated package then talks to the app.
"""

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType

import httpx
import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate

from tests.conftest import ROOT_DIR
from tests.factories import make_user, seeded_org

DOCUMENT = ROOT_DIR / "openapi" / "openapi.json"
PACKAGE = "smps_generated_client"
# Files are sent as what they are; the generator types any binary body as a file.
BINARY_TYPES = ("application/pdf", "application/ofd", "image/jpeg", "image/png",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document")


def test_the_document_is_valid_openapi() -> None:
    validate(json.loads(DOCUMENT.read_text()))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    where = tmp_path_factory.mktemp("client")
    config = where / "config.json"
    config.write_text(json.dumps({
        "package_name_override": PACKAGE,
        "post_hooks": [],  # no formatting of the generated code
        "content_type_overrides": {t: "application/octet-stream" for t in BINARY_TYPES},
    }))
    run = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(DOCUMENT), "--meta", "none",
         "--output-path", str(where / PACKAGE), "--config", str(config), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, f"generation failed:\n{run.stdout}\n{run.stderr}"
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _api(package: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{package.__name__}.api.{name}")


async def test_a_generated_client_calls_the_api(app: FastAPI, generated: ModuleType) -> None:
    reviewer = make_user(app, seeded_org(app, "370000"), "reviewer")
    client = generated.AuthenticatedClient(base_url="http://testserver", token=reviewer.api_key,
                                           httpx_args={"transport": httpx.ASGITransport(app=app)})
    list_calls, get_call = _api(generated, "reference.list_calls"), _api(generated, "reference.get_call")
    models = importlib.import_module(f"{generated.__name__}.models")

    calls = await list_calls.asyncio(client=client)
    ninth = next(c for c in calls if c.key == "9th-batch")
    call = await get_call.asyncio(call_id=ninth.id, client=client)
    assert isinstance(call, models.CallPublic)
    assert call.id == ninth.id and call.deadline.utcoffset() is not None
    assert [s.key for s in call.sections][:2] == ["basic_situation", "groundwork"]

    # A problem answer is typed too.
    missing = await get_call.asyncio_detailed(call_id="cal_missing", client=client)
    assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
    assert missing.parsed.code == "not_found"

    # An authenticated operation with query parameters: the change feed.
    page = await _api(generated, "events.list_events").asyncio(client=client, page_size=5)
    assert isinstance(page, models.EventPage) and isinstance(page.has_more, bool)
