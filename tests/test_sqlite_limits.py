"""What SQLite cannot store (issue 17, item 8): one message larger than a blob may be.

SQLite holds at most ``SQLITE_LIMIT_LENGTH`` bytes in one blob or row (a billion by default).
The backend splits a write into segments of about 32 KiB but never splits a message, so a
message over the limit is refused with InvalidMessageError naming the limit, before anything is
written; a write of any size made of smaller messages is stored. The tests lower the limit on
the store's own connections to 1 MiB (``plugins.sqlite.lower_length_limit``): the same check,
read from the connection, at a size a test can afford.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from plugins.sqlite import lower_length_limit
from sessionstore import InvalidArgumentError, InvalidMessageError, Message, SQLiteSessionStore
from sessionstore.backends.sqlite.schema import SMALL_SEGMENT_BYTES
from sessionstore.backends.sqlite.segments import ROW_OVERHEAD

LIMIT = 1024 * 1024
#: The most JSON one message may take under LIMIT.
MOST = LIMIT - SMALL_SEGMENT_BYTES - ROW_OVERHEAD
#: What a user message's JSON adds to its text.
WRAPPING = len(msgspec.json.encode(Message.user("")))
WHEN = datetime(2026, 1, 2, tzinfo=UTC)


def _user(json_bytes: int) -> Message:
    """A user message whose JSON takes ``json_bytes`` bytes."""
    return Message.user("x" * (json_bytes - WRAPPING))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteSessionStore]:
    async with SQLiteSessionStore(tmp_path / "limits.db") as store:
        await lower_length_limit(store, LIMIT)
        yield store


async def test_the_sqlite_store_limits_a_message_not_a_write() -> None:
    assert SQLiteSessionStore.max_write_bytes is None


@pytest.mark.parametrize("size", [MOST + 1, LIMIT + 1], ids=["over-a-segment", "over-a-blob"])
async def test_a_message_sqlite_cannot_store_is_refused_before_anything_is_written(
    store: SQLiteSessionStore, size: int
) -> None:
    """Over a blob, SQLite itself would refuse it (as a BackendError, after writing began);
    over a segment's room, the segment holding it might not fit beside smaller messages."""
    await store.save("s", [Message.user("kept")])
    too_big = _user(size)
    attempts = [
        store.save("s", [Message.user("a"), too_big]),
        store.append("s", [too_big]),
        store.replace_tail("s", 0, [too_big]),
        store.save("new", [too_big]),
        store.append("new", [Message.user("a"), too_big, Message.user("b")]),
        store.restore("new", [too_big], created_at=WHEN, updated_at=WHEN, attributes={}),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidMessageError) as caught:
            await attempt
        text = str(caught.value)
        assert f"{size:,} bytes" in text and f"{LIMIT:,}" in text, text
        assert "nothing was written" in text
        assert isinstance(caught.value, InvalidArgumentError)
    record = await store.get("s")
    assert record is not None and record.version == 1
    assert await store.load("s") == [Message.user("kept")]
    assert await store.get("new") is None


async def test_the_index_of_the_oversize_message_is_reported(store: SQLiteSessionStore) -> None:
    with pytest.raises(InvalidMessageError) as caught:
        await store.save("s", [Message.user("a"), Message.user("b"), _user(MOST + 10)])
    assert caught.value.index == 2 and "message 2" in str(caught.value)


async def test_the_largest_message_sqlite_can_store_is_stored_behind_small_ones(
    store: SQLiteSessionStore,
) -> None:
    """The worst case of a segment: just under 32 KiB of small messages, then the largest."""
    small = [_user(1000) for _ in range(SMALL_SEGMENT_BYTES // 1001 - 1)]
    messages = [*small, _user(MOST)]
    await store.save("s", messages)
    await store.append("s", [_user(MOST)])
    assert await store.load("s") == [*messages, _user(MOST)]


async def test_a_write_larger_than_a_blob_made_of_smaller_messages_is_stored(
    store: SQLiteSessionStore,
) -> None:
    messages = [_user(100_000) for _ in range(3 * LIMIT // 100_000)]
    await store.save("s", messages)
    await store.append("s", messages)
    assert await store.load("s") == messages * 2
