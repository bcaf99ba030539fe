"""Shared fixtures: the one list of backends, and fixtures parametrized over it.

Each backend's fixtures live in its plugin module, ``tests/plugins/<name>.py``,
which starts any server it needs and provides ``<name>_store_factory`` (a
callable returning an async context manager that yields a fresh, empty, open
store). A backend whose stores other processes can open by URL also provides
``<name>_urls`` (a ``plugins._urls.StoreUrls``). Tests take ``store_factory``
or ``store_urls`` and never name a backend.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path

import pytest

from sessionstore.testing import StoreFactory

sys.path.insert(0, str(Path(__file__).parent))
# The plugins are imported below, before pytest would load them: rewrite their asserts still.
pytest.register_assert_rewrite("plugins")

from plugins._urls import StoreUrls  # noqa: E402 - after the rewrite hook above

#: Every backend the shared tests run against, in the order they are reported.
BACKENDS = ["memory", "sqlite", "postgres", "redis"]

pytest_plugins = [f"plugins.{name}" for name in BACKENDS]

#: The backends whose plugin provides ``<name>_urls``: other processes can open their stores.
URL_BACKENDS = [
    name for name in BACKENDS if hasattr(importlib.import_module(f"plugins.{name}"), f"{name}_urls")
]


@pytest.fixture(params=BACKENDS)
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    """A factory of fresh, empty stores, once per backend."""
    factory: StoreFactory = request.getfixturevalue(f"{request.param}_store_factory")
    return factory


@pytest.fixture(params=URL_BACKENDS)
def store_urls(request: pytest.FixtureRequest) -> StoreUrls:
    """Fresh stores by URL, once per backend whose stores other processes can open."""
    urls: StoreUrls = request.getfixturevalue(f"{request.param}_urls")
    return urls


#: The backends ``store_url`` runs on: memory (by a unique URL) and every URL backend.
STORE_URL_BACKENDS = ["memory", *URL_BACKENDS]


@pytest.fixture(params=STORE_URL_BACKENDS)
def store_url(request: pytest.FixtureRequest) -> str:
    """The URL of a fresh, empty store, once per backend (memory: a URL no other test uses)."""
    if request.param == "memory":
        # memory:// ignores its query; a unique one keeps stores shared by URL apart.
        return f"memory://?store={uuid.uuid4().hex}"
    urls: StoreUrls = request.getfixturevalue(f"{request.param}_urls")
    return urls.new()
