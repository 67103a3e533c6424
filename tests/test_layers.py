"""app/core is the plumbing every part uses: it imports no part of the domain (the domain hands core
what it needs: seeding, start-up checks, document amendments, who a credential belongs to)."""

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT_DIR

APP = ROOT_DIR / "app"
CORE = APP / "core"


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            # `from app import accounts` names the package in the alias.
            if node.module == "app":
                found += [(node.lineno, f"app.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            # A relative import climbing out of core (`from ..accounts import x`) is a domain import too.
            dots = "." * node.level
            if node.module:
                found.append((node.lineno, dots + node.module))
            else:
                found += [(node.lineno, dots + alias.name) for alias in node.names]
    return found


def _outside_core(module: str, path: Path) -> bool:
    if module.startswith("."):
        package = path.relative_to(ROOT_DIR).with_suffix("").parts[:-1]
        level = len(module) - len(module.lstrip("."))
        base = package[: len(package) - level + 1]
        rest = module.lstrip(".")
        target = ".".join([*base, *([rest] if rest else [])])
        return _outside_core(target, path)
    parts = module.split(".")
    return parts[0] == "app" and len(parts) > 1 and parts[1] != "core"


def domain_imports(source: str, path: Path) -> list[str]:
    """``path:line: module`` for each import in ``source`` (the text of ``path``) of a domain package."""
    tree = ast.parse(source, filename=str(path))
    where = path.relative_to(ROOT_DIR)
    return [f"{where}:{line}: {module}" for line, module in _imported_modules(tree) if _outside_core(module, path)]


def test_core_imports_no_domain_package() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 10  # the walk found core
    offending = [hit for path in files for hit in domain_imports(path.read_text(encoding="utf-8"), path)]
    assert offending == []


@pytest.mark.parametrize(
    "source",
    [
        "from app.accounts.models import User",
        "import app.events.models",
        "from app import reference",
        "def f():\n    from app.batches.keystore import key_store\n",
        "from ..accounts import principal",
        "from .. import accounts",
    ],
)
def test_the_walk_sees_every_form_of_import(source: str) -> None:
    assert domain_imports(source, CORE / "anything.py") != []


def test_core_may_import_core_and_libraries() -> None:
    source = "import sqlalchemy as sa\nfrom app.core.errors import AppError\nfrom . import db\nimport app.core.i18n\n"
    assert domain_imports(source, CORE / "anything.py") == []
    assert domain_imports("from .. import db", CORE / "fast" / "anything.py") == []
