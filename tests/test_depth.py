"""One nesting limit, whatever the caller's stack: what a write accepts, every read returns.

The limit counts the message object as level 1, so ``metadata`` nested ``d`` deep makes a
message of depth ``d + 1`` and a tool call's ``input`` nested ``d`` deep one of ``d + 3``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionstore import (
    MAX_MESSAGE_DEPTH,
    CorruptSessionError,
    InvalidMessageError,
    Message,
    SessionStore,
    ToolUseBlock,
)
from sessionstore._depth import json_depth_exceeds, value_depth
from sessionstore.backends.base import decode_segments, encode_messages
from sessionstore.testing import StoreFactory

_T = TypeVar("_T")


def nested_list(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def nested_dict(depth: int) -> Any:
    value: Any = 0
    for level in range(depth):
        value = {f"k{level}": value}
    return value


def with_metadata_depth(depth: int) -> Message:
    return Message.user("deep", metadata=nested_list(depth - 1))


def with_input_depth(depth: int) -> Message:
    return Message.assistant([ToolUseBlock("t1", "tool", nested_dict(depth - 3))])


def deep_in_the_stack(function: Callable[[], _T], *, spare: int = 40) -> _T:
    """Call ``function`` with all but ``spare`` frames of the recursion limit used up."""

    def descend(remaining: int) -> _T:
        return function() if remaining <= 0 else descend(remaining - 1)

    used = len(_stack())
    return descend(sys.getrecursionlimit() - used - spare)


def _stack() -> list[Any]:
    frames, frame = [], sys._getframe()
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back  # type: ignore[assignment]
    return frames


@pytest.mark.parametrize("build", [with_metadata_depth, with_input_depth])
@pytest.mark.parametrize("deep_stack", [False, True], ids=["shallow", "deep stack"])
def test_the_limit_is_exact_and_independent_of_the_stack(
    build: Callable[[int], Message], deep_stack: bool
) -> None:
    samples = {
        (depth, as_dict): build(depth).to_dict() if as_dict else build(depth)
        for depth in (MAX_MESSAGE_DEPTH, MAX_MESSAGE_DEPTH + 1)
        for as_dict in (False, True)
    }

    def encode(depth: int, as_dict: bool) -> Any:
        return encode_messages([samples[depth, as_dict]])

    run = deep_in_the_stack if deep_stack else (lambda function: function())
    for as_dict in (False, True):
        encoded = run(lambda: encode(MAX_MESSAGE_DEPTH, as_dict))  # noqa: B023
        assert encoded.count == 1
        with pytest.raises(InvalidMessageError, match=f"deeper than {MAX_MESSAGE_DEPTH}") as info:
            run(lambda: encode(MAX_MESSAGE_DEPTH + 1, as_dict))  # noqa: B023
        assert info.value.index == 0


def test_the_index_names_the_deep_message_among_others() -> None:
    messages = [Message.user("a"), Message.user("b"), with_metadata_depth(MAX_MESSAGE_DEPTH + 5)]
    with pytest.raises(InvalidMessageError) as info:
        encode_messages(messages)
    assert info.value.index == 2


def test_a_value_that_refers_to_itself_is_refused_not_a_crash() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(InvalidMessageError) as info:
        encode_messages([Message.user("x"), {"role": "user", "content": "y", "metadata": loop}])
    assert info.value.index == 1


def test_what_no_thread_can_decode_is_corrupt_not_a_recursion_error() -> None:
    too_deep = b'[{"role":"user","content":"x","metadata":' + b"[" * 5000 + b"]" * 5000 + b"}]"
    with pytest.raises(CorruptSessionError, match="nested too deeply"):
        decode_segments("s1", [too_deep])


def test_a_store_reads_at_any_stack_depth_what_it_accepted(store_factory: StoreFactory) -> None:
    deepest = [with_metadata_depth(MAX_MESSAGE_DEPTH), with_input_depth(MAX_MESSAGE_DEPTH)]

    async def body(store: SessionStore) -> None:
        await store.save("deep", deepest)
        await store.append("deep", [Message.user("after")])

    async def scenario() -> None:
        async with store_factory() as store:
            await body(store)
            loaded = deep_in_the_stack(lambda: _load_in_new_loop(store))
            assert loaded == [*deepest, Message.user("after")]
            assert await store.load("deep", start=-3, stop=-1) == deepest

    asyncio.run(scenario())


def _load_in_new_loop(store: SessionStore) -> list[Message] | None:
    """``store.load('deep')`` run to completion on a loop of this (deep) thread's own."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        # A fresh thread has a whole stack: descend again there, then run the load.
        return pool.submit(
            lambda: deep_in_the_stack(lambda: asyncio.run(store.load("deep")), spare=80)
        ).result()


_TRICKY_TEXT = st.text(alphabet='[]{}"\\\n ab', max_size=8)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TRICKY_TEXT,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(_TRICKY_TEXT, children, max_size=3),
    max_leaves=40,
)


@given(value=_JSON_VALUES, limit=st.integers(min_value=0, max_value=12))
def test_the_byte_level_depth_check_agrees_with_walking_the_values(value: Any, limit: int) -> None:
    """Brackets, quotes and backslashes inside strings never count as nesting."""
    raw = msgspec.json.encode(value)
    assert json_depth_exceeds(raw, limit) == (value_depth(value, limit) > limit)


@pytest.mark.parametrize("text", ["[" * 600, "]" * 600, '\\"[' * 300, "{[" * 300])
def test_brackets_in_text_do_not_make_a_message_too_deep(text: str) -> None:
    deep_but_allowed = nested_dict(MAX_MESSAGE_DEPTH - 2)  # message > metadata > this
    encoded = encode_messages([Message.user(text, metadata={"v": text, "d": deep_but_allowed})])
    assert encoded.count == 1
