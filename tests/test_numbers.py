"""Out-of-range numbers get InvalidArgumentError, alike on every backend, and change nothing.

Past 2**63 - 1 no backend can store or compare a number (SQLite and PostgreSQL hold signed
64-bit integers), so the API refuses it before any backend sees it; a datetime that cannot be
expressed in UTC is refused the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from sessionstore import InvalidArgumentError, ListOptions, Message, SessionStore
from sessionstore.testing import StoreFactory

HUGE = [2**63, 2**64, 10**30, -(2**63) - 1]
Call = Callable[[SessionStore, int], Awaitable[Any]]

CALLS: dict[str, Call] = {
    "load start": lambda s, n: s.load("s", start=n),
    "load stop": lambda s, n: s.load("s", stop=n),
    "snapshot start": lambda s, n: s.snapshot("s", start=n),
    "pop count": lambda s, n: s.pop("s", n),
    "pop expected_version": lambda s, n: s.pop("s", expected_version=n),
    "save expected_version": lambda s, n: s.save("s", [Message.user("x")], expected_version=n),
    "append expected_version": lambda s, n: s.append("s", [Message.user("x")], expected_version=n),
    "replace_tail start": lambda s, n: s.replace_tail("s", n, [Message.user("x")]),
    "fork stop": lambda s, n: s.fork("s", "t", stop=n),
    "update_attributes expected_version": lambda s, n: s.update_attributes(
        "s", {"a": 1}, expected_version=n
    ),
    "list offset": lambda s, n: s.list_paginated(ListOptions(offset=n)),
    "list limit": lambda s, n: s.list_paginated(ListOptions(limit=n)),
    "prune keep_newest": lambda s, n: s.prune(keep_newest=n),
}


async def _state(store: SessionStore) -> Any:
    return [(r.id, r.version, r.message_count) for r in await store.list()], await store.load("s")


@pytest.mark.parametrize("call", list(CALLS.values()), ids=list(CALLS))
async def test_numbers_past_64_bits_are_refused_and_change_nothing(
    store_factory: StoreFactory, call: Call
) -> None:
    async with store_factory() as store:
        await store.save("s", [Message.user("a"), Message.assistant("b")])
        before = await _state(store)
        for number in HUGE:
            with pytest.raises(InvalidArgumentError, match="2\\*\\*63"):
                await call(store, number)
        assert await _state(store) == before


async def test_scan_page_size_past_64_bits_is_refused(store_factory: StoreFactory) -> None:
    async with store_factory() as store:
        for number in HUGE:
            with pytest.raises(InvalidArgumentError):
                async for _ in store.scan(page_size=number):
                    pass


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-1))),
    ],
    ids=["year 1 at +01:00", "year 9999 at -01:00"],
)
async def test_restore_refuses_a_moment_that_utc_cannot_express(
    store_factory: StoreFactory, moment: datetime
) -> None:
    async with store_factory() as store:
        if not store.supports_restore:
            pytest.skip("this backend does not support restore")
        with pytest.raises(InvalidArgumentError, match="out of range in UTC"):
            await store.restore("s", [Message.user("x")], created_at=moment, updated_at=moment)
        assert await store.get("s") is None


async def test_restore_keeps_the_extremes_that_utc_can_express(store_factory: StoreFactory) -> None:
    first = datetime(1, 1, 1, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    async with store_factory() as store:
        if not store.supports_restore:
            pytest.skip("this backend does not support restore")
        record = await store.restore("s", [Message.user("x")], created_at=first, updated_at=last)
        assert (record.created_at, record.updated_at) == (first, last)
        again = await store.get("s")
        assert again is not None and (again.created_at, again.updated_at) == (first, last)
