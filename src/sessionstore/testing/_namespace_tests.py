"""Namespaces: views of one storage that see only their own sessions, and ``clear()``.

Every store test also runs inside a namespace (see ``_modes``); these tests
check what only namespaces have: names, views of views, listing the names in
use, clearing one namespace, the views' lifecycle, and two stores opened on
one storage seeing the same namespaces (when the suite is given a
``store_pair_factory``).

``namespaces()`` is the same list from the store and from any of its views
(names do not nest, so a view has no narrower set to list), sorted by code
point as Python sorts strings, ``""`` first when the store itself holds a session.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sessionstore._errors import InvalidArgumentError, StoreClosedError, UnsupportedOperationError
from sessionstore._messages import Message
from sessionstore._store import SessionStore
from sessionstore.testing._support import (
    StoreFactory,
    StorePairFactory,
    factory_test,
    ids_of,
    kind_of,
    numbered,
    store_test,
)

__all__ = ["NamespaceTests"]

#: Names that are ordinary: each is its own namespace.
_NAMES = (
    "left",
    "Left",
    " ",
    "a/b",
    "../x",
    "%",
    "_",
    "*",
    "DROP TABLE s;--",
    "é" * 128,
    "x" * 256,
)
_BAD_NAMES: tuple[Any, ...] = ("", "a\x00b", "x" * 257, "é" * 129, "a\ud800", 5, None, b"left")


async def _names(store: SessionStore) -> list[str]:
    try:
        return await store.namespaces()
    except UnsupportedOperationError:
        pytest.skip(f"{kind_of(store)} cannot list its namespaces (optional)")


class NamespaceTests:
    """Views by name, their isolation and lifecycle, ``namespaces()`` and ``clear()``."""

    @store_test
    async def test_the_same_id_in_two_namespaces(self, store: SessionStore) -> None:
        left, right = store.namespace("left"), store.namespace("right")
        await store.save("s", [Message.user("here")], attributes={"where": "here"})
        await left.save("s", [Message.user("left")], attributes={"where": "left"})
        await right.append("s", numbered(2))
        assert await store.load("s") == [Message.user("here")]
        assert await left.load("s") == [Message.user("left")]
        assert await right.load("s", start=-1) == [Message.user("m1")]
        assert [await v.count() for v in (store, left, right)] == [1, 1, 1]
        left_record = await left.get("s")
        assert left_record is not None and left_record.attributes == {"where": "left"}
        await left.update_attributes("s", {"where": None})
        await right.delete("s")
        assert await right.get("s") is None and await left.load("s") == [Message.user("left")]
        assert (await store.get("s")) is not None
        assert [r.version for r in await left.list()] == [2]
        assert await right.pop("s") == [] and await right.count() == 0
        assert await left.prune(keep_newest=0) == 1
        assert await store.count() == 1 and [r async for r in left.scan()] == []

    @store_test
    async def test_names_do_not_nest(self, store: SessionStore) -> None:
        inner = store.namespace("left").namespace("right")
        assert inner.namespace_name == "right"
        assert store.namespace("left").namespace_name == "left"
        await inner.save("s", numbered(1))
        assert await store.namespace("right").load("s") == numbered(1)
        assert await store.namespace("left").count() == 0
        assert await store.load("s") is None

    @store_test
    async def test_namespace_names(self, store: SessionStore) -> None:
        for name in _NAMES:
            await store.namespace(name).save("s", [Message.user(name)])
        for name in _NAMES:
            view = store.namespace(name)
            assert view.namespace_name == name
            assert await view.load("s") == [Message.user(name)], name
            assert await view.count() == 1, name
        for bad in _BAD_NAMES:
            with pytest.raises(InvalidArgumentError) as info:
                store.namespace(bad)
            assert isinstance(info.value, ValueError) and str(info.value)
        assert await store.count() == 0

    @store_test
    async def test_namespaces_lists_the_names_in_use(self, store: SessionStore) -> None:
        names = await _names(store)
        assert names == sorted(set(names))
        assert (store.namespace_name in names) == (await store.count() > 0)
        assert "left" not in names and "right" not in names
        await store.namespace("right").save("s", [])
        await store.namespace("left").save("s", [])
        await store.namespace("left").save("t", [])
        assert await _names(store) == sorted({*names, "left", "right"})
        assert await store.namespace("right").namespaces() == await _names(store)
        await store.namespace("left").delete("s")
        await store.namespace("right").delete("s")
        assert await _names(store) == sorted({*names, "left"})
        await store.namespace("left").clear()
        assert await _names(store) == names

    @store_test
    async def test_clear_empties_one_namespace(self, store: SessionStore) -> None:
        left = store.namespace("left")
        for session_id in ("a", "b", "c"):
            await store.save(session_id, numbered(2), attributes={"k": session_id})
        await left.save("a", numbered(1))
        await left.save("z", [])
        assert await store.clear() == 3
        assert await store.count() == 0 and await store.list() == []
        assert await store.load("a") is None and await store.get("b") is None
        assert ids_of(await left.list()) == ["a", "z"]
        assert await store.clear() == 0
        record = await store.append("a", [])
        assert record.version == 1 and record.attributes == {}
        assert await left.clear() == 2 and await left.count() == 0
        assert await store.count() == 1

    @factory_test
    async def test_views_live_as_long_as_their_store(self, factory: StoreFactory) -> None:
        async with factory() as store:
            view = store.namespace("left")
            await view.save("s", numbered(1))
            await view.close()
            async with view as entered:
                assert entered is view
            assert not view.closed and not store.closed
            assert await view.load("s") == numbered(1)
            await store.close()
            assert view.closed
            calls: dict[str, Any] = {
                "load": lambda: view.load("s"),
                "save": lambda: view.save("s", []),
                "count": lambda: view.count(),
                "clear": lambda: view.clear(),
                "namespaces": lambda: store.namespaces(),
                "new view": lambda: store.namespace("right").get("s"),
            }
            for name, call in calls.items():
                with pytest.raises(StoreClosedError):
                    await call()
                    pytest.fail(f"{name} after close did not raise StoreClosedError")

    def test_two_stores_on_one_storage(self, store_pair_factory: StorePairFactory | None) -> None:
        """Stores opened on one storage see each other's namespaces and sessions at once."""
        if store_pair_factory is None:
            pytest.skip("no store_pair_factory: the stores cannot share their storage")
        asyncio.run(_two_stores(store_pair_factory))


async def _two_stores(pair: StorePairFactory) -> None:
    async with pair() as (first, second):
        await first.namespace("left").save("s", numbered(2), attributes={"k": 1})
        await first.save("s", [])
        await second.namespace("right").append("s", numbered(1))
        for store in (first, second):
            assert await store.namespace("left").load("s") == numbered(2)
            assert await store.namespace("right").count() == 1
            assert await store.count() == 1
        try:
            names = await first.namespaces()
        except UnsupportedOperationError:
            names = None
        if names is not None:
            assert names == ["", "left", "right"] == await second.namespaces()
        record = await second.namespace("left").update_attributes("s", {"k": 2})
        assert await first.namespace("left").get("s") == record
        assert await second.namespace("left").clear() == 1
        assert await first.namespace("left").count() == 0
        assert await first.namespace("right").pop("s") == [Message.user("m0")]
        assert await second.namespace("right").load("s") == []
