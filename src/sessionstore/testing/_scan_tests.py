"""``scan``: every session's record, page by page, and what it promises while others write.

Every store must yield exactly the listing when nothing writes during the scan.
With ``supports_cursor_scan`` (an optional capability) it must also skip no
session that exists throughout a scan while other sessions are saved, appended,
created and deleted between its pages; those tests are skipped without it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionstore._errors import InvalidArgumentError, StoreClosedError
from sessionstore._messages import Message
from sessionstore._records import SessionRecord
from sessionstore._store import SessionStore
from sessionstore.testing._modes import STORE_MODES
from sessionstore.testing._support import (
    StoreFactory,
    factory_test,
    kind_of,
    run_with_factory,
    store_test,
)

__all__ = ["ScanTests"]

#: What may happen to the store after a record was yielded: (operation, target).
_WRITES = st.tuples(st.sampled_from(["append", "save", "create", "delete"]), st.integers(0, 40))


def _require_cursor(store: SessionStore) -> None:
    if not store.supports_cursor_scan:
        pytest.skip(f"{kind_of(store)} scans by offset (cursor scan is optional)")


async def _supports_cursor(store: SessionStore) -> bool:
    return store.supports_cursor_scan


async def _collect(store: SessionStore, page_size: int) -> list[SessionRecord]:
    return [record async for record in store.scan(page_size=page_size)]


async def _scan_while_writing(
    store: SessionStore, sessions: int, page_size: int, writes: list[tuple[str, int]]
) -> None:
    """Scan while ``writes`` happen, one after each yielded record; check the promise."""
    ids = [f"s{index}" for index in range(sessions)]
    for session_id in ids:
        await store.append(session_id, [Message.user(session_id)])
    deleted: set[str] = set()
    written: set[str] = set()  # written during the scan (or created by it)
    yielded: list[SessionRecord] = []
    pending = iter(writes)
    async for record in store.scan(page_size=page_size):
        yielded.append(record)
        step = next(pending, None)
        if step is None:
            continue
        operation, target = step
        session_id = ids[target % len(ids)] if ids else "s0"
        if operation == "create":
            session_id = f"new{len(written)}-{target}"
            await store.append(session_id, [Message.user("new")])
        elif operation == "delete":
            await store.delete(session_id)
            deleted.add(session_id)
        elif operation == "append":
            await store.append(session_id, [Message.user("more")])
        else:
            await store.save(session_id, [Message.assistant("replaced")])
        written.add(session_id)
    seen = [str(record.id) for record in yielded]
    missing = set(ids) - deleted - set(seen)
    assert not missing, f"scan skipped sessions that existed throughout: {sorted(missing)}"
    first_seen: dict[str, int] = {}
    for position, record in enumerate(yielded):
        session_id = str(record.id)
        if session_id in first_seen:
            assert session_id in written, f"{session_id!r} yielded twice but never rewritten"
            earlier = yielded[first_seen[session_id]]
            if session_id not in deleted:  # a re-created session starts again at 1
                assert record.version > earlier.version, (earlier, record)
        else:
            first_seen[session_id] = position
        assert session_id in ids or session_id in written, f"unknown session {session_id!r}"


class ScanTests:
    """``scan``: the listing, a page at a time; with a cursor, safe while others write."""

    @store_test
    async def test_scan_yields_the_listing_in_order(self, store: SessionStore) -> None:
        assert await _collect(store, 3) == []
        for index in range(11):
            await store.append(f"s{index}", [Message.user(str(index))])
        await store.save("s2", [Message.assistant("again")])
        await store.append("s0", [Message.user("more")])
        await store.delete("s5")
        listing = await store.list()
        for page_size in (1, 2, 3, 5, 10, 11, 500):
            assert await _collect(store, page_size) == listing, page_size
        default = [record async for record in store.scan()]
        assert default == listing
        assert [str(r.id) for r in default][-2:] == ["s2", "s0"]

    @store_test
    async def test_scan_refuses_a_bad_page_size_at_the_call(self, store: SessionStore) -> None:
        await store.save("s", [Message.user("keep")])
        bad: list[Any] = [0, -1, True, False, 1.5, "10", None]
        for page_size in bad:
            with pytest.raises(InvalidArgumentError, match="page_size"):
                store.scan(page_size=page_size)
        assert [str(r.id) for r in await store.list()] == ["s"]

    @factory_test
    async def test_scan_after_close_raises(self, factory: StoreFactory) -> None:
        async with factory() as store:
            for index in range(5):
                await store.save(f"s{index}", [])
            records = store.scan(page_size=2)
            first = await anext(records)
            assert str(first.id) == "s0"
            await store.close()
            with pytest.raises(StoreClosedError):
                async for _ in records:  # the next page is refused
                    pass
            with pytest.raises(StoreClosedError):
                store.scan()

    @store_test
    async def test_scan_skips_no_session_while_others_are_written(
        self, store: SessionStore
    ) -> None:
        _require_cursor(store)
        # Each write moves a not-yet-yielded session behind the cursor's end, or a
        # yielded one there again: an offset-paged scan would skip the next session.
        writes = [("save", 5), ("append", 0), ("create", 0), ("delete", 9), ("append", 7)]
        await _scan_while_writing(store, 12, 3, writes * 3)

    @pytest.mark.parametrize("store_mode", STORE_MODES)
    def test_scan_while_writing_property(
        self, store_factory: StoreFactory, store_mode: str
    ) -> None:
        """Random sizes, page sizes and writes between pages: the promise holds for each."""
        if not run_with_factory(store_factory, _supports_cursor):
            pytest.skip("the store scans by offset (cursor scan is optional)")

        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        )
        @given(
            sessions=st.integers(0, 14),
            page_size=st.integers(1, 5),
            writes=st.lists(_WRITES, max_size=25),
        )
        def check(sessions: int, page_size: int, writes: list[tuple[str, int]]) -> None:
            run_with_factory(
                store_factory,
                lambda store: _scan_while_writing(store, sessions, page_size, writes),
                store_mode,
            )

        check()

    @store_test
    async def test_scans_run_side_by_side(self, store: SessionStore) -> None:
        for index in range(9):
            await store.save(f"s{index}", [Message.user(str(index))])
        listing = await store.list()
        results = await asyncio.gather(*(_collect(store, size) for size in (1, 2, 4, 9)))
        assert all(result == listing for result in results)
