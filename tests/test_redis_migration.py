"""Keys written by the released Redis backend open, read back and accept round-2 writes.

``tests/fixtures/redis_released.json`` holds every key the released code
(main before round 2) wrote, dumped by ``scripts/make_redis_fixture.py``, with
what each session must read back as. Its sessions are in the released layout
(a transcript is a list of JSON-array segments); the store reads them as they
are and rewrites one in the current layout on its first write that needs
message positions.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from plugins.redis import TEST_ENCRYPTION, RedisServer, delete_prefix, unique_prefix
from sessionstore import Message, RedisSessionStore
from sessionstore.backends.redis import scripts

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "redis_released.json").read_text(encoding="utf-8")
)


async def _restore_keys(client: redis.asyncio.Redis, prefix: str) -> None:
    """The fixture's keys, moved from its prefix to ``prefix``."""
    old = FIXTURE["key_prefix"]
    for name, entry in FIXTURE["keys"].items():
        key = prefix + name.removeprefix(old)
        kind, value = entry["type"], entry["value"]
        if kind == "string":
            await client.set(key, value)
        elif kind == "list":
            await client.rpush(key, *value)
        elif kind == "hash":
            await client.hset(key, mapping=value)
        else:
            await client.zadd(key, {member: score for member, score in value})


@pytest.fixture(params=[False, True], ids=["plain", "sealed"])
def sealed(request: pytest.FixtureRequest) -> bool:
    """Whether the store reading the released keys encrypts and compresses."""
    return bool(request.param)


@pytest.fixture
async def released(redis_server: RedisServer, sealed: bool) -> AsyncIterator[RedisSessionStore]:
    prefix = unique_prefix()
    client = redis.asyncio.Redis.from_url(redis_server.url)
    rest: dict[str, Any] = {"encryption": TEST_ENCRYPTION, "compression": "zstd"} if sealed else {}
    try:
        await _restore_keys(client, prefix)
        async with RedisSessionStore(redis_server.url, key_prefix=prefix, **rest) as store:
            yield store
    finally:
        await client.aclose()
        await delete_prefix(redis_server.url, prefix)


def _expected_messages(session: dict[str, Any]) -> list[Message]:
    return [Message.from_dict(item) for item in session["messages"]]


async def test_released_sessions_read_back_equal_in_listing_order(
    released: RedisSessionStore,
) -> None:
    sessions = FIXTURE["sessions"]
    records = await released.list()
    assert [r.id for r in records] == [s["id"] for s in sessions]
    for record, session in zip(records, sessions, strict=True):
        assert record.message_count == session["message_count"]
        assert record.version == session["version"]
        assert record.created_at == datetime.fromisoformat(session["created_at"])
        assert record.updated_at == datetime.fromisoformat(session["updated_at"])
        assert dict(record.attributes) == {}
        expected = _expected_messages(session)
        assert await released.load(record.id) == expected
        assert await released.load(record.id, start=-2) == expected[-2:]
        assert await released.load(record.id, start=1, stop=-1) == expected[1:-1]
        snap = await released.snapshot(record.id, start=-1)
        assert snap is not None and snap.record == record and snap.messages == expected[-1:]
    assert await released.count() == len(sessions)
    assert await released.namespaces() == [""]
    assert [r.id async for r in released.scan(page_size=2)] == [s["id"] for s in sessions]


async def test_released_sessions_accept_round_2_writes(
    released: RedisSessionStore, redis_server: RedisServer, sealed: bool
) -> None:
    by_id = {s["id"]: s for s in FIXTURE["sessions"]}
    chatty = _expected_messages(by_id["chatty"])
    assert await released.pop("chatty", 2) == chatty[-2:]
    record = await released.replace_tail("chatty", -3, [Message.user("compacted")])
    assert record.version == by_id["chatty"]["version"] + 2
    assert await released.load("chatty") == [*chatty[:-5], Message.user("compacted")]

    plain = _expected_messages(by_id["plain"])
    forked = await released.fork("plain", "copy", stop=2)
    assert forked.message_count == 2 and await released.load("copy") == plain[:2]
    renamed = await released.update_attributes("restored", {"title": "old chat"})
    assert renamed.updated_at == datetime.fromisoformat(by_id["restored"]["updated_at"])
    assert dict(renamed.attributes) == {"title": "old chat"}
    appended = await released.append("ünï cøde:{tag}", [Message.user("new")])
    assert appended.version == by_id["ünï cøde:{tag}"]["version"] + 1
    unicode_messages = _expected_messages(by_id["ünï cøde:{tag}"])
    assert await released.load("ünï cøde:{tag}") == [*unicode_messages, Message.user("new")]
    assert await released.load("empty") == []
    assert (await released.append("empty", [Message.user("first")])).message_count == 1

    client = redis.asyncio.Redis.from_url(redis_server.url)
    # A sealed store's fork reads its source without rewriting it.
    rewritten = ["chatty", "ünï cøde:{tag}", "empty", *([] if sealed else ["plain"])]
    try:
        for session_id in rewritten:
            key = released.session_keys(session_id).segments
            assert await client.lindex(key, 0) == (scripts.CHUNKED if sealed else scripts.HEADER)
        untouched = released.session_keys("blocks").segments
        assert (await client.lindex(untouched, 0) or b"")[:1] == b"["
    finally:
        await client.aclose()
    assert await released.load("blocks") == _expected_messages(by_id["blocks"])
    listed = [r.id for r in await released.list()]
    # Renaming "restored" did not move it; every other write did.
    assert listed == ["restored", "blocks", "plain", "chatty", "copy", "ünï cøde:{tag}", "empty"]
