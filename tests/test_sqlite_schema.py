"""SQLite schema versions: recorded on create, a newer one refused, an older one migrated."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from plugins.sqlite import dump, raw
from sessionstore import (
    Message,
    SchemaVersionError,
)
from sessionstore.backends.sqlite import SQLiteSessionStore
from sessionstore.backends.sqlite.schema import (
    MAX_SMALL_RUN,
    MIGRATIONS,
    SCHEMA_VERSION,
)


async def test_schema_version_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    async with SQLiteSessionStore(path):
        pass
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert len(MIGRATIONS) == SCHEMA_VERSION
    assert {"sessions", "segments"} <= tables
    # Reopening an up-to-date file applies nothing and keeps the data.
    async with SQLiteSessionStore(path) as store:
        await store.save("s", [Message.user("kept")])
    async with SQLiteSessionStore(path) as store:
        assert await store.load("s") == [Message.user("kept")]


async def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    async with SQLiteSessionStore(path) as store:
        await store.save("s", [Message.user("hi")])
    with raw(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = dump(path)
    store = SQLiteSessionStore(path)
    with pytest.raises(SchemaVersionError, match=f"schema version {SCHEMA_VERSION + 1}"):
        await store.open()
    await store.close()
    assert dump(path) == before


def _write_schema_1(path: Path, transcripts: dict[str, list[Message]]) -> None:
    """A schema-1 file as that schema's writer laid it out: segments of up to three messages."""
    with closing(raw(path)) as conn:
        for statement in MIGRATIONS[0].split(";"):
            if statement.strip():
                conn.execute(statement)
        for seq, (session_id, messages) in enumerate(transcripts.items(), start=1):
            chunks = [messages[n : n + 3] for n in range(0, len(messages), 3)]
            conn.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, 1000, 2000, ?, ?, ?, ?)",
                (seq, session_id, len(messages), len(chunks), seq, len(chunks), len(chunks) - 1),
            )
            for position, chunk in enumerate(chunks):
                payload = b"[" + b",".join(message.to_json() for message in chunk) + b"]"
                conn.execute("INSERT INTO segments VALUES (?, ?, ?)", (seq, position, payload))
        conn.execute("PRAGMA user_version = 1")


async def test_a_schema_1_file_is_migrated_and_keeps_its_transcripts(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    long = [Message.user(f"m{n}") for n in range(3 * MAX_SMALL_RUN)]
    _write_schema_1(path, {"long": long, "other": [Message.user("o")]})
    async with SQLiteSessionStore(path) as store:
        assert await store.load("long") == long
        assert await store.load("long", start=-4) == long[-4:]
        assert await store.load("other") == [Message.user("o")]
        assert [record.id for record in await store.list()] == ["long", "other"]
        await store.append("long", [Message.user("after")])
        assert await store.load("long") == [*long, Message.user("after")]
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
