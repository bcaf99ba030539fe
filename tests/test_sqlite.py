"""SQLite-specific behaviour: options, schema versions, group commit, corruption, compaction.

The generic contract is checked by the conformance suite; these tests cover
what only the SQLite backend promises, on real database files in ``tmp_path``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from sessionstore import (
    BackendError,
    ConflictError,
    CorruptSessionError,
    InvalidArgumentError,
    InvalidMessageError,
    InvalidSessionIdError,
    Message,
    SchemaVersionError,
    StoreClosedError,
    StoreUnavailableError,
)
from sessionstore.backends.sqlite import SQLiteSessionStore
from sessionstore.backends.sqlite.schema import (
    MAX_SMALL_RUN,
    MIGRATIONS,
    SCHEMA_VERSION,
    SMALL_SEGMENT_BYTES,
)
from sessionstore.testing import HOSTILE_IDS as SHARED_HOSTILE_IDS

#: The suite's hostile ids, plus SQL-injection and case shapes aimed at SQLite.
HOSTILE_IDS = [
    *SHARED_HOSTILE_IDS,
    "x'); DROP TABLE segments; --",
    "' OR '1'='1",
    '"; DELETE FROM sessions; --',
    "SPACED",
    "\n\t",
]


def raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection to the store's file, to look behind the API."""
    return sqlite3.connect(path, isolation_level=None)


def dump(path: Path) -> list[Any]:
    """Every row of every table, plus the schema and its version."""
    with raw(path) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        rows: list[Any] = [conn.execute("PRAGMA user_version").fetchone(), tables]
        for table in tables:
            rows.append(sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall()))
    return rows


def segment_count(path: Path, session_id: str) -> int:
    with raw(path) as conn:
        count: int = conn.execute(
            "SELECT count(*) FROM segments WHERE session_key = "
            "(SELECT key FROM sessions WHERE id = ?)",
            (session_id,),
        ).fetchone()[0]
    return count


async def in_one_batch(path: Path, store: SQLiteSessionStore, *calls: Awaitable[Any]) -> list[Any]:
    """Run ``calls`` as one group-commit batch; their results or exceptions, in order.

    Another connection holds the write lock, so the writer stalls on a first
    append ("first") and the calls queue behind it and commit together.
    """
    blocker = raw(path)
    blocker.execute("BEGIN IMMEDIATE")
    first = asyncio.create_task(store.append("first", [Message.user("1")]))
    await asyncio.sleep(0.1)
    pending = asyncio.gather(*calls, return_exceptions=True)
    await asyncio.sleep(0.1)
    blocker.execute("ROLLBACK")
    blocker.close()
    await first
    return await pending


# -- options and URLs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"path": "x.db", "durability": "fast"}, "durability"),
        ({"path": "x.db", "durability": None}, "durability"),
        ({"path": "x.db", "busy_timeout": 0}, "busy_timeout"),
        ({"path": "x.db", "busy_timeout": True}, "busy_timeout"),
        ({"path": "x.db", "busy_timeout": float("nan")}, "busy_timeout"),
        ({"path": "x.db", "durability": ["full"]}, "durability"),
        ({"path": "", "durability": "full"}, "path"),
        ({"path": ":memory:"}, "path"),
        ({"path": 42}, "path"),
    ],
)
def test_bad_options_raise_invalid_argument(arguments: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidArgumentError, match=problem):
        SQLiteSessionStore(**arguments)


@pytest.mark.parametrize(
    ("url", "path", "durability"),
    [
        ("sqlite:///relative.db", "relative.db", "full"),
        ("sqlite:///dir/relative.db", "dir/relative.db", "full"),
        ("sqlite:////abs/path.db", "/abs/path.db", "full"),
        ("sqlite:////abs/with%20space.db?durability=normal", "/abs/with space.db", "normal"),
    ],
)
def test_from_url(url: str, path: str, durability: str) -> None:
    store = SQLiteSessionStore.from_url(url)
    assert store.path == Path(path)
    assert store.durability == durability
    assert path in repr(store)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://host/x.db",
        "sqlite:///x.db?durability=fast",
        "sqlite:///x.db?journal=off",
        "sqlite:///",
    ],
)
def test_bad_urls_raise_invalid_argument(url: str) -> None:
    with pytest.raises(InvalidArgumentError):
        SQLiteSessionStore.from_url(url)


@pytest.mark.parametrize("durability", ["full", "normal"])
async def test_both_durabilities_persist_across_reopen(tmp_path: Path, durability: str) -> None:
    path = tmp_path / "d.db"
    async with SQLiteSessionStore(path, durability=durability) as store:  # type: ignore[arg-type]
        assert store._writer is not None
        synchronous = await store._writer.submit(
            lambda conn, batch: conn.execute("PRAGMA synchronous").fetchone()[0]
        )
        assert synchronous == {"full": 2, "normal": 1}[durability]
        await store.save("s", [Message.user("one")])
        await store.append("s", [Message.assistant("two")])
    async with SQLiteSessionStore(path) as store:
        assert await store.load("s") == [Message.user("one"), Message.assistant("two")]
        record = await store.get("s")
        assert record is not None and record.version == 2


async def test_file_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    async with SQLiteSessionStore(path) as store:
        await store.save("s", [Message.user("hi")])
        with raw(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- schema versions -----------------------------------------------------------------


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


# -- errors from SQLite --------------------------------------------------------------


async def test_missing_directory_is_unavailable(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "missing" / "x.db")
    with pytest.raises(StoreUnavailableError) as caught:
        await store.load("s")
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    await store.close()


async def test_lock_held_by_another_process_is_unavailable_then_recovers(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    async with SQLiteSessionStore(path, busy_timeout=0.2) as store:
        await store.save("s", [Message.user("before")])
        blocker = raw(path)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreUnavailableError) as caught:
                await store.append("s", [Message.user("blocked")])
            assert isinstance(caught.value.__cause__, sqlite3.Error)
            # Reads still work while another connection holds the write lock.
            assert await store.load("s") == [Message.user("before")]
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        await store.append("s", [Message.user("after")])
        assert await store.load("s") == [Message.user("before"), Message.user("after")]


# -- group commit --------------------------------------------------------------------


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


async def test_close_waits_for_queued_writes(tmp_path: Path) -> None:
    path = tmp_path / "close.db"
    store = SQLiteSessionStore(path)
    await store.open()
    writes = [asyncio.create_task(store.append("s", [Message.user(str(n))])) for n in range(50)]
    await asyncio.sleep(0)  # every task has queued its write
    await store.close()
    await asyncio.gather(*writes)
    with pytest.raises(StoreClosedError):
        await store.load("s")
    async with SQLiteSessionStore(path) as reopened:
        loaded = await reopened.load("s")
    assert loaded is not None and sorted(m.text or "" for m in loaded) == sorted(
        str(n) for n in range(50)
    )


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


# -- stored data ---------------------------------------------------------------------


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


# -- lifecycle -----------------------------------------------------------------------


async def test_calls_after_close_raise(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "closed.db")
    async with store:
        await store.save("s", [Message.user("hi")])
    await store.close()  # idempotent
    with pytest.raises(StoreClosedError):
        await store.save("s", [Message.user("again")])
    with pytest.raises(StoreClosedError):
        await store.count()
    assert "closed" in repr(store)


async def test_unclosed_store_warns(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "leak.db")
    await store.save("s", [Message.user("hi")])
    with pytest.warns(ResourceWarning, match="unclosed"):
        del store
        gc.collect()
