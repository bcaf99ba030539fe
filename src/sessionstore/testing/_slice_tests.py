"""Slices and snapshots: ``load(start=, stop=)`` with Python semantics, ``snapshot()``."""

from __future__ import annotations

from typing import Any

import pytest

from sessionstore._errors import ConflictError, InvalidArgumentError, InvalidSessionIdError
from sessionstore._messages import Message
from sessionstore._records import MAX_INT64, Snapshot
from sessionstore._store import SessionStore
from sessionstore.testing._support import numbered, store_test

__all__ = ["SliceAndSnapshotTests"]

#: Bounds around a 7-message transcript: negative, inside, at and past both ends.
_BOUNDS = (-100, -9, -7, -6, -3, -1, 0, 1, 3, 6, 7, 9, 100)
#: What every slice bound must refuse (start and stop alike).
_BAD_BOUNDS: tuple[Any, ...] = ("1", 1.0, True, False, [1], MAX_INT64 + 1, -MAX_INT64 - 1)


class SliceAndSnapshotTests:
    """A window of a transcript, alone or with its record read in the same step."""

    @store_test
    async def test_load_slices_follow_python_slice_semantics(self, store: SessionStore) -> None:
        messages = numbered(7)
        await store.save("s", messages)
        for start in _BOUNDS:
            assert await store.load("s", start=start) == messages[start:], start
            for stop in (None, *_BOUNDS):
                got = await store.load("s", start=start, stop=stop)
                assert got == messages[start:stop], (start, stop)
        assert await store.load("s", stop=-2) == messages[:-2]

    @store_test
    async def test_tail_and_what_came_after(self, store: SessionStore) -> None:
        await store.save("s", numbered(30))
        await store.append("s", numbered(5, "new"))
        assert await store.load("s", start=-20) == (numbered(30) + numbered(5, "new"))[-20:]
        assert await store.load("s", start=30) == numbered(5, "new")
        assert await store.load("s", start=35) == []
        assert await store.load("s", start=-1) == [Message.user("new4")]

    @store_test
    async def test_slices_of_unknown_and_empty_sessions(self, store: SessionStore) -> None:
        assert await store.load("nobody", start=-3) is None
        assert await store.load("nobody", start=1, stop=2) is None
        assert await store.snapshot("nobody") is None
        assert await store.snapshot("nobody", start=-1) is None
        await store.save("empty", [])
        assert await store.load("empty", start=-5, stop=5) == []
        snap = await store.snapshot("empty", start=2)
        assert snap is not None and snap.messages == []
        assert snap.record == await store.get("empty")
        assert await store.count() == 1, "reading must create nothing"

    @store_test
    async def test_snapshot_is_the_record_and_the_slice(self, store: SessionStore) -> None:
        messages = numbered(6)
        await store.save("s", messages[:4], attributes={"title": "t"})
        record = await store.append("s", messages[4:])
        snap = await store.snapshot("s")
        assert isinstance(snap, Snapshot)
        assert snap.record == record == await store.get("s")
        assert snap.messages == messages
        for start, stop in ((-2, None), (1, 3), (0, -1), (5, 2), (-100, 100)):
            window = await store.snapshot("s", start=start, stop=stop)
            assert window is not None
            assert window.record == record and window.messages == messages[start:stop]
        assert (await store.get("s")) == record, "a snapshot is not a write"

    @store_test
    async def test_snapshot_gives_a_safe_read_modify_write(self, store: SessionStore) -> None:
        await store.save("s", numbered(3))
        snap = await store.snapshot("s")
        assert snap is not None
        await store.append("s", [Message.user("someone else")])
        with pytest.raises(ConflictError) as info:
            await store.save("s", snap.messages[1:], expected_version=snap.record.version)
        assert info.value.expected == snap.record.version
        assert info.value.actual == snap.record.version + 1
        fresh = await store.snapshot("s")
        assert fresh is not None
        record = await store.save("s", fresh.messages[1:], expected_version=fresh.record.version)
        assert record.version == fresh.record.version + 1
        assert await store.load("s") == fresh.messages[1:]

    @store_test
    async def test_slice_bounds_are_checked(self, store: SessionStore) -> None:
        await store.save("s", numbered(3))
        before = await store.get("s")
        for bad in _BAD_BOUNDS:
            for read in (store.load, store.snapshot):
                with pytest.raises(InvalidArgumentError, match="start"):
                    await read("s", start=bad)
                with pytest.raises(InvalidArgumentError, match="stop"):
                    await read("s", stop=bad)
        for read in (store.load, store.snapshot):
            with pytest.raises(InvalidArgumentError, match="start"):
                await read("s", start=None)  # type: ignore[arg-type]
            with pytest.raises(InvalidSessionIdError):
                await read("", start=-1)
        # The largest bounds storage can hold are fine.
        assert await store.load("s", start=-MAX_INT64, stop=MAX_INT64) == numbered(3)
        assert await store.load("s", start=MAX_INT64) == []
        assert await store.get("s") == before
