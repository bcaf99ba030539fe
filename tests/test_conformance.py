"""Every backend in the repository against the whole contract (``store_factory`` from conftest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from sessionstore import InMemorySessionStore
from sessionstore.testing import ConformanceSuite, StoreFactory


class TestConformance(ConformanceSuite):
    """The conformance suite, once per backend in ``conftest.BACKENDS``."""


class _StoreWithoutRestore(InMemorySessionStore):
    """A test double of the capability flag only: the reference store, restore switched off."""

    supports_restore = False


@asynccontextmanager
async def _store_without_restore() -> AsyncIterator[InMemorySessionStore]:
    async with _StoreWithoutRestore() as store:
        yield store


class TestConformanceWithoutRestore(ConformanceSuite):
    """A store without the optional ``restore`` passes, and must refuse ``restore``."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return _store_without_restore
