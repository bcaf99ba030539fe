"""``SessionStoreChatStore``: LlamaIndex's ``AsyncDBChatStore`` on a sessionstore store.

One session per key holds the key's whole history in order; the archived
messages are its first ``attributes["llama_index_archived"]`` messages (absent:
none) and the active ones the rest. Archiving is then a change of that number,
checked against the version read (O(1) writes whatever the history's length),
and reading the active queue is a tail read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.storage.chat_store.base_db import AsyncDBChatStore, MessageStatus

from sessionstore import ConflictError, InvalidArgumentError, Message, SessionStore
from sessionstore.integrations._shared import resolve_store, validate_id
from sessionstore.integrations.llama_index._messages import from_llama_index, to_llama_index

__all__ = ["ARCHIVED_KEY", "SessionStoreChatStore"]

#: The attribute holding how many of a session's first messages are archived.
ARCHIVED_KEY = "llama_index_archived"
_ATTEMPTS = 20

#: An edit of a whole history: (messages, archived count) -> (new messages, new count, result).
_Edit = Callable[[list[Message], int], tuple[list[Message], int, list[Message]]]


def _archived(attributes: Any) -> int:
    value = attributes.get(ARCHIVED_KEY, 0)
    return value if isinstance(value, int) and value >= 0 else 0


def _window(
    status: MessageStatus, archived: int, skip: int, limit: int | None
) -> tuple[int, int | None]:
    """The [start:stop] of the whole history that ``get_messages`` of ``status`` reads."""
    start = (archived if status is MessageStatus.ACTIVE else 0) + skip
    end = None if status is MessageStatus.ACTIVE else archived
    if limit is None:
        return start, end
    return start, start + limit if end is None else max(start, min(end, start + limit))


def _check_count(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidArgumentError(f"{name} must be an int >= 0, got {value!r}")


def _status(status: object, *, optional: bool) -> MessageStatus | None:
    if status is None and optional:
        return None
    try:
        return MessageStatus(status)
    except ValueError:
        raise InvalidArgumentError(f"status must be a MessageStatus, got {status!r}") from None


class SessionStoreChatStore(AsyncDBChatStore):
    """LlamaIndex's chat store (what ``Memory`` keeps its messages in) on ``store``.

    ``store`` is a ``SessionStore`` (a namespace view is fine), a URL, or None
    for ``$SESSIONSTORE_URL``, then ``sqlite:///sessions.db``; stores opened from
    the same URL are shared by the process. A key is a session id.
    """

    _store: SessionStore = PrivateAttr()

    def __init__(self, store: SessionStore | str | None = None) -> None:
        super().__init__()
        self._store = resolve_store(store)

    @classmethod
    def class_name(cls) -> str:
        """LlamaIndex's name for this class."""
        return "SessionStoreChatStore"

    @property
    def store(self) -> SessionStore:
        """The sessionstore store the messages live in."""
        return self._store

    # -- reading ---------------------------------------------------------------------------

    async def get_messages(
        self,
        key: str,
        status: MessageStatus | None = MessageStatus.ACTIVE,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[ChatMessage]:
        """The messages of ``status`` (None: all), oldest first, from ``offset``, at most ``limit``.

        Reads only the slice asked for (one atomic read of the record and the slice).
        """
        sid = validate_id(key)
        wanted = _status(status, optional=True)
        _check_count("limit", limit, optional=True)
        _check_count("offset", offset, optional=True)
        skip = offset or 0
        if wanted is None:
            stop = None if limit is None else skip + limit
            return to_llama_index(await self._store.load(sid, start=skip, stop=stop) or [])
        for _ in range(_ATTEMPTS):
            record = await self._store.get(sid)
            if record is None:
                return []
            start, stop = _window(wanted, _archived(record.attributes), skip, limit)
            snap = await self._store.snapshot(sid, start=start, stop=stop)
            if snap is None:
                return []
            if _archived(snap.record.attributes) == _archived(record.attributes):
                return to_llama_index(snap.messages)
        # Archived again between every two reads: read the whole history at once instead.
        whole = await self._store.snapshot(sid)
        if whole is None:
            return []
        start, stop = _window(wanted, _archived(whole.record.attributes), skip, limit)
        return to_llama_index(whole.messages[start:stop])

    async def count_messages(
        self, key: str, status: MessageStatus | None = MessageStatus.ACTIVE
    ) -> int:
        """How many messages of ``status`` (None: all) the key has; reads only its record."""
        wanted = _status(status, optional=True)
        record = await self._store.get(validate_id(key))
        if record is None:
            return 0
        archived = min(_archived(record.attributes), record.message_count)
        if wanted is None:
            return record.message_count
        return archived if wanted is MessageStatus.ARCHIVED else record.message_count - archived

    async def get_keys(self) -> list[str]:
        """Every key holding a message, from the listing (no transcript is read)."""
        return [str(r.id) async for r in self._store.scan() if r.message_count > 0]

    # -- writing ---------------------------------------------------------------------------

    async def add_message(
        self, key: str, message: ChatMessage, status: MessageStatus = MessageStatus.ACTIVE
    ) -> None:
        """Add ``message`` after the others of its status, in one atomic write."""
        await self.add_messages(key, [message], status)

    async def add_messages(
        self, key: str, messages: list[ChatMessage], status: MessageStatus = MessageStatus.ACTIVE
    ) -> None:
        """Add ``messages`` after the others of their status, in one atomic write.

        Active messages are one ``append``. Archived ones go after the archived
        messages, before the active ones (a rewrite of the history, checked
        against its version).
        """
        sid = validate_id(key)
        wanted = _status(status, optional=False)
        converted = from_llama_index(messages)
        if not converted:
            return
        if wanted is MessageStatus.ACTIVE:
            await self._store.append(sid, converted)
            return

        def insert(
            history: list[Message], archived: int
        ) -> tuple[list[Message], int, list[Message]]:
            added = history[:archived] + converted + history[archived:]
            return added, archived + len(converted), []

        await self._rewrite(sid, insert)

    async def set_messages(
        self, key: str, messages: list[ChatMessage], status: MessageStatus = MessageStatus.ACTIVE
    ) -> None:
        """Replace every message of the key with ``messages`` of ``status``, atomically."""
        sid = validate_id(key)
        wanted = _status(status, optional=False)
        converted = from_llama_index(messages)
        archived = len(converted) if wanted is MessageStatus.ARCHIVED else None
        await self._store.save(sid, converted, attributes={ARCHIVED_KEY: archived})

    async def delete_message(self, key: str, idx: int) -> ChatMessage | None:
        """Remove and return the message at position ``idx`` of the whole history, atomically.

        Positions are those of ``get_messages(key, status=None)``; None when out of range.
        """
        sid = validate_id(key)
        _check_count("idx", idx)

        def remove(
            history: list[Message], archived: int
        ) -> tuple[list[Message], int, list[Message]]:
            if idx >= len(history):
                return history, archived, []
            return history[:idx] + history[idx + 1 :], archived - (idx < archived), [history[idx]]

        removed = to_llama_index(await self._rewrite(sid, remove))
        return removed[0] if removed else None

    async def delete_messages(self, key: str, status: MessageStatus | None = None) -> None:
        """Delete the key's messages of ``status``; None deletes the whole session."""
        sid = validate_id(key)
        wanted = _status(status, optional=True)
        if wanted is None:
            await self._store.delete(sid)
            return

        def drop(history: list[Message], archived: int) -> tuple[list[Message], int, list[Message]]:
            if wanted is MessageStatus.ACTIVE:
                return history[:archived], archived, []
            return history[archived:], 0, []

        await self._rewrite(sid, drop)

    async def delete_oldest_messages(self, key: str, n: int) -> list[ChatMessage]:
        """Remove and return the ``n`` oldest active messages, atomically."""
        sid = validate_id(key)
        _check_count("n", n)

        def drop(history: list[Message], archived: int) -> tuple[list[Message], int, list[Message]]:
            gone = history[archived : archived + n]
            return history[:archived] + history[archived + n :], archived, gone

        return to_llama_index(await self._rewrite(sid, drop))

    async def archive_oldest_messages(self, key: str, n: int) -> list[ChatMessage]:
        """Archive and return the ``n`` oldest active messages, atomically.

        Reads those ``n`` messages and moves the boundary in one attribute write
        checked against the version read: no message is rewritten.
        """
        sid = validate_id(key)
        _check_count("n", n)
        last = None
        for _ in range(_ATTEMPTS):
            record = await self._store.get(sid)
            if record is None or n == 0:
                return []
            archived = min(_archived(record.attributes), record.message_count)
            snap = await self._store.snapshot(sid, start=archived, stop=archived + n)
            if snap is None:
                return []
            if _archived(snap.record.attributes) != _archived(record.attributes):
                last = ConflictError(sid, expected=record.version, actual=snap.record.version)
                continue
            if not snap.messages:
                return []
            try:
                await self._store.update_attributes(
                    sid,
                    {ARCHIVED_KEY: archived + len(snap.messages)},
                    expected_version=snap.record.version,
                )
            except ConflictError as exc:
                last = exc
                continue
            return to_llama_index(snap.messages)
        assert last is not None
        raise last

    async def _rewrite(self, sid: str, edit: _Edit) -> list[Message]:
        """Apply ``edit`` to the whole history as one write checked against its version."""
        last = None
        for _ in range(_ATTEMPTS):
            snap = await self._store.snapshot(sid)
            if snap is None:
                return []
            archived = min(_archived(snap.record.attributes), snap.record.message_count)
            history, new_archived, result = edit(snap.messages, archived)
            if history == snap.messages and new_archived == archived:
                return result
            try:
                await self._store.save(
                    sid,
                    history,
                    expected_version=snap.record.version,
                    attributes={ARCHIVED_KEY: new_archived or None},
                )
            except ConflictError as exc:
                last = exc
                continue
            return result
        assert last is not None
        raise last
