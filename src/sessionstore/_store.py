"""The abstract ``SessionStore``: the contract every backend honours, in docstrings.

Public methods are concrete: they validate arguments, refuse calls after
``close()`` and encode messages once, then call the ``_``-prefixed hooks of
``StoreHooks`` with the store's namespace first. A backend therefore never
sees an invalid id, message, window or attribute, and every backend rejects
bad input the same way. ``namespace(name)`` returns a view whose calls reach
the same hooks with another namespace.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from sessionstore._arguments import aware, changes_or_none, check_count, prepare_write
from sessionstore._attributes import validate_attribute_changes, validate_attributes
from sessionstore._errors import InvalidArgumentError, UnsupportedOperationError
from sessionstore._lifecycle import StoreLifecycle
from sessionstore._messages import Message, MessageInput
from sessionstore._records import (
    ListOptions,
    SessionRecord,
    Snapshot,
    check_index,
    validate_namespace,
    validate_session_id,
)

__all__ = ["SessionStore"]


class SessionStore(StoreLifecycle):
    """Persistence for conversation transcripts keyed by session id.

    All methods but ``namespace`` are coroutines; the store is safe to share
    between tasks, threads and event loops. Use it as an async context manager,
    or call ``close()`` when done. Backends implement the hooks of
    ``sessionstore.backends.base.StoreHooks``. Two capabilities are optional: a
    backend that implements ``_restore`` sets ``supports_restore = True``, and
    one that implements ``_scan_page`` sets ``supports_cursor_scan = True``.
    """

    #: Whether ``restore`` works on this store.
    supports_restore: ClassVar[bool] = False
    #: Whether ``scan`` pages by a cursor on the listing order (and so skips no
    #: session while others are written) rather than by offset.
    supports_cursor_scan: ClassVar[bool] = False
    #: The most bytes of encoded messages one write may carry (None: no limit of
    #: the backend's own). Larger writes are refused before anything is sent,
    #: with InvalidArgumentError naming the limit, since no retry could help.
    max_write_bytes: ClassVar[int | None] = None

    #: The namespace this store object reads and writes (``""`` = the default).
    _namespace: str = ""

    @property
    def namespace_name(self) -> str:
        """The namespace this object sees: ``""`` for the store itself."""
        return self._namespace

    @property
    def _backend(self) -> SessionStore:
        """The store whose hooks do the work (a namespace view answers with its store)."""
        return self

    def namespace(self, name: str) -> SessionStore:
        """A view of the same storage that sees only the sessions of namespace ``name``.

        Cheap (no new connections); closing the store closes its views. Names do
        not nest: ``view.namespace(x)`` is ``store.namespace(x)``.
        """
        from sessionstore._namespace import NamespaceView

        return NamespaceView(self._backend, validate_namespace(name))

    async def namespaces(self) -> builtins.list[str]:
        """Every namespace holding at least one session, sorted (``""`` is the store itself)."""
        backend = self._backend
        return await backend._run_hook(backend._namespaces)

    # -- reading ---------------------------------------------------------------------------

    async def load(
        self, session_id: str, *, start: int = 0, stop: int | None = None
    ) -> list[Message] | None:
        """The transcript, or its ``[start:stop]`` slice; None when ``session_id`` is unknown.

        Python slice semantics: ``start=-20`` is the last 20 messages. The cost grows
        with the messages returned, not with the transcript's length.
        """
        sid = validate_session_id(session_id)
        check_index("start", start)
        check_index("stop", stop, optional=True)
        backend = self._backend
        return await backend._run_hook(backend._load, self._namespace, sid, start, stop)

    async def snapshot(
        self, session_id: str, *, start: int = 0, stop: int | None = None
    ) -> Snapshot | None:
        """The record and a slice of the transcript read atomically, or None when unknown.

        ``save(..., expected_version=snap.record.version)`` is then a safe read-modify-write.
        """
        sid = validate_session_id(session_id)
        check_index("start", start)
        check_index("stop", stop, optional=True)
        backend = self._backend
        return await backend._run_hook(backend._snapshot, self._namespace, sid, start, stop)

    async def get(self, session_id: str) -> SessionRecord | None:
        """The session's record (metadata and attributes), or None when unknown."""
        sid = validate_session_id(session_id)
        backend = self._backend
        return await backend._run_hook(backend._get, self._namespace, sid)

    async def list(self) -> builtins.list[SessionRecord]:
        """Every session, newest-last (ascending by last write)."""
        return await self.list_paginated(None)

    async def list_paginated(
        self, options: ListOptions | None = None
    ) -> builtins.list[SessionRecord]:
        """A window of the listing order (oldest write first, or newest first).

        Pushed down to storage: a page reads no transcripts and never sorts all sessions.
        """
        if options is None:
            options = ListOptions()
        elif not isinstance(options, ListOptions):
            raise InvalidArgumentError(
                f"options must be a ListOptions or None, got {type(options).__name__}"
            )
        backend = self._backend
        return await backend._run_hook(backend._list, self._namespace, options)

    def scan(self, *, page_size: int = 500) -> AsyncIterator[SessionRecord]:
        """Every session's record in listing order (oldest write first), a page at a time.

        Use ``async for record in store.scan():``; memory stays bounded by
        ``page_size`` whatever the store's size. With ``supports_cursor_scan``
        (every built-in backend) pages continue from a cursor, so each costs the
        same however far the scan has got, and the scan is safe on a store being
        written: every session that exists from its start to its end is yielded
        at least once, and one written during the scan may be yielded again,
        later, with its newer record. A store without the capability pages by
        offset, where a write during the scan can make it skip a session.
        """
        check_count("page_size", page_size, least=1)
        self._backend._ensure_not_closed()
        return self._scan(page_size)

    async def _scan(self, page_size: int) -> AsyncIterator[SessionRecord]:
        backend, namespace = self._backend, self._namespace
        if backend.supports_cursor_scan:
            after = 0
            while True:
                backend._ensure_not_closed()
                page = await backend._run_hook(backend._scan_page, namespace, after, page_size)
                for _, record in page:
                    yield record
                if len(page) < page_size:
                    return
                after = page[-1][0]
        offset = 0
        while True:
            backend._ensure_not_closed()
            options = ListOptions(offset=offset, limit=page_size)
            records = await backend._run_hook(backend._list, namespace, options)
            for record in records:
                yield record
            if len(records) < page_size:
                return
            offset += len(records)

    async def count(self) -> int:
        """How many sessions exist."""
        backend = self._backend
        return await backend._run_hook(backend._count, self._namespace)

    # -- writing ---------------------------------------------------------------------------

    async def save(
        self,
        session_id: str,
        messages: Iterable[MessageInput],
        *,
        expected_version: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> SessionRecord:
        """Atomically replace the transcript (creating it when missing); return the new record.

        With ``expected_version=N`` the write happens only if the current version
        is N (0 = must not exist), else ConflictError and nothing is written.
        ``attributes`` merge into the session's attributes in the same write
        (a None value removes its key); without it they stay as they are.
        """
        sid, encoded = prepare_write(self._backend, session_id, messages, expected_version)
        changes = changes_or_none(attributes)
        backend = self._backend
        return await backend._run_hook(
            backend._save, self._namespace, sid, encoded, expected_version, changes
        )

    async def append(
        self,
        session_id: str,
        messages: Iterable[MessageInput],
        *,
        expected_version: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> SessionRecord:
        """Atomically add messages at the end (creating the session when missing).

        The cost does not grow with the stored transcript's length; concurrent
        appends all land, each call's messages contiguous. ``expected_version``
        and ``attributes`` as for ``save``.
        """
        sid, encoded = prepare_write(self._backend, session_id, messages, expected_version)
        changes = changes_or_none(attributes)
        backend = self._backend
        backend._enter()  # the hot path: no extra coroutine
        try:
            if backend._closed or not backend._opened:
                await backend._ready()
            return await backend._append(self._namespace, sid, encoded, expected_version, changes)
        finally:
            backend._leave()

    async def restore(
        self,
        session_id: str,
        messages: Iterable[MessageInput],
        *,
        created_at: datetime,
        updated_at: datetime,
        expected_version: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> SessionRecord:
        """``save`` that keeps the given ``created_at``/``updated_at`` instead of the clock.

        For moving sessions between stores. It is a write like any other: the
        version grows by one (1 for a new session) and the session moves to the
        end of the listing order. Both datetimes must be timezone-aware with
        ``created_at <= updated_at``; they are stored as UTC, to the microsecond.
        The session ends up with exactly ``attributes`` (None = none), as the
        copy it restores had. Optional: a store whose ``supports_restore`` is
        False raises UnsupportedOperationError.
        """
        backend = self._backend
        if not backend.supports_restore:
            raise UnsupportedOperationError(f"{type(backend).__name__} does not support restore")
        sid, encoded = prepare_write(self._backend, session_id, messages, expected_version)
        created = aware("created_at", created_at)
        updated = aware("updated_at", updated_at)
        if created > updated:
            raise InvalidArgumentError(
                f"created_at {created.isoformat()} is later than updated_at {updated.isoformat()}"
            )
        whole = validate_attributes({} if attributes is None else attributes)
        return await backend._run_hook(
            backend._restore,
            self._namespace,
            sid,
            encoded,
            expected_version,
            created,
            updated,
            whole,
        )

    async def pop(
        self, session_id: str, count: int = 1, *, expected_version: int | None = None
    ) -> builtins.list[Message]:
        """Atomically remove the last ``count`` messages and return them in transcript order.

        Fewer when the session is shorter; ``[]`` and no write for an unknown or
        empty session. A pop that removes something is a write (version + 1).
        """
        sid = validate_session_id(session_id)
        check_count("count", count, least=1)
        check_count("expected_version", expected_version, optional=True)
        backend = self._backend
        return await backend._run_hook(backend._pop, self._namespace, sid, count, expected_version)

    async def replace_tail(
        self,
        session_id: str,
        start: int,
        messages: Iterable[MessageInput],
        *,
        expected_version: int | None = None,
    ) -> SessionRecord:
        """Atomically replace the messages from index ``start`` on with ``messages``.

        A negative ``start`` counts from the end; one past the end appends. The
        session must exist (SessionNotFoundError). Costs what the tail costs.
        """
        sid, encoded = prepare_write(self._backend, session_id, messages, expected_version)
        check_index("start", start)
        backend = self._backend
        return await backend._run_hook(
            backend._replace_tail, self._namespace, sid, start, encoded, expected_version
        )

    async def fork(
        self,
        source_id: str,
        target_id: str,
        *,
        stop: int | None = None,
        expected_version: int | None = None,
    ) -> SessionRecord:
        """Copy the first ``stop`` messages (all by default) and the attributes to ``target_id``.

        Replaces whatever the target held, as a ``save`` of it would
        (``expected_version`` applies to the target), inside the storage.
        Unknown source: SessionNotFoundError, nothing written.
        """
        source = validate_session_id(source_id)
        target = validate_session_id(target_id)
        check_index("stop", stop, optional=True)
        check_count("expected_version", expected_version, optional=True)
        backend = self._backend
        return await backend._run_hook(
            backend._fork, self._namespace, source, target, stop, expected_version
        )

    async def update_attributes(
        self,
        session_id: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> SessionRecord:
        """Merge ``changes`` into the session's attributes (a None value removes its key).

        The session must exist (SessionNotFoundError). The version grows by one;
        ``updated_at`` and the listing position stay. The merged attributes must
        encode to at most 64 KiB of JSON, else InvalidArgumentError.
        """
        sid = validate_session_id(session_id)
        checked = validate_attribute_changes(changes)
        check_count("expected_version", expected_version, optional=True)
        backend = self._backend
        return await backend._run_hook(
            backend._update_attributes, self._namespace, sid, checked, expected_version
        )

    async def delete(self, session_id: str) -> None:
        """Remove the session; deleting an unknown id is a no-op."""
        sid = validate_session_id(session_id)
        backend = self._backend
        await backend._run_hook(backend._delete, self._namespace, sid)

    async def clear(self) -> int:
        """Delete every session of this namespace; return how many went."""
        backend = self._backend
        return await backend._run_hook(backend._clear, self._namespace)

    async def prune(
        self, *, updated_before: datetime | None = None, keep_newest: int | None = None
    ) -> int:
        """Delete old sessions; return how many were deleted.

        ``updated_before`` (aware datetime) deletes sessions last written before it;
        ``keep_newest=N`` deletes all but the N most recently written; with both, a
        session goes only when it is old and not among the newest N.
        """
        if updated_before is None and keep_newest is None:
            raise InvalidArgumentError("prune needs updated_before, keep_newest or both")
        before = None if updated_before is None else aware("updated_before", updated_before)
        check_count("keep_newest", keep_newest, optional=True)
        backend = self._backend
        return await backend._run_hook(backend._prune, self._namespace, before, keep_newest)
