"""``NamespaceView``: the same storage, seeing one namespace's sessions alone.

A view owns nothing: its public methods (inherited from ``SessionStore``)
call its store's hooks with the view's namespace, so it opens no connection
and shares the store's lifecycle. Its own hooks are never called; they
forward to the store for a caller that reaches them anyway.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Any

from sessionstore._messages import EncodedMessages, Message
from sessionstore._records import ListOptions, SessionId, SessionRecord
from sessionstore._store import SessionStore

__all__ = ["NamespaceView"]


class NamespaceView(SessionStore):
    """``store.namespace(name)``: every method sees and touches namespace ``name`` only."""

    def __init__(self, store: SessionStore, name: str) -> None:
        self._store = store
        self._namespace = name
        # A class attribute on the store's type; copied so a view reports the same.
        self.supports_restore = store.supports_restore  # type: ignore[misc]
        self.supports_cursor_scan = store.supports_cursor_scan  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"{self._store!r}.namespace({self._namespace!r})"

    @property
    def _backend(self) -> SessionStore:
        return self._store

    @property
    def closed(self) -> bool:
        """Whether the store this view belongs to was closed."""
        return self._store.closed

    async def open(self) -> None:
        """Open the store this view belongs to (if it is not open yet)."""
        await self._store.open()

    async def close(self) -> None:
        """Nothing: a view lives as long as its store; close the store instead."""

    # The hooks, forwarded (the public methods already call the store's own).

    async def _load(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> builtins.list[Message] | None:
        return await self._store._load(namespace, session_id, start, stop)

    async def _save(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> SessionRecord:
        return await self._store._save(
            namespace, session_id, messages, expected_version, attributes
        )

    def _append(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> Awaitable[SessionRecord]:
        return self._store._append(namespace, session_id, messages, expected_version, attributes)

    async def _get(self, namespace: str, session_id: SessionId) -> SessionRecord | None:
        return await self._store._get(namespace, session_id)

    async def _list(self, namespace: str, options: ListOptions) -> builtins.list[SessionRecord]:
        return await self._store._list(namespace, options)

    async def _count(self, namespace: str) -> int:
        return await self._store._count(namespace)

    async def _delete(self, namespace: str, session_id: SessionId) -> None:
        await self._store._delete(namespace, session_id)

    async def _prune(
        self, namespace: str, updated_before: datetime | None, keep_newest: int | None
    ) -> int:
        return await self._store._prune(namespace, updated_before, keep_newest)

    async def _update_attributes(
        self,
        namespace: str,
        session_id: SessionId,
        changes: Mapping[str, Any],
        expected_version: int | None,
    ) -> SessionRecord:
        return await self._store._update_attributes(
            namespace, session_id, changes, expected_version
        )
