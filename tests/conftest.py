"""Shared fixtures: one ``store_factory`` parametrized over every backend.

Each backend's fixtures live in a plugin module under ``tests/plugins/``; a
plugin provides ``<name>_store_factory`` (a callable returning an async
context manager that yields a fresh, empty, open store) and starts any
server it needs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sessionstore.testing import StoreFactory

sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["plugins.memory", "plugins.sqlite", "plugins.postgres", "plugins.redis"]

#: Every backend the shared tests run against, in the order they are reported.
BACKENDS = ["memory", "sqlite", "postgres", "redis"]


@pytest.fixture(params=BACKENDS)
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    """A factory of fresh, empty stores, once per backend."""
    factory: StoreFactory = request.getfixturevalue(f"{request.param}_store_factory")
    return factory
