"""One store object from many threads and event loops, as the contract's "Threads and event loops".

Five threads, each with a loop of its own, make the first calls on an unopened store at the
same moment; a store opened on one loop serves another loop, a loop in another thread and
``asyncio.run`` per call. Run for every backend of ``conftest.BACKENDS``: a backend whose
plugin offers ``<name>_new_store`` (an unopened store) uses it, the others open a new store
from ``<name>_urls``. Nothing here names a backend.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from conftest import BACKENDS
from plugins._urls import StoreUrls
from sessionstore import Message, SessionStore, open_store

THREADS = 5
#: Appends each thread makes to the shared session after its first calls.
ROUNDS = 4


def _plugin_fixture(request: pytest.FixtureRequest, name: str) -> Any:
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        return None


@pytest.fixture(params=BACKENDS)
def new_store(request: pytest.FixtureRequest) -> Callable[[], SessionStore]:
    """Makes a fresh, empty store that has not been opened yet, once per backend."""
    maker: Callable[[], SessionStore] | None = _plugin_fixture(
        request, f"{request.param}_new_store"
    )
    if maker is not None:
        return maker
    urls: StoreUrls | None = _plugin_fixture(request, f"{request.param}_urls")
    if urls is None:
        pytest.skip(f"the {request.param} plugin offers neither _new_store nor _urls")
    return lambda: open_store(urls.new())


def _message(thread: int, step: int) -> Message:
    return Message.user(f"thread {thread} step {step}", metadata={"thread": thread, "step": step})


async def _first_calls(store: SessionStore, barrier: threading.Barrier, thread: int) -> None:
    """What one thread does: wait for the others, then all call the unopened store at once."""
    view = store.namespace(f"thread {thread}")
    barrier.wait()
    records = await asyncio.gather(
        store.append("shared", [_message(thread, 0)]),
        view.save("own", [Message.user(str(thread))], attributes={"thread": thread}),
        store.count(),
        view.load("own"),
    )
    assert records[2] >= 0 and records[3] in (None, [Message.user(str(thread))])
    for step in range(1, ROUNDS):
        await store.append("shared", [_message(thread, step)])
        assert await view.load("own") == [Message.user(str(thread))]
    record = await view.get("own")
    assert record is not None and record.attributes == {"thread": thread}


async def _check_shared(store: SessionStore) -> None:
    loaded = await store.load("shared")
    assert loaded is not None and len(loaded) == THREADS * ROUNDS
    for thread in range(THREADS):
        steps = [m.metadata["step"] for m in loaded if m.metadata["thread"] == thread]
        assert steps == list(range(ROUNDS)), (thread, steps)
    record = await store.get("shared")
    assert record is not None and record.version == THREADS * ROUNDS
    for thread in range(THREADS):
        assert await store.namespace(f"thread {thread}").count() == 1
    assert await store.count() == 1


def test_first_use_from_five_threads_at_once(new_store: Callable[[], SessionStore]) -> None:
    store = new_store()
    barrier = threading.Barrier(THREADS, timeout=60)
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [
            pool.submit(asyncio.run, _first_calls(store, barrier, thread))
            for thread in range(THREADS)
        ]
        for future in futures:
            future.result()
    asyncio.run(_check_shared(store))
    asyncio.run(store.close())
    assert store.closed


def test_a_store_opened_on_one_loop_serves_other_loops(
    new_store: Callable[[], SessionStore],
) -> None:
    store = new_store()
    expected = [Message.user(str(step)) for step in range(6)]
    with asyncio.Runner() as first:
        first.run(store.open())
        first.run(store.save("s", expected[:1]))
        with asyncio.Runner() as second:  # another loop in this thread; the first stays
            assert second.run(store.append("s", expected[1:2])).version == 2
            assert second.run(store.load("s")) == expected[:2]
        with ThreadPoolExecutor(1) as pool:  # a loop in another thread
            pool.submit(asyncio.run, store.append("s", expected[2:3])).result()
            assert pool.submit(asyncio.run, store.count()).result() == 1
        for step in range(3, 6):  # asyncio.run per call: a new loop each time
            asyncio.run(store.append("s", expected[step : step + 1]))
        assert first.run(store.load("s")) == expected
        record = first.run(store.get("s"))
        assert record is not None and record.version == 6
        first.run(store.close())
    assert store.closed


def test_asyncio_run_per_call(new_store: Callable[[], SessionStore]) -> None:
    store = new_store()
    view = store.namespace("per call")
    run = asyncio.run
    assert run(store.count()) == 0
    run(store.save("s", [Message.user("a"), Message.user("b")], attributes={"k": 1}))
    run(store.append("s", [Message.user("c")]))
    assert run(store.load("s", start=-2)) == [Message.user("b"), Message.user("c")]
    assert run(store.pop("s")) == [Message.user("c")]
    snap = run(store.snapshot("s"))
    assert snap is not None and snap.record.version == 3
    run(store.fork("s", "copy", stop=1))
    run(store.replace_tail("copy", 0, [Message.user("z")]))
    assert run(store.update_attributes("copy", {"k": None})).attributes == {}
    run(view.save("s", []))

    async def scan() -> list[str]:
        return [str(record.id) async for record in store.scan(page_size=1)]

    assert run(scan()) == ["s", "copy"]
    assert run(view.count()) == 1 and run(view.clear()) == 1
    assert run(store.prune(keep_newest=1)) == 1
    assert [str(record.id) for record in run(store.list())] == ["copy"]
    run(store.close())
    assert store.closed
