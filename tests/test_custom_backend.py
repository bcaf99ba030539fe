"""The README's "Write your own backend" example is complete: it passes the conformance suite.

The code under test is the README's first code block of that section, executed as written, so
the README cannot drift from a backend that works; the example file must be the same code.
"""

from __future__ import annotations

import re
import types
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from sessionstore import SessionStore
from sessionstore.testing import ConformanceSuite, StoreFactory

ROOT = Path(__file__).resolve().parent.parent


def _readme_backend_source() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Write your own backend", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the section has no python code block"
    return match.group(1)


def _load_backend() -> type[SessionStore]:
    module = types.ModuleType("readme_backend")
    exec(compile(_readme_backend_source(), "README.md", "exec"), module.__dict__)
    store_class: type[SessionStore] = module.DictSessionStore
    return store_class


def test_readme_example_is_the_example_file_and_uses_public_names_only() -> None:
    source = _readme_backend_source()
    assert source == (ROOT / "examples" / "custom_backend.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) < 80
    imported = re.findall(r"^(?:from|import) (\S+)", source, re.MULTILINE)
    modules = [name for name in imported if name != "__future__"]
    assert all(not part.startswith("_") for name in modules for part in name.split("."))


_DictSessionStore = _load_backend()


@asynccontextmanager
async def _readme_store() -> AsyncIterator[SessionStore]:
    async with _DictSessionStore() as store:
        yield store


class TestReadmeBackend(ConformanceSuite):
    """The whole contract against the README's backend."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return _readme_store
