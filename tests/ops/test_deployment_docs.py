"""docs/deployment.md and compose.yaml name only settings that exist, and the series /metrics serves."""

import re

import pytest

from app.core.settings import Settings
from tests.conftest import ROOT_DIR

pytestmark = pytest.mark.backend_independent

FILES = ("docs/deployment.md", "compose.yaml")


@pytest.mark.parametrize("name", FILES)
def test_every_setting_named_exists(name: str) -> None:
    text = (ROOT_DIR / name).read_text()
    named = set(re.findall(r"\bSMPS_([A-Z0-9_]+[A-Z0-9])\b", text))
    assert named
    unknown = {f"SMPS_{n}" for n in named if n.lower() not in Settings.model_fields}
    assert not unknown, unknown


def test_every_series_is_documented() -> None:
    text = (ROOT_DIR / "docs/deployment.md").read_text()
    source = "".join(p.read_text() for p in (ROOT_DIR / "app/metrics").glob("*.py"))
    series = set(re.findall(r'"(smps_[a-z_]+)"', source))
    assert len(series) >= 11
    for name in series:
        assert f"`{name}`" in text, name
