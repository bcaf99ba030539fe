"""SQLite group commit: concurrent writers, failures that stay with their call, the state cache.

Several tests run calls as one batch (``plugins.sqlite.in_one_batch``) to
check what one call of a transaction does to the others.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from plugins.sqlite import in_one_batch, segment_count
from sessionstore import (
    BackendError,
    ConflictError,
    InvalidArgumentError,
    Message,
)
from sessionstore.backends.sqlite import SQLiteSessionStore
from sessionstore.backends.sqlite.schema import (
    MAX_SMALL_RUN,
)


async def test_concurrent_appends_to_one_session_all_land_contiguously(tmp_path: Path) -> None:
    tasks, calls = 64, 10
    async with SQLiteSessionStore(tmp_path / "g.db") as store:

        async def worker(task: int) -> None:
            for call in range(calls):
                await store.append(
                    "shared",
                    [Message.user(f"{task}:{call}:{part}") for part in range(3)],
                )

        await asyncio.gather(*(worker(task) for task in range(tasks)))
        messages = await store.load("shared")
        record = await store.get("shared")
    assert messages is not None and record is not None
    assert len(messages) == record.message_count == tasks * calls * 3
    assert record.version == tasks * calls
    texts = [message.text or "" for message in messages]
    seen: dict[int, list[int]] = {}
    for start in range(0, len(texts), 3):
        task, call, part = texts[start].split(":")
        assert part == "0"
        # Each call's three messages are contiguous.
        assert texts[start : start + 3] == [f"{task}:{call}:{n}" for n in range(3)]
        seen.setdefault(int(task), []).append(int(call))
    assert seen == {task: list(range(calls)) for task in range(tasks)}


async def test_concurrent_appends_to_many_sessions_all_land(tmp_path: Path) -> None:
    path = tmp_path / "many.db"
    async with SQLiteSessionStore(path) as store:

        async def worker(task: int) -> None:
            for call in range(25):
                await store.append(f"s{task}", [Message.user(str(call))])

        await asyncio.gather(*(worker(task) for task in range(48)))
    async with SQLiteSessionStore(path) as store:
        assert await store.count() == 48
        for task in range(48):
            loaded = await store.load(f"s{task}")
            assert loaded == [Message.user(str(call)) for call in range(25)]


async def test_a_conflict_in_a_batch_fails_alone_and_order_follows_calls(tmp_path: Path) -> None:
    path = tmp_path / "batch.db"
    async with SQLiteSessionStore(path) as store:
        await store.save("existing", [Message.user("v1")])
        outcomes = await in_one_batch(
            path,
            store,
            store.append("p", [Message.user("p")]),
            store.append("existing", [Message.user("bad")], expected_version=5),
            store.save("q", [Message.user("q")], expected_version=0),
            store.save("q", [Message.user("q-again")], expected_version=0),
            store.append("existing", [Message.user("v2")], expected_version=1),
            store.save("r", [Message.user("r")]),
        )
        assert isinstance(outcomes[1], ConflictError)
        assert outcomes[1].actual == 1
        assert isinstance(outcomes[3], ConflictError)
        assert outcomes[3].actual == 1
        for index in (0, 2, 4, 5):
            assert not isinstance(outcomes[index], BaseException), outcomes[index]
        assert await store.load("existing") == [Message.user("v1"), Message.user("v2")]
        assert await store.load("q") == [Message.user("q")]
        listed = [record.id for record in await store.list()]
        assert listed == ["first", "p", "q", "existing", "r"]


async def test_a_disk_full_call_fails_alone_and_the_store_recovers(tmp_path: Path) -> None:
    path = tmp_path / "full.db"
    async with SQLiteSessionStore(path) as store:
        await store.save("a", [Message.user("small")])
        # Cap the database size on the writer's own connection: a real SQLITE_FULL.
        assert store._writer is not None

        def cap(conn: sqlite3.Connection, batch: object) -> None:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages + 20:d}")

        await store._writer.submit(cap)
        big = [Message.user("x" * 1_000_000)]
        too_big, fits, also_too_big, fits_too = await in_one_batch(
            path,
            store,
            store.append("a", big),
            store.append("b", [Message.user("fits")]),
            store.save("c", big),
            store.append("a", [Message.user("fits too")]),
        )
        for failure in (too_big, also_too_big):
            assert isinstance(failure, BackendError)
            assert isinstance(failure.__cause__, sqlite3.Error)
        assert not isinstance(fits, BaseException)
        assert not isinstance(fits_too, BaseException)
        assert await store.load("a") == [Message.user("small"), Message.user("fits too")]
        assert await store.load("b") == [Message.user("fits")]
        assert await store.load("c") is None
        assert [record.id for record in await store.list()] == ["first", "b", "a"]


async def test_a_call_that_fails_after_writing_is_undone_and_its_batch_mates_land(
    tmp_path: Path,
) -> None:
    path = tmp_path / "undo.db"
    async with SQLiteSessionStore(path) as store:
        assert store._writer is not None

        def half_written(conn: sqlite3.Connection, batch: object) -> None:
            conn.execute("UPDATE sessions SET message_count = 999")
            raise ConflictError("late", expected=1, actual=2)  # after it wrote: undone

        before, failed, after = await in_one_batch(
            path,
            store,
            store.append("p", [Message.user("p")]),
            store._writer.submit(half_written),
            store.append("p", [Message.user("q")]),
        )
        assert isinstance(failed, ConflictError)
        assert not isinstance(before, BaseException) and before.version == 1
        assert not isinstance(after, BaseException) and after.version == 2
        assert await store.load("p") == [Message.user("p"), Message.user("q")]
        assert [(r.id, r.message_count) for r in await store.list()] == [("first", 1), ("p", 2)]


async def test_one_batch_of_appends_saves_deletes_and_prunes_sees_its_own_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer defers appends' writes to one executemany per batch: whatever
    # reads or rewrites a session later in the same batch must see them. (If one
    # did not, a failed flush would re-run the batch guarded: checked to not happen.)
    path = tmp_path / "deferred.db"
    async with SQLiteSessionStore(path) as store:
        writer = store._writer
        assert writer is not None
        attempts: list[tuple[int, bool]] = []
        attempt = writer._attempt

        def spy(conn: sqlite3.Connection, batch: list[Any], *, guarded: bool) -> Any:
            attempts.append((len(batch), guarded))
            return attempt(conn, batch, guarded=guarded)

        monkeypatch.setattr(writer, "_attempt", spy)
        await store.save("merged", [Message.user("0")])
        runs = 2 * MAX_SMALL_RUN + 3  # crosses merges of runs whose segments were deferred
        calls: list[Awaitable[Any]] = [store.append("pruned", [Message.user("gone")])]
        calls += [store.append("merged", [Message.user(str(n))]) for n in range(1, runs)]
        calls += [
            store.append("first", [Message.user("2")]),
            store.prune(keep_newest=2),  # "pruned", not "merged" and "first"
            store.append("saved", [Message.user("gone")]),
            store.save("saved", [Message.user("kept")], expected_version=1),
            store.append("saved", [Message.user("after")], expected_version=2),
            store.append("deleted", [Message.user("gone")]),
            store.delete("deleted"),
            store.append("deleted", [Message.user("new")]),
            store.append("last", [Message.user("kept")], expected_version=0),
            store.append("last", [Message.user("stale")], expected_version=0),
        ]
        outcomes = await in_one_batch(path, store, *calls)
        assert isinstance(outcomes[-1], ConflictError) and outcomes[-1].actual == 1
        assert not any(isinstance(outcome, BaseException) for outcome in outcomes[:-1])
        assert attempts == [(1, False), (1, False), (len(calls), False)]
        assert await store.load("merged") == [Message.user(str(n)) for n in range(runs)]
        assert segment_count(path, "merged") <= MAX_SMALL_RUN + 1
        assert await store.load("saved") == [Message.user("kept"), Message.user("after")]
        assert await store.load("deleted") == [Message.user("new")]
        listed = [record.id for record in await store.list()]
        assert listed == ["merged", "first", "saved", "deleted", "last"]
        record = await store.append("saved", [Message.user("next")], expected_version=3)
        assert (record.version, record.message_count) == (4, 3)


async def test_writes_by_another_connection_are_seen_by_the_writer(tmp_path: Path) -> None:
    # The writer caches session states between batches; a commit by any other
    # connection (PRAGMA data_version) must make it read the table again.
    path = tmp_path / "shared.db"
    expected: list[Message] = []
    async with SQLiteSessionStore(path) as one, SQLiteSessionStore(path) as two:
        for n in range(3 * MAX_SMALL_RUN):
            message = Message.user(str(n))
            record = await (one if n % 3 else two).append("s", [message], expected_version=n)
            expected.append(message)
            assert (record.version, record.message_count) == (n + 1, n + 1)
        await two.save("s", [Message.user("reset")])
        record = await one.append("s", [Message.user("more")])
        assert (record.version, record.message_count) == (3 * MAX_SMALL_RUN + 2, 2)
        await two.delete("s")
        with pytest.raises(ConflictError):
            await one.append("s", [Message.user("stale")], expected_version=record.version)
        record = await one.append("s", [Message.user("anew")])
        assert (record.version, record.message_count) == (1, 1)
        assert await two.load("s") == [Message.user("anew")]


async def test_event_loop_keeps_running_during_a_large_save(tmp_path: Path) -> None:
    big = [Message.user("x" * 1_000_000) for _ in range(8)]
    async with SQLiteSessionStore(tmp_path / "big.db") as store:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0)

        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        start_ticks = ticks
        for _ in range(3):
            await store.save("big", big)
        done.set()
        await ticking
        assert ticks - start_ticks >= 3  # the loop ran while SQLite wrote
        assert await store.load("big") == big


async def test_round_2_writes_in_one_batch_see_each_others_deferred_rows(tmp_path: Path) -> None:
    """Appends defer their rows to the end of the batch; every call after them in the same
    transaction (attributes, pop, replace_tail, fork, the same id in another namespace,
    an oversized attribute change that fails alone) still sees and keeps them."""
    path = tmp_path / "mixed.db"
    m = [Message.user(str(n)) for n in range(8)]
    async with SQLiteSessionStore(path) as store:
        await store.save("s", [m[0]])
        tenant = store.namespace("tenant")
        outcomes = await in_one_batch(
            path,
            store,
            store.append("s", [m[1]]),
            store.update_attributes("s", {"title": "t"}),
            store.append("s", [m[2], m[3]], attributes={"n": 1}),
            tenant.append("s", [m[7]]),
            store.update_attributes("s", {"big": "x" * 70_000}),
            store.pop("s", 1),
            store.append("s", [m[4]]),
            store.replace_tail("s", -1, [m[5]]),
            store.fork("s", "copy", stop=3),
            store.append("copy", [m[6]]),
        )
        assert [getattr(o, "version", None) for o in outcomes[:4]] == [2, 3, 4, 1]
        assert isinstance(outcomes[4], InvalidArgumentError)
        assert outcomes[5] == [m[3]]
        assert await store.load("s") == [m[0], m[1], m[2], m[5]]
        record = await store.get("s")
        assert record is not None and record.version == 7
        assert record.attributes == {"title": "t", "n": 1}
        assert await store.load("copy") == [m[0], m[1], m[2], m[6]]
        copy = await store.get("copy")
        assert copy is not None and copy.attributes == {"title": "t", "n": 1}
        assert copy.version == 2
        assert await tenant.load("s") == [m[7]]
        assert [r.id for r in await store.list()] == ["first", "s", "copy"]
