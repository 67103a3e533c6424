"""The change feed's page size is one value: the API's default and maximum, and `smps client events`'."""

import json

from app.bulk.client import events as events_command
from app.events.schemas import FEED_PAGE_SIZE
from tests.conftest import ROOT_DIR


def test_the_api_and_the_cli_use_the_same_page_size() -> None:
    document = json.loads((ROOT_DIR / "openapi" / "openapi.json").read_text())
    (page_size,) = [p for p in document["paths"]["/api/v1/events"]["get"]["parameters"] if p["name"] == "page_size"]
    assert page_size["schema"]["default"] == page_size["schema"]["maximum"] == FEED_PAGE_SIZE == 500
    (option,) = [p for p in events_command.params if p.name == "page_size"]
    assert option.default == option.type.max == FEED_PAGE_SIZE  # type: ignore[attr-defined]


def test_the_documented_example_asks_for_a_page_it_may() -> None:
    readme = (ROOT_DIR / "docs" / "integration.md").read_text(encoding="utf-8")
    assert f"page_size={FEED_PAGE_SIZE}" in readme
