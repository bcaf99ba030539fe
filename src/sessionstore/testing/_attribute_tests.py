"""Session attributes: small JSON values beside a transcript, merged by key, read-only."""

from __future__ import annotations

import math
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
from sessionstore._store import SessionStore
from sessionstore.testing._support import ids_of, numbered, store_test, wait_for_clock_past

__all__ = ["AttributeTests"]

#: JSON values of every kind an attribute may hold.
_VALUES: dict[str, Any] = {
    "title": "Trip to Oslo ☀️",
    "empty": "",
    "n": -3,
    "big": 2**53,
    "pi": 3.25,
    "yes": True,
    "no": False,
    "tags": ["a", 1, None, {"deep": [[]]}],
    "obj": {"k": {"l": "m"}, "null": None},
    "ключ 🎉": "unicode key",
}
#: A string that encodes to 40 KiB of JSON: one fits the 64 KiB limit, two do not.
_HALF_TOO_BIG = "x" * 40 * 1024

_BAD_CHANGES: tuple[tuple[str, Any], ...] = (
    ("not a mapping", [("k", "v")]),
    ("a str", "title"),
    ("a non-str key", {1: "v"}),
    ("a non-JSON value", {"k": object()}),
    ("NaN", {"k": math.nan}),
    ("a set", {"k": {1, 2}}),
    ("bytes", {"k": b"raw"}),
    ("a value over the limit alone", {"k": "x" * 70 * 1024}),
)


