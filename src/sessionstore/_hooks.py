"""``StoreHooks``: what a backend implements, and the defaults it may push down.

Every hook takes the namespace first (``""`` is the default namespace, any
other name came through :func:`validate_namespace`) and receives arguments the
public API has already validated: ids are ``SessionId``, messages are encoded
once (``EncodedMessages``), attribute changes are checked JSON (``None``
removes a key), numbers fit in a signed 64-bit integer. Slice bounds arrive as
the caller gave them (negative counts from the end); resolve them against the
stored length with :func:`resolve_slice` inside the same read.

The required hooks are abstract. The others have defaults built on them that
are atomic through ``expected_version`` (read, then write only if nothing
changed, retried), but cost what a whole transcript costs: the built-in
backends override every one of them to push the work down.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Any

from sessionstore._errors import ConflictError, SessionNotFoundError
from sessionstore._messages import EncodedMessages, Message, encode_messages
from sessionstore._records import ListOptions, SessionId, SessionRecord, Snapshot

__all__ = ["StoreHooks"]

#: How often a default read-modify-write retries after another writer got in between.
_RETRIES = 100


def _check_version(session_id: str, expected: int | None, actual: int) -> None:
    if expected is not None and expected != actual:
        raise ConflictError(session_id, expected=expected, actual=actual)


class StoreHooks(ABC):
    """The ``_``-prefixed methods a ``SessionStore`` backend implements."""

    # -- required ------------------------------------------------------------------------

    @abstractmethod
    async def _load(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> builtins.list[Message] | None:
        """The slice ``[start:stop]`` of the transcript (Python semantics), or None if unknown."""

    @abstractmethod
    async def _save(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> SessionRecord:
        """Replace the transcript, merge ``attributes`` changes, check the version: atomically."""

    @abstractmethod
    def _append(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> Awaitable[SessionRecord]:
        """Append and merge ``attributes`` changes, checking the version, atomically.

        An ``async def``, or a plain method returning an awaitable (one coroutine
        less on the hot path).
        """

    @abstractmethod
    async def _get(self, namespace: str, session_id: SessionId) -> SessionRecord | None:
        """The record (attributes included) or None."""

    @abstractmethod
    async def _list(self, namespace: str, options: ListOptions) -> builtins.list[SessionRecord]:
        """The window of the namespace's listing that ``options`` describes."""

    @abstractmethod
    async def _count(self, namespace: str) -> int:
        """How many sessions the namespace holds."""

    @abstractmethod
    async def _delete(self, namespace: str, session_id: SessionId) -> None:
        """Delete the session if present."""

    @abstractmethod
    async def _prune(
        self, namespace: str, updated_before: datetime | None, keep_newest: int | None
    ) -> int:
        """Delete per the ``prune`` contract within the namespace; return how many went."""

    @abstractmethod
    async def _update_attributes(
        self,
        namespace: str,
        session_id: SessionId,
        changes: Mapping[str, Any],
        expected_version: int | None,
    ) -> SessionRecord:
        """Merge ``changes``; version + 1, ``updated_at`` and listing position unchanged.

        SessionNotFoundError for an unknown session; the version check as for ``_save``.
        """

    # -- optional capabilities -------------------------------------------------------------

    async def _namespaces(self) -> builtins.list[str]:
        """Every namespace that holds a session, sorted; ``""`` first when it holds one."""
        from sessionstore._errors import UnsupportedOperationError

        raise UnsupportedOperationError(f"{type(self).__name__} cannot list its namespaces")

    async def _restore(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        created_at: datetime,
        updated_at: datetime,
        attributes: Mapping[str, Any],
    ) -> SessionRecord:
        """``_save`` with these timestamps (aware UTC) and exactly these attributes.

        Only called when ``supports_restore``.
        """
        raise NotImplementedError(f"{type(self).__name__} sets supports_restore without _restore")

    async def _scan_page(
        self, namespace: str, after: int, limit: int
    ) -> builtins.list[tuple[int, SessionRecord]]:
        """Up to ``limit`` records past listing position ``after``, with their positions.

        In listing order. A position is an int >= 1 (so ``after=0`` starts at the
        beginning) that every write replaces with a larger one. Read in one
        consistent step. Only called when ``supports_cursor_scan``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} sets supports_cursor_scan without _scan_page"
        )

    # -- defaults to push down --------------------------------------------------------------

    async def _snapshot(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> Snapshot | None:
        """The record and the slice, consistent: re-read until the version held still."""
        version = 0
        for _ in range(_RETRIES):
            before = await self._get(namespace, session_id)
            if before is None:
                return None
            version = before.version
            messages = await self._load(namespace, session_id, start, stop)
            if messages is not None and await self._get(namespace, session_id) == before:
                return Snapshot(before, messages)
        raise ConflictError(session_id, expected=version, actual=-1)

    async def _rewrite(
        self,
        namespace: str,
        session_id: SessionId,
        expected_version: int | None,
        change: Any,
    ) -> Any:
        """Read the whole session, ``change(snapshot)`` -> (messages or None, result), write back.

        Retried on a concurrent write when the caller gave no ``expected_version``.
        """
        for _ in range(_RETRIES):
            snap = await self._snapshot(namespace, session_id, 0, None)
            actual = 0 if snap is None else snap.record.version
            _check_version(session_id, expected_version, actual)
            messages, result = change(snap)
            if messages is None:
                return result
            try:
                record = await self._save(
                    namespace, session_id, encode_messages(messages), actual, None
                )
            except ConflictError:
                if expected_version is not None:
                    raise
                continue
            return record if result is None else result
        raise ConflictError(session_id, expected=actual, actual=-1)

    async def _pop(
        self, namespace: str, session_id: SessionId, count: int, expected_version: int | None
    ) -> builtins.list[Message]:
        """Remove and return the last ``count`` messages (``count >= 1``), atomically."""

        def change(snap: Snapshot | None) -> tuple[builtins.list[Message] | None, Any]:
            if snap is None or not snap.messages:
                return None, []
            cut = max(0, len(snap.messages) - count)
            return snap.messages[:cut], snap.messages[cut:]

        popped: builtins.list[Message] = await self._rewrite(
            namespace, session_id, expected_version, change
        )
        return popped

    async def _replace_tail(
        self,
        namespace: str,
        session_id: SessionId,
        start: int,
        messages: EncodedMessages,
        expected_version: int | None,
    ) -> SessionRecord:
        """Replace ``[start:]`` with ``messages``; SessionNotFoundError for an unknown session."""
        from sessionstore._messages import decode_segments
        from sessionstore._records import resolve_index

        new = decode_segments(session_id, [messages.payload])

        def change(snap: Snapshot | None) -> tuple[builtins.list[Message] | None, Any]:
            if snap is None:
                raise SessionNotFoundError(session_id, "replace_tail")
            return snap.messages[: resolve_index(start, len(snap.messages))] + new, None

        record: SessionRecord = await self._rewrite(namespace, session_id, expected_version, change)
        return record

    async def _fork(
        self,
        namespace: str,
        source_id: SessionId,
        target_id: SessionId,
        stop: int | None,
        expected_version: int | None,
    ) -> SessionRecord:
        """Copy ``source[:stop]`` and its attributes over ``target``; SessionNotFoundError."""
        snap = await self._snapshot(namespace, source_id, 0, stop)
        if snap is None:
            raise SessionNotFoundError(source_id, "fork")
        target = await self._get(namespace, target_id)
        stale = target is not None and target.attributes
        changes = dict.fromkeys(target.attributes) if stale and target is not None else {}
        changes.update(snap.record.attributes)
        return await self._save(
            namespace, target_id, encode_messages(snap.messages), expected_version, changes
        )

    async def _clear(self, namespace: str) -> int:
        """Delete every session of the namespace; return how many."""
        deleted = 0
        while page := await self._list(namespace, ListOptions(limit=500)):
            for record in page:
                await self._delete(namespace, record.id)
            deleted += len(page)
        return deleted
