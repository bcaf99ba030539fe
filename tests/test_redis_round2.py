"""The round-2 hooks of the Redis store, against a real redis-server.

A seeded random run of every operation on the Redis store and on the
in-memory reference store (``backends/memory.py``), in two namespaces, must
give the same answers: records (timestamps aside), messages, errors, listing
order, counts and namespaces. Then what a comparison cannot show: the work
stays inside Redis and inside each namespace's own keys, and a store works from
several threads and event loops at once.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import threading
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio

from plugins.redis import RedisServer, delete_prefix, unique_prefix
from sessionstore import InMemorySessionStore, Message, RedisSessionStore, SessionStore
from sessionstore._errors import InvalidArgumentError, SessionStoreError
from sessionstore._records import SessionRecord, utc_now

IDS = ["a", "b", "c", "ü:{x}"]
NAMESPACES = ["", "tenant ü"]


@pytest.fixture
async def prefix(redis_server: RedisServer) -> AsyncIterator[str]:
    value = unique_prefix()
    yield value
    await delete_prefix(redis_server.url, value)


@pytest.fixture
async def raw_client(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


def _shape(record: SessionRecord) -> tuple[Any, ...]:
    return (record.id, record.message_count, record.version, dict(record.attributes))


def _comparable(value: Any) -> Any:
    if isinstance(value, SessionRecord):
        return _shape(value)
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    if value is not None and hasattr(value, "record"):  # a Snapshot
        return (_shape(value.record), value.messages)
    return value


def _random_call(rng: random.Random) -> tuple[str, Callable[[SessionStore], Awaitable[Any]]]:
    """One random operation, the same for both stores."""
    sid, other = rng.choice(IDS), rng.choice(IDS)
    version = rng.choice([None, None, None, 0, 1, 2, 3])
    texts = [Message.user(f"m{rng.randrange(1000)}") for _ in range(rng.randrange(4))]
    index, stop = rng.randrange(-6, 7), rng.choice([None, rng.randrange(-6, 7)])
    attrs = rng.choice([None, {"title": f"t{index}"}, {"title": None, "n": [index]}])
    count, keep = rng.randrange(1, 4), rng.randrange(4)
    moment = utc_now() - timedelta(days=rng.randrange(1, 100))
    calls: dict[str, Callable[[SessionStore], Awaitable[Any]]] = {
        "save": lambda s: s.save(sid, texts, expected_version=version, attributes=attrs),
        "append": lambda s: s.append(sid, texts, expected_version=version, attributes=attrs),
        "load": lambda s: s.load(sid, start=index, stop=stop),
        "snapshot": lambda s: s.snapshot(sid, start=index, stop=stop),
        "get": lambda s: s.get(sid),
        "pop": lambda s: s.pop(sid, count, expected_version=version),
        "replace_tail": lambda s: s.replace_tail(sid, index, texts, expected_version=version),
        "fork": lambda s: s.fork(sid, other, stop=stop, expected_version=version),
        "update_attributes": lambda s: s.update_attributes(
            sid, attrs or {"k": index}, expected_version=version
        ),
        "delete": lambda s: s.delete(sid),
        "list": lambda s: s.list_paginated(),
        "count": lambda s: s.count(),
        "prune": lambda s: s.prune(keep_newest=keep),
        "restore": lambda s: s.restore(
            sid, texts, created_at=moment, updated_at=moment, attributes=attrs
        ),
        "scan": lambda s: _collect(s.scan(page_size=2)),
    }
    name = rng.choice([*calls, "append", "save", "load"])
    if rng.random() < 0.02:
        return "clear", lambda s: s.clear()
    return name, calls[name]


async def _collect(records: AsyncIterator[SessionRecord]) -> list[SessionRecord]:
    return [record async for record in records]


async def _outcome(call: Callable[[SessionStore], Awaitable[Any]], store: SessionStore) -> Any:
    try:
        return _comparable(await call(store))
    except SessionStoreError as exc:
        return type(exc).__name__


@pytest.mark.parametrize("fold_at", [256, 2])
@pytest.mark.parametrize("seed", range(3))
async def test_every_hook_answers_as_the_reference_store_does(
    redis_server: RedisServer, prefix: str, seed: int, fold_at: int
) -> None:
    rng = random.Random(seed)
    async with (
        RedisSessionStore(redis_server.url, key_prefix=prefix) as real,
        InMemorySessionStore() as reference,
    ):
        real.fold_at = fold_at  # 2: appends keep folding the list into the saved bulk
        for step in range(500):
            namespace = rng.choice(NAMESPACES)
            name, call = _random_call(rng)
            stores = [s if not namespace else s.namespace(namespace) for s in (real, reference)]
            got, want = [await _outcome(call, store) for store in stores]
            assert got == want, f"step {step}: {name} in {namespace!r}"
        for namespace in NAMESPACES:
            views = [s if not namespace else s.namespace(namespace) for s in (real, reference)]
            got, want = [[(_shape(r), await v.load(r.id)) for r in await v.list()] for v in views]
            assert got == want
        assert await real.namespaces() == await reference.namespaces()


async def test_update_attributes_keeps_updated_at_and_listing_place(
    redis_server: RedisServer, prefix: str
) -> None:
    async with RedisSessionStore(redis_server.url, key_prefix=prefix) as store:
        first = await store.save("first", [Message.user("a")], attributes={"title": "x"})
        await store.save("second", [Message.user("b")])
        renamed = await store.update_attributes("first", {"title": "y", "tags": ["t"]})
        assert renamed.updated_at == first.updated_at and renamed.version == 2
        assert dict(renamed.attributes) == {"title": "y", "tags": ["t"]}
        assert [r.id for r in await store.list()] == ["first", "second"]
        appended = await store.append("first", [Message.user("c")])
        assert dict(appended.attributes) == {"title": "y", "tags": ["t"]}


async def test_fork_copies_inside_redis_with_attributes(
    redis_server: RedisServer, prefix: str, raw_client: redis.asyncio.Redis
) -> None:
    async with RedisSessionStore(redis_server.url, key_prefix=prefix) as store:
        messages = [Message.user(f"m{index}") for index in range(10)]
        await store.save("source", messages, attributes={"owner": "ann"})
        await store.save("target", [Message.user("old")], attributes={"stale": True})
        forked = await store.fork("source", "target", stop=-4)
        assert (forked.message_count, forked.version) == (6, 2)
        assert dict(forked.attributes) == {"owner": "ann"}
        assert await store.load("target") == messages[:6]
        assert await store.load("source") == messages
        # The target shares the source's saved bulk, of which it counts six messages.
        meta, transcript, _, _ = store.session_keys("target")
        assert await raw_client.llen(transcript) == 1  # the header alone
        assert await raw_client.hget(meta, "bulk") == b"6"


async def test_too_big_attributes_write_nothing(redis_server: RedisServer, prefix: str) -> None:
    async with RedisSessionStore(redis_server.url, key_prefix=prefix) as store:
        await store.save("s", [Message.user("a")], attributes={"a": "x" * 40_000})
        with pytest.raises(InvalidArgumentError, match="allowed"):
            await store.append("s", [Message.user("b")], attributes={"b": "y" * 40_000})
        with pytest.raises(InvalidArgumentError, match="allowed"):
            await store.update_attributes("s", {"b": "y" * 40_000})
        record = await store.get("s")
        assert record is not None and (record.version, record.message_count) == (1, 1)
        assert set(record.attributes) == {"a"}


async def test_namespaces_use_their_own_keys_under_the_prefix(
    redis_server: RedisServer, prefix: str, raw_client: redis.asyncio.Redis
) -> None:
    async with RedisSessionStore(redis_server.url, key_prefix=prefix) as store:
        tenant = store.namespace("t/ü")
        await store.save("s", [Message.user("default")])
        await tenant.save("s", [Message.user("tenant")])
        base = f"{prefix}n:{'t/ü'.encode().hex()}:".encode()
        keys = {key async for key in raw_client.scan_iter(match=f"{prefix}*")}
        assert {key for key in keys if key.startswith(base)} == {
            *(base + kind + b":73" for kind in (b"m", b"s", b"b", b"e")),
            *(base + name for name in (b"order", b"updated", b"seq")),
        }
        assert await store.namespaces() == ["", "t/ü"]
        assert await tenant.clear() == 1
        assert await store.namespaces() == [""]
        assert await raw_client.smembers(f"{prefix}namespaces") == set()
        await tenant.save("old", [])
        cutoff = utc_now() + timedelta(seconds=1)
        assert await tenant.prune(updated_before=cutoff) == 1
        await store.delete("s")
        assert await store.namespaces() == []
        remaining = {key async for key in raw_client.scan_iter(match=f"{prefix}*")}
        assert remaining <= {f"{prefix}seq".encode(), base + b"seq"}


def test_first_calls_from_five_threads_each_with_its_own_loop(
    redis_server: RedisServer, prefix: str
) -> None:
    store = RedisSessionStore(redis_server.url, key_prefix=prefix)
    barrier = threading.Barrier(5)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        async def calls() -> None:
            barrier.wait()
            view = store.namespace(f"thread {index}") if index % 2 else store
            await view.append(f"s{index}", [Message.user(str(index))])
            assert await view.load(f"s{index}") == [Message.user(str(index))]

        try:
            asyncio.run(calls())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(5)]
    for thread in threads:
        thread.start()

    async def later() -> None:  # on yet another loop, after those loops closed
        assert await store.count() == 3
        assert await store.namespaces() == ["", "thread 1", "thread 3"]
        await store.close()

    # Each thread's loop closed its client as it ended: nothing is left open on a
    # dead loop for the garbage collector to warn about.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for thread in threads:
            thread.join()
        asyncio.run(later())
        gc.collect()
    assert errors == []
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_a_store_opened_on_one_loop_works_on_another_and_closes_all(
    redis_server: RedisServer, prefix: str
) -> None:
    store = RedisSessionStore(redis_server.url, key_prefix=prefix)
    asyncio.run(store.save("s", [Message.user("one")]))
    loop = asyncio.new_event_loop()
    try:
        record = loop.run_until_complete(store.append("s", [Message.user("two")]))
        assert record.version == 2
        assert len(store._connections.clients) >= 1
        loop.run_until_complete(store.close())
        assert len(store._connections.clients) == 0
    finally:
        loop.close()


async def test_an_adopted_client_lends_its_settings_and_stays_open(
    redis_server: RedisServer, prefix: str
) -> None:
    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        store = RedisSessionStore(client=client, key_prefix=prefix)
        async with store:
            await store.save("s", [Message.user("x")])

        def elsewhere() -> list[Message] | None:
            return asyncio.run(RedisSessionStore(client=client, key_prefix=prefix).load("s"))

        assert await asyncio.to_thread(elsewhere) == [Message.user("x")]
        assert await client.ping()
    finally:
        await client.aclose()


async def test_a_save_after_a_script_flush_stages_again_and_leaves_nothing_behind(
    redis_server: RedisServer, prefix: str, raw_client: redis.asyncio.Redis
) -> None:
    async with RedisSessionStore(redis_server.url, key_prefix=prefix) as store:
        await store.save("s", [Message.user("one")])
        await raw_client.script_flush()
        record = await store.save("s", [Message.user("two"), Message.user("three")])
        assert record.version == 2
        assert await store.load("s") == [Message.user("two"), Message.user("three")]
        with pytest.raises(SessionStoreError):
            await store.save("s", [Message.user("late")], expected_version=1)
        staging = store._keys("").staging("s")
        assert await raw_client.exists(*staging) == 0


async def test_appends_fold_into_the_saved_bulk_so_a_whole_load_is_one_string(
    redis_server: RedisServer, prefix: str, raw_client: redis.asyncio.Redis
) -> None:
    async with RedisSessionStore(redis_server.url, key_prefix=prefix) as store:
        store.fold_at = 4
        expected = [Message.user(f"m{index}") for index in range(3)]
        await store.save("s", expected)
        for index in range(3, 8):
            expected.append(Message.user(f"m{index}"))
            await store.append("s", [expected[-1]])
        meta, transcript, bulk, _ = store.session_keys("s")
        # The fifth list message made the list longer than four: all five moved.
        assert await raw_client.llen(transcript) == 1
        assert await raw_client.hget(meta, "bulk") == b"8"
        stored = await raw_client.get(bulk)
        assert stored is not None
        assert [Message.from_dict(d) for d in json.loads(stored)] == expected
        assert await store.load("s") == expected
        assert await store.load("s", start=2, stop=-3) == expected[2:-3]


async def test_a_write_past_redis_string_limit_is_refused_before_sending(
    redis_server: RedisServer, prefix: str
) -> None:
    async with RedisSessionStore(redis_server.url, key_prefix=prefix) as store:
        assert store.max_write_bytes == 512 * 1024 * 1024  # Redis's proto-max-bulk-len
        store.max_write_bytes = 100  # type: ignore[misc]
        with pytest.raises(InvalidArgumentError, match="100 bytes"):
            await store.save("s", [Message.user("x" * 200)])
        assert await store.get("s") is None
