"""The SQLite store and the in-memory reference, driven by the same random operations,
agree on every transcript, slice, record and listing: the pushed-down segment work
(splits, merged runs, cuts at segment boundaries and inside segments) loses nothing."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sessionstore import (
    ConflictError,
    InMemorySessionStore,
    Message,
    SessionNotFoundError,
    SessionRecord,
    SessionStore,
)
from sessionstore.backends.sqlite import SQLiteSessionStore

_IDS = ["a", "b", "émoji 🎉"]
_NAMESPACES = ["", "tenant"]


def _batch(rng: random.Random) -> list[Message]:
    """Mostly small messages, sometimes big ones (segments split and runs close)."""
    size = rng.choice([0, 1, 1, 2, 3, 5, 40])
    width = rng.choice([10, 10, 10, 900, 20_000])
    return [Message.user(f"{rng.random():.6f}" + "x" * rng.randrange(width)) for _ in range(size)]


def _shape(record: SessionRecord | None) -> Any:
    if record is None:
        return None
    return (record.id, record.message_count, record.version, dict(record.attributes))


async def _outcome(call: Callable[[SessionStore], Awaitable[Any]], store: SessionStore) -> Any:
    try:
        result = await call(store)
    except (ConflictError, SessionNotFoundError) as exc:
        return type(exc).__name__
    if isinstance(result, SessionRecord):
        return _shape(result)
    if result is not None and hasattr(result, "record"):  # a Snapshot
        return _shape(result.record), result.messages
    return result


def _operation(rng: random.Random, appends: float) -> Callable[[SessionStore], Awaitable[Any]]:
    sid, other = rng.choice(_IDS), rng.choice(_IDS)
    messages = _batch(rng)
    index = rng.randrange(-60, 60)
    stop = rng.choice([None, rng.randrange(-60, 60)])
    version = rng.choice([None, None, None, rng.randrange(0, 4)])
    attrs = rng.choice([None, {"title": f"t{index}"}, {"title": None, "n": index}])
    count, coin = rng.randrange(1, 50), rng.random()  # drawn now: both stores get the same
    kind = 1 if rng.random() < appends else rng.randrange(12)
    if kind == 0:
        return lambda s: s.save(sid, messages, expected_version=version, attributes=attrs)
    if kind in (1, 2, 3):
        return lambda s: s.append(sid, messages, expected_version=version, attributes=attrs)
    if kind == 4:
        return lambda s: s.pop(sid, count, expected_version=version)
    if kind == 5:
        return lambda s: s.replace_tail(sid, index, messages, expected_version=version)
    if kind == 6:
        return lambda s: s.fork(sid, other, stop=stop, expected_version=version)
    if kind == 7:
        return lambda s: s.update_attributes(sid, attrs or {"k": 1}, expected_version=version)
    if kind == 8:
        return lambda s: s.load(sid, start=index, stop=stop)
    if kind == 9:
        return lambda s: s.snapshot(sid, start=index, stop=stop)
    if kind == 10:
        return lambda s: s.delete(sid) if coin < 0.3 else s.load(sid)
    return lambda s: s.prune(keep_newest=2) if coin < 0.2 else s.get(sid)


async def _listing(store: SessionStore) -> Any:
    return (
        [_shape(record) for record in await store.list()],
        await store.count(),
        [(r.id, await store.load(r.id)) for r in await store.list()],
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("appends", [0.0, 0.8], ids=["mixed", "append-heavy"])
async def test_sqlite_agrees_with_the_reference(tmp_path: Path, seed: int, appends: float) -> None:
    rng = random.Random(seed)
    async with (
        SQLiteSessionStore(tmp_path / "s.db") as sqlite,
        InMemorySessionStore() as memory,
    ):
        for step in range(250):
            name = rng.choice(_NAMESPACES)
            operation = _operation(rng, appends)
            stores = [memory, sqlite] if not name else [s.namespace(name) for s in (memory, sqlite)]
            expected = await _outcome(operation, stores[0])
            actual = await _outcome(operation, stores[1])
            assert actual == expected, f"seed {seed}, step {step}"
            if step % 25 == 24:
                for n in _NAMESPACES:
                    views = (
                        [memory, sqlite] if not n else [s.namespace(n) for s in (memory, sqlite)]
                    )
                    assert await _listing(views[1]) == await _listing(views[0])
                assert await sqlite.namespaces() == await memory.namespaces()
        assert await sqlite.namespace("tenant").clear() == await memory.namespace("tenant").clear()
        assert await _listing(sqlite) == await _listing(memory)
