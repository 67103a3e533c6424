"""The read path is the application's own, sized by its Settings (``SMPS_READ_*`` in the environment)."""

import pytest

from app.core.settings import Settings
from app.main import create_app
from app.readpath import ReadPath


def test_each_application_has_its_own_read_path_sized_by_the_settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMPS_READ_BODIES_MAX_BYTES", "4096")
    monkeypatch.setenv("SMPS_READ_FORMS_MAX_BYTES", "8192")
    sized = Settings(**settings.model_dump(exclude={"read_bodies_max_bytes", "read_forms_max_bytes"}))  # from the env
    first, second = create_app(sized), create_app(sized)
    try:
        assert isinstance(first.state.read_path, ReadPath) and first.state.read_path is not second.state.read_path
        assert first.state.read_path.bodies.max_bytes == 4096
        assert first.state.read_path.forms.max_bytes == 8192
    finally:
        first.state.database.dispose()
        second.state.database.dispose()
    defaults = Settings(database_url="sqlite://")
    assert defaults.read_key_hints == 10_000 and defaults.read_form_parties == 10_000
