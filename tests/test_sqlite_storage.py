"""SQLite stored data: corruption, segment compaction, hostile ids, invalid input writes nothing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from plugins.sqlite import HOSTILE_IDS, dump, raw, segment_count
from sessionstore import (
    CorruptSessionError,
    InvalidArgumentError,
    InvalidMessageError,
    InvalidSessionIdError,
    Message,
)
from sessionstore.backends.sqlite import SQLiteSessionStore
from sessionstore.backends.sqlite.schema import (
    MAX_SMALL_RUN,
    SMALL_SEGMENT_BYTES,
)


async def test_corrupt_payload_names_the_session_and_spares_others(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    async with SQLiteSessionStore(path) as store:
        await store.save("bad", [Message.user("soon garbage")])
        await store.save("good", [Message.user("fine")])
        with raw(path) as conn:
            conn.execute(
                "UPDATE segments SET payload = ? WHERE session_key = "
                "(SELECT key FROM sessions WHERE id = ?)",
                (b"\x00not json{", "bad"),
            )
        with pytest.raises(CorruptSessionError, match="'bad'") as caught:
            await store.load("bad")
        assert caught.value.session_id == "bad"
        assert await store.load("good") == [Message.user("fine")]
        assert [record.id for record in await store.list()] == ["bad", "good"]
        # Overwriting the corrupt session repairs it.
        await store.save("bad", [Message.user("repaired")])
        assert await store.load("bad") == [Message.user("repaired")]


async def test_compaction_bounds_segments_and_keeps_loads_exact(tmp_path: Path) -> None:
    path = tmp_path / "compact.db"
    expected: list[Message] = []
    async with SQLiteSessionStore(path) as store:
        for n in range(300):
            batch = [Message.user(f"m{n}")] if n % 7 else []
            await store.append("s", batch)
            expected.extend(batch)
        assert await store.load("s") == expected
        assert segment_count(path, "s") <= MAX_SMALL_RUN + 1
        large = [Message.assistant("L" * SMALL_SEGMENT_BYTES)]
        await store.append("s", large)
        expected.extend(large)
        for n in range(100):
            await store.append("s", [Message.user(f"after{n}")])
            expected.append(Message.user(f"after{n}"))
        assert await store.load("s") == expected
        stored_bytes = sum(len(m.to_json()) for m in expected)
        bound = stored_bytes // SMALL_SEGMENT_BYTES + MAX_SMALL_RUN + 2
        assert segment_count(path, "s") <= bound
        record = await store.get("s")
        assert record is not None and record.message_count == len(expected)
        await store.save("s", [Message.user("reset")])
        assert segment_count(path, "s") == 1
        assert await store.load("s") == [Message.user("reset")]


async def test_delete_and_prune_remove_segments(tmp_path: Path) -> None:
    path = tmp_path / "prune.db"
    async with SQLiteSessionStore(path) as store:
        for n in range(5):
            await store.save(f"s{n}", [Message.user(str(n))])
            await store.append(f"s{n}", [Message.user("more")])
        await store.delete("s0")
        assert await store.prune(keep_newest=2) == 2
        assert [record.id for record in await store.list()] == ["s3", "s4"]
    with raw(path) as conn:
        keys = {key for (key,) in conn.execute("SELECT key FROM sessions")}
        segment_keys = {key for (key,) in conn.execute("SELECT session_key FROM segments")}
    assert segment_keys == keys


async def test_hostile_ids_round_trip_and_leave_the_schema_alone(tmp_path: Path) -> None:
    path = tmp_path / "hostile.db"
    async with SQLiteSessionStore(path) as store:
        await store.save("seed", [])
        tables_before = dump(path)[1]
        for session_id in HOSTILE_IDS:
            await store.save(session_id, [Message.user(f"for {session_id}")])
            await store.append(session_id, [Message.assistant(session_id)])
        for session_id in HOSTILE_IDS:
            assert await store.load(session_id) == [
                Message.user(f"for {session_id}"),
                Message.assistant(session_id),
            ]
        assert await store.count() == len(HOSTILE_IDS) + 1
        listed = [record.id for record in await store.list()]
        assert listed == ["seed", *HOSTILE_IDS]
    assert dump(path)[1] == tables_before
    # Nothing was created outside the database (its -wal / -shm files aside).
    names = await asyncio.to_thread(os.listdir, tmp_path)
    assert all(name.startswith("hostile.db") for name in names), names


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.save("", [Message.user("x")]), InvalidSessionIdError),
        (lambda s: s.append("a\x00b", [Message.user("x")]), InvalidSessionIdError),
        (lambda s: s.save("x" * 1025, [Message.user("x")]), InvalidSessionIdError),
        (lambda s: s.append("\ud800", [Message.user("x")]), InvalidSessionIdError),
        (lambda s: s.save(7, [Message.user("x")]), InvalidSessionIdError),
        (lambda s: s.save("kept", [Message.user("ok"), {"role": "x"}]), InvalidMessageError),
        (lambda s: s.append("kept", [{"role": "user", "content": 5}]), InvalidMessageError),
        (lambda s: s.append("kept", "not a list"), InvalidMessageError),
        (lambda s: s.save("kept", [], expected_version=-1), InvalidArgumentError),
        (lambda s: s.delete(""), InvalidSessionIdError),
    ],
)
async def test_invalid_input_writes_nothing(
    tmp_path: Path, call: Any, error: type[Exception]
) -> None:
    path = tmp_path / "invalid.db"
    async with SQLiteSessionStore(path) as store:
        await store.save("kept", [Message.user("original")])
        before = dump(path)
        with pytest.raises(error):
            await call(store)
        assert dump(path) == before
        assert await store.load("kept") == [Message.user("original")]


async def test_invalid_message_reports_its_index(tmp_path: Path) -> None:
    async with SQLiteSessionStore(tmp_path / "index.db") as store:
        with pytest.raises(InvalidMessageError) as caught:
            await store.append("s", [Message.user("ok"), {"role": "robot", "content": "x"}])
        assert caught.value.index == 1
        assert await store.load("s") is None
