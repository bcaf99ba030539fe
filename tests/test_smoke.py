"""Temporary smoke test of the shared fixture; replaced by the conformance suite."""

from __future__ import annotations

from sessionstore import Message
from sessionstore.testing import StoreFactory


async def test_round_trip(store_factory: StoreFactory) -> None:
    async with store_factory() as store:
        record = await store.save("s", [Message.user("hi")])
        assert record.version == 1
        assert await store.load("s") == [Message.user("hi")]
