"""What the tests of the ``sessionstore`` command share: running it, filling and reading stores.

The command's tests are split by feature (``test_cli_sessions``, ``test_cli_export``,
``test_cli_import``, ``test_cli_copy``, ``test_cli_maintenance``, ``test_cli_namespaces``,
``test_cli_editing``); end-to-end runs of the installed console script live in
``test_cli_roundtrip``, and ``test_cli_compat`` imports a file the released CLI exported.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
import redis.asyncio
from psycopg import sql
from typer.testing import CliRunner, Result

from sessionstore import (
    Message,
    PostgresSessionStore,
    RedisSessionStore,
    SQLiteSessionStore,
    open_store,
)
from sessionstore._records import SessionRecord
from sessionstore.cli.app import app

__all__ = [
    "contents",
    "corrupt",
    "invoke",
    "jsonl",
    "namespaces",
    "records",
    "seed",
    "session_line",
    "stamps",
]

RUNNER = CliRunner()


def invoke(*args: str, input: str | bytes | None = None) -> Result:
    """Run the command in process; unexpected exceptions propagate to the test."""
    result = RUNNER.invoke(app, list(args), input=input, catch_exceptions=False)
    return result


def seed(
    url: str,
    sessions: dict[str, list[Any]],
    *,
    namespace: str = "",
    attributes: dict[str, Any] | None = None,
) -> None:
    """Save ``sessions`` into ``namespace`` of the store at ``url``, each with ``attributes``."""

    async def work() -> None:
        async with open_store(url) as store:
            view = store.namespace(namespace) if namespace else store
            for session_id, messages in sessions.items():
                await view.save(session_id, messages, attributes=attributes)

    asyncio.run(work())


def contents(url: str, namespace: str = "") -> dict[str, list[Message]]:
    """Every session of ``namespace`` of the store at ``url``, in listing order."""

    async def work() -> dict[str, list[Message]]:
        async with open_store(url) as store:
            view = store.namespace(namespace) if namespace else store
            result: dict[str, list[Message]] = {}
            for record in await view.list():
                messages = await view.load(record.id)
                assert messages is not None
                result[record.id] = messages
            return result

    return asyncio.run(work())


def records(url: str, namespace: str = "") -> list[SessionRecord]:
    """Every record of ``namespace`` of the store at ``url``, in listing order."""

    async def work() -> list[SessionRecord]:
        async with open_store(url) as store:
            return await (store.namespace(namespace) if namespace else store).list()

    return asyncio.run(work())


def namespaces(url: str) -> list[str]:
    """The namespaces of the store at ``url`` that hold sessions."""

    async def work() -> list[str]:
        async with open_store(url) as store:
            return await store.namespaces()

    return asyncio.run(work())


def stamps(url: str) -> list[tuple[str, int, datetime, datetime]]:
    """(id, message_count, created_at, updated_at) of every session, in listing order."""
    return [(r.id, r.message_count, r.created_at, r.updated_at) for r in records(url)]


def jsonl(rows: Sequence[Any]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def session_line(session_id: str, text: str = "hi") -> dict[str, Any]:
    return {"id": session_id, "messages": [{"role": "user", "content": text}]}


def corrupt(url: str, session_id: str, message: bytes) -> None:
    """Store ``message`` (raw bytes, meant to be one message's JSON) as a session's only message.

    Written with the backend's own driver, past every check of the library, as
    damage on disk or an older release's data would be. The session must not exist yet.
    """

    async def work() -> None:
        async with open_store(url) as store:
            await store.save(session_id, [])
            await store.append(session_id, [Message.user("placeholder")])
            if isinstance(store, SQLiteSessionStore):
                with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
                    conn.execute(
                        "UPDATE segments SET payload = ? WHERE session_key = "
                        "(SELECT key FROM sessions WHERE id = ?)",
                        (b"[" + message + b"]", session_id),
                    )
            elif isinstance(store, PostgresSessionStore):
                await _corrupt_postgres(url, store, session_id, b"[" + message + b"]")
            else:
                assert isinstance(store, RedisSessionStore)
                client = redis.asyncio.Redis.from_url(url)
                try:
                    await client.lset(store.session_keys(session_id).segments, -1, message.decode())
                finally:
                    await client.aclose()

    asyncio.run(work())


async def _corrupt_postgres(
    url: str, store: PostgresSessionStore, session_id: str, payload: bytes
) -> None:
    segments = sql.Identifier(store.schema, store.table_prefix + "segments")
    sessions = sql.Identifier(store.schema, store.table_prefix + "sessions")
    query = sql.SQL("UPDATE {} SET payload = %s WHERE key = (SELECT key FROM {} WHERE id = %s)")
    conninfo = url.partition("?")[0]
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute(query.format(segments, sessions), (payload, session_id))
