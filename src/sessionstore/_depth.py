"""One nesting-depth limit for messages, the same whatever the caller's stack.

msgspec encodes and decodes nested JSON recursively, so how deep a value it
can handle depends on how much of Python's recursion limit the caller has
already used. A store must not accept a message from a shallow stack that it
then cannot read back from a deep one. So:

- a message may nest at most ``MAX_MESSAGE_DEPTH`` levels (the message object
  is level 1, a ``metadata`` dict level 2, a tool call's ``input`` level 4),
  checked at the write edge on the encoded JSON bytes, without recursion and
  in C-speed byte operations (:func:`json_depth_exceeds`);
- any encode or decode that runs out of stack is retried once on a fresh
  thread, whose whole recursion budget exceeds that limit by far.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

__all__ = [
    "MAX_MESSAGE_DEPTH",
    "first_too_deep",
    "in_fresh_thread",
    "json_depth_exceeds",
    "stack_safe",
    "value_depth",
]

#: How deeply a message may nest, counting the message object as level 1.
MAX_MESSAGE_DEPTH = 256

_T = TypeVar("_T")
_CONTAINERS = (dict, list)

# Keep only brackets and quotes, and make every bracket square.
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'[]{}"')


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether the JSON text ``raw`` nests more than ``limit`` levels.

    Byte operations only (no recursion, no per-value Python work): escaped
    quotes go, then everything but brackets and quotes, then strings (their
    brackets are text); each pass removing every ``[]`` pair left then peels
    exactly one level.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # too few openers to nest that deep: most writes stop here
    if b'\\"' in raw:  # only an escaped quote can make a quote not a string boundary
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = raw.translate(_BRACKETS, _NOT_STRUCTURE)
    brackets = structure.replace(b'""', b"")  # strings without brackets in them
    if b'"' in brackets:  # some string holds brackets: drop every string's content
        brackets = b"".join(structure.split(b'"')[::2])
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"")
    return bool(brackets)


def value_depth(value: Any, limit: int) -> int:
    """The nesting depth of a JSON value (a scalar is 0), or ``limit + 1`` once past ``limit``."""
    if type(value) not in _CONTAINERS:
        return 0
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        children = item.values() if type(item) is dict else item
        stack.extend((child, depth + 1) for child in children if type(child) in _CONTAINERS)
    return deepest


def _message_depth(message: Any, limit: int) -> int:
    depth = 1
    if message.metadata is not None:
        depth = 1 + value_depth(message.metadata, limit - 1)
    if type(message.content) is list:
        for block in message.content:
            tool_input = getattr(block, "input", None)
            if tool_input is not None:  # message > content > block > input
                depth = max(depth, 3 + value_depth(tool_input, limit - 3))
    return depth


def first_too_deep(messages: Iterable[Any], limit: int = MAX_MESSAGE_DEPTH) -> int | None:
    """The index of the first message nesting deeper than ``limit``, or None."""
    for index, message in enumerate(messages):
        depth = value_depth(message, limit) if type(message) is dict else None
        if (depth if depth is not None else _message_depth(message, limit)) > limit:
            return index
    return None


def in_fresh_thread(function: Callable[..., _T], *args: Any) -> _T:
    """``function(*args)`` on a new thread (a whole recursion budget), its result or exception."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, function(*args)))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append((False, exc))

    worker = threading.Thread(target=run, name="sessionstore-deep-json")
    worker.start()
    worker.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    result: _T = value
    return result


def stack_safe(function: Callable[..., _T], *args: Any) -> _T:
    """``function(*args)``, retried on a fresh thread if this stack runs out on the way."""
    try:
        return function(*args)
    except RecursionError:
        return in_fresh_thread(function, *args)
