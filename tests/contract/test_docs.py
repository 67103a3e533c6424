"""docs/ says what the code does: every bulk column and workflow step is documented, links resolve, and
nothing points outside the project."""

import re

import pytest

from app.applications.workflow import STEPS
from app.bulk.columns import COLUMNS
from tests.conftest import ROOT_DIR

# The consumers' tools judge the document, not the database: this runs once, in the SQLite pass.
pytestmark = pytest.mark.backend_independent
DOCS = ROOT_DIR / "docs"


def test_every_bulk_column_is_documented() -> None:
    text = (DOCS / "bulk-columns.md").read_text()
    for column in COLUMNS:
        assert f"| `{column.key}` | {column.zh} |" in text, column.key


def test_every_workflow_step_is_documented() -> None:
    text = (DOCS / "state-machine.md").read_text()
    for step in STEPS:
        assert f"| `{step.action}` |" in text and f"`{step.target.value}`" in text, step.action


def test_the_index_links_every_page_and_nothing_outside() -> None:
    index = (DOCS / "README.md").read_text()
    pages = {p.name for p in DOCS.glob("*.md")} - {"README.md"}
    assert pages and all(f"]({name})" in index for name in pages)
    for page in DOCS.glob("*.md"):
        text = page.read_text()
        assert not re.search(r"\]\(https?://", text), page.name
        for target in re.findall(r"\]\(([^)#]+)\)", text):
            assert (page.parent / target).resolve().exists(), (page.name, target)
