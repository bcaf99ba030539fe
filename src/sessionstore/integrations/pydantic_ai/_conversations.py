"""``SessionStoreConversationStore``: PydanticAI's ``ConversationStore`` on a sessionstore store.

One session per conversation holds every entry ever stored for it, in the order
they were stored (an entry is one message, kept losslessly, plus its id and its
parent's id in ``metadata["pydantic_ai_entry"]``); the conversation's record
(head, usage, deferred tool requests, scope, branches, revision) is the
session's ``attributes["pydantic_ai_record"]``. A save writes its new entries and
the record in one ``append`` checked against the session's version, so a
conflict leaves neither behind. A fork copies the history it keeps into its own
session (entries are immutable, so the copy reads as the shared original did).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import msgspec
import pydantic
from pydantic_ai.conversation_store import (
    ConversationConflict,
    ConversationEntry,
    ConversationRecord,
    ConversationStore,
)

from sessionstore import ConflictError, Message, SessionStore
from sessionstore.integrations._shared import resolve_store, validate_id
from sessionstore.integrations.pydantic_ai._messages import from_pydantic_ai, to_pydantic_ai

__all__ = ["ENTRY_KEY", "RECORD_KEY", "SessionStoreConversationStore"]

#: The session attribute holding the conversation's record.
RECORD_KEY = "pydantic_ai_record"
#: The message metadata key holding an entry's ``{"id": ..., "parent": ...}``.
ENTRY_KEY = "pydantic_ai_entry"

_RECORDS = pydantic.TypeAdapter(ConversationRecord)
_OWNERS_KEPT = 100_000


class SessionStoreConversationStore(ConversationStore):
    """PydanticAI's conversation store on ``store`` (a store, a URL, or None).

    ``store=None`` means ``$SESSIONSTORE_URL``, then ``sqlite:///sessions.db``. A
    conversation id is a session id; a namespace view keeps tenants apart.
    ``read_entry`` and ``read_history`` find an entry through the record that
    names it (its head, a branch or a fork point) once this process has read or
    written that record, as every method of ``ConversationStore`` does first.
    ``delete`` removes the conversation's session and every entry in it.
    """

    def __init__(self, store: SessionStore | str | None = None) -> None:
        self.store = resolve_store(store)
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._owners_lock = threading.Lock()

    # -- records -----------------------------------------------------------------------------

    async def read_record(self, conversation_id: str) -> ConversationRecord | None:
        """The conversation's record, or None when the store does not have it."""
        record = await self.store.get(validate_id(conversation_id))
        if record is None or RECORD_KEY not in record.attributes:
            return None
        return self._remember(_RECORDS.validate_python(record.attributes[RECORD_KEY]))

    async def read_records(
        self, *, scope: str | None = None, limit: int | None = None
    ) -> Sequence[ConversationRecord]:
        """The records (of ``scope``), newest ``updated_at`` first, read from the listing."""
        found = [
            _RECORDS.validate_python(session.attributes[RECORD_KEY])
            async for session in self.store.scan()
            if RECORD_KEY in session.attributes
        ]
        found = [r for r in found if scope is None or r.scope == scope]
        found.sort(key=lambda record: record.updated_at, reverse=True)
        return [self._remember(record) for record in found[:limit]]

    async def write_record(
        self,
        record: ConversationRecord,
        *,
        new_entries: Sequence[ConversationEntry] = (),
        expected_revision: str | None,
    ) -> None:
        """Store ``record`` and ``new_entries`` in one write, if the stored revision is expected."""
        sid = validate_id(record.conversation_id)
        current = await self.store.get(sid)
        stored = current.attributes.get(RECORD_KEY) if current is not None else None
        if (stored or {}).get("revision") != expected_revision or (
            expected_revision is None and current is not None
        ):
            raise ConversationConflict(record.conversation_id)
        entries = list(new_entries)
        if record.head_id is not None and record.head_id not in {e.id for e in entries}:
            entries = await self._inherited(sid, record) + entries
        messages = _as_messages(entries)
        changes = {RECORD_KEY: _RECORDS.dump_python(record, mode="json")}
        version = current.version if current is not None else 0
        try:
            await self.store.append(sid, messages, expected_version=version, attributes=changes)
        except ConflictError:
            raise ConversationConflict(record.conversation_id) from None
        self._remember(record)

    async def delete_record(self, conversation_id: str, *, expected_revision: str) -> None:
        """Delete the conversation and its entries, if its revision is ``expected_revision``.

        The record is cleared by a write checked against the session's version,
        then the session is deleted.
        """
        sid = validate_id(conversation_id)
        current = await self.store.get(sid)
        stored = current.attributes.get(RECORD_KEY) if current is not None else None
        if current is None or (stored or {}).get("revision") != expected_revision:
            raise ConversationConflict(conversation_id)
        try:
            await self.store.save(
                sid, [], expected_version=current.version, attributes={RECORD_KEY: None}
            )
        except ConflictError:
            raise ConversationConflict(conversation_id) from None
        await self.store.delete(sid)

    # -- entries -----------------------------------------------------------------------------

    async def read_entry(self, entry_id: str) -> ConversationEntry:
        """The entry ``entry_id``; LookupError when no record this process read names it."""
        history = await self.read_history(entry_id, limit=1)
        if not history:
            raise KeyError(entry_id)
        return history[0]

    async def read_history(
        self, head_id: str | None, *, limit: int | None = None
    ) -> list[ConversationEntry]:
        """The entries up to ``head_id``, oldest first, or the last ``limit`` of them.

        A conversation that never branched is read as its session's tail; otherwise
        the session is read whole and its entries followed from ``head_id``.
        """
        if head_id is None or limit == 0:
            return []
        with self._owners_lock:
            owner = self._owners.get(head_id)
        if owner is None:
            raise KeyError(head_id)
        start = 0 if limit is None else -limit
        tail = await self.store.load(owner, start=start) or []
        chain = _chain(tail, head_id, limit)
        if chain is None and start != 0:
            chain = _chain(await self.store.load(owner) or [], head_id, limit)
        if chain is None:
            raise KeyError(head_id)
        return chain

    # -- helpers -----------------------------------------------------------------------------

    async def _inherited(self, sid: str, record: ConversationRecord) -> list[ConversationEntry]:
        """The history up to ``record.head_id`` when this session lacks it: a fork's copy."""
        assert record.head_id is not None
        with self._owners_lock:
            owner = self._owners.get(record.head_id)
        if owner == sid:
            return []
        own = await self.store.load(sid) or []
        if _chain(own, record.head_id, None) is not None:  # a branch point in its own log
            return []
        source = owner or record.forked_from
        if source is None or source == sid:
            raise ConversationConflict(record.conversation_id)
        chain = _chain(await self.store.load(validate_id(source)) or [], record.head_id, None)
        if chain is None:  # released by a concurrent delete of the conversation it points into
            raise ConversationConflict(record.conversation_id)
        return chain

    def _remember(self, record: ConversationRecord) -> ConversationRecord:
        """Note that the entries ``record`` names are in its conversation's session."""
        named = [record.head_id, record.forked_at, *record.branches]
        with self._owners_lock:
            for entry_id in named:
                if entry_id is not None:
                    self._owners[entry_id] = record.conversation_id
                    self._owners.move_to_end(entry_id)
            while len(self._owners) > _OWNERS_KEPT:
                self._owners.popitem(last=False)
        return record


