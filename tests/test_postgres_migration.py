"""A database written by the released PostgreSQL backend opens, upgrades in place, loses nothing.

tests/fixtures/postgres_released.sql is a plain-SQL dump of tables the released
code wrote (scripts/make_postgres_fixture.py), postgres_released.json the
content it read back. Each test loads the dump into a database of its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
from psycopg import sql

from plugins.postgres import PostgresServer
from sessionstore import Message, PostgresSessionStore
from sessionstore.backends.postgres.schema import MIGRATIONS

FIXTURES = Path(__file__).parent / "fixtures"
RELEASED_VERSION = 2


@pytest.fixture
def released_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new database holding the released backend's tables, as its dump recreates them."""
    name = f"released_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = postgres_server.admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute((FIXTURES / "postgres_released.sql").read_text(encoding="utf-8"))
        yield url
    finally:
        with psycopg.connect(postgres_server.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def expected_sessions() -> list[dict[str, Any]]:
    content = json.loads((FIXTURES / "postgres_released.json").read_text(encoding="utf-8"))
    assert content["schema_version"] == RELEASED_VERSION
    sessions: list[dict[str, Any]] = content["sessions"]
    return sessions


def migrations(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT version, applied_at FROM sessionstore_migrations ORDER BY version"
        ).fetchall()


async def test_the_released_database_reads_back_equal_in_listing_order(released_url: str) -> None:
    assert [row[0] for row in migrations(released_url)] == [1, 2]
    expected = expected_sessions()
    async with PostgresSessionStore(released_url) as store:
        records = await store.list()
        assert [record.id for record in records] == [session["id"] for session in expected]
        for record, session in zip(records, expected, strict=True):
            assert record.message_count == session["message_count"]
            assert record.created_at == datetime.fromisoformat(session["created_at"])
            assert record.updated_at == datetime.fromisoformat(session["updated_at"])
            assert record.version == session["version"]
            assert record.attributes == {}
            messages = await store.load(record.id)
            assert messages is not None
            assert json.loads(msgspec.json.encode(messages)) == session["messages"]
            tail = await store.load(record.id, start=-3)
            assert tail == messages[-3:]
        assert await store.count() == len(expected)
        assert await store.namespaces() == [""]
    assert [row[0] for row in migrations(released_url)] == list(range(1, len(MIGRATIONS) + 1))


async def test_the_upgraded_database_takes_round_2_writes(released_url: str) -> None:
    expected = {session["id"]: session for session in expected_sessions()}
    async with PostgresSessionStore(released_url) as store:
        long = expected["long"]
        record = await store.append("long", [Message.user("new")], attributes={"title": "Long"})
        assert record.version == long["version"] + 1
        assert record.message_count == long["message_count"] + 1
        assert record.attributes == {"title": "Long"}
        popped = await store.pop("long", 2)
        assert [m.text for m in popped] == [long["messages"][-1]["content"], "new"]
        await store.replace_tail("long", -5, [Message.user("summary")])
        loaded = await store.load("long")
        assert loaded is not None and len(loaded) == long["message_count"] - 5
        assert loaded[-1] == Message.user("summary")
        forked = await store.fork("tools", "tools-copy", stop=2)
        assert forked.message_count == 2
        assert await store.load("tools-copy") == (await store.load("tools") or [])[:2]
        await store.append("empty", [Message.user("first")])
        assert await store.load("empty") == [Message.user("first")]
        await store.namespace("tenant").save("plain", [Message.user("other")])
        assert await store.namespaces() == ["", "tenant"]
        listed = [record.id for record in await store.list()]
        assert listed[-3:] == ["long", "tools-copy", "empty"]


async def test_a_second_open_changes_nothing(released_url: str) -> None:
    async with PostgresSessionStore(released_url) as store:
        await store.save("after", [Message.user("x")])
    before = migrations(released_url)
    async with PostgresSessionStore(released_url) as store:
        assert await store.load("after") == [Message.user("x")]
        assert await store.count() == len(expected_sessions()) + 1
    assert migrations(released_url) == before
    moment = datetime(2020, 1, 1, tzinfo=UTC)
    assert all(applied > moment for _, applied in before)
