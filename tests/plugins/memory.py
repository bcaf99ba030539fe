"""The in-memory backend's fixtures.

No other process can open a memory store, so this plugin has no ``memory_urls``;
``memory_new_store`` gives what a URL gives the other backends' tests: a store
that has not been opened yet, for the tests of its first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from sessionstore import InMemorySessionStore, SessionStore
from sessionstore.testing import StoreFactory


@asynccontextmanager
async def _memory_store() -> AsyncIterator[InMemorySessionStore]:
    async with InMemorySessionStore() as store:
        yield store


@pytest.fixture
def memory_store_factory() -> StoreFactory:
    """Fresh in-memory stores."""
    return _memory_store


@pytest.fixture
def memory_new_store() -> Callable[[], SessionStore]:
    """Fresh in-memory stores, not opened yet."""
    return InMemorySessionStore
