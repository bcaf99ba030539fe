"""SQLite schema versions: recorded on create, a newer one refused, an older one migrated."""

from __future__ import annotations

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


async def test_a_schema_1_file_is_migrated_and_keeps_its_transcripts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v1.db"
    long = [Message.user(f"m{n}") for n in range(3 * MAX_SMALL_RUN)]
    with monkeypatch.context() as patched:
        patched.setattr("sessionstore.backends.sqlite.connection.MIGRATIONS", MIGRATIONS[:1])
        patched.setattr("sessionstore.backends.sqlite.connection.SCHEMA_VERSION", 1)
        async with SQLiteSessionStore(path) as store:
            for message in long:
                await store.append("long", [message])
            await store.save("other", [Message.user("o")])
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    async with SQLiteSessionStore(path) as store:
        assert await store.load("long") == long
        assert await store.load("other") == [Message.user("o")]
        await store.append("long", [Message.user("after")])
        assert await store.load("long") == [*long, Message.user("after")]
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
