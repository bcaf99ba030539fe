"""The optional ``restore`` capability: run when ``store.supports_restore`` is True.

A store without it must refuse ``restore`` with UnsupportedOperationError and
write nothing; that test runs instead. The suite reads only the flag, never
the store's type.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from sessionstore._errors import (
    ConflictError,
    InvalidArgumentError,
    InvalidMessageError,
    InvalidSessionIdError,
    StoreClosedError,
    UnsupportedOperationError,
)
from sessionstore._messages import Message
from sessionstore._records import SessionRecord, utc_now
from sessionstore._store import SessionStore
from sessionstore.testing._support import StoreFactory, factory_test, kind_of, store_test

__all__ = ["RestoreCapabilityTests"]

#: Old, distinct, with microseconds and a non-UTC offset: nothing a clock would give.
CREATED = datetime(2001, 2, 3, 4, 5, 6, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))
UPDATED = datetime(2002, 3, 4, 5, 6, 7, 654321, tzinfo=UTC)


def _require_restore(store: SessionStore) -> None:
    if not store.supports_restore:
        pytest.skip(f"{kind_of(store)} does not support restore (optional)")


async def _state(store: SessionStore) -> tuple[list[SessionRecord], dict[str, Any]]:
    """Every record in listing order and every transcript: to show nothing was written."""
    records = await store.list()
    return records, {record.id: await store.load(record.id) for record in records}


class RestoreCapabilityTests:
    """``restore``: ``save`` that keeps the given timestamps (optional capability)."""

    @store_test
    async def test_restore_keeps_timestamps_exactly(self, store: SessionStore) -> None:
        _require_restore(store)
        messages = [Message.user("hi"), Message.assistant("hello")]
        record = await store.restore("s", messages, created_at=CREATED, updated_at=UPDATED)
        assert record.created_at == CREATED and record.updated_at == UPDATED
        for moment in (record.created_at, record.updated_at):
            assert moment.utcoffset() == timedelta(0), moment
        assert record.created_at.microsecond == CREATED.astimezone(UTC).microsecond
        assert record.version == 1 and record.message_count == 2
        assert await store.get("s") == record
        assert await store.list() == [record]
        assert await store.load("s") == messages
        same = await store.restore("t", [], created_at=UPDATED, updated_at=UPDATED)
        assert same.created_at == same.updated_at == UPDATED

    @store_test
    async def test_restore_is_a_write_of_the_listing_order(self, store: SessionStore) -> None:
        _require_restore(store)
        await store.save("a", [Message.user("one")])
        await store.save("a", [Message.user("two")])
        await store.save("b", [Message.user("b")])
        record = await store.restore(
            "a", [Message.user("three")], created_at=CREATED, updated_at=UPDATED
        )
        assert record.version == 3 and record.message_count == 1
        # created_at comes from the argument even though the session existed.
        assert record.created_at == CREATED and record.updated_at == UPDATED
        assert await store.load("a") == [Message.user("three")]
        # Old timestamps, yet last: the order is the order of writes, not of clocks.
        await store.restore("c", [], created_at=CREATED, updated_at=CREATED)
        assert [str(r.id) for r in await store.list()] == ["b", "a", "c"]

    @store_test
    async def test_restore_sets_exactly_the_attributes_given(self, store: SessionStore) -> None:
        _require_restore(store)
        await store.save("s", [], attributes={"stale": 1, "title": "old"})
        record = await store.restore(
            "s", [], created_at=CREATED, updated_at=UPDATED, attributes={"title": "copy", "n": [1]}
        )
        assert dict(record.attributes) == {"title": "copy", "n": [1]}, "no merge with stale keys"
        assert await store.get("s") == record
        bare = await store.restore("s", [], created_at=CREATED, updated_at=UPDATED)
        assert bare.attributes == {} and bare.version == 3
        with pytest.raises(InvalidArgumentError):
            await store.restore(
                "s", [], created_at=CREATED, updated_at=UPDATED, attributes={"k": object()}
            )
        with pytest.raises(InvalidArgumentError):
            await store.restore(
                "s", [], created_at=CREATED, updated_at=UPDATED, attributes={"k": "x" * 70_000}
            )
        assert await store.get("s") == bare

    @store_test
    async def test_restore_checks_expected_version(self, store: SessionStore) -> None:
        _require_restore(store)
        created = await store.restore(
            "new", [Message.user("a")], created_at=CREATED, updated_at=UPDATED, expected_version=0
        )
        assert created.version == 1
        await store.save("s", [Message.user("keep")])
        before = await _state(store)
        for expected in (0, 2, 7):
            with pytest.raises(ConflictError) as caught:
                await store.restore(
                    "s", [], created_at=CREATED, updated_at=UPDATED, expected_version=expected
                )
            assert caught.value.expected == expected and caught.value.actual == 1
        assert await _state(store) == before
        record = await store.restore(
            "s", [], created_at=CREATED, updated_at=UPDATED, expected_version=1
        )
        assert record.version == 2 and record.created_at == CREATED

    @store_test
    async def test_restore_rejects_bad_arguments_and_writes_nothing(
        self, store: SessionStore
    ) -> None:
        _require_restore(store)
        await store.save("s", [Message.user("keep")])
        before = await _state(store)
        naive = datetime(2001, 2, 3, 4, 5, 6)
        bad_times: list[tuple[Any, Any]] = [
            (naive, UPDATED),
            (CREATED, naive),
            ("2001-02-03T04:05:06Z", UPDATED),
            (CREATED, 1_000_000),
            (date(2001, 2, 3), UPDATED),
            (None, UPDATED),
            (UPDATED, CREATED),  # created after updated
        ]
        for session_id in ("s", "fresh"):
            for created_at, updated_at in bad_times:
                with pytest.raises(InvalidArgumentError):
                    await store.restore(
                        session_id, [], created_at=created_at, updated_at=updated_at
                    )
        with pytest.raises(InvalidSessionIdError):
            await store.restore("", [], created_at=CREATED, updated_at=UPDATED)
        with pytest.raises(InvalidMessageError):
            await store.restore(
                "s", [{"role": "bot", "content": "?"}], created_at=CREATED, updated_at=UPDATED
            )
        with pytest.raises(InvalidArgumentError):
            await store.restore(
                "s", [], created_at=CREATED, updated_at=UPDATED, expected_version=-1
            )
        assert await _state(store) == before

    @store_test
    async def test_writes_after_restore_keep_created_at(self, store: SessionStore) -> None:
        _require_restore(store)
        await store.restore("s", [Message.user("a")], created_at=CREATED, updated_at=UPDATED)
        started = utc_now()
        appended = await store.append("s", [Message.user("b")])
        assert appended.created_at == CREATED
        assert started <= appended.updated_at <= utc_now()
        assert appended.version == 2 and appended.message_count == 2
        saved = await store.save("s", [Message.user("c")])
        assert saved.created_at == CREATED and saved.updated_at >= appended.updated_at
        assert await store.get("s") == saved

    @factory_test
    async def test_restore_after_close_raises(self, factory: StoreFactory) -> None:
        async with factory() as store:
            _require_restore(store)
            await store.close()
            with pytest.raises(StoreClosedError):
                await store.restore("s", [], created_at=CREATED, updated_at=UPDATED)

    @store_test
    async def test_restore_without_the_capability_is_refused(self, store: SessionStore) -> None:
        if store.supports_restore:
            pytest.skip(f"{kind_of(store)} supports restore")
        await store.save("s", [Message.user("keep")])
        before = await _state(store)
        for session_id in ("s", "fresh"):
            with pytest.raises(UnsupportedOperationError, match="restore"):
                await store.restore(session_id, [], created_at=CREATED, updated_at=UPDATED)
        assert await _state(store) == before
