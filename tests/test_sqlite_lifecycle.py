"""SQLite lifecycle: errors on open and under a lock, close, a store never closed, and
first use from many threads and event loops at once."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
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
