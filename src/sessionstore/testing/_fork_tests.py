"""``fork``: a copy of a session's first messages and attributes, as a ``save`` of the target.

An unknown source raises SessionNotFoundError whatever ``expected_version``
says: that version is the target's, and there is nothing to copy.
"""

from __future__ import annotations

from typing import Any

import pytest

from sessionstore._errors import (
    ConflictError,
    InvalidArgumentError,
    InvalidSessionIdError,
    SessionNotFoundError,
    SessionStoreError,
)
from sessionstore._messages import Message
from sessionstore._records import MAX_INT64
from sessionstore._store import SessionStore
from sessionstore.testing._support import ids_of, numbered, store_test, wait_for_clock_past

__all__ = ["ForkTests"]


class ForkTests:
    """Copying a session inside the storage: new targets, overwritten targets, bad calls."""

    @store_test
    async def test_fork_copies_messages_and_attributes(self, store: SessionStore) -> None:
        source = await store.save("source", numbered(4), attributes={"title": "t", "n": [1]})
        await store.save("other", [])
        record = await store.fork("source", "target")
        assert record.version == 1 and record.message_count == 4
        assert record.attributes == {"title": "t", "n": [1]}
        assert record == await store.get("target")
        assert await store.load("target") == numbered(4)
        assert await store.get("source") == source, "the source is only read"
        assert ids_of(await store.list()) == ["source", "other", "target"]
        # Two sessions from then on: writes to one do not reach the other.
        await store.append("target", [Message.user("only in the fork")])
        await store.update_attributes("target", {"title": None})
        assert await store.load("source") == numbered(4)
        assert await store.get("source") == source

    @store_test
    async def test_fork_stops_where_asked(self, store: SessionStore) -> None:
        messages = numbered(5)
        await store.save("source", messages)
        for stop in (None, -100, -6, -2, -1, 0, 1, 3, 5, 6, 100):
            record = await store.fork("source", f"to {stop}", stop=stop)
            assert await store.load(f"to {stop}") == messages[:stop], stop
            assert record.message_count == len(messages[:stop])

    @store_test
    async def test_fork_replaces_the_target_as_a_save_would(self, store: SessionStore) -> None:
        await store.save("source", numbered(2), attributes={"title": "source"})
        old = await store.save("target", numbered(9, "old"), attributes={"owner": "x"})
        await store.append("target", [])
        await wait_for_clock_past(old.updated_at)
        record = await store.fork("source", "target")
        assert record.version == 3 and record.message_count == 2
        assert record.created_at == old.created_at and record.updated_at > old.updated_at
        assert dict(record.attributes) == {"title": "source"}, "stale target keys must go"
        assert await store.load("target") == numbered(2)
        assert ids_of(await store.list()) == ["source", "target"]
        empty = await store.save("bare", [])
        await store.fork("bare", "target")
        target = await store.get("target")
        assert target is not None and target.attributes == {} and target.message_count == 0
        assert empty.attributes == {}

    @store_test
    async def test_fork_onto_itself_keeps_the_first_messages(self, store: SessionStore) -> None:
        await store.save("s", numbered(4), attributes={"title": "t"})
        record = await store.fork("s", "s", stop=-1)
        assert record.version == 2 and record.attributes == {"title": "t"}
        assert await store.load("s") == numbered(3)

    @store_test
    async def test_fork_checks_the_target_version(self, store: SessionStore) -> None:
        await store.save("source", numbered(2))
        target = await store.save("target", numbered(3, "t"))
        for wrong in (0, 2):
            with pytest.raises(ConflictError) as info:
                await store.fork("source", "target", expected_version=wrong)
            assert info.value.expected == wrong and info.value.actual == 1
        assert await store.get("target") == target
        assert (await store.fork("source", "target", expected_version=1)).version == 2
        assert (await store.fork("source", "new", expected_version=0)).version == 1
        with pytest.raises(ConflictError):
            await store.fork("source", "newer", expected_version=1)
        assert await store.get("newer") is None

    @store_test
    async def test_fork_of_an_unknown_source_writes_nothing(self, store: SessionStore) -> None:
        target = await store.save("target", numbered(2))
        for expected in (None, 0, 1, 5):
            for to in ("target", "fresh"):
                with pytest.raises(SessionNotFoundError) as info:
                    await store.fork("nobody", to, expected_version=expected)
                assert isinstance(info.value, KeyError)
                assert isinstance(info.value, SessionStoreError)
                assert "nobody" in str(info.value)
        assert await store.get("target") == target and await store.get("fresh") is None
        assert await store.count() == 1

    @store_test
    async def test_fork_refuses_bad_arguments(self, store: SessionStore) -> None:
        source = await store.save("source", numbered(2))
        bad_stops: tuple[Any, ...] = ("1", 1.0, True, [1], MAX_INT64 + 1)
        for stop in bad_stops:
            with pytest.raises(InvalidArgumentError, match="stop"):
                await store.fork("source", "target", stop=stop)
        bad_versions: tuple[Any, ...] = (-1, 1.5, "0", False)
        for version in bad_versions:
            with pytest.raises(InvalidArgumentError, match="expected_version"):
                await store.fork("source", "target", expected_version=version)
        for bad_id in ("", "a\x00b", "x" * 1025, 7):
            with pytest.raises(InvalidSessionIdError):
                await store.fork(bad_id, "target")  # type: ignore[arg-type]
            with pytest.raises(InvalidSessionIdError):
                await store.fork("source", bad_id)  # type: ignore[arg-type]
        assert await store.list() == [source]
