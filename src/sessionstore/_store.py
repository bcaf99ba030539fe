"""The abstract ``SessionStore``: the contract every backend honours, in docstrings.

Public methods are concrete: they validate arguments, refuse calls after
``close()`` and encode messages once, then call the abstract ``_``-prefixed
hooks that a backend implements. A backend therefore never sees an invalid
id, message or window, and every backend rejects bad input the same way.
"""

from __future__ import annotations

import asyncio
import builtins
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import ClassVar, Self

from sessionstore._errors import (
    InvalidArgumentError,
    StoreClosedError,
    UnsupportedOperationError,
)
from sessionstore._messages import EncodedMessages, Message, MessageInput, encode_messages
from sessionstore._records import (
    ListOptions,
    SessionId,
    SessionRecord,
    is_count,
    validate_session_id,
)

__all__ = ["SessionStore"]


def _check_expected_version(expected_version: int | None) -> None:
    if expected_version is not None and not is_count(expected_version):
        raise InvalidArgumentError(
            f"expected_version must be None or an int >= 0, got {expected_version!r}"
        )


def _prepare_write(
    session_id: str, messages: Iterable[MessageInput], expected_version: int | None
) -> tuple[SessionId, EncodedMessages]:
    """The arguments every write shares, validated, with the messages encoded once."""
    sid = validate_session_id(session_id)
    encoded = encode_messages(messages)
    _check_expected_version(expected_version)
    return sid, encoded