class AttributeTests:
    """``update_attributes`` and ``attributes=`` on writes: merge, remove, limits, versions."""

    @store_test
    async def test_sessions_start_without_attributes(self, store: SessionStore) -> None:
        record = await store.save("s", [])
        assert record.attributes == {} and len(record.attributes) == 0
        with pytest.raises(TypeError):
            record.attributes["k"] = "v"  # type: ignore[index]
        got = await store.get("s")
        assert got is not None and got.attributes == {}

    @store_test
    async def test_update_attributes_merges_and_removes(self, store: SessionStore) -> None:
        await store.save("s", numbered(2))
        first = await store.update_attributes("s", _VALUES)
        assert dict(first.attributes) == _VALUES
        second = await store.update_attributes("s", {"title": "Renamed", "n": None, "new": 1})
        expected = {**_VALUES, "title": "Renamed", "new": 1}
        del expected["n"]
        assert dict(second.attributes) == expected
        assert await store.get("s") == second and (await store.list()) == [second]
        assert (await store.update_attributes("s", {"absent": None})).attributes == expected
        assert (await store.update_attributes("s", {})).attributes == expected
        assert await store.load("s") == numbered(2)

    @store_test
    async def test_update_attributes_bumps_only_the_version(self, store: SessionStore) -> None:
        older = await store.save("older", [])
        await store.save("s", numbered(1))
        newer = await store.save("newer", [])
        await wait_for_clock_past(newer.updated_at)
        record = await store.update_attributes("older", {"title": "renamed"})
        assert record.version == older.version + 1
        assert record.updated_at == older.updated_at and record.created_at == older.created_at
        assert record.message_count == older.message_count
        assert ids_of(await store.list()) == ["older", "s", "newer"], "renaming moves nothing"
        assert [r.version for r in await store.list()] == [2, 1, 1]

    @store_test
    async def test_update_attributes_needs_the_session(self, store: SessionStore) -> None:
        for expected in (None, 0):
            with pytest.raises(SessionNotFoundError) as info:
                await store.update_attributes("nobody", {"k": 1}, expected_version=expected)
            assert isinstance(info.value, KeyError) and isinstance(info.value, SessionStoreError)
            assert "nobody" in str(info.value)
        # The version check comes first, as for every write: an unknown id is version 0.
        with pytest.raises(ConflictError):
            await store.update_attributes("nobody", {"k": 1}, expected_version=3)
        assert await store.get("nobody") is None and await store.count() == 0

    @store_test
    async def test_update_attributes_checks_expected_version(self, store: SessionStore) -> None:
        record = await store.save("s", [], attributes={"k": 1})
        for wrong in (0, 2):
            with pytest.raises(ConflictError) as info:
                await store.update_attributes("s", {"k": 2}, expected_version=wrong)
            assert info.value.expected == wrong and info.value.actual == 1
        assert await store.get("s") == record
        done = await store.update_attributes("s", {"k": 2}, expected_version=1)
        assert done.version == 2 and done.attributes == {"k": 2}

    @store_test
    async def test_writes_merge_attributes_or_keep_them(self, store: SessionStore) -> None:
        created = await store.append("s", numbered(1), attributes={"a": 1, "b": None})
        assert created.attributes == {"a": 1}
        kept = await store.append("s", numbered(1))
        assert kept.attributes == {"a": 1}
        merged = await store.save("s", numbered(3), attributes={"b": 2})
        assert merged.attributes == {"a": 1, "b": 2} and merged.version == 3
        removed = await store.append("s", [], attributes={"a": None})
        assert removed.attributes == {"b": 2} and removed.version == 4
        assert (await store.save("s", [])).attributes == {"b": 2}

    @store_test
    async def test_attributes_are_copied_not_shared(self, store: SessionStore) -> None:
        changes: dict[str, Any] = {"tags": ["a"]}
        record = await store.save("s", [], attributes=changes)
        changes["tags"].append("changed after the write")
        changes["new"] = 1
        assert record.attributes == {"tags": ["a"]}
        with pytest.raises(TypeError):
            record.attributes["new"] = 1  # type: ignore[index]
        got = await store.get("s")
        assert got is not None and got.attributes == {"tags": ["a"]}

    @store_test
    async def test_attributes_die_with_their_session(self, store: SessionStore) -> None:
        await store.save("s", [], attributes={"k": 1})
        await store.delete("s")
        assert (await store.save("s", [])).attributes == {}
        await store.update_attributes("s", {"k": 1})
        await store.clear()
        assert (await store.append("s", [])).attributes == {}

    @store_test
    async def test_attributes_are_limited_to_64_kib(self, store: SessionStore) -> None:
        record = await store.save("s", numbered(1), attributes={"one": _HALF_TOO_BIG})
        assert record.attributes == {"one": _HALF_TOO_BIG}
        too_big = {"two": _HALF_TOO_BIG}
        with pytest.raises(InvalidArgumentError, match="attributes"):
            await store.update_attributes("s", too_big)
        with pytest.raises(InvalidArgumentError, match="attributes"):
            await store.save("s", [Message.user("lost")], attributes=too_big)
        with pytest.raises(InvalidArgumentError, match="attributes"):
            await store.append("s", [Message.user("lost")], attributes=too_big)
        assert await store.get("s") == record and await store.load("s") == numbered(1)
        swapped = await store.update_attributes("s", {"one": None, "two": _HALF_TOO_BIG})
        assert swapped.attributes == too_big

    @store_test
    async def test_bad_attributes_are_refused(self, store: SessionStore) -> None:
        record = await store.save("s", numbered(1), attributes={"k": 1})
        for why, changes in _BAD_CHANGES:
            with pytest.raises(InvalidArgumentError):
                await store.update_attributes("s", changes)
                pytest.fail(f"update_attributes accepted {why}")
            for write in (store.save, store.append):
                for target in ("s", "fresh"):
                    with pytest.raises(InvalidArgumentError):
                        await write(target, [Message.user("lost")], attributes=changes)
                        pytest.fail(f"a write accepted attributes with {why}")
        with pytest.raises(InvalidArgumentError):
            await store.update_attributes("s", None)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="expected_version"):
            await store.update_attributes("s", {}, expected_version=-1)
        with pytest.raises(InvalidSessionIdError):
            await store.update_attributes("", {})
        assert await store.list() == [record] and await store.load("s") == numbered(1)
