"""What every part of the suite shares: the factory type, the loop runner and sample data.

The suite's tests are synchronous and run their async body in an event loop
of their own, so the suite needs no pytest-asyncio and works under any
pytest configuration a third party has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import pytest

from sessionstore._messages import (
    Base64ImageSource,
    ImageBlock,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from sessionstore._records import SessionRecord, utc_now
from sessionstore._store import SessionStore
from sessionstore.testing._modes import STORE_MODES, run_in_mode

__all__ = [
    "HOSTILE_IDS",
    "INVALID_IDS",
    "StoreFactory",
    "StorePairFactory",
    "contract_examples",
    "ids_of",
    "kind_of",
    "factory_test",
    "nested",
    "numbered",
    "rich_transcript",
    "run_with_factory",
    "store_test",
    "tagged",
    "wait_for_clock_past",
]

#: A zero-argument callable returning an async context manager that yields a
#: fresh, empty, open store and closes it on exit.
StoreFactory = Callable[[], AbstractAsyncContextManager[SessionStore]]
#: A zero-argument callable returning an async context manager that yields two
#: open stores on one fresh, empty storage (two connections to one database).
StorePairFactory = Callable[[], AbstractAsyncContextManager[tuple[SessionStore, SessionStore]]]

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., None])

#: Ids the contract calls ordinary: they round-trip exactly and stay distinct.
HOSTILE_IDS: tuple[str, ...] = (
    "user-42",
    "discord:12345",
    "a/b",
    "a\\b",
    "../../etc/passwd",
    "DROP TABLE sessions;--",
    "'; DELETE FROM sessions; --",
    "émoji 🎉",
    " spaced ",
    "spaced",
    "*",
    "%",
    "_",
    "{hash}",
    "line\nbreak",
    "é",  # precomposed
    "e\u0301",  # decomposed: must stay distinct from the precomposed form
    "CaseSensitive",
    "casesensitive",
    "x" * 1024,
    "é" * 512,  # exactly 1,024 UTF-8 bytes
)

#: Values every method taking an id must refuse with InvalidSessionIdError.
INVALID_IDS: tuple[tuple[str, object], ...] = (
    ("empty", ""),
    ("NUL", "a\x00b"),
    ("1,025 bytes", "x" * 1025),
    ("1,026 bytes of 2-byte chars", "é" * 513),
    ("lone surrogate", "a\ud800b"),
    ("int", 42),
    ("None", None),
    ("bytes", b"session"),
)


def run_with_factory(
    factory: StoreFactory,
    body: Callable[[SessionStore], Awaitable[_T]],
    mode: str = "store",
) -> _T:
    """Run ``body(store)`` in a new event loop, with a fresh store from ``factory``.

    ``mode="namespace"`` gives ``body`` a namespace view of the store instead,
    with neighbouring namespaces seeded and checked untouched afterwards.
    """

    async def main() -> _T:
        async with factory() as store:
            return await run_in_mode(store, mode, body)

    return asyncio.run(main())


def store_test(
    body: Callable[[Any, SessionStore], Awaitable[None]],
) -> Callable[[Any, StoreFactory, str], None]:
    """Turn ``async def test_x(self, store)`` into sync pytest tests taking ``store_factory``.

    Parametrized by ``store_mode``: ``[store]`` runs the body on the store,
    ``[namespace]`` on a namespace view among seeded neighbours that must stay untouched.
    """

    def test(self: Any, store_factory: StoreFactory, store_mode: str) -> None:
        run_with_factory(store_factory, lambda store: body(self, store), store_mode)

    named: Callable[[Any, StoreFactory, str], None] = pytest.mark.parametrize(
        "store_mode", STORE_MODES
    )(_named_like(test, body))
    return named


def factory_test(
    body: Callable[[Any, StoreFactory], Coroutine[Any, Any, None]],
) -> Callable[[Any, StoreFactory], None]:
    """Turn ``async def test_x(self, factory)`` into a sync test that manages stores itself."""

    def test(self: Any, store_factory: StoreFactory) -> None:
        asyncio.run(body(self, store_factory))

    return _named_like(test, body)


def _named_like(test: _F, body: Callable[..., Any]) -> _F:
    # No functools.wraps: pytest would follow __wrapped__ and ask for a
    # ``store`` fixture instead of ``store_factory``.
    test.__name__ = body.__name__
    test.__qualname__ = body.__qualname__
    test.__doc__ = body.__doc__
    test.__module__ = body.__module__
    return test


def kind_of(store: SessionStore) -> str:
    """The backend's class name, for a namespace view too (for skip messages)."""
    return type(store._backend).__name__


def ids_of(records: Iterable[SessionRecord]) -> list[str]:
    """The ids of ``records``, as plain strings, in their order."""
    return [str(record.id) for record in records]


async def wait_for_clock_past(moment: Any) -> None:
    """Yield until the writer's clock has moved past ``moment`` (an aware datetime)."""
    while utc_now() <= moment:  # noqa: ASYNC110 - polling a clock, not waiting for an event
        await asyncio.sleep(0.001)


def nested(depth: int) -> Any:
    """A JSON value nested ``depth`` levels deep, alternating objects and arrays."""
    value: Any = "bottom"
    for level in range(depth):
        value = {"level": level, "next": value} if level % 2 else [level, value]
    return value


def numbered(count: int, prefix: str = "m") -> list[Message]:
    """``count`` user messages whose texts are ``prefix`` and their index: ``m0``, ``m1``..."""
    return [Message.user(f"{prefix}{index}") for index in range(count)]


def tagged(role: Role | str, **tags: Any) -> Message:
    """A small message whose metadata identifies it (for order and contiguity checks)."""
    return Message(Role(role), f"message {tags}", metadata=tags)


def contract_examples() -> list[dict[str, Any]]:
    """The four message examples of the contract, verbatim, as plain dicts (a fresh copy)."""
    return [
        {"role": "user", "content": "what's the weather?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
            ],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": "sunny, 22C",
                    "is_error": False,
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR..."},
                }
            ],
            "name": "alice",
            "metadata": {"channel": "discord", "trace": [1, 2, 3]},
        },
    ]


def rich_transcript() -> list[Message]:
    """Messages using every role, every block type and every optional field."""
    return [
        Message.system("You are terse."),
        Message.user("what's the weather?", name="alice", metadata={"channel": "discord"}),
        Message(
            Role.ASSISTANT,
            [
                TextBlock("Let me check."),
                ToolUseBlock("toolu_1", "weather", {"city": "Oslo", "days": [1, 2]}),
            ],
        ),
        Message.tool_result("toolu_1", "sunny, 22C", is_error=False),
        Message.tool_result("toolu_2", "timeout", is_error=True),
        Message.tool_result("toolu_3", "no flag"),
        Message(
            Role.USER,
            [ImageBlock(Base64ImageSource("image/png", "iVBORw0KGgo="))],
            name="alice",
            metadata={"trace": [1, 2, 3], "ok": True, "none": None, "pi": 3.25},
        ),
        Message(Role.TOOL, [ToolResultBlock("toolu_4", "")]),
        Message(Role.ASSISTANT, [ToolUseBlock("toolu_5", "noop")]),
        Message.assistant("Done: 22°C ☀️, 東京 too. 🎉", metadata="a string is JSON too"),
        Message.user("", name="", metadata=0),
        Message(Role.ASSISTANT, []),
    ]
