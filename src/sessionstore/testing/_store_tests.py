"""The store contract: records, versions, order, windows, retention, lifecycle, concurrency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sessionstore._errors import (
    ConflictError,
    InvalidArgumentError,
    SessionStoreError,
)
from sessionstore._messages import Message
from sessionstore._records import ListOptions, SessionId, SessionRecord, utc_now
from sessionstore._store import SessionStore
from sessionstore.testing._support import (
    store_test,
    wait_for_clock_past,
)

__all__ = ["StoreContractTests"]


def _ids(records: list[SessionRecord]) -> list[str]:
    return [str(record.id) for record in records]


def _assert_utc(moment: datetime) -> None:
    assert isinstance(moment, datetime)
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0), moment


class StoreContractTests:
    """Behaviour of every ``SessionStore`` method apart from message and id validation."""

    # -- load / save / append / get --------------------------------------------------

    @store_test
    async def test_load_unknown_id_is_none(self, store: SessionStore) -> None:
        assert await store.load("nobody") is None
        assert await store.get("nobody") is None
        assert await store.count() == 0
        assert await store.list() == []

    @store_test
    async def test_save_then_load(self, store: SessionStore) -> None:
        messages = [Message.user("hi"), Message.assistant("hello")]
        record = await store.save("s", messages)
        assert isinstance(record, SessionRecord)
        assert record.id == "s" and isinstance(record.id, SessionId)
        assert record.message_count == 2
        assert record.version == 1
        assert await store.load("s") == messages
        assert await store.get("s") == record

    @store_test
    async def test_save_replaces_the_transcript(self, store: SessionStore) -> None:
        await store.save("s", [Message.user("one"), Message.user("two")])
        record = await store.save("s", [Message.user("three")])
        assert await store.load("s") == [Message.user("three")]
        assert record.message_count == 1 and record.version == 2

    @store_test
    async def test_save_empty_transcript_creates_session(self, store: SessionStore) -> None:
        record = await store.save("s", [])
        assert record.message_count == 0 and record.version == 1
        assert await store.load("s") == []
        assert await store.count() == 1

    @store_test
    async def test_append_creates_missing_session(self, store: SessionStore) -> None:
        record = await store.append("s", [Message.user("first")])
        assert record.version == 1 and record.message_count == 1
        assert await store.load("s") == [Message.user("first")]

    @store_test
    async def test_append_adds_at_the_end(self, store: SessionStore) -> None:
        await store.save("s", [Message.user("a")])
        await store.append("s", [Message.assistant("b"), Message.user("c")])
        record = await store.append("s", [Message.assistant("d")])
        assert await store.load("s") == [
            Message.user("a"),
            Message.assistant("b"),
            Message.user("c"),
            Message.assistant("d"),
        ]
        assert record.message_count == 4 and record.version == 3

    @store_test
    async def test_append_nothing_is_a_write(self, store: SessionStore) -> None:
        await store.save("s", [Message.user("a")])
        record = await store.append("s", [])
        assert record.version == 2 and record.message_count == 1
        assert await store.load("s") == [Message.user("a")]

    @store_test
    async def test_session_id_objects_and_str_are_the_same_key(self, store: SessionStore) -> None:
        await store.save(SessionId("k"), [Message.user("x")])
        assert await store.load("k") == [Message.user("x")]
        await store.append("k", [Message.user("y")])
        assert await store.load(SessionId("k")) == [Message.user("x"), Message.user("y")]

    @store_test
    async def test_loaded_transcript_is_independent_of_the_store(self, store: SessionStore) -> None:
        metadata: dict[str, object] = {"tags": ["a"]}
        await store.save("s", [Message.user("x", metadata=metadata)])
        metadata["tags"] = ["changed after save"]
        loaded = await store.load("s")
        assert loaded == [Message.user("x", metadata={"tags": ["a"]})]
        assert loaded is not None
        loaded.append(Message.user("local only"))
        assert await store.load("s") == [Message.user("x", metadata={"tags": ["a"]})]

    # -- records ---------------------------------------------------------------------

    @store_test
    async def test_record_timestamps_and_versions(self, store: SessionStore) -> None:
        before = utc_now()
        first = await store.save("s", [Message.user("a")])
        after = utc_now()
        _assert_utc(first.created_at)
        _assert_utc(first.updated_at)
        assert before <= first.created_at <= after
        assert first.created_at == first.updated_at
        assert first.version == 1

        await wait_for_clock_past(first.updated_at)
        second = await store.append("s", [Message.user("b")])
        assert second.created_at == first.created_at
        assert second.updated_at > first.updated_at
        assert second.version == 2 and second.message_count == 2

        await wait_for_clock_past(second.updated_at)
        third = await store.save("s", [Message.user("c")])
        assert third.created_at == first.created_at
        assert third.updated_at > second.updated_at
        assert third.version == 3 and third.message_count == 1
        assert await store.get("s") == third

    @store_test
    async def test_version_grows_by_one_per_write(self, store: SessionStore) -> None:
        versions = []
        for step in range(10):
            write = store.save if step % 3 == 0 else store.append
            versions.append((await write("s", [Message.user(str(step))])).version)
        assert versions == list(range(1, 11))

    @store_test
    async def test_timestamps_keep_microseconds(self, store: SessionStore) -> None:
        # A record read back equals the one the write returned, to the microsecond.
        records: list[SessionRecord] = []
        for i in range(5):
            if records:
                await wait_for_clock_past(records[-1].updated_at)
            records.append(await store.append("s", [Message.user(str(i))]))
            assert await store.get("s") == records[-1]
        assert await store.list() == [records[-1]]
        # Truncation to milliseconds would make every one of these zero.
        assert any(record.updated_at.microsecond % 1000 for record in records)

    @store_test
    async def test_records_are_frozen(self, store: SessionStore) -> None:
        record = await store.save("s", [Message.user("a")])
        with pytest.raises(AttributeError):
            record.version = 99  # type: ignore[misc]

    # -- expected_version ------------------------------------------------------------

    @store_test
    async def test_expected_version_zero_means_must_not_exist(self, store: SessionStore) -> None:
        record = await store.save("s", [Message.user("a")], expected_version=0)
        assert record.version == 1
        for write in (store.save, store.append):
            with pytest.raises(ConflictError) as info:
                await write("s", [Message.user("clobber")], expected_version=0)
            assert info.value.expected == 0 and info.value.actual == 1
        assert await store.load("s") == [Message.user("a")]
        assert await store.get("s") == record
        assert (await store.append("t", [Message.user("b")], expected_version=0)).version == 1

    @store_test
    async def test_expected_version_match_writes(self, store: SessionStore) -> None:
        await store.save("s", [Message.user("a")])
        record = await store.append("s", [Message.user("b")], expected_version=1)
        assert record.version == 2
        record = await store.save("s", [Message.user("c")], expected_version=2)
        assert record.version == 3
        assert await store.load("s") == [Message.user("c")]

    @store_test
    async def test_expected_version_mismatch_writes_nothing(self, store: SessionStore) -> None:
        await store.save("s", [Message.user("a")])
        record = await store.append("s", [Message.user("b")])
        for wrong in (1, 3, 100):
            for write in (store.save, store.append):
                with pytest.raises(ConflictError) as info:
                    await write("s", [Message.user("lost")], expected_version=wrong)
                assert isinstance(info.value, SessionStoreError)
                assert info.value.expected == wrong and info.value.actual == 2
                assert await store.load("s") == [Message.user("a"), Message.user("b")]
                assert await store.get("s") == record
        assert _ids(await store.list()) == ["s"]

    @store_test
    async def test_expected_version_on_missing_session_writes_nothing(
        self, store: SessionStore
    ) -> None:
        for write in (store.save, store.append):
            with pytest.raises(ConflictError) as info:
                await write("ghost", [Message.user("x")], expected_version=1)
            assert info.value.actual == 0
        assert await store.get("ghost") is None
        assert await store.load("ghost") is None
        assert await store.count() == 0

    @store_test
    async def test_expected_version_must_be_non_negative_int(self, store: SessionStore) -> None:
        for bad in (-1, "1", 1.0, True):
            for write in (store.save, store.append):
                with pytest.raises(ValueError):
                    await write("s", [Message.user("x")], expected_version=bad)  # type: ignore[arg-type]
        assert await store.count() == 0

    # -- listing and windows ---------------------------------------------------------

    @store_test
    async def test_list_is_newest_last_even_in_a_tight_loop(self, store: SessionStore) -> None:
        names = [f"s{i:03}" for i in range(60)]
        for name in reversed(names):  # insertion order opposite to name order
            await store.save(name, [Message.user(name)])
        assert _ids(await store.list()) == list(reversed(names))
        # Rewriting moves a session to the end, whichever write it was.
        await store.append("s030", [Message.user("again")])
        await store.save("s059", [Message.user("again")])
        expected = [n for n in reversed(names) if n not in ("s030", "s059")] + ["s030", "s059"]
        listed = await store.list()
        assert _ids(listed) == expected
        assert await store.count() == 60
        newest_first = await store.list_paginated(ListOptions(newest_first=True))
        assert newest_first == list(reversed(listed))

    @store_test
    async def test_list_records_match_get(self, store: SessionStore) -> None:
        await store.save("a", [Message.user("1"), Message.user("2")])
        await store.append("b", [Message.user("3")])
        await store.append("a", [Message.user("4")])
        listed = await store.list()
        assert listed == [await store.get("b"), await store.get("a")]
        assert [r.message_count for r in listed] == [1, 3]
        assert [r.version for r in listed] == [1, 2]

    @store_test
    async def test_list_paginated_windows(self, store: SessionStore) -> None:
        for i in range(10):
            await store.save(f"s{i}", [Message.user(str(i))])
        everything = await store.list()
        assert await store.list_paginated() == everything
        assert await store.list_paginated(None) == everything
        assert await store.list_paginated(ListOptions()) == everything
        for newest_first in (False, True):
            ordered = list(reversed(everything)) if newest_first else everything
            for offset in (0, 1, 3, 9, 10, 11, 50):
                for limit in (None, 0, 1, 3, 10, 100):
                    window = ListOptions(offset=offset, limit=limit, newest_first=newest_first)
                    stop = None if limit is None else offset + limit
                    assert await store.list_paginated(window) == ordered[offset:stop], window

    @store_test
    async def test_list_paginated_walks_every_session_once(self, store: SessionStore) -> None:
        for i in range(7):
            await store.append(f"s{i}", [Message.user(str(i))])
        pages = [await store.list_paginated(ListOptions(offset=o, limit=3)) for o in (0, 3, 6)]
        assert [len(page) for page in pages] == [3, 3, 1]
        assert _ids([r for page in pages for r in page]) == [f"s{i}" for i in range(7)]

    @store_test
    async def test_list_paginated_rejects_bad_options(self, store: SessionStore) -> None:
        for kwargs in ({"offset": -1}, {"limit": -1}, {"offset": -5, "limit": -5}):
            with pytest.raises(ValueError):
                ListOptions(**kwargs)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await store.list_paginated({"offset": 1})  # type: ignore[arg-type]

    # -- delete ----------------------------------------------------------------------

    @store_test
    async def test_delete(self, store: SessionStore) -> None:
        await store.save("a", [Message.user("a")])
        await store.save("b", [Message.user("b")])
        await store.delete("a")
        assert await store.load("a") is None
        assert await store.get("a") is None
        assert _ids(await store.list()) == ["b"]
        assert await store.count() == 1
        assert await store.load("b") == [Message.user("b")]

    @store_test
    async def test_delete_unknown_is_a_no_op(self, store: SessionStore) -> None:
        await store.save("a", [Message.user("a")])
        await store.delete("unknown")
        await store.delete("unknown")
        assert _ids(await store.list()) == ["a"]

    @store_test
    async def test_write_after_delete_starts_a_new_session(self, store: SessionStore) -> None:
        first = await store.save("s", [Message.user("old")])
        await store.append("s", [Message.user("older")])
        await store.delete("s")
        await wait_for_clock_past(first.created_at)
        record = await store.append("s", [Message.user("new")], expected_version=0)
        assert record.version == 1 and record.message_count == 1
        assert record.created_at > first.created_at
        assert await store.load("s") == [Message.user("new")]

    # -- prune -----------------------------------------------------------------------

    @store_test
    async def test_prune_keep_newest(self, store: SessionStore) -> None:
        for name in "abcde":
            await store.save(name, [Message.user(name)])
        await store.append("a", [Message.user("touched")])  # order now b c d e a
        assert await store.prune(keep_newest=10) == 0
        assert await store.prune(keep_newest=3) == 2
        assert _ids(await store.list()) == ["d", "e", "a"]
        assert await store.load("b") is None
        assert await store.prune(keep_newest=0) == 3
        assert await store.count() == 0
        assert await store.prune(keep_newest=0) == 0

    @store_test
    async def test_prune_updated_before(self, store: SessionStore) -> None:
        old_a = await store.save("a", [Message.user("a")])
        old_b = await store.save("b", [Message.user("b")])
        await wait_for_clock_past(old_b.updated_at)
        cutoff = utc_now()
        await wait_for_clock_past(cutoff)
        await store.save("c", [Message.user("c")])
        await store.append("a", [Message.user("rewritten: updated_at counts, not created_at")])
        assert old_a.created_at < cutoff
        assert await store.prune(updated_before=old_a.created_at) == 0
        assert await store.prune(updated_before=cutoff) == 1
        assert _ids(await store.list()) == ["c", "a"]
        assert await store.prune(updated_before=datetime(2000, 1, 1, tzinfo=UTC)) == 0
        assert await store.prune(updated_before=utc_now() + timedelta(days=1)) == 2
        assert await store.count() == 0

    @store_test
    async def test_prune_updated_before_in_another_timezone(self, store: SessionStore) -> None:
        old = await store.save("old", [Message.user("a")])
        await wait_for_clock_past(old.updated_at)
        cutoff = utc_now()
        await wait_for_clock_past(cutoff)
        await store.save("new", [Message.user("b")])
        plus_five = cutoff.astimezone(timezone(timedelta(hours=5)))
        assert await store.prune(updated_before=plus_five) == 1
        assert _ids(await store.list()) == ["new"]

    @store_test
    async def test_prune_both_keeps_the_newest_even_if_old(self, store: SessionStore) -> None:
        for name in "abc":
            last = await store.save(name, [Message.user(name)])
        await wait_for_clock_past(last.updated_at)
        cutoff = utc_now()
        await wait_for_clock_past(cutoff)
        await store.save("d", [Message.user("d")])
        # Old: a b c. Newest 2: c d. Deleted: old and not among the newest 2 -> a b.
        assert await store.prune(updated_before=cutoff, keep_newest=2) == 2
        assert _ids(await store.list()) == ["c", "d"]
        # Only c is old; keeping the newest 1 (d) lets c go.
        assert await store.prune(updated_before=cutoff, keep_newest=1) == 1
        assert _ids(await store.list()) == ["d"]
        # d is new: nothing to delete whatever keep_newest says.
        assert await store.prune(updated_before=cutoff, keep_newest=0) == 0
        assert _ids(await store.list()) == ["d"]

    @store_test
    async def test_prune_rejects_bad_arguments(self, store: SessionStore) -> None:
        await store.save("a", [Message.user("a")])
        bad_calls: list[dict[str, object]] = [
            {},
            {"updated_before": None, "keep_newest": None},
            {"updated_before": datetime(2999, 1, 1)},  # naive
            {"updated_before": "2999-01-01T00:00:00Z"},
            {"keep_newest": -1},
            {"keep_newest": 1.5},
        ]
        for kwargs in bad_calls:
            with pytest.raises(ValueError) as info:
                await store.prune(**kwargs)  # type: ignore[arg-type]
            assert isinstance(info.value, SessionStoreError), kwargs
        assert _ids(await store.list()) == ["a"]

    @store_test
    async def test_prune_on_empty_store(self, store: SessionStore) -> None:
        assert await store.prune(keep_newest=0) == 0
        assert await store.prune(updated_before=utc_now() + timedelta(days=1)) == 0

    # -- argument types that are not ids or messages --------------------------------

    @store_test
    async def test_list_options_type_is_checked(self, store: SessionStore) -> None:
        with pytest.raises(InvalidArgumentError):
            await store.list_paginated(5)  # type: ignore[arg-type]
