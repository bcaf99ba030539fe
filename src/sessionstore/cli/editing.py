"""Changing sessions from a shell: attribute assignments, pop, fork, namespaces and clear.

The logic under the ``attributes``, ``pop``, ``fork``, ``namespaces`` and
``clear`` commands; it imports no typer and uses the public API only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from sessionstore._errors import (
    ConflictError,
    InvalidArgumentError,
    SessionNotFoundError,
    SessionStoreError,
)
from sessionstore._messages import Message
from sessionstore._records import SessionRecord
from sessionstore._store import SessionStore
from sessionstore.cli.reading import UnknownSessionError, in_namespace
from sessionstore.cli.text import safe_text

__all__ = [
    "TargetExistsError",
    "attribute_changes",
    "fork_session",
    "namespace_counts",
    "pop_messages",
]


class TargetExistsError(SessionStoreError):
    """``fork`` without ``--replace`` named a target session that already exists."""


def _assignment(text: str) -> tuple[str, Any]:
    """``KEY=TEXT`` (a string value) or ``KEY:=JSON`` (any JSON value but null)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise InvalidArgumentError(
            f"{safe_text(text, quote=True)} is not KEY=VALUE (a string) or KEY:=JSON"
        )
    if not key.endswith(":"):
        parsed: Any = value
    else:
        key = key[:-1]
        try:
            parsed = msgspec.json.decode(value)
        except msgspec.DecodeError as exc:
            raise InvalidArgumentError(
                f"{safe_text(key, quote=True)}: {safe_text(value, quote=True)} is not JSON: {exc}"
            ) from exc
        except RecursionError as exc:
            raise InvalidArgumentError(
                f"{safe_text(key, quote=True)}: the JSON value is nested too deeply"
            ) from exc
        if parsed is None:
            raise InvalidArgumentError(
                f"{safe_text(key, quote=True)}: null removes a key; use --unset {safe_text(key)}"
            )
    if not key:
        raise InvalidArgumentError(f"{safe_text(text, quote=True)} has an empty key")
    return key, parsed


def attribute_changes(assignments: Iterable[str], unset: Iterable[str]) -> dict[str, Any]:
    """The changes ``KEY=VALUE``/``KEY:=JSON`` assignments and ``--unset KEY`` make.

    A key set twice, or both set and unset, is an error: the result would
    depend on the order of the arguments.
    """
    changes: dict[str, Any] = {}
    for key, value in [_assignment(text) for text in assignments]:
        if key in changes:
            raise InvalidArgumentError(f"attribute {safe_text(key, quote=True)} is set twice")
        changes[key] = value
    for key in unset:
        if not key:
            raise InvalidArgumentError("--unset needs a key, got an empty one")
        if key in changes:
            raise InvalidArgumentError(
                f"attribute {safe_text(key, quote=True)} is both set and unset"
            )
        changes[key] = None
    return changes


async def pop_messages(store: SessionStore, session_id: str, count: int) -> list[Message]:
    """Remove the last ``count`` messages of the session and return them; unknown id: error."""
    popped = await store.pop(session_id, count)
    if not popped and await store.get(session_id) is None:
        raise UnknownSessionError(session_id)
    return popped


async def fork_session(
    store: SessionStore, source: str, target: str, *, stop: int | None, replace: bool
) -> SessionRecord:
    """``store.fork``; unless ``replace``, ``target`` must not exist (ConflictError)."""
    try:
        return await store.fork(source, target, stop=stop, expected_version=None if replace else 0)
    except SessionNotFoundError as exc:
        raise UnknownSessionError(source) from exc
    except ConflictError as exc:
        raise TargetExistsError(
            f"session {safe_text(target, quote=True)} already exists; use --replace to overwrite it"
        ) from exc


async def namespace_counts(store: SessionStore) -> Mapping[str, int]:
    """Every namespace holding sessions, sorted, with how many it holds."""
    return {name: await in_namespace(store, name).count() for name in await store.namespaces()}
