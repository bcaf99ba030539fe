"""The store contract for one session: load, save, append, records and ``expected_version``."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sessionstore._errors import ConflictError, SessionStoreError
from sessionstore._messages import Message
from sessionstore._records import SessionId, SessionRecord, utc_now
from sessionstore._store import SessionStore
from sessionstore.testing._support import ids_of, store_test, wait_for_clock_past

__all__ = ["RecordContractTests"]


def _assert_utc(moment: datetime) -> None:
    assert isinstance(moment, datetime)
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0), moment


class RecordContractTests:
    """Reading and writing one session: transcripts, records, versions, optimistic checks."""

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
        assert ids_of(await store.list()) == ["s"]

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
