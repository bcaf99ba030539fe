"""Data at rest on Redis: encryption and compression, against a real redis-server.

A sealed store keeps transcripts in the chunked layout (see
``sessionstore.backends.redis.chunks``); these tests read the server's raw
keys to check what it holds, and change raw bytes to check what a reader does.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import pytest
import redis.asyncio

from plugins.redis import TEST_ENCRYPTION, RedisServer
from sessionstore import (
    BackendError,
    CorruptSessionError,
    Encryption,
    Message,
    MissingKeyError,
    RedisSessionStore,
    open_store,
)
from sessionstore.backends.redis import scripts

OTHER_KEY = bytes(range(100, 132))


def _store(url: str, prefix: str, **rest: Any) -> RedisSessionStore:
    return RedisSessionStore(url, key_prefix=prefix, **rest)


def _sealed(url: str, prefix: str) -> RedisSessionStore:
    return _store(url, prefix, encryption=TEST_ENCRYPTION, compression="zstd")


async def _every_value(client: Any) -> list[bytes]:
    """Every key of the database and everything each holds, by its type."""
    found: list[bytes] = []
    async for key in client.scan_iter(count=1000):
        found.append(key)
        kind = (await client.type(key)).decode()
        if kind == "string":
            found.append(await client.get(key))
        elif kind == "list":
            found.extend(await client.lrange(key, 0, -1))
        elif kind == "hash":
            for field, value in (await client.hgetall(key)).items():
                found.extend((field, value))
        elif kind == "zset":
            found.extend(await client.zrange(key, 0, -1))
        elif kind == "set":
            found.extend(await client.smembers(key))
        else:  # pragma: no cover - the store writes no other type
            raise AssertionError(f"{key!r} holds a {kind}")
        dumped = await client.dump(key)
        found.append(dumped or b"")
    return found


async def test_no_plaintext_reaches_the_server(
    redis_server: RedisServer, raw_client: Any, prefix: str
) -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    said = Message.user(f"the secret is {marker}")
    async with _sealed(redis_server.url, prefix) as store:
        team = store.namespace("team")
        for where in (store, team):
            await where.save("s", [said] * 300, attributes={marker: marker})
            await where.append("s", [said])
            await where.replace_tail("s", -2, [said, said])
            await where.pop("s")
            await where.fork("s", "copy", stop=150)
            await where.update_attributes("copy", {"note": marker})
            await where.restore("r", [said], created_at=said_at(), updated_at=said_at(),
                                attributes={"k": marker})  # fmt: skip
            copied = await where.load("copy")
            assert copied is not None and copied[149] == said
            assert (await where.get("copy")).attributes["note"] == marker  # type: ignore[union-attr]
    values = await _every_value(raw_client)
    assert any(key.startswith(prefix.encode()) for key in values)
    for value in values:
        assert marker.encode() not in value
        assert base64.b64encode(marker.encode()) not in value


def said_at() -> Any:
    from datetime import UTC, datetime

    return datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


async def _chunks(client: Any, store: RedisSessionStore, session: str) -> list[bytes]:
    chunks: list[bytes] = await client.lrange(store.session_keys(session).segments, 0, -1)
    assert chunks[0] == scripts.CHUNKED
    return chunks


async def test_one_changed_byte_makes_only_that_session_corrupt(
    redis_server: RedisServer, raw_client: Any, prefix: str
) -> None:
    async with _sealed(redis_server.url, prefix) as store:
        await store.save("bad", [Message.user("a"), Message.user("b")])
        await store.save("good", [Message.user("c")])
        chunk = (await _chunks(raw_client, store, "bad"))[1]
        changed = chunk[:-1] + bytes([chunk[-1] ^ 1])
        await raw_client.lset(store.session_keys("bad").segments, 1, changed)
        with pytest.raises(CorruptSessionError) as caught:
            await store.load("bad")
        assert caught.value.session_id == "bad"
        with pytest.raises(CorruptSessionError):
            await store.load("bad", start=-1)
        assert await store.load("good") == [Message.user("c")]


async def test_payloads_swapped_between_sessions_or_places_do_not_read(
    redis_server: RedisServer, raw_client: Any, prefix: str
) -> None:
    async with _sealed(redis_server.url, prefix) as store:
        await store.save("one", [Message.user("1")], attributes={"who": "one"})
        await store.save("two", [Message.user("2")], attributes={"who": "two"})
        await store.append("two", [Message.user("3")])
        one, two = store.session_keys("one"), store.session_keys("two")
        first = (await _chunks(raw_client, store, "one"))[1]
        await raw_client.lset(two.segments, 1, first)
        with pytest.raises(CorruptSessionError):
            await store.load("two")
        # Within a session: the chunk of message 1 put in the place of message 0.
        chunks = await _chunks(raw_client, store, "two")
        await raw_client.lset(two.segments, 1, chunks[2])
        with pytest.raises(CorruptSessionError):
            await store.load("two")
        await raw_client.hset(two.meta, "a", await raw_client.hget(one.meta, "a"))
        with pytest.raises(CorruptSessionError):
            await store.get("two")
        assert await store.load("one") == [Message.user("1")]


async def test_a_wrong_or_missing_key_is_told_and_never_shown(
    redis_server: RedisServer, prefix: str
) -> None:
    async with _sealed(redis_server.url, prefix) as store:
        await store.save("s", [Message.user("hi")], attributes={"k": "v"})
    wrong = Encryption({"test-key": OTHER_KEY})
    async with _store(redis_server.url, prefix, encryption=wrong) as store:
        with pytest.raises(CorruptSessionError) as caught:
            await store.load("s")
        assert not isinstance(caught.value, MissingKeyError)
        for shown in (str(caught.value), repr(store), repr(wrong)):
            assert base64.b64encode(OTHER_KEY).decode() not in shown
            assert str(OTHER_KEY) not in shown
    async with _store(redis_server.url, prefix, encryption=Encryption({"new": OTHER_KEY})) as store:
        with pytest.raises(MissingKeyError, match="test-key") as missing:
            await store.load("s")
        assert missing.value.key_id == "test-key"
    async with _store(redis_server.url, prefix) as store:  # no keys at all
        with pytest.raises(CorruptSessionError, match="given no keys"):
            await store.load("s")


async def test_rotation_reads_old_keys_and_writes_with_the_primary(
    redis_server: RedisServer, raw_client: Any, prefix: str
) -> None:
    async with _sealed(redis_server.url, prefix) as store:
        await store.save("s", [Message.user("old")], attributes={"k": "old"})
    both = Encryption({"test-key": bytes(range(32)), "k2": OTHER_KEY})
    async with _store(redis_server.url, prefix, encryption=both) as store:
        assert both.primary == "k2"
        await store.append("s", [Message.user("new")])
        chunks = await _chunks(raw_client, store, "s")
        assert [chunk[3 : 3 + chunk[2]] for chunk in chunks[1:]] == [b"test-key", b"k2"]
        assert await store.load("s") == [Message.user("old"), Message.user("new")]
        await store.save("s", [Message.user("all new")], attributes={"k": "new"})
    async with _store(redis_server.url, prefix, encryption=Encryption({"k2": OTHER_KEY})) as only:
        assert await only.load("s") == [Message.user("all new")]
        assert (await only.get("s")).attributes == {"k": "new"}  # type: ignore[union-attr]


async def test_plaintext_sessions_read_and_are_sealed_by_their_next_write(
    redis_server: RedisServer, raw_client: Any, prefix: str
) -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    said = [Message.user(f"{marker} {i}") for i in range(5)]
    async with _store(redis_server.url, prefix) as plain:
        await plain.save("s", said[:3], attributes={"k": marker})
        await plain.append("s", said[3:4])
    async with _sealed(redis_server.url, prefix) as store:
        assert await store.load("s") == said[:4]
        assert await store.load("s", start=1, stop=3) == said[1:3]
        record = await store.append("s", said[4:])
        assert record.message_count == 5 and record.attributes == {"k": marker}
        assert await store.load("s") == said
        assert await store.pop("s", 2) == said[3:]
        assert await store.load("s") == said[:3]
    for value in await _every_value(raw_client):
        assert marker.encode() not in value


@pytest.mark.parametrize("writer", ["zstd", "plain"])
async def test_stores_with_and_without_compression_read_each_other(
    redis_server: RedisServer, prefix: str, writer: str
) -> None:
    said = [Message.user("word " * 200) for _ in range(40)]
    zstd = _store(redis_server.url, prefix, compression="zstd")
    plain = _store(redis_server.url, prefix)
    first, second = (zstd, plain) if writer == "zstd" else (plain, zstd)
    async with first, second:
        await first.save("s", said[:20], attributes={"k": "v"})
        await first.append("s", said[20:30])
        assert await second.load("s") == said[:30]
        # Every edit by the other store, on what the first one wrote:
        await second.append("s", said[30:])
        assert await second.pop("s", 5) == said[35:]
        await second.replace_tail("s", 10, said[10:12])
        await second.fork("s", "copy", stop=5)
        await second.update_attributes("s", {"k2": "w"})
        for reader in (first, second):
            assert await reader.load("s") == said[:12]
            assert await reader.load("s", start=-3, stop=-1) == said[9:11]
            assert await reader.load("copy") == said[:5]
            assert (await reader.get("s")).attributes == {"k": "v", "k2": "w"}  # type: ignore[union-attr]
            assert [r.id for r in await reader.list()] == ["s", "copy"]


async def test_concurrent_sealed_appends_from_two_stores_all_land_in_order(
    redis_server: RedisServer, prefix: str
) -> None:
    async with _sealed(redis_server.url, prefix) as one, _sealed(redis_server.url, prefix) as two:
        await one.save("s", [])

        async def writer(store: RedisSessionStore, name: str) -> None:
            for number in range(25):
                await store.append("s", [Message.user(f"{name}{number}")])

        await asyncio.gather(writer(one, "a"), writer(two, "b"), writer(one, "c"))
        loaded = await two.load("s")
        assert loaded is not None and len(loaded) == 75
        for name in "abc":
            mine = [m.content for m in loaded if str(m.content).startswith(name)]
            assert mine == [f"{name}{number}" for number in range(25)]
        record = await one.get("s")
        assert record is not None and record.version == 76
        assert await one.load("s", start=30, stop=33) == loaded[30:33]


async def test_a_sealed_write_over_a_foreign_key_writes_nothing(
    redis_server: RedisServer, raw_client: Any, prefix: str
) -> None:
    async with _sealed(redis_server.url, prefix) as store:
        await store.save("s", [Message.user("a")])
        await raw_client.delete(f"{prefix}seq")
        await raw_client.rpush(f"{prefix}seq", b"another application's list")
        before = {
            key: await raw_client.dump(key) async for key in raw_client.scan_iter(prefix + "*")
        }
        for write in (
            store.append("s", [Message.user("b")]),
            store.save("s", [Message.user("c")]),
            store.pop("s"),
        ):
            with pytest.raises(BackendError, match="nothing was written"):
                await write
        after = {
            key: await raw_client.dump(key) async for key in raw_client.scan_iter(prefix + "*")
        }
        assert after == before


async def test_plaintext_attributes_a_plain_store_merged_into_a_sealed_session_get_sealed(
    redis_server: RedisServer, raw_client: Any, prefix: str
) -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    async with (
        _sealed(redis_server.url, prefix) as store,
        _store(redis_server.url, prefix) as plain,
    ):
        await store.save("s", [Message.user("a"), Message.user("b")])
        await plain.update_attributes("s", {"k": marker})
        assert await store.pop("s") == [Message.user("b")]
        await store.replace_tail("s", 0, [Message.user("c")])
        record = await store.get("s")
        assert record is not None and record.attributes == {"k": marker}
        assert await store.load("s") == [Message.user("c")]
    for value in await _every_value(raw_client):
        assert marker.encode() not in value


async def test_open_store_passes_encryption_and_compression_to_redis(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/9"
    marker = f"marker-{uuid.uuid4().hex}"
    async with open_store(url, encryption=TEST_ENCRYPTION, compression="zstd") as store:
        assert isinstance(store, RedisSessionStore)
        await store.save("s", [Message.user(marker)], attributes={"k": marker})
        assert await store.load("s") == [Message.user(marker)]
    other = redis.asyncio.Redis.from_url(url)
    try:
        dumped = [await other.dump(key) async for key in other.scan_iter()]
        assert dumped and not any(marker.encode() in (value or b"") for value in dumped)
        await other.flushdb()
    finally:
        await other.aclose()
