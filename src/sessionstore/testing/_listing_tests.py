"""The store contract across sessions: listing order, windows, delete and retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sessionstore._errors import InvalidArgumentError, SessionStoreError
from sessionstore._messages import Message
from sessionstore._records import ListOptions, utc_now
from sessionstore._store import SessionStore
from sessionstore.testing._support import ids_of, store_test, wait_for_clock_past

__all__ = ["ListingContractTests"]


class ListingContractTests:
    """Every session at once: the order of writes, pages of it, deleting and pruning."""

    # -- listing and windows ---------------------------------------------------------

    @store_test
    async def test_list_is_newest_last_even_in_a_tight_loop(self, store: SessionStore) -> None:
        names = [f"s{i:03}" for i in range(60)]
        for name in reversed(names):  # insertion order opposite to name order
            await store.save(name, [Message.user(name)])
        assert ids_of(await store.list()) == list(reversed(names))
        # Rewriting moves a session to the end, whichever write it was.
        await store.append("s030", [Message.user("again")])
        await store.save("s059", [Message.user("again")])
        expected = [n for n in reversed(names) if n not in ("s030", "s059")] + ["s030", "s059"]
        listed = await store.list()
        assert ids_of(listed) == expected
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
        assert ids_of([r for page in pages for r in page]) == [f"s{i}" for i in range(7)]

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
        assert ids_of(await store.list()) == ["b"]
        assert await store.count() == 1
        assert await store.load("b") == [Message.user("b")]

    @store_test
    async def test_delete_unknown_is_a_no_op(self, store: SessionStore) -> None:
        await store.save("a", [Message.user("a")])
        await store.delete("unknown")
        await store.delete("unknown")
        assert ids_of(await store.list()) == ["a"]

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
        assert ids_of(await store.list()) == ["d", "e", "a"]
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
        assert ids_of(await store.list()) == ["c", "a"]
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
        assert ids_of(await store.list()) == ["new"]

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
        assert ids_of(await store.list()) == ["c", "d"]
        # Only c is old; keeping the newest 1 (d) lets c go.
        assert await store.prune(updated_before=cutoff, keep_newest=1) == 1
        assert ids_of(await store.list()) == ["d"]
        # d is new: nothing to delete whatever keep_newest says.
        assert await store.prune(updated_before=cutoff, keep_newest=0) == 0
        assert ids_of(await store.list()) == ["d"]

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
        assert ids_of(await store.list()) == ["a"]

    @store_test
    async def test_prune_on_empty_store(self, store: SessionStore) -> None:
        assert await store.prune(keep_newest=0) == 0
        assert await store.prune(updated_before=utc_now() + timedelta(days=1)) == 0

    # -- argument types that are not ids or messages --------------------------------

    @store_test
    async def test_list_options_type_is_checked(self, store: SessionStore) -> None:
        with pytest.raises(InvalidArgumentError):
            await store.list_paginated(5)  # type: ignore[arg-type]
