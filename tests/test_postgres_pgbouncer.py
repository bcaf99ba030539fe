"""The PostgreSQL store behind PgBouncer in transaction pooling mode, from an unchanged URL.

Each transaction may run on another server connection, so nothing may live
on one across calls: no prepared statement (psycopg's are off in the pools
the store makes), no session-level advisory lock (migrations take a
transaction-scoped one), no ``SET``, temporary table or ``LISTEN``. The whole
contract, a fresh database opened by many stores at once, and the
multi-process and crash tests (``test_processes``, on PgBouncer URLs) run here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from psycopg import sql

import test_processes
from plugins._urls import StoreUrls
from plugins.postgres import drop_prefix, unique_prefix
from sessionstore import InvalidArgumentError, Message, PostgresSessionStore
from sessionstore.backends.postgres import schema as q
from sessionstore.testing import ConformanceSuite, StoreFactory, StorePairFactory
from test_conformance import _pair_on_one_url


class TestConformanceThroughPgBouncer(ConformanceSuite):
    """The conformance suite on stores whose URL points at PgBouncer."""

    @pytest.fixture
    def store_factory(self, postgres_pgbouncer_store_factory: StoreFactory) -> StoreFactory:
        return postgres_pgbouncer_store_factory

    @pytest.fixture
    def store_pair_factory(self, postgres_pgbouncer_urls: StoreUrls) -> StorePairFactory:
        return _pair_on_one_url(postgres_pgbouncer_urls)


@pytest.fixture
def store_urls(postgres_pgbouncer_urls: StoreUrls) -> StoreUrls:
    """``test_processes``' tests below run on PgBouncer URLs."""
    return postgres_pgbouncer_urls


test_processes_appending_at_once_lose_nothing = (
    test_processes.test_processes_appending_at_once_lose_nothing
)
test_twenty_processes_open_a_new_store_at_once = (
    test_processes.test_twenty_processes_open_a_new_store_at_once
)
test_sigkill_never_tears_a_transcript = test_processes.test_sigkill_never_tears_a_transcript


async def test_repeated_calls_never_meet_a_prepared_statement(
    postgres_pgbouncer_store_factory: StoreFactory,
) -> None:
    """The issue's failure: the same statement many times, on pooled server connections."""
    async with postgres_pgbouncer_store_factory() as store:
        for turn in range(30):
            await store.append("s", [Message.user(f"turn {turn}")])
            loaded = await store.load("s")
            assert loaded is not None and len(loaded) == turn + 1
        await asyncio.gather(*(store.load("s") for _ in range(20)))
        record = await store.get("s")
        assert record is not None and record.version == 30


async def test_stores_opening_a_fresh_schema_at_once_migrate_it_once(
    postgres_url: str, postgres_pgbouncer_url: str
) -> None:
    """Many first opens through PgBouncer at once: all succeed, each migration is applied once."""
    prefix = unique_prefix()
    schema = f"s{prefix}"
    stores = [
        PostgresSessionStore(postgres_pgbouncer_url, schema=schema, table_prefix=prefix)
        for _ in range(12)
    ]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        await asyncio.gather(
            *(store.append(f"s{index}", [Message.user("hi")]) for index, store in enumerate(stores))
        )
        assert await stores[0].count() == len(stores)
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            cursor = await conn.execute(
                sql.SQL("SELECT version FROM {} ORDER BY version").format(
                    sql.Identifier(schema, f"{prefix}migrations")
                )
            )
            versions = [row[0] for row in await cursor.fetchall()]
        assert versions == list(range(1, len(q.MIGRATIONS) + 1))
    finally:
        await asyncio.gather(*(store.close() for store in stores))
        await drop_prefix(postgres_url, prefix, schema)
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
            await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {}").format(sql.Identifier(schema)))


async def count_prepared(store: PostgresSessionStore) -> int:
    """How many statements the server has prepared on the connection the store's next call gets."""

    async def prepared(conn: psycopg.AsyncConnection[Any]) -> int:
        cursor = await conn.execute("SELECT count(*) FROM pg_prepared_statements")
        row = await cursor.fetchone()
        return 0 if row is None else int(row[0])

    conns = await store._conns()
    return await conns.run("count prepared statements", prepared, idempotent=True)


@pytest.mark.parametrize(
    ("query", "prepares"), [("", False), ("&prepare_threshold=0", True)], ids=["default", "opt-in"]
)
async def test_connections_prepare_nothing_unless_asked(
    postgres_url: str, query: str, prepares: bool
) -> None:
    """By default nothing is prepared on the server (a pooler may swap server connections);
    ``prepare_threshold`` turns psycopg's prepared statements on for a direct connection."""
    prefix = unique_prefix()
    try:
        url = f"{postgres_url}?table_prefix={prefix}{query}"
        async with PostgresSessionStore(url, max_connections=1) as store:
            for turn in range(10):
                await store.append("s", [Message.user(f"turn {turn}")])
                await store.load("s")
            assert (await count_prepared(store) > 0) is prepares
    finally:
        await drop_prefix(postgres_url, prefix)


@pytest.mark.parametrize("value", [-1, 1.5, "many", True])
def test_a_bad_prepare_threshold_is_refused(value: object) -> None:
    url = "postgresql://app@127.0.0.1:5432/agents"
    with pytest.raises(InvalidArgumentError, match="prepare_threshold"):
        PostgresSessionStore(url, prepare_threshold=value)  # type: ignore[arg-type]
    if isinstance(value, str):
        with pytest.raises(InvalidArgumentError, match="prepare_threshold"):
            PostgresSessionStore(f"{url}?prepare_threshold={value}")