def _aware(name: str, moment: object) -> datetime:
    """``moment`` if it is a timezone-aware datetime, else InvalidArgumentError."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidArgumentError(f"{name} must be a timezone-aware datetime, got {moment!r}")
    return moment


class SessionStore(ABC):
    """Persistence for conversation transcripts keyed by session id.

    All methods are coroutines and the store is safe to share between tasks.
    Use it as an async context manager, or call ``close()`` when done.
    Backends implement the ``_``-prefixed abstract hooks; ``_open`` and
    ``_close`` have no-op defaults. Two capabilities are optional: a backend
    that implements ``_restore`` sets ``supports_restore = True``, and one that
    implements ``_scan_page`` sets ``supports_cursor_scan = True``.
    """

    #: Whether ``restore`` works on this store.
    supports_restore: ClassVar[bool] = False
    #: Whether ``scan`` pages by a cursor on the listing order (and so skips no
    #: session while others are written) rather than by offset.
    supports_cursor_scan: ClassVar[bool] = False

    _closed: bool = False
    _opened: bool = False
    _open_lock: asyncio.Lock | None = None

    # -- lifecycle -----------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect or create storage now; otherwise the first call does it. Idempotent."""
        self._ensure_not_closed()
        if self._opened:
            return
        if self._open_lock is None:
            self._open_lock = asyncio.Lock()
        async with self._open_lock:
            self._ensure_not_closed()
            if not self._opened:
                await self._open()
                self._opened = True

    async def close(self) -> None:
        """Release connections and files. Idempotent; any later call raises StoreClosedError."""
        if self._closed:
            return
        self._closed = True
        await self._close()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def _ensure_not_closed(self) -> None:
        if self._closed:
            raise StoreClosedError(f"{type(self).__name__} is closed")

    async def _ready(self) -> None:
        self._ensure_not_closed()
        if not self._opened:
            await self.open()

    # -- the contract --------------------------------------------------------------

    async def load(self, session_id: str) -> list[Message] | None:
        """The whole transcript in order, or None when ``session_id`` is unknown."""
        sid = validate_session_id(session_id)
        await self._ready()
        return await self._load(sid)

    async def save(
        self,
        session_id: str,
        messages: Iterable[MessageInput],
        *,
        expected_version: int | None = None,
    ) -> SessionRecord:
        """Atomically replace the transcript (creating it when missing); return the new record.

        With ``expected_version=N`` the write happens only if the current version
        is N (0 = must not exist), else ConflictError and nothing is written.
        """
        sid, encoded = _prepare_write(session_id, messages, expected_version)
        await self._ready()
        return await self._save(sid, encoded, expected_version)

    async def restore(
        self,
        session_id: str,
        messages: Iterable[MessageInput],
        *,
        created_at: datetime,
        updated_at: datetime,
        expected_version: int | None = None,
    ) -> SessionRecord:
        """``save`` that keeps the given ``created_at``/``updated_at`` instead of the clock.

        For moving sessions between stores. It is a write like any other: the
        version grows by one (1 for a new session) and the session moves to the
        end of the listing order. Both datetimes must be timezone-aware with
        ``created_at <= updated_at``; they are stored as UTC, to the microsecond.
        ``expected_version`` as for ``save``. Optional: a store whose
        ``supports_restore`` is False raises UnsupportedOperationError.
        """
        if not self.supports_restore:
            raise UnsupportedOperationError(f"{type(self).__name__} does not support restore")
        sid, encoded = _prepare_write(session_id, messages, expected_version)
        created = _aware("created_at", created_at).astimezone(UTC)
        updated = _aware("updated_at", updated_at).astimezone(UTC)
        if created > updated:
            raise InvalidArgumentError(
                f"created_at {created.isoformat()} is later than updated_at {updated.isoformat()}"
            )
        await self._ready()
        return await self._restore(sid, encoded, expected_version, created, updated)

    async def append(
        self,
        session_id: str,
        messages: Iterable[MessageInput],
        *,
        expected_version: int | None = None,
    ) -> SessionRecord:
        """Atomically add messages at the end (creating the session when missing).

        The cost does not grow with the stored transcript's length; concurrent
        appends all land, each call's messages contiguous. ``expected_version``
        as for ``save``.
        """
        sid, encoded = _prepare_write(session_id, messages, expected_version)
        if self._closed or not self._opened:  # the hot path skips a coroutine
            await self._ready()
        return await self._append(sid, encoded, expected_version)

    async def get(self, session_id: str) -> SessionRecord | None:
        """The session's record (metadata only), or None when unknown."""
        sid = validate_session_id(session_id)
        await self._ready()
        return await self._get(sid)

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
        await self._ready()
        return await self._list(options)

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
        if not is_count(page_size) or page_size == 0:
            raise InvalidArgumentError(f"page_size must be an int >= 1, got {page_size!r}")
        self._ensure_not_closed()
        return self._scan(page_size)

    async def _scan(self, page_size: int) -> AsyncIterator[SessionRecord]:
        await self._ready()
        if self.supports_cursor_scan:
            after = 0
            while True:
                self._ensure_not_closed()
                page = await self._scan_page(after, page_size)
                for _, record in page:
                    yield record
                if len(page) < page_size:
                    return
                after = page[-1][0]
        offset = 0
        while True:
            self._ensure_not_closed()
            records = await self._list(ListOptions(offset=offset, limit=page_size))
            for record in records:
                yield record
            if len(records) < page_size:
                return
            offset += len(records)

    async def count(self) -> int:
        """How many sessions exist."""
        await self._ready()
        return await self._count()

    async def delete(self, session_id: str) -> None:
        """Remove the session; deleting an unknown id is a no-op."""
        sid = validate_session_id(session_id)
        await self._ready()
        await self._delete(sid)

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
        if updated_before is not None:
            _aware("updated_before", updated_before)
        if keep_newest is not None and not is_count(keep_newest):
            raise InvalidArgumentError(f"keep_newest must be an int >= 0, got {keep_newest!r}")
        await self._ready()
        return await self._prune(updated_before, keep_newest)

    # -- what a backend implements -------------------------------------------------

    async def _open(self) -> None:  # noqa: B027 - optional hook
        """Connect / create storage. Called once, before the first operation."""

    async def _close(self) -> None:  # noqa: B027 - optional hook
        """Release resources. Called once."""

    @abstractmethod
    async def _load(self, session_id: SessionId) -> builtins.list[Message] | None:
        """Return the transcript or None."""

    @abstractmethod
    async def _save(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> SessionRecord:
        """Replace the transcript atomically, checking ``expected_version`` in the same step."""

    async def _restore(
        self,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        created_at: datetime,
        updated_at: datetime,
    ) -> SessionRecord:
        """``_save`` with these timestamps (aware UTC); only called when ``supports_restore``."""
        raise NotImplementedError(f"{type(self).__name__} sets supports_restore without _restore")

    @abstractmethod
    def _append(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> Awaitable[SessionRecord]:
        """Append atomically, checking ``expected_version`` in the same step.

        An ``async def``, or a plain method returning an awaitable (a future: one
        coroutine less on the hot path).
        """

    @abstractmethod
    async def _get(self, session_id: SessionId) -> SessionRecord | None:
        """Return the record or None."""

    @abstractmethod
    async def _list(self, options: ListOptions) -> builtins.list[SessionRecord]:
        """Return the window of records ``options`` describes."""

    async def _scan_page(self, after: int, limit: int) -> builtins.list[tuple[int, SessionRecord]]:
        """Up to ``limit`` records past listing position ``after``, with their positions.

        In listing order. A position is an int >= 1 (so ``after=0`` starts at the
        beginning) that every write replaces with a larger one. Read in one
        consistent step. Only called when ``supports_cursor_scan``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} sets supports_cursor_scan without _scan_page"
        )

    @abstractmethod
    async def _count(self) -> int:
        """Return the number of sessions."""

    @abstractmethod
    async def _delete(self, session_id: SessionId) -> None:
        """Delete the session if present."""

    @abstractmethod
    async def _prune(self, updated_before: datetime | None, keep_newest: int | None) -> int:
        """Delete per the ``prune`` contract; return how many sessions were deleted."""
