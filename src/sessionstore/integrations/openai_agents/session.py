"""``SessionStoreSession``: the OpenAI Agents SDK's ``Session`` on any ``SessionStore``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from agents.items import TResponseInputItem
from agents.memory.session import SessionABC
from agents.memory.session_settings import (
    SessionSettings,
    coerce_session_settings,
    resolve_session_limit,
)

from sessionstore import ConflictError, Message, SessionNotFoundError, SessionStore
from sessionstore.integrations._shared import resolve_store, validate_id
from sessionstore.integrations.openai_agents._sdk import CompactionSnapshot, await_mutation
from sessionstore.integrations.openai_agents.items import (
    item_to_message,
    message_to_items,
)

__all__ = ["SessionStoreSession"]

Item = TResponseInputItem  # a dict in the Responses API input shape
PrunePrefix = Callable[[Item], bool]


class SessionStoreSession(SessionABC):
    """A ``Session`` of the OpenAI Agents SDK whose history lives in a ``SessionStore``.

    ``store`` is a ``SessionStore`` (a namespace view is fine), a URL, or None
    for ``$SESSIONSTORE_URL`` then ``sqlite:///sessions.db``; stores opened from
    the same URL are shared by the process, so one session object per request
    is cheap. ``session_settings.limit`` is the default of ``get_items``.

    Each item is one message (see ``items``): ``get_items(limit)`` reads only the
    last messages, ``add_items`` is one atomic append, ``pop_item`` one atomic
    pop, ``clear_session`` deletes the session. The SDK's compaction hooks
    (``_get_compaction_snapshot``, ``_atomic_replace_items``) replace history
    in one version-checked write, so a crash during compaction leaves the old or
    the new history, and a concurrent write makes the replacement back off.
    """

    session_settings: SessionSettings | None = None

    def __init__(
        self,
        session_id: str,
        store: SessionStore | str | None = None,
        *,
        session_settings: SessionSettings | dict[str, Any] | None = None,
    ) -> None:
        validate_id(session_id)
        self.session_id = session_id
        self.session_settings = (
            coerce_session_settings(session_settings)
            if session_settings is not None
            else SessionSettings()
        )
        self.store = resolve_store(store)

    def __repr__(self) -> str:
        return f"SessionStoreSession({self.session_id!r}, {self.store!r})"

    async def get_items(self, limit: int | None = None) -> list[Item]:
        """The history, or its last ``limit`` items (default ``session_settings.limit``).

        A limit of 0 or less returns ``[]``. Only the tail is read.
        """
        wanted = resolve_session_limit(limit, self.session_settings)
        if wanted is None:
            return _items(await self.store.load(self.session_id) or [])
        if wanted <= 0:
            return []
        window = wanted
        while True:
            messages = await self.store.load(self.session_id, start=-window) or []
            items = _items(messages)
            # A message written by another framework may stand for several items or none.
            if len(items) >= wanted or len(messages) < window:
                return items[-wanted:]
            window *= 2

    async def add_items(self, items: list[Item]) -> None:
        """Append ``items`` to the history in one atomic write."""
        if not items:
            return
        messages = [item_to_message(item) for item in items]
        await await_mutation(self.store.append(self.session_id, messages))

    async def pop_item(self) -> Item | None:
        """Remove and return the newest item (one atomic ``pop``), or None when empty."""
        while True:
            popped = await await_mutation(self.store.pop(self.session_id))
            if not popped:
                return None
            items = message_to_items(popped[0])
            if len(items) > 1:
                # A message from another framework that stands for several items: the
                # others go back as messages of their own, in a second write.
                rest = [item_to_message(item) for item in items[:-1]]
                await await_mutation(self.store.append(self.session_id, rest))
            if items:
                return cast(Item, items[-1])

    async def clear_session(self) -> None:
        """Delete the whole history."""
        await await_mutation(self.store.delete(self.session_id))

    def close(self) -> None:
        """Nothing: the store may be shared (as ``SQLiteSession.close`` is called, code that
        calls it keeps working). Close the store, or ``close_shared_stores()``, at shutdown."""

    # -- the SDK's private compaction hooks -----------------------------------------------------

    def _items_are_plain(self) -> bool:
        # A subclass that transforms items in get/add must not be bypassed by the hooks.
        cls = type(self)
        return (
            cls.get_items is SessionStoreSession.get_items
            and cls.add_items is SessionStoreSession.add_items
        )

    async def _atomic_replace_items(self, items: list[Item]) -> bool:
        """Replace the whole history with ``items`` in one atomic ``save``."""
        if not self._items_are_plain():
            return False
        messages = [item_to_message(item) for item in items]
        await await_mutation(self.store.save(self.session_id, messages))
        return True

    async def _get_compaction_snapshot(
        self, limit: int, *, prune_prefix: PrunePrefix | None = None
    ) -> CompactionSnapshot | None:
        """The last ``limit`` items and the record, read atomically, with a replacement
        of their suffix that happens only if the session was not written meanwhile."""
        if CompactionSnapshot is None or not self._items_are_plain():
            return None
        snap = await self.store.snapshot(self.session_id, start=-limit)
        messages = snap.messages if snap is not None else []
        groups = [message_to_items(message) for message in messages]
        if any(len(group) != 1 for group in groups):
            return None  # positions would not map to messages: the SDK falls back
        items = [cast(Item, group[0]) for group in groups]
        version = snap.record.version if snap is not None else 0
        offset = snap.record.message_count - len(messages) if snap is not None else 0

        async def replace_suffix(start: int, output: list[Item]) -> bool:
            if start >= len(items) or version == 0:
                return False
            replacement = [item_to_message(item) for item in output]
            try:
                await await_mutation(
                    self._replace_from(offset + start, replacement, version, prune_prefix)
                )
            except (ConflictError, SessionNotFoundError):
                return False
            return True

        complete = snap is None or snap.record.message_count <= limit
        return CompactionSnapshot(items, complete, replace_suffix)

    async def _replace_from(
        self,
        start: int,
        replacement: list[Message],
        version: int,
        prune_prefix: PrunePrefix | None,
    ) -> None:
        """Replace messages ``start:`` if the version is still ``version``; with
        ``prune_prefix`` (EncryptedSession's expiry test) also drop the leading items it
        accepts, in the same write."""
        if prune_prefix is not None and start > 0:
            head = await self.store.load(self.session_id, stop=1) or []
            if head and _accepts(prune_prefix, head[0]):
                whole = await self.store.snapshot(self.session_id, stop=start)
                actual = whole.record.version if whole is not None else 0
                if whole is None or actual != version:
                    raise ConflictError(self.session_id, expected=version, actual=actual)
                kept = _drop_prefix(whole.messages, prune_prefix)
                await self.store.save(
                    self.session_id, [*kept, *replacement], expected_version=version
                )
                return
        await self.store.replace_tail(self.session_id, start, replacement, expected_version=version)


def _items(messages: list[Message]) -> list[Item]:
    return [cast(Item, item) for message in messages for item in message_to_items(message)]


def _accepts(prune_prefix: PrunePrefix, message: Message) -> bool:
    items = message_to_items(message)
    return len(items) == 1 and bool(prune_prefix(cast(Item, items[0])))


def _drop_prefix(messages: list[Message], prune_prefix: PrunePrefix) -> list[Message]:
    for index, message in enumerate(messages):
        if not _accepts(prune_prefix, message):
            return messages[index:]
    return []
