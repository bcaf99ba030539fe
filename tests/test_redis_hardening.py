"""Redis key prefixes and URLs that could reach another application's data (issue 17 #6, #10).

A prefix must end with ``:``; every write script checks the type of every key it
may write before it writes anything, so a foreign key under the prefix fails the
call with ``BackendError`` and leaves the store exactly as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio

from plugins.redis import RedisServer, delete_prefix, unique_prefix
from sessionstore import (
    BackendError,
    InvalidArgumentError,
    Message,
    RedisSessionStore,
    SessionStore,
)

_Write = Callable[[SessionStore], Awaitable[object]]


@pytest.mark.parametrize("bad", ["", "app", "sessions", "app:x", ":a"])
def test_a_prefix_that_can_collide_is_refused(redis_server: RedisServer, bad: str) -> None:
    with pytest.raises(InvalidArgumentError, match="key_prefix must end with ':'"):
        RedisSessionStore(redis_server.url, key_prefix=bad)


@pytest.mark.parametrize("path", ["/abc", "/-1", "/1/2", "/0x1", "/1.5", "/ 1", "/db0"])
def test_a_url_path_that_is_not_a_database_number_is_refused(path: str) -> None:
    with pytest.raises(InvalidArgumentError, match="database number"):
        RedisSessionStore(f"redis://127.0.0.1:6379{path}")


async def test_a_database_number_path_selects_that_database(redis_server: RedisServer) -> None:
    url = redis_server.url.rsplit("/", 1)[0]
    for path in ("", "/", "/0", "/3"):
        async with RedisSessionStore(url + path, key_prefix=unique_prefix()) as store:
            assert await store.count() == 0
    raw = redis.asyncio.Redis.from_url(url + "/3")
    prefix = unique_prefix()
    try:
        async with RedisSessionStore(url + "/3", key_prefix=prefix) as store:
            await store.save("s", [Message.user("hi")])
        assert await raw.exists(f"{prefix}m:{b's'.hex()}") == 1
    finally:
        await delete_prefix(url + "/3", prefix)
        await raw.aclose()


async def _everything(client: redis.asyncio.Redis, prefix: str) -> dict[bytes, bytes | None]:
    keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
    return {key: await client.dump(key) for key in keys}


async def _append(store: SessionStore) -> object:
    return await store.append("s", [Message.user("more")])


async def _save(store: SessionStore) -> object:
    return await store.save("s", [Message.user("new")], attributes={"k": "v"})


async def _pop(store: SessionStore) -> object:
    return await store.pop("s")


async def _replace_tail(store: SessionStore) -> object:
    return await store.replace_tail("s", 0, [Message.user("x")])


async def _fork(store: SessionStore) -> object:
    return await store.fork("s", "t")


async def _delete(store: SessionStore) -> object:
    await store.delete("s")
    return None


async def _prune(store: SessionStore) -> object:
    return await store.prune(keep_newest=0)


async def _clear(store: SessionStore) -> object:
    return await store.clear()


WRITES: dict[str, _Write] = {
    "append": _append,
    "save": _save,
    "pop": _pop,
    "replace_tail": _replace_tail,
    "fork": _fork,
    "delete": _delete,
    "prune": _prune,
    "clear": _clear,
}
#: Each key a write may touch, the value planted there with the wrong type.
LISTING_KEYS = ["seq", "order", "updated"]


async def _plant(client: redis.asyncio.Redis, key: str) -> None:
    await client.delete(key)
    await client.rpush(key, b"another application's list")


@pytest.mark.parametrize("write", WRITES, ids=str)
@pytest.mark.parametrize("namespace", ["", "team"])
@pytest.mark.parametrize("name", [*LISTING_KEYS, "namespaces"])
async def test_a_foreign_listing_key_fails_a_write_with_nothing_written(
    redis_server: RedisServer,
    raw_client: redis.asyncio.Redis,
    prefix: str,
    write: str,
    namespace: str,
    name: str,
) -> None:
    if name == "namespaces" and not namespace:
        pytest.skip("the default namespace never writes the namespaces set")
    async with RedisSessionStore(redis_server.url, key_prefix=prefix) as root:
        store = root.namespace(namespace) if namespace else root
        await store.save("s", [Message.user("a"), Message.user("b")], attributes={"k": 1})
        await store.append("s", [Message.user("c")])
        base = prefix if not namespace else f"{prefix}n:{namespace.encode().hex()}:"
        key = f"{prefix}namespaces" if name == "namespaces" else base + name
        if name == "seq":  # a string that is not a counter is as foreign as a list
            await raw_client.set(key, b"not a number")
        else:
            await _plant(raw_client, key)
        before = await _everything(raw_client, prefix)
        with pytest.raises(BackendError, match=f"key {key} holds a .*nothing was written"):
            await WRITES[write](store)
        assert await _everything(raw_client, prefix) == before


@pytest.mark.parametrize("write", ["append", "save", "pop", "replace_tail", "fork"])
@pytest.mark.parametrize("kind", "msbe")
async def test_a_foreign_session_key_fails_a_write_with_nothing_written(
    redis_server: RedisServer, raw_client: redis.asyncio.Redis, prefix: str, write: str, kind: str
) -> None:
    async with RedisSessionStore(redis_server.url, key_prefix=prefix) as store:
        await store.save("t", [Message.user("other")])
        target = "t" if write == "fork" else "s"
        if write != "fork":
            await store.save("s", [Message.user("a")])
        key = f"{prefix}{kind}:{target.encode().hex()}"
        if write == "fork":
            await store.save("s", [Message.user("a")])
        await raw_client.delete(key)
        await raw_client.sadd(key, b"another application's set")
        before = await _everything(raw_client, prefix)
        with pytest.raises(BackendError, match="nothing was written"):
            await WRITES[write](store)
        assert await _everything(raw_client, prefix) == before


def test_a_refused_path_never_shows_a_password_split_into_it() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        RedisSessionStore("redis://app:Tops3cret/Xyz9@db:6379/0")
    assert "Xyz9" not in str(caught.value) and "Tops3cret" not in str(caught.value)
