"""The Python client a consumer generates from the document (openapi-python-client, the shipped
contract/python-client.json, warnings treated as failures), importable by the tests."""

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from tests.conftest import ROOT_DIR

DOCUMENT = ROOT_DIR / "openapi" / "openapi.json"
PACKAGE = "smps_generated_client"
# Downloads are typed as bytes (`File`).
CONFIG = json.loads((ROOT_DIR / "contract" / "python-client.json").read_text())


def generate(where: Path) -> Iterator[ModuleType]:
    """Generate the package under ``where`` and import it (a duplicate model name, a schema it cannot
    read, a response it cannot type would each fail here); removed from ``sys.modules`` afterwards."""
    config = where / "config.json"
    config.write_text(json.dumps({**CONFIG, "package_name_override": PACKAGE}))
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(DOCUMENT)]
    command += ["--meta", "none", "--output-path", str(where / PACKAGE), "--config", str(config), "--fail-on-warning"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"generation failed:\n{run.stdout}\n{run.stderr}"
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def api(package: ModuleType, name: str) -> ModuleType:
    """An operation's module: ``api(package, "reference.get_call")``."""
    return importlib.import_module(f"{package.__name__}.api.{name}")