def _as_messages(entries: list[ConversationEntry]) -> list[Message]:
    converted = from_pydantic_ai([entry.message for entry in entries])
    return [
        msgspec.structs.replace(
            message,
            metadata={**message.metadata, ENTRY_KEY: {"id": e.id, "parent": e.parent_id}},
        )
        for message, e in zip(converted, entries, strict=True)
    ]


def _chain(log: list[Message], head_id: str, limit: int | None) -> list[ConversationEntry] | None:
    """The entries from ``head_id`` back (at most ``limit``), oldest first; None if cut off."""
    links: dict[str, tuple[str | None, Message]] = {}
    for message in log:
        entry = _entry_of(message)
        if entry is not None:
            links[entry[0]] = (entry[1], message)
    chain: list[tuple[str, str | None, Message]] = []
    entry_id: str | None = head_id
    while entry_id is not None and (limit is None or len(chain) < limit):
        if entry_id not in links:
            return None
        parent, message = links[entry_id]
        chain.append((entry_id, parent, message))
        entry_id = parent
    chain.reverse()
    restored = to_pydantic_ai([message for _, _, message in chain])
    return [
        ConversationEntry(id=entry_id, parent_id=parent, message=model_message)
        for (entry_id, parent, _), model_message in zip(chain, restored, strict=True)
    ]


def _entry_of(message: Message) -> tuple[str, str | None] | None:
    metadata: Any = message.metadata
    entry = metadata.get(ENTRY_KEY) if isinstance(metadata, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        return None
    parent = entry.get("parent")
    return entry["id"], parent if isinstance(parent, str) else None
