"""Editing the end of a transcript: ``pop`` and ``replace_tail``, each one atomic write.

Where the contract is silent the suite holds every backend to one answer:
``pop(id, 0)`` is refused (InvalidArgumentError: a pop removes at least one
message), and a call that needs an existing session checks ``expected_version``
first, as every write does, so an unknown id with ``expected_version=N > 0``
raises ConflictError (actual 0) and with ``None`` or ``0`` SessionNotFoundError.
"""

from __future__ import annotations

from typing import Any

import pytest

from sessionstore._errors import (
    ConflictError,
    InvalidArgumentError,
    InvalidMessageError,
    InvalidSessionIdError,
    SessionNotFoundError,
    SessionStoreError,
)
from sessionstore._messages import Message
from sessionstore._records import MAX_INT64
from sessionstore._store import SessionStore
from sessionstore.testing._support import ids_of, numbered, store_test, wait_for_clock_past

__all__ = ["PopAndReplaceTailTests"]


async def _written_before(store: SessionStore, *ids: str) -> None:
    """Write ``ids`` in order, then let the clock move: a later write gets a later stamp."""
    for session_id in ids:
        last = await store.save(session_id, numbered(5), attributes={"kept": session_id})
    await wait_for_clock_past(last.updated_at)


class PopAndReplaceTailTests:
    """Removing the last messages, and replacing everything from an index on."""

    # -- pop ---------------------------------------------------------------------------

    @store_test
    async def test_pop_returns_the_last_messages_in_order(self, store: SessionStore) -> None:
        await _written_before(store, "s", "other")
        before = await store.get("s")
        assert before is not None
        assert await store.pop("s") == [Message.user("m4")]
        assert await store.pop("s", 2) == [Message.user("m2"), Message.user("m3")]
        assert await store.load("s") == numbered(2)
        record = await store.get("s")
        assert record is not None
        assert record.version == before.version + 2 and record.message_count == 2
        assert record.updated_at > before.updated_at and record.created_at == before.created_at
        assert record.attributes == {"kept": "s"}
        assert ids_of(await store.list()) == ["other", "s"], "a pop is a write: it moves last"

    @store_test
    async def test_pop_more_than_there_is(self, store: SessionStore) -> None:
        await store.save("s", numbered(3))
        assert await store.pop("s", 10) == numbered(3)
        record = await store.get("s")
        assert record is not None and record.message_count == 0 and record.version == 2
        assert await store.load("s") == []

    @store_test
    async def test_pop_of_nothing_writes_nothing(self, store: SessionStore) -> None:
        assert await store.pop("nobody") == []
        assert await store.pop("nobody", 5, expected_version=0) == []
        assert await store.get("nobody") is None and await store.count() == 0
        await _written_before(store, "empty", "other")
        empty = await store.save("empty", [])
        await store.save("other", [])
        assert await store.pop("empty", 3) == []
        assert await store.get("empty") == empty
        assert ids_of(await store.list()) == ["empty", "other"]

    @store_test
    async def test_pop_checks_expected_version(self, store: SessionStore) -> None:
        await store.save("s", numbered(3))
        record = await store.append("s", [])
        for wrong in (0, 1, 3):
            with pytest.raises(ConflictError) as info:
                await store.pop("s", expected_version=wrong)
            assert info.value.expected == wrong and info.value.actual == 2
        assert await store.get("s") == record
        assert await store.pop("s", expected_version=2) == [Message.user("m2")]
        # An unknown id is version 0: expecting more conflicts, as for save.
        with pytest.raises(ConflictError) as info:
            await store.pop("nobody", expected_version=1)
        assert info.value.actual == 0
        assert await store.get("nobody") is None

    @store_test
    async def test_pop_refuses_bad_arguments(self, store: SessionStore) -> None:
        await store.save("s", numbered(3))
        before = await store.get("s")
        bad_counts: tuple[Any, ...] = (0, -1, 1.5, True, "1", None, MAX_INT64 + 1)
        for count in bad_counts:
            with pytest.raises(InvalidArgumentError, match="count"):
                await store.pop("s", count)
        bad_versions: tuple[Any, ...] = (-1, 1.0, "2", True)
        for version in bad_versions:
            with pytest.raises(InvalidArgumentError, match="expected_version"):
                await store.pop("s", expected_version=version)
        with pytest.raises(InvalidSessionIdError):
            await store.pop("")
        assert await store.pop("s", MAX_INT64) == numbered(3)
        assert before is not None and await store.count() == 1

    # -- replace_tail ------------------------------------------------------------------

    @store_test
    async def test_replace_tail_from_an_index(self, store: SessionStore) -> None:
        messages = numbered(6)
        for start in (-100, -7, -6, -2, -1, 0, 1, 4, 6, 7, 100):
            await store.save("s", messages)
            new = numbered(2, f"new{start}-")
            record = await store.replace_tail("s", start, new)
            assert await store.load("s") == messages[:start] + new, start
            assert record.message_count == len(messages[:start]) + 2
            assert record == await store.get("s")

    @store_test
    async def test_replace_tail_is_a_write(self, store: SessionStore) -> None:
        await _written_before(store, "s", "other")
        before = await store.get("s")
        assert before is not None
        record = await store.replace_tail("s", -2, [Message.assistant("summary")])
        assert record.version == before.version + 1
        assert record.created_at == before.created_at and record.updated_at > before.updated_at
        assert record.attributes == {"kept": "s"}
        assert ids_of(await store.list()) == ["other", "s"]
        truncated = await store.replace_tail("s", 1, [])
        assert truncated.message_count == 1 and await store.load("s") == [Message.user("m0")]

    @store_test
    async def test_replace_tail_needs_the_session(self, store: SessionStore) -> None:
        for expected in (None, 0):
            with pytest.raises(SessionNotFoundError) as info:
                await store.replace_tail(
                    "nobody", 0, [Message.user("x")], expected_version=expected
                )
            assert isinstance(info.value, KeyError) and isinstance(info.value, SessionStoreError)
            assert "nobody" in str(info.value)
        # The version check comes first, as for every write: an unknown id is version 0.
        with pytest.raises(ConflictError):
            await store.replace_tail("nobody", 0, [], expected_version=2)
        assert await store.get("nobody") is None and await store.count() == 0

    @store_test
    async def test_replace_tail_checks_expected_version(self, store: SessionStore) -> None:
        record = await store.save("s", numbered(3))
        with pytest.raises(ConflictError) as info:
            await store.replace_tail("s", 1, [Message.user("lost")], expected_version=2)
        assert info.value.expected == 2 and info.value.actual == 1
        assert await store.get("s") == record and await store.load("s") == numbered(3)
        done = await store.replace_tail("s", 1, [Message.user("x")], expected_version=1)
        assert done.version == 2 and await store.load("s") == [
            Message.user("m0"),
            Message.user("x"),
        ]

    @store_test
    async def test_replace_tail_refuses_bad_arguments(self, store: SessionStore) -> None:
        record = await store.save("s", numbered(3))
        for start in ("1", 1.0, True, None, MAX_INT64 + 1):
            with pytest.raises(InvalidArgumentError, match="start"):
                await store.replace_tail("s", start, [])  # type: ignore[arg-type]
        with pytest.raises(InvalidMessageError) as info:
            await store.replace_tail("s", 0, [Message.user("ok"), {"role": "robot"}])
        assert info.value.index == 1
        with pytest.raises(InvalidArgumentError, match="expected_version"):
            await store.replace_tail("s", 0, [], expected_version=-1)
        with pytest.raises(InvalidSessionIdError):
            await store.replace_tail("a\x00b", 0, [])
        assert await store.get("s") == record and await store.load("s") == numbered(3)
