"""Lifecycle and concurrency: close, ``async with``, fresh stores, many tasks at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from sessionstore._errors import ConflictError, StoreClosedError
from sessionstore._messages import Message
from sessionstore._records import ListOptions, SessionRecord
from sessionstore._store import SessionStore
from sessionstore.testing._support import StoreFactory, factory_test, store_test, tagged

__all__ = ["LifecycleAndConcurrencyTests"]


class LifecycleAndConcurrencyTests:
    """A store's life from open to close, and its atomicity under concurrent tasks."""

    # -- lifecycle -------------------------------------------------------------------

    @factory_test
    async def test_close_is_idempotent_and_final(self, factory: StoreFactory) -> None:
        async with factory() as store:
            await store.save("s", [Message.user("a")])
            await store.close()
            await store.close()
            assert store.closed
            calls: dict[str, Callable[[], Awaitable[object]]] = {
                "load": lambda: store.load("s"),
                "save": lambda: store.save("s", [Message.user("b")]),
                "append": lambda: store.append("s", [Message.user("b")]),
                "get": lambda: store.get("s"),
                "list": lambda: store.list(),
                "list_paginated": lambda: store.list_paginated(ListOptions(limit=1)),
                "count": lambda: store.count(),
                "delete": lambda: store.delete("s"),
                "prune": lambda: store.prune(keep_newest=0),
                "snapshot": lambda: store.snapshot("s"),
                "pop": lambda: store.pop("s"),
                "replace_tail": lambda: store.replace_tail("s", 0, []),
                "fork": lambda: store.fork("s", "t"),
                "update_attributes": lambda: store.update_attributes("s", {"k": 1}),
                "clear": lambda: store.clear(),
                "open": lambda: store.open(),
            }
            for name, call in calls.items():
                with pytest.raises(StoreClosedError):
                    await call()
                    pytest.fail(f"{name} after close did not raise StoreClosedError")
            with pytest.raises(StoreClosedError):
                async with store:
                    pass

    @factory_test
    async def test_async_with_closes_the_store(self, factory: StoreFactory) -> None:
        async with factory() as outer:
            async with outer as store:
                assert store is outer
                await store.save("s", [Message.user("a")])
                assert await store.count() == 1
            assert store.closed
            with pytest.raises(StoreClosedError):
                await store.count()

    @factory_test
    async def test_factory_gives_empty_independent_stores(self, factory: StoreFactory) -> None:
        async with factory() as first:
            await first.save("s", [Message.user("a")])
        async with factory() as second:
            assert await second.count() == 0
            assert await second.load("s") is None

    # -- concurrency -----------------------------------------------------------------

    @store_test
    async def test_concurrent_appends_all_land_contiguously(self, store: SessionStore) -> None:
        tasks, per_call = 24, 3

        async def writer(task: int) -> SessionRecord:
            batch = [tagged("user", task=task, seq=seq) for seq in range(per_call)]
            return await store.append("shared", batch)

        records = await asyncio.gather(*(writer(task) for task in range(tasks)))
        assert sorted(record.version for record in records) == list(range(1, tasks + 1))
        loaded = await store.load("shared")
        assert loaded is not None and len(loaded) == tasks * per_call
        tags = [message.metadata for message in loaded]
        for start in range(0, len(tags), per_call):
            call = tags[start : start + per_call]
            assert [tag["seq"] for tag in call] == list(range(per_call)), call
            assert len({tag["task"] for tag in call}) == 1, call
        assert sorted({tag["task"] for tag in tags}) == list(range(tasks))
        final = await store.get("shared")
        assert final is not None
        assert final.version == tasks and final.message_count == tasks * per_call

    @store_test
    async def test_concurrent_saves_leave_one_whole_transcript(self, store: SessionStore) -> None:
        tasks, size = 16, 5
        transcripts = [[tagged("user", task=t, seq=s) for s in range(size)] for t in range(tasks)]
        await asyncio.gather(*(store.save("shared", t) for t in transcripts))
        assert await store.load("shared") in transcripts
        final = await store.get("shared")
        assert final is not None and final.version == tasks and final.message_count == size

    @store_test
    async def test_concurrent_writers_to_many_sessions(self, store: SessionStore) -> None:
        async def writer(name: str) -> None:
            for step in range(4):
                await store.append(name, [tagged("assistant", name=name, step=step)])

        names = [f"w{i}" for i in range(12)]
        await asyncio.gather(*(writer(name) for name in names))
        assert await store.count() == len(names)
        assert sorted(str(record.id) for record in await store.list()) == sorted(names)
        for name in names:
            loaded = await store.load(name)
            assert loaded == [tagged("assistant", name=name, step=step) for step in range(4)]

    @store_test
    async def test_conflicting_creates_let_exactly_one_win(self, store: SessionStore) -> None:
        async def create(task: int) -> bool:
            try:
                await store.save("once", [tagged("user", task=task)], expected_version=0)
            except ConflictError:
                return False
            return True

        outcomes = await asyncio.gather(*(create(task) for task in range(10)))
        assert outcomes.count(True) == 1
        winner = outcomes.index(True)
        assert await store.load("once") == [tagged("user", task=winner)]
