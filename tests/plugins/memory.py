"""The in-memory backend's fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from sessionstore import InMemorySessionStore
from sessionstore.testing import StoreFactory


@asynccontextmanager
async def _memory_store() -> AsyncIterator[InMemorySessionStore]:
    async with InMemorySessionStore() as store:
        yield store


@pytest.fixture
def memory_store_factory() -> StoreFactory:
    """Fresh in-memory stores."""
    return _memory_store
