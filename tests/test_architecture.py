"""The package's shape, checked: import layers, and modules and functions small enough to read.

- A backend imports the core and ``sessionstore.backends.base`` only: never another backend,
  the CLI, the integrations or the conformance suite.
- The core (``sessionstore._*`` modules) imports no backend (``open_store`` names them as
  strings and imports one on first use of its URL scheme), no CLI, integration or suite.
- Modules stay within 400 lines and functions within 60 (tests excluded).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "sessionstore"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    parts = ["sessionstore", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, absolute (its relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _name(path) if path.name == "__init__.py" else _name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _backend_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 3 and parts[:2] == ["sessionstore", "backends"] and parts[2] != "base":
        return parts[2]
    return None


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2:
        return "package"
    if _backend_of(module):
        return "backend"
    return {"cli": "cli", "testing": "testing", "integrations": "integrations"}.get(
        parts[1], "core"
    )


OUTER_LAYERS = {"cli", "testing", "integrations"}


@pytest.mark.parametrize("path", _modules(), ids=lambda path: _name(path))
def test_import_layers(path: Path) -> None:
    module = _name(path)
    layer = _layer(module)
    for imported in _imports(path):
        if not imported.startswith("sessionstore."):
            continue
        target = _layer(imported)
        if layer == "backend":
            assert target not in OUTER_LAYERS, f"{module} (a backend) imports {imported}"
            other = _backend_of(imported)
            assert other in (None, _backend_of(module)), f"{module} imports backend {imported}"
        elif layer == "core":
            assert target not in OUTER_LAYERS | {"backend"}, f"{module} (core) imports {imported}"


def test_the_suite_imports_no_backend_but_memory_for_its_model() -> None:
    for path in (PACKAGE / "testing").rglob("*.py"):
        for imported in _imports(path):
            assert _layer(imported) not in {"cli", "integrations"}, (path, imported)
            assert _backend_of(imported) in (None, "memory"), (path, imported)


@pytest.mark.parametrize("path", _modules(), ids=lambda path: _name(path))
def test_module_and_functions_stay_small(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    lines = len(source.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{_name(path)} has {lines} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, (
                f"{_name(path)}:{node.lineno} {node.name} has {length} lines"
            )
