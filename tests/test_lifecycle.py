"""Opening and closing under cancellation, timeouts and concurrent close, on every URL backend.

A caller that gives up while the store opens must not leave threads or connections behind, and
``close()`` during the open must not let a pending call run afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading

import pytest

from plugins._urls import StoreUrls
from sessionstore import Message, SessionRecord, StoreClosedError, open_store


def _threads() -> set[int]:
    return {thread.ident or 0 for thread in threading.enumerate()}


async def test_callers_that_time_out_during_the_open_leave_nothing_behind(
    store_urls: StoreUrls,
) -> None:
    url = store_urls.new()
    before = _threads()
    store = open_store(url)
    for _ in range(10):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(store.count(), 0.0001)
    await store.save("s", [Message.user("still works")])
    assert await store.load("s") == [Message.user("still works")]
    await store.close()
    gc.collect()
    for _ in range(100):  # a thread may still be returning from its last line
        if _threads() <= before:
            break
        await asyncio.sleep(0.01)
    assert _threads() <= before, "threads outlived close()"


async def test_close_during_the_open_stops_the_pending_calls(store_urls: StoreUrls) -> None:
    url = store_urls.new()
    store = open_store(url)
    pending = [asyncio.ensure_future(store.save(f"s{i}", [Message.user("x")])) for i in range(5)]
    await asyncio.sleep(0)  # the open has started
    await store.close()
    outcomes = await asyncio.gather(*pending, return_exceptions=True)
    for outcome in outcomes:
        assert isinstance(outcome, StoreClosedError), outcome
    async with open_store(url) as again:
        assert await again.count() == 0, "a call cut by close() was applied"


async def test_a_cancelled_first_caller_does_not_break_the_open_for_the_others(
    store_urls: StoreUrls,
) -> None:
    store = open_store(store_urls.new())
    first = asyncio.ensure_future(store.count())
    others = [asyncio.ensure_future(store.count()) for _ in range(3)]
    await asyncio.sleep(0)
    first.cancel()
    assert await asyncio.gather(*others) == [0, 0, 0]
    with pytest.raises(asyncio.CancelledError):
        await first
    await store.close()


async def test_close_lets_calls_under_way_finish_and_refuses_the_rest(
    store_urls: StoreUrls,
) -> None:
    """Issue 17 #5: no call is cut by close(); each one either landed or raised StoreClosedError."""
    url = store_urls.new()
    store = open_store(url)
    await store.open()
    calls = [
        asyncio.ensure_future(store.append(f"s{index}", [Message.user(str(index))]))
        for index in range(60)
    ]
    await asyncio.sleep(0.001)  # some calls are under way, others not yet started
    await store.close()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    landed = {
        f"s{index}" for index, outcome in enumerate(outcomes) if isinstance(outcome, SessionRecord)
    }
    for outcome in outcomes:
        assert isinstance(outcome, SessionRecord | StoreClosedError), repr(outcome)
    async with open_store(url) as again:
        assert {record.id for record in await again.list()} == landed


def test_loops_that_end_right_after_concurrent_first_calls_end(store_urls: StoreUrls) -> None:
    """Two calls at once on a loop new to the store, then ``asyncio.run`` returns, eight times.

    psycopg-pool's workers ignore a cancel in the middle of a maintenance task; the store's
    per-loop closer ends them, so the loop always closes (it used to hang now and then).
    """
    store = open_store(store_urls.new())

    def on_its_own_loop() -> None:
        asyncio.run(store.save("s1", [Message.user("x")]))

    for _ in range(8):
        workers = [threading.Thread(target=on_its_own_loop, daemon=True) for _ in range(5)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
            assert not worker.is_alive(), "asyncio.run did not return"

        async def two_at_once() -> None:
            assert await store.get("s1") is not None
            await asyncio.gather(store.get("s1"), store.get("unknown"))

        finisher = threading.Thread(target=lambda: asyncio.run(two_at_once()), daemon=True)
        finisher.start()
        finisher.join(60)
        assert not finisher.is_alive(), "asyncio.run did not return"
    asyncio.run(store.close())
