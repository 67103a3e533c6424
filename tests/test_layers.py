"""The layers of app/ (docs/architecture.md): the kernel (app/core) imports nothing else of the service
(the domain hands it what it needs: seeding, start-up checks, document amendments, who a credential
belongs to); the web shell (app/web) imports only the kernel; the domain packages import the kernel
and each other, never the web shell nor the OpenAPI document code (app/openapi); no two packages import
each other, directly or round a longer cycle; and only app/core/fast reaches into the private parts of
libraries."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT_DIR

APP = ROOT_DIR / "app"
CORE = APP / "core"
SHELL = frozenset({"web", "openapi"})


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


def _sources(root: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(root.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path, path.read_text(encoding="utf-8")


def _absolute(module: str, path: Path) -> str:
    """``module`` as imported by ``path`` (a relative import made absolute)."""
    if not module.startswith("."):
        return module
    package = path.relative_to(ROOT_DIR).with_suffix("").parts[:-1]
    level = len(module) - len(module.lstrip("."))
    rest = module.lstrip(".")
    return ".".join([*package[: len(package) - level + 1], *([rest] if rest else [])])


def _package(module: str) -> str | None:
    """``app.X`` for a module of the service (``app.main`` for a top-level module), None for a library."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "app" and len(parts) > 1 else None


def package_edges(files: list[tuple[Path, str]]) -> dict[str, set[str]]:
    """Which package of app/ imports which (any import, at any depth: a function's too)."""
    edges: dict[str, set[str]] = {}
    for path, source in files:
        own = _package(".".join(path.relative_to(ROOT_DIR).with_suffix("").parts))
        assert own is not None
        for _, module in _imported_modules(ast.parse(source)):
            target = _package(_absolute(module, path))
            if target is not None and target != own:
                edges.setdefault(own, set()).add(target)
    return edges


def package_cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = {stack.pop()}
            while node not in group:
                group.add(stack.pop())
            if len(group) > 1:
                found.append(frozenset(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_package_imports_itself_round_a_cycle() -> None:
    cycles = package_cycles(package_edges(list(_sources(APP))))
    assert [sorted(c) for c in cycles] == []


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"app.a": {"app.b"}, "app.b": {"app.c"}, "app.c": {"app.a"}, "app.d": {"app.a"}}
    assert package_cycles(edges) == [frozenset({"app.a", "app.b", "app.c"})]
    assert package_cycles({"app.a": {"app.b"}, "app.b": set()}) == []


def test_the_edges_see_relative_and_package_imports() -> None:
    files = [(APP / "one" / "x.py", "from ..two import y\n"), (APP / "two" / "y.py", "from app import one\n")]
    assert package_edges(files) == {"app.one": {"app.two"}, "app.two": {"app.one"}}


def shell_imports(source: str, path: Path) -> list[str]:
    """``path:line: module`` for each import in ``source`` of the web shell or the OpenAPI document code."""
    where = path.relative_to(ROOT_DIR)
    return [
        f"{where}:{line}: {module}"
        for line, module in _imported_modules(ast.parse(source))
        if (_package(_absolute(module, path)) or "").removeprefix("app.") in SHELL
    ]


def _domain_packages() -> list[Path]:
    return sorted(p for p in APP.iterdir() if (p / "__init__.py").exists() and p.name not in SHELL | {"core"})


def test_the_domain_imports_neither_the_web_shell_nor_the_document_code() -> None:
    assert len(_domain_packages()) > 5
    offending = [
        hit
        for package in _domain_packages()
        for path, source in _sources(package)
        for hit in shell_imports(source, path)
    ]
    assert offending == []


def test_the_web_shell_imports_only_the_kernel() -> None:
    offending = [
        f"{path.relative_to(ROOT_DIR)}: {module}"
        for path, source in _sources(APP / "web")
        for _, module in _imported_modules(ast.parse(source))
        if _package(_absolute(module, path)) not in (None, "app.core", "app.web")
    ]
    assert offending == []


@pytest.mark.parametrize(
    "source",
    [
        "from app.web.limits import body_limit",
        "import app.openapi.examples",
        "from app import web",
        "from ...web import x",
    ],
)
def test_the_walk_sees_every_form_of_shell_import(source: str) -> None:
    assert shell_imports(source, APP / "applications" / "deep" / "anything.py") != []


def _app_private_names(files: list[tuple[Path, str]]) -> set[str]:
    """Private names the service defines itself: functions, classes, module and class attributes, and
    what it keeps on its own objects (``self._x``)."""
    names: set[str] = set()
    for _, source in files:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("self", "cls")
            ):
                names.add(node.attr)
    return {name for name in names if name.startswith("_")}


def _on_self(node: ast.Attribute) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")


def _attribute_by_name(node: ast.AST) -> str | None:
    """The attribute ``getattr(x, "_name")`` (or ``hasattr``, ``setattr``, ``delattr``) names."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) > 1:
        name = node.args[1]
        if node.func.id in ("getattr", "hasattr", "setattr", "delattr") and isinstance(name, ast.Constant):
            return str(name.value)
    return None


def library_private_uses(source: str, path: Path, own: set[str]) -> list[str]:
    """``path:line: name`` for each private name of a library that ``source`` imports or reads."""
    where = path.relative_to(ROOT_DIR)
    hits: list[str] = []

    def private(name: str) -> bool:
        return name.startswith("_") and not name.startswith("__")

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            hits += [f"{where}:{node.lineno}: {a.name}" for a in node.names if any(map(private, a.name.split(".")))]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _package(node.module) is None:
            names = [node.module] if any(map(private, node.module.split("."))) else []
            names += [f"{node.module}.{a.name}" for a in node.names if private(a.name)]
            hits += [f"{where}:{node.lineno}: {name}" for name in names]
        elif isinstance(node, ast.Attribute) and private(node.attr) and node.attr not in own and not _on_self(node):
            hits.append(f"{where}:{node.lineno}: .{node.attr}")
        elif (name := _attribute_by_name(node)) is not None and private(name) and name not in own:
            hits.append(f"{where}:{node.lineno}: {name!r}")
    return hits


def test_only_the_fast_paths_reach_into_libraries() -> None:
    files = list(_sources(APP))
    own = _app_private_names(files)
    fast = APP / "core" / "fast"
    offending = [
        hit for path, source in files if fast not in path.parents for hit in library_private_uses(source, path, own)
    ]
    assert offending == []


@pytest.mark.parametrize(
    "source",
    [
        "from starlette._utils import is_async_callable",
        "import openpyxl.worksheet._reader",
        "from httpx import _config",
        "transport._pool = pool",
        "formats = workbook._date_formats",
        'read = hasattr(request, "_body")',
    ],
)
def test_the_walk_sees_every_reach_into_a_library(source: str) -> None:
    assert library_private_uses(source, APP / "anything.py", {"_mine"}) != []


def test_the_services_own_private_names_are_its_own() -> None:
    source = "class K:\n    def _after(self): ...\n\ndef f(k):\n    return k._after(), k._mine, self._x\n"
    assert library_private_uses(source, APP / "anything.py", _app_private_names([(APP / "a.py", source)])) == [
        "app/anything.py:5: ._mine"
    ]
