"""Namespace mode: every store test runs once on the store and once inside a namespace view.

In ``namespace`` mode the test's body gets ``store.namespace(TEST_NAMESPACE)``
while the neighbouring namespaces (the store itself, ``""``, and two names that
share a prefix with the test's) hold sessions under the ids tests use most.
The body must see none of them, and after it they must be exactly as they
were: same records (versions, stamps, attributes), same transcripts, nothing
added. So every test of the contract is also a test of namespace isolation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sessionstore._errors import UnsupportedOperationError
from sessionstore._messages import Message
from sessionstore._records import SessionRecord
from sessionstore._store import SessionStore

__all__ = [
    "NEIGHBOUR_IDS",
    "NEIGHBOUR_NAMESPACES",
    "STORE_MODES",
    "TEST_NAMESPACE",
    "Neighbourhood",
    "run_in_mode",
]

_T = TypeVar("_T")

#: How a store test runs: on the store itself, and inside a namespace view.
STORE_MODES: tuple[str, ...] = ("store", "namespace")
#: The namespace of the view a test gets in ``namespace`` mode.
TEST_NAMESPACE = "tenant:β"
#: Namespaces that hold sessions beside the test's: the default one and two prefix traps.
NEIGHBOUR_NAMESPACES: tuple[str, ...] = ("", "tenant:β/", "tenant")
#: The ids the neighbours hold: the ones tests use most, so a leak would collide.
NEIGHBOUR_IDS: tuple[str, ...] = (
    "s",
    "a",
    "b",
    "c",
    "t",
    "k",
    "shared",
    "source",
    "target",
    "s0",
    "s1",
    "émoji 🎉",
)

#: Every record of one namespace in listing order, and every transcript.
_State = tuple[list[SessionRecord], dict[str, list[Message] | None]]


async def _state(view: SessionStore) -> _State:
    records = await view.list()
    return records, {str(record.id): await view.load(record.id) for record in records}


@dataclass
class Neighbourhood:
    """The sessions seeded around the test's namespace, and how they looked."""

    store: SessionStore
    seeded: dict[str, _State]

    @classmethod
    async def seed(cls, store: SessionStore) -> Neighbourhood:
        """Write a session under every neighbour id in every neighbour namespace."""
        seeded: dict[str, _State] = {}
        for name in NEIGHBOUR_NAMESPACES:
            view = store.namespace(name) if name else store
            for session_id in NEIGHBOUR_IDS:
                await view.save(
                    session_id,
                    [Message.user(f"{name!r}/{session_id!r}"), Message.assistant("neighbour")],
                    attributes={"namespace": name, "id": session_id},
                )
            await view.append("s", [Message.user("a second write")])
            seeded[name] = await _state(view)
        return cls(store, seeded)

    async def check_untouched(self) -> None:
        """Assert the neighbours are as seeded, and the store lists only the expected names."""
        for name, before in self.seeded.items():
            view = self.store.namespace(name) if name else self.store
            after = await _state(view)
            assert after == before, f"namespace {name!r} changed while the test used its own"
            assert await view.count() == len(before[0])
        await self._check_namespaces()

    async def _check_namespaces(self) -> None:
        try:
            names = await self.store.namespaces()
        except UnsupportedOperationError:
            return  # listing namespaces is optional
        # The test may have used other namespaces of its own; the neighbours are all there.
        assert names == sorted(set(names)), names
        assert set(NEIGHBOUR_NAMESPACES) <= set(names), names
        in_use = await self.store.namespace(TEST_NAMESPACE).count() > 0
        assert (TEST_NAMESPACE in names) == in_use, names


async def run_in_mode(
    store: SessionStore, mode: str, body: Callable[[SessionStore], Awaitable[_T]]
) -> _T:
    """Run ``body`` on ``store`` itself or, in ``namespace`` mode, on a namespace view of it."""
    if mode == "store":
        return await body(store)
    if mode != "namespace":
        raise ValueError(f"unknown store mode {mode!r}; the modes are {STORE_MODES}")
    neighbours = await Neighbourhood.seed(store)
    view = store.namespace(TEST_NAMESPACE)
    assert await view.count() == 0, "a new namespace must start empty"
    result = await body(view)
    if not store.closed:
        await neighbours.check_untouched()
    return result
