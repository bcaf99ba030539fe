"""Every backend in the repository against the whole contract (``store_factory`` from conftest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from sessionstore import InMemorySessionStore
from sessionstore.testing import ConformanceSuite, StoreFactory


class TestConformance(ConformanceSuite):
    """The conformance suite, once per backend in ``conftest.BACKENDS``."""


class _StoreWithoutOptions(InMemorySessionStore):
    """The reference store with both optional capabilities switched off by their flags.

    Without ``supports_cursor_scan`` the base class pages ``scan`` by offset.
    """

    supports_restore = False
    supports_cursor_scan = False


@asynccontextmanager
async def _store_without_options() -> AsyncIterator[InMemorySessionStore]:
    async with _StoreWithoutOptions() as store:
        yield store


class TestConformanceWithoutOptions(ConformanceSuite):
    """A store without the optional capabilities passes, and must refuse ``restore``."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return _store_without_options
