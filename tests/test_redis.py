"""Redis-specific behaviour, against a real redis-server: keys, URLs, failures, recovery."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio

from plugins.redis import RedisServer, redis_factory
from plugins.writers import busy_writers
from sessionstore import (
    BackendError,
    CorruptSessionError,
    InvalidArgumentError,
    ListOptions,
    Message,
    RedisSessionStore,
    StoreClosedError,
    StoreUnavailableError,
    open_store,
)
from sessionstore._records import utc_now
from sessionstore.backends.redis import listing, scripts
from sessionstore.backends.redis import store as redis_store
from sessionstore.testing import HOSTILE_IDS as SHARED_HOSTILE_IDS
from sessionstore.testing import ConformanceSuite, StoreFactory

#: The suite's hostile ids, plus key separators, hash tags, glob characters and
#: names that collide with the store's own keys if ids were not encoded.
HOSTILE_IDS = [
    *SHARED_HOSTILE_IDS,
    ":",
    "{",
    "}",
    "{tag}",
    "?",
    "[",
    "[a-z]*",
    "m:",
    "s:61",
    "order",
    "seq",
    "updated",
    "a",
    "a ",
    "\\",
]


async def _keys_under(client: redis.asyncio.Redis, prefix: str) -> set[bytes]:
    pattern = prefix.replace("[", "\\[").replace("*", "\\*").replace("?", "\\?")
    return {key async for key in client.scan_iter(match=pattern + "*")}


async def test_stores_with_different_prefixes_do_not_see_each_other(
    redis_server: RedisServer, prefix: str
) -> None:
    # A prefix that extends the other one ("p:" and "p:m:") must not collide either.
    inner = prefix + "m:"
    async with (
        RedisSessionStore(redis_server.url, key_prefix=prefix) as outer_store,
        RedisSessionStore(redis_server.url, key_prefix=inner) as inner_store,
    ):
        await outer_store.save("s", [Message.user("outer")])
        await inner_store.save("s", [Message.user("inner")])
        await inner_store.save("only-inner", [Message.user("x")])

        assert await outer_store.load("s") == [Message.user("outer")]
        assert await inner_store.load("s") == [Message.user("inner")]
        assert await outer_store.load("only-inner") is None
        assert await outer_store.count() == 1
        assert [r.id for r in await inner_store.list()] == ["s", "only-inner"]

        assert await outer_store.prune(keep_newest=0) == 1
        assert await inner_store.count() == 2
        await inner_store.delete("s")
        assert await inner_store.load("only-inner") == [Message.user("x")]


async def test_hostile_ids_round_trip_distinct_and_stay_under_the_prefix(
    redis_factory_store: RedisSessionStore, raw_client: redis.asyncio.Redis
) -> None:
    store = redis_factory_store
    before = {key async for key in raw_client.scan_iter()}
    for index, session_id in enumerate(HOSTILE_IDS):
        await store.save(session_id, [Message.user(f"message {index}")])
    for index, session_id in enumerate(HOSTILE_IDS):
        assert await store.load(session_id) == [Message.user(f"message {index}")]
    assert [r.id for r in await store.list()] == HOSTILE_IDS
    assert await store.count() == len(HOSTILE_IDS)

    after = {key async for key in raw_client.scan_iter()}
    created = after - before
    prefix = store._prefix.encode()
    assert all(key.startswith(prefix) for key in created)
    # The id part of a key is hex: no separators, hash tags or glob characters survive.
    assert all(
        re.fullmatch(rb"seq|order|updated|[msbe]:[0-9a-f]+", key[len(prefix) :]) for key in created
    )
    # seq, order, updated + a hash, a list, a bulk and its ends per session (each was
    # saved with messages): nothing shared, nothing lost.
    assert len(created) == 3 + 4 * len(HOSTILE_IDS)

    for session_id in HOSTILE_IDS[::2]:
        await store.delete(session_id)
    for index, session_id in enumerate(HOSTILE_IDS):
        expected = None if index % 2 == 0 else [Message.user(f"message {index}")]
        assert await store.load(session_id) == expected


@pytest.fixture
async def redis_factory_store(
    redis_store_factory: StoreFactory,
) -> AsyncIterator[RedisSessionStore]:
    async with redis_store_factory() as store:
        assert isinstance(store, RedisSessionStore)
        yield store


async def test_unix_socket_url_selects_the_database(redis_server: RedisServer, prefix: str) -> None:
    url = redis_server.unix_url(db=2)
    async with RedisSessionStore(url, key_prefix=prefix) as store:
        await store.save("over-unix", [Message.user("hello")])
        assert await store.load("over-unix") == [Message.user("hello")]
    db2 = redis.asyncio.Redis.from_url(url)
    db0 = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        assert await _keys_under(db2, prefix)
        assert not await _keys_under(db0, prefix)
        for key in await _keys_under(db2, prefix):
            await db2.delete(key)
    finally:
        await db2.aclose()
        await db0.aclose()


async def test_redis_url_selects_the_database_and_open_store_dispatches(
    redis_server: RedisServer, prefix: str
) -> None:
    url = f"redis://127.0.0.1:{redis_server.port}/3"
    store = open_store(url)
    assert isinstance(store, RedisSessionStore)
    await store.close()
    assert isinstance(open_store(redis_server.unix_url()), RedisSessionStore)
    assert isinstance(open_store("rediss://127.0.0.1:1/0"), RedisSessionStore)

    async with RedisSessionStore(url, key_prefix=prefix) as store:
        await store.append("in-db-3", [Message.user("x")])
    db3 = redis.asyncio.Redis.from_url(url)
    try:
        keys = await _keys_under(db3, prefix)
        assert keys
        await db3.delete(*keys)
    finally:
        await db3.aclose()


async def test_store_does_not_close_a_client_it_was_given(
    redis_server: RedisServer, prefix: str
) -> None:
    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        async with RedisSessionStore(client=client, key_prefix=prefix) as store:
            await store.save("s", [Message.user("x")])
        with pytest.raises(StoreClosedError):
            await store.load("s")
        assert await client.ping()
        assert await client.exists(store.session_keys("s").segments) == 1
    finally:
        await client.aclose()


async def test_invalid_construction_raises_library_errors(redis_server: RedisServer) -> None:
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        RedisSessionStore()
    with pytest.raises(InvalidArgumentError, match="not a Redis URL"):
        RedisSessionStore("http://127.0.0.1/0")
    text_client = redis.asyncio.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        with pytest.raises(InvalidArgumentError, match="decode_responses"):
            RedisSessionStore(client=text_client)
    finally:
        await text_client.aclose()


async def test_passwords_never_appear_in_repr_or_errors(
    redis_server: RedisServer, raw_client: redis.asyncio.Redis, prefix: str
) -> None:
    password = "s3cret-Pa55word"
    user = f"user-{prefix.split(':')[1]}"
    await raw_client.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], keys="*", channels="*", commands=["+@all"]
    )
    try:
        good = f"redis://{user}:{password}@127.0.0.1:{redis_server.port}/0"
        async with RedisSessionStore(good, key_prefix=prefix) as store:
            await store.save("s", [Message.user("authenticated")])
            assert password not in repr(store)
            assert "***" in repr(store)

        wrong = f"redis://{user}:wrong-{password}@127.0.0.1:{redis_server.port}/0"
        store = RedisSessionStore(wrong, key_prefix=prefix)
        with pytest.raises(BackendError) as refused:
            await store.load("s")
        assert password not in str(refused.value)
        assert password not in repr(store)
        await store.close()

        unreachable = f"redis://{user}:{password}@127.0.0.1:1/0?password={password}"
        store = RedisSessionStore(unreachable, key_prefix=prefix)
        with pytest.raises(StoreUnavailableError) as down:
            await store.count()
        assert password not in str(down.value)
        assert password not in repr(store)
        await store.close()

        with pytest.raises(InvalidArgumentError) as bad:
            RedisSessionStore(f"http://u:{password}@host/0")
        assert password not in str(bad.value)
    finally:
        await raw_client.acl_deluser(user)


async def test_corrupt_segment_names_the_session_and_others_still_load(
    redis_factory_store: RedisSessionStore, raw_client: redis.asyncio.Redis
) -> None:
    store = redis_factory_store
    await store.save("broken", [Message.user("a")])
    await store.append("broken", [Message.user("b")])
    await store.save("healthy", [Message.user("fine")])
    transcript = store.session_keys("broken").segments
    await raw_client.lset(transcript, 1, '{"role": "nobody"')

    with pytest.raises(CorruptSessionError, match="broken") as caught:
        await store.load("broken")
    assert caught.value.session_id == "broken"
    assert await store.load("healthy") == [Message.user("fine")]
    record = await store.get("broken")
    assert record is not None and record.message_count == 2
    # Appending to a damaged transcript must not hide the damage; its tail still loads.
    for _ in range(3):
        await store.append("broken", [Message.user("more")])
    with pytest.raises(CorruptSessionError):
        await store.load("broken")
    assert await store.load("broken", start=-3) == [Message.user("more")] * 3
    # A damaged header makes the list look like the released layout, which does not decode.
    await raw_client.lset(transcript, 0, '[{"role": "nobody"')
    with pytest.raises(CorruptSessionError, match="broken"):
        await store.append("broken", [Message.user("again")])


async def test_scripts_are_reloaded_after_script_flush(
    redis_factory_store: RedisSessionStore, raw_client: redis.asyncio.Redis
) -> None:
    store = redis_factory_store
    await store.save("s", [Message.user("one")])
    await store.list()
    await raw_client.script_flush()
    record = await store.append("s", [Message.user("two")])
    assert record.version == 2
    await raw_client.script_flush()
    assert [r.id for r in await store.list()] == ["s"]
    await raw_client.script_flush()
    await store.save("t", [])
    assert await store.prune(keep_newest=1) == 1
    await raw_client.script_flush()
    await store.delete("t")
    assert await store.count() == 0


async def test_server_restart_surfaces_unavailable_then_recovers(
    redis_factory_store: RedisSessionStore, redis_server: RedisServer
) -> None:
    store = redis_factory_store
    await store.save("survivor", [Message.user("before restart")])
    redis_server.stop()
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            await store.append("survivor", [Message.user("during downtime")])
        assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)
        with pytest.raises(StoreUnavailableError):
            await store.load("survivor")
    finally:
        redis_server.start()
    # Same store, no reopen: it reconnects, and reloads scripts the restart dropped.
    record = await store.append("survivor", [Message.user("after restart")])
    assert record.version == 2
    assert await store.load("survivor") == [
        Message.user("before restart"),
        Message.user("after restart"),
    ]
    assert [r.id for r in await store.list()] == ["survivor"]


async def test_a_save_is_one_bulk_string_and_later_writes_are_list_elements(
    redis_factory_store: RedisSessionStore, raw_client: redis.asyncio.Redis
) -> None:
    store = redis_factory_store
    saved = [Message.user(f"saved {index}") for index in range(5)]
    await store.save("chat", saved)
    expected = list(saved)
    for index in range(30):
        batch = [Message.user(f"turn {index}")] if index % 7 else []
        expected.extend(batch)
        await store.append("chat", batch)
    meta, key, _, _ = store.session_keys("chat")
    stored = await raw_client.lrange(key, 0, -1)
    assert stored[0] == scripts.HEADER
    assert [Message.from_json(item) for item in stored[1:]] == expected[5:]
    assert await raw_client.hget(meta, "bulk") == b"5"
    assert await store.load("chat", start=-3) == expected[-3:]
    assert await store.load("chat", start=2, stop=-2) == expected[2:-2]
    # A pop that reaches into the bulk shortens it without rewriting it.
    assert await store.pop("chat", len(expected) - 3) == expected[3:]
    assert await raw_client.hget(meta, "bulk") == b"3"
    assert await raw_client.llen(key) == 1
    await store.append("chat", [Message.user("after")])
    assert await store.load("chat") == [*expected[:3], Message.user("after")]


async def test_prune_in_batches_keeps_the_newest_and_the_recent(
    redis_factory_store: RedisSessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "DELETE_BATCH", 3)  # the name the store reads
    store = redis_factory_store
    for index in range(10):
        await store.save(f"old-{index}", [])
    cutoff = utc_now() + timedelta(microseconds=1)
    while utc_now() <= cutoff:
        pass
    for index in range(3):
        await store.save(f"new-{index}", [])
    # Old and not among the newest five: old-0 .. old-7.
    deleted = await store.prune(updated_before=cutoff, keep_newest=5)
    assert deleted == 8
    assert [r.id for r in await store.list()] == ["old-8", "old-9", "new-0", "new-1", "new-2"]
    assert await store.prune(keep_newest=1) == 4
    assert [r.id for r in await store.list()] == ["new-2"]


async def _append_concurrently(store: RedisSessionStore, session_ids: list[str]) -> None:
    """One two-message append per entry of ``session_ids``, all at once; check every one landed."""
    records = await asyncio.gather(
        *(
            store.append(session_id, [Message.user(f"{call}a"), Message.user(f"{call}b")])
            for call, session_id in enumerate(session_ids)
        )
    )
    calls_per_session = Counter(session_ids)
    for session_id, calls in calls_per_session.items():
        versions = sorted(r.version for r in records if r.id == session_id)
        assert versions == list(range(1, calls + 1))
        record = await store.get(session_id)
        assert record is not None
        assert (record.version, record.message_count) == (calls, 2 * calls)
        messages = await store.load(session_id)
        assert messages is not None
        texts = [m.text or "" for m in messages]
        # Each call's two messages sit side by side, and every call is there exactly once.
        pairs = [(texts[i], texts[i + 1]) for i in range(0, len(texts), 2)]
        assert all(a[:-1] == b[:-1] and a[-1] == "a" and b[-1] == "b" for a, b in pairs)
        expected = {str(call) for call, sid in enumerate(session_ids) if sid == session_id}
        assert {a[:-1] for a, _ in pairs} == expected


async def test_concurrent_callers_queue_for_a_small_pool_instead_of_failing(
    redis_server: RedisServer, prefix: str
) -> None:
    # Generous timeouts: the point is queueing, not speed, and a loaded CI machine is slow.
    async with RedisSessionStore(
        redis_server.url,
        key_prefix=prefix,
        max_connections=8,
        pool_timeout=120,
        connect_timeout=60,
    ) as store:
        pool = (await store._connections.clients.get()).connection_pool
        assert isinstance(pool, redis.asyncio.BlockingConnectionPool)
        assert pool.max_connections == 8
        await _append_concurrently(store, ["one"] * 1000)
        await _append_concurrently(store, [f"many-{call % 200}" for call in range(1000)])
        assert await store.count() == 201
        opened = len(pool._available_connections) + len(pool._in_use_connections)
        assert 1 <= opened <= 8


async def test_pool_wait_timeout_raises_unavailable_then_recovers(
    redis_server: RedisServer, prefix: str
) -> None:
    store = RedisSessionStore(
        redis_server.url, key_prefix=prefix, max_connections=1, pool_timeout=0.2
    )
    async with store:
        await store.save("s", [Message.user("x")])
        pool = (await store._connections.clients.get()).connection_pool
        held = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            with pytest.raises(StoreUnavailableError, match="no free connection") as caught:
                await store.load("s")
            assert "max_connections" in str(caught.value)
            with pytest.raises(StoreUnavailableError, match="no free connection"):
                await store.append("s", [Message.user("y")])
        finally:
            await pool.release(held)
        record = await store.append("s", [Message.user("z")])
        assert record.version == 2


async def test_pool_size_options_and_validation(redis_server: RedisServer) -> None:
    default = RedisSessionStore(redis_server.url)
    options = "max_connections=3&pool_timeout=4&connect_timeout=1.5&socket_timeout=6"
    from_query = RedisSessionStore.from_url(f"{redis_server.url}?{options}")
    try:
        assert (await default._connections.clients.get()).connection_pool.max_connections == (
            redis_store.DEFAULT_MAX_CONNECTIONS
        )
        pool = (await from_query._connections.clients.get()).connection_pool
        assert isinstance(pool, redis.asyncio.BlockingConnectionPool)
        assert (pool.max_connections, pool.timeout) == (3, 4.0)
        assert pool.connection_kwargs["socket_connect_timeout"] == 1.5
        assert pool.connection_kwargs["socket_timeout"] == 6.0
        assert await from_query.count() >= 0  # redis-py takes them as they are
    finally:
        await default.close()
        await from_query.close()
    with pytest.raises(InvalidArgumentError, match="max_connections"):
        RedisSessionStore(redis_server.url, max_connections=0)
    with pytest.raises(InvalidArgumentError, match="max_connections"):
        RedisSessionStore(redis_server.url, max_connections=2.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="pool_timeout"):
        RedisSessionStore(redis_server.url, pool_timeout=0)
    with pytest.raises(InvalidArgumentError, match="max_connections"):
        RedisSessionStore(f"{redis_server.url}?max_connections=many")


# -- listing windows read in chunks ------------------------------------------------------


class TestConformanceWithTinyListChunks(ConformanceSuite):
    """The whole contract again, with every listing window over 2 sessions read in chunks."""

    @pytest.fixture
    def store_factory(self, redis_server: RedisServer) -> StoreFactory:
        return redis_factory(redis_server, list_chunk=2)


async def test_a_large_listing_is_read_in_bounded_chunks(redis_server: RedisServer) -> None:
    async with redis_factory(redis_server, list_chunk=25)() as store:
        assert isinstance(store, RedisSessionStore)
        ids = [f"s{index:03}" for index in range(230)]
        for session_id in ids:  # one after another: the listing order is the ids' order
            await store.save(session_id, [])
        await store.append("s007", [Message.user("again")])
        expected = [*(i for i in ids if i != "s007"), "s007"]
        calls: Counter[str] = Counter()
        call = store._connections.run

        async def counted(operation: str, *args: Any, **kwargs: Any) -> Any:
            calls[operation] += 1
            return await call(operation, *args, **kwargs)

        store._connections.run = counted  # type: ignore[method-assign,assignment]
        assert [str(r.id) for r in await store.list()] == expected
        assert calls["list"] + calls["scan"] == 10  # 230 sessions in chunks of 25
        newest = await store.list_paginated(ListOptions(offset=3, limit=40, newest_first=True))
        assert [str(r.id) for r in newest] == expected[::-1][3:43]
        oldest = await store.list_paginated(ListOptions(offset=200, limit=None))
        assert [str(r.id) for r in oldest] == expected[200:]


async def test_a_chunked_listing_beside_writers_has_each_session_once(
    redis_server: RedisServer,
) -> None:
    async with redis_factory(redis_server, list_chunk=20)() as store:
        ids = [f"s{index}" for index in range(300)]
        await asyncio.gather(*(store.save(session_id, []) for session_id in ids))
        async with busy_writers(store, ids):
            for _ in range(3):
                listed = [str(record.id) for record in await store.list()]
                assert sorted(listed) == sorted(ids)  # every session, each once
