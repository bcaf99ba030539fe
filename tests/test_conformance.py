"""Every backend in the repository against the whole contract (``store_factory`` from conftest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from plugins._urls import StoreUrls
from plugins.redis import RedisServer, redis_factory
from sessionstore import InMemorySessionStore, SessionStore, open_store
from sessionstore.testing import ConformanceSuite, StoreFactory, StorePairFactory


def _pair_on_one_url(urls: StoreUrls) -> StorePairFactory:
    """Two stores opened from the URL of one fresh storage."""

    @asynccontextmanager
    async def pair() -> AsyncIterator[tuple[SessionStore, SessionStore]]:
        url = urls.new()
        async with open_store(url) as first, open_store(url) as second:
            yield first, second

    return pair


class TestConformance(ConformanceSuite):
    """The conformance suite, once per backend in ``conftest.BACKENDS``."""

    @pytest.fixture
    def store_pair_factory(
        self, request: pytest.FixtureRequest, store_factory: StoreFactory
    ) -> StorePairFactory | None:
        """Two stores on one storage for a backend whose plugin gives URLs; None otherwise."""
        backend = request.node.callspec.params["store_factory"]
        try:
            urls: StoreUrls = request.getfixturevalue(f"{backend}_urls")
        except pytest.FixtureLookupError:
            return None  # memory: a second store cannot reach the first one's storage
        return _pair_on_one_url(urls)


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


class TestRedisSealedConformance(ConformanceSuite):
    """The suite on Redis stores that encrypt and compress (the chunked layout)."""

    @pytest.fixture
    def store_factory(self, redis_server: RedisServer) -> StoreFactory:
        return redis_factory(redis_server, sealed=True)
