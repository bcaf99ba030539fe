"""Every backend in the repository against the whole contract (``store_factory`` from conftest)."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from plugins._urls import StoreUrls
from plugins.postgres import SEALED_ENCRYPTION
from plugins.redis import RedisServer, redis_factory
from sessionstore import (
    Encryption,
    InMemorySessionStore,
    SessionStore,
    SQLiteSessionStore,
    open_store,
)
from sessionstore.testing import ConformanceSuite, StoreFactory, StorePairFactory


def _pair_on_one_url(urls: StoreUrls, **options: Any) -> StorePairFactory:
    """Two stores opened from the URL of one fresh storage (with ``open_store``'s ``options``)."""

    @asynccontextmanager
    async def pair() -> AsyncIterator[tuple[SessionStore, SessionStore]]:
        url = urls.new()
        async with open_store(url, **options) as first, open_store(url, **options) as second:
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


class TestConformancePostgresSealed(ConformanceSuite):
    """The conformance suite on PostgreSQL with encryption and zstd compression on."""

    @pytest.fixture
    def store_factory(self, postgres_sealed_store_factory: StoreFactory) -> StoreFactory:
        return postgres_sealed_store_factory

    @pytest.fixture
    def store_pair_factory(self, postgres_urls: StoreUrls) -> StorePairFactory:
        return _pair_on_one_url(postgres_urls, encryption=SEALED_ENCRYPTION, compression="zstd")


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


#: One key for the sealed factories: every store of a test shares it, as the stores of a
#: deployment would.
_SEALED_KEYS = Encryption({"conformance": os.urandom(32)})


class TestConformanceSQLiteSealed(ConformanceSuite):
    """SQLite with encryption and zstd on: every contract operation through the codec."""

    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        numbers = itertools.count()

        @asynccontextmanager
        async def factory() -> AsyncIterator[SQLiteSessionStore]:
            path = tmp_path / f"sealed-{next(numbers)}.db"
            async with SQLiteSessionStore(
                path, encryption=_SEALED_KEYS, compression="zstd"
            ) as store:
                yield store

        return factory

    @pytest.fixture
    def store_pair_factory(self, sqlite_urls: StoreUrls) -> StorePairFactory:
        @asynccontextmanager
        async def pair() -> AsyncIterator[tuple[SessionStore, SessionStore]]:
            url = sqlite_urls.new()
            options: dict[str, Any] = {"encryption": _SEALED_KEYS, "compression": "zstd"}
            async with open_store(url, **options) as first, open_store(url, **options) as second:
                yield first, second

        return pair
