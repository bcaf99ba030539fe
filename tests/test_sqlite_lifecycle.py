"""SQLite lifecycle: errors on open and under a lock, close, a store never closed, and
first use from many threads and event loops at once."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from plugins.sqlite import raw
from sessionstore import (
    Message,
    StoreClosedError,
    StoreUnavailableError,
)
from sessionstore.backends.sqlite import SQLiteSessionStore


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


def test_first_calls_from_five_threads_each_with_its_own_loop(tmp_path: Path) -> None:
    """An unopened store used at once from five threads, each on its own loop, then again
    from new loops: every call's result arrives on its caller's loop."""
    store = SQLiteSessionStore(tmp_path / "threads.db")
    start = threading.Barrier(5)

    async def calls(n: int) -> list[Message] | None:
        loop = asyncio.get_running_loop()
        start.wait()
        await store.append(f"s{n}", [Message.user(f"first {n}")])
        assert asyncio.get_running_loop() is loop
        await store.namespace(f"t{n}").save("s", [Message.user("ns")])
        await store.update_attributes(f"s{n}", {"thread": n})
        assert await store.count() >= 1
        return await store.load(f"s{n}")

    def run(n: int) -> list[Message] | None:
        return asyncio.run(calls(n))

    for round_ in range(2):  # the second round: the loops of the first are gone
        with ThreadPoolExecutor(5) as pool:
            results = list(pool.map(run, range(5)))
        assert results == [[Message.user(f"first {n}")] * (round_ + 1) for n in range(5)]

    async def check() -> None:
        assert sorted(await store.namespaces()) == ["", "t0", "t1", "t2", "t3", "t4"]
        for n in range(5):
            record = await store.get(f"s{n}")
            assert record is not None and record.attributes == {"thread": n}
        await store.close()

    asyncio.run(check())


# -- opening under cancellation, timeouts and close (issue 17, item 4) ---------------------


def _sqlite_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("sessionstore-sqlite")}


def _descriptors_on(path: Path) -> list[str]:
    """What this process holds open of the database file, its WAL, -shm or journal."""
    names = {str(path), *(f"{path}{suffix}" for suffix in ("-wal", "-shm", "-journal"))}
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone already
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target in names:
                found.append(target)
    return found


async def _threads_end(before: set[threading.Thread]) -> set[threading.Thread]:
    """The SQLite threads not in ``before`` still alive after a moment to return."""
    for _ in range(200):
        left = _sqlite_threads() - before
        if not left:
            break
        await asyncio.sleep(0.01)
    return left


async def _writer_connecting(before: set[threading.Thread]) -> None:
    """Wait until a new SQLite thread runs (it blocks on the lock of ``_locked_file``)."""
    for _ in range(10_000):
        if _sqlite_threads() - before:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("no SQLite thread started")


def _locked_file(path: Path) -> sqlite3.Connection:
    """A rollback-journal file held under an EXCLUSIVE lock: a store's open waits on it."""
    with contextlib.closing(raw(path)) as conn:
        conn.execute("CREATE TABLE unrelated (x)")
    blocker = raw(path)
    blocker.execute("BEGIN EXCLUSIVE")
    return blocker


async def test_ten_first_calls_timing_out_then_close_leave_no_thread_or_descriptor(
    tmp_path: Path,
) -> None:
    path = tmp_path / "timeouts.db"
    before = _sqlite_threads()
    store = SQLiteSessionStore(path)
    for _ in range(10):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(store.count(), 0.0001)
    await store.close()
    assert await _threads_end(before) == set()
    assert _descriptors_on(path) == []


def test_an_open_cut_by_its_loop_stopping_is_released_by_close(tmp_path: Path) -> None:
    """``asyncio.run`` returns while the open waits for a lock: its loop cancels the open.
    The writer thread, still connecting, must end and let go of the file once close()d."""
    path = tmp_path / "cut.db"
    before = _sqlite_threads()
    blocker = _locked_file(path)
    store = SQLiteSessionStore(path, busy_timeout=30)

    async def start_then_leave() -> None:
        counting = asyncio.ensure_future(store.count())
        await _writer_connecting(before)
        assert not counting.done()  # asyncio.run cancels it and the open on leaving

    try:
        asyncio.run(start_then_leave())
    finally:
        blocker.rollback()
        blocker.close()

    async def close_then_check() -> None:
        assert await store.count() == 0  # the next call, on another loop, opens it again
        await store.close()
        assert await _threads_end(before) == set(), "a thread of the cut open outlived close()"

    asyncio.run(close_then_check())
    assert _descriptors_on(path) == []


async def test_close_during_a_blocked_open_stops_the_pending_call(tmp_path: Path) -> None:
    path = tmp_path / "close-while-opening.db"
    before = _sqlite_threads()
    blocker = _locked_file(path)
    store = SQLiteSessionStore(path, busy_timeout=30)
    pending = asyncio.ensure_future(store.save("s", [Message.user("after close")]))
    await _writer_connecting(before)
    closing = asyncio.ensure_future(store.close())
    await asyncio.sleep(0.05)  # close() waits for the open, which waits for the lock
    blocker.rollback()
    blocker.close()
    await closing
    with pytest.raises(StoreClosedError):
        await pending
    assert await _threads_end(before) == set()
    async with SQLiteSessionStore(path) as again:
        assert await again.count() == 0, "the call pending at close() ran after it"


# -- the finaliser (issue 17, item 14) ------------------------------------------------------

#: Uses a store and never closes it. ``os`` keeps it: a module imported before sessionstore is
#: cleared after it at exit, so the store's ``__del__`` runs once this backend's module globals
#: (``warnings`` among them) are None, as with any store a long-lived object still holds.
_UNCLOSED_AT_EXIT = """
import asyncio, gc, os, sys
from sessionstore import Message, SQLiteSessionStore

store = SQLiteSessionStore(sys.argv[1])
asyncio.run(store.save("s", [Message.user("never closed")]))
if sys.argv[2] == "collect":
    del store
    gc.collect()
    print("collected", flush=True)
else:
    os.kept_store = store
"""


@pytest.mark.parametrize(
    ("how", "options"),
    [
        ("at-exit", []),
        ("at-exit", ["-X", "dev"]),
        ("collect", ["-X", "dev"]),  # a running program: ResourceWarning only
        ("collect", ["-W", "error"]),  # the warning would raise inside __del__
    ],
)
def test_an_unclosed_store_never_prints_a_traceback(
    tmp_path: Path, how: str, options: list[str]
) -> None:
    path = tmp_path / "unclosed.db"
    done = subprocess.run(
        [sys.executable, *options, "-c", _UNCLOSED_AT_EXIT, str(path), how],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    for line in filter(str.strip, done.stderr.splitlines()):  # at most a ResourceWarning
        assert "ResourceWarning" in line or line.startswith(" "), done.stderr
    if how == "collect" and "-X" in options:
        assert "ResourceWarning: unclosed SQLiteSessionStore" in done.stderr
    with contextlib.closing(raw(path)) as conn:  # what it wrote is there, the file sound
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
