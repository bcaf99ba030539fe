"""A database written by the released schema 2 (tests/fixtures/sqlite_schema2.db) opens,
is migrated in place to the current schema with nothing lost, and accepts every write.

The fixture and its expected content come from ``scripts/make_sqlite_fixture.py``, run
with the released code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from plugins.sqlite import dump, integrity_check, raw
from sessionstore import BackendError, Message
from sessionstore.backends.sqlite import SQLiteSessionStore
from sessionstore.backends.sqlite.schema import MIGRATIONS, SCHEMA_VERSION

FIXTURES = Path(__file__).parent / "fixtures"


def _expected() -> list[dict[str, Any]]:
    document = json.loads((FIXTURES / "sqlite_schema2.json").read_text(encoding="utf-8"))
    assert document["schema_version"] == 2
    sessions: list[dict[str, Any]] = document["sessions"]
    return sessions


@pytest.fixture
def schema2(tmp_path: Path) -> Path:
    """A copy of the schema-2 fixture, at schema version 2."""
    path = tmp_path / "schema2.db"
    shutil.copyfile(FIXTURES / "sqlite_schema2.db", path)
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    return path


async def test_everything_reads_back_equal_in_the_same_order(schema2: Path) -> None:
    expected = _expected()
    async with SQLiteSessionStore(schema2) as store:
        records = await store.list()
        assert [record.id for record in records] == [session["id"] for session in expected]
        for record, session in zip(records, expected, strict=True):
            assert record.message_count == session["message_count"]
            assert record.created_at.isoformat() == session["created_at"]
            assert record.updated_at.isoformat() == session["updated_at"]
            assert record.version == session["version"]
            assert record.attributes == {}
            loaded = await store.load(record.id)
            assert loaded is not None
            assert [message.to_dict() for message in loaded] == session["messages"]
        assert await store.count() == len(expected)
        assert await store.namespaces() == [""]
    with raw(schema2) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    integrity_check(f"sqlite:///{schema2}")


async def test_slices_of_migrated_multi_segment_transcripts(schema2: Path) -> None:
    by_id = {session["id"]: session["messages"] for session in _expected()}
    async with SQLiteSessionStore(schema2) as store:
        for session_id in ("many-appends", "large segments", "tools"):
            messages = by_id[session_id]
            for start in range(-len(messages) - 1, len(messages) + 1, 3):
                for stop in (None, start + 1, start + 7, -1):
                    loaded = await store.load(session_id, start=start, stop=stop)
                    assert loaded is not None
                    assert [m.to_dict() for m in loaded] == messages[start:stop]


async def test_migrated_store_accepts_every_write(schema2: Path) -> None:
    expected = {session["id"]: session for session in _expected()}
    long = expected["many-appends"]
    async with SQLiteSessionStore(schema2) as store:
        record = await store.append("many-appends", [Message.user("after")])
        assert record.version == long["version"] + 1
        assert record.message_count == long["message_count"] + 1
        assert [r.id for r in await store.list()][-1] == "many-appends"
        assert await store.pop("many-appends", 2) == [
            Message.from_dict(long["messages"][-1]),
            Message.user("after"),
        ]
        loaded = await store.load("many-appends")
        assert loaded is not None
        assert [m.to_dict() for m in loaded] == long["messages"][:-1]
        await store.replace_tail("tools", -1, [Message.assistant("replaced")])
        tools = await store.load("tools")
        assert tools is not None and tools[-1] == Message.assistant("replaced")
        assert len(tools) == expected["tools"]["message_count"]
        titled = await store.update_attributes("empty", {"title": "t"})
        assert titled.attributes == {"title": "t"}
        await store.save("new", [Message.user("n")], attributes={"k": 1})
        forked = await store.fork("large segments", "copy", stop=3)
        assert forked.message_count == 3
        tenant = store.namespace("tenant")
        await tenant.save("émoji 🎉 ключ", [Message.user("other namespace")])
        assert await store.namespaces() == ["", "tenant"]
        assert await tenant.count() == 1
        assert await store.count() == len(expected) + 2
    async with SQLiteSessionStore(schema2) as store:
        reopened = await store.get("empty")
        assert reopened is not None and reopened.attributes == {"title": "t"}
        assert await store.load("émoji 🎉 ключ") == [Message.user("héllo ✓ 你好", name="ünï")]


async def test_a_second_open_changes_nothing(schema2: Path) -> None:
    async with SQLiteSessionStore(schema2):
        pass
    migrated = dump(schema2)
    async with SQLiteSessionStore(schema2) as store:
        assert len(await store.list()) == len(_expected())
    assert dump(schema2) == migrated
    assert migrated[0] == (SCHEMA_VERSION,)


async def test_a_failed_migration_leaves_the_file_as_it_was(
    schema2: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dump(schema2)
    broken = [*MIGRATIONS[:-1], MIGRATIONS[-1] + ";\nSELECT * FROM no_such_table"]
    monkeypatch.setattr("sessionstore.backends.sqlite.connection.MIGRATIONS", broken)
    store = SQLiteSessionStore(schema2)
    with pytest.raises(BackendError):
        await store.open()
    await store.close()
    assert dump(schema2) == before
