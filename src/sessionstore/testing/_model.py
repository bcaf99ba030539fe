"""The contract as a pure-Python model, for the state machine to compare a store against.

Written here from the contract alone, independently of every backend (the
in-memory store included): an ordered mapping of ``(namespace, id)`` to a
session, where every write moves its session to the end. A namespace's
listing is that order restricted to the namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sessionstore._messages import Message

__all__ = ["Key", "Model", "ModelSession"]

#: A session's place in the model: (namespace, session id).
Key = tuple[str, str]


def _merged(current: Mapping[str, Any], changes: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(current)
    for name, value in (changes or {}).items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


@dataclass
class ModelSession:
    """What the contract says a session holds, and the stamps the store first reported."""

    messages: list[Message]
    version: int
    attributes: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    last_updated_at: datetime | None = None


@dataclass
class Model:
    """Insertion order of ``sessions`` is the order of writes, hence every listing."""

    sessions: dict[Key, ModelSession] = field(default_factory=dict)
    #: The newest created_at the store reported: sessions created later never predate it.
    newest_created_at: datetime | None = None

    def version(self, key: Key) -> int:
        """The session's version, 0 when it does not exist."""
        session = self.sessions.get(key)
        return 0 if session is None else session.version

    def ids(self, namespace: str) -> list[str]:
        """The namespace's session ids in listing order (oldest write first)."""
        return [session_id for (name, session_id) in self.sessions if name == namespace]

    def namespaces(self) -> list[str]:
        """Every namespace holding a session, sorted."""
        return sorted({name for name, _ in self.sessions})

    def write(
        self,
        key: Key,
        messages: list[Message],
        *,
        replace: bool,
        changes: Mapping[str, Any] | None = None,
    ) -> ModelSession:
        """A save (``replace``) or an append: version + 1, moved to the end."""
        session = self.sessions.pop(key, None)
        if session is None:
            session = ModelSession(list(messages), 1)
        else:
            session.messages = list(messages) if replace else session.messages + messages
            session.version += 1
        session.attributes = _merged(session.attributes, changes)
        self.sessions[key] = session
        return session

    def pop(self, key: Key, count: int) -> list[Message]:
        """Remove the last ``count`` messages (a write only when it removes something)."""
        session = self.sessions.get(key)
        if session is None or not session.messages:
            return []
        cut = max(0, len(session.messages) - count)
        popped = session.messages[cut:]
        self.write(key, session.messages[:cut], replace=True)
        return popped

    def replace_tail(self, key: Key, start: int, messages: list[Message]) -> None:
        """Replace ``[start:]`` of an existing session with ``messages``."""
        self.write(key, self.sessions[key].messages[:start] + messages, replace=True)

    def fork(self, namespace: str, source_id: str, target_id: str, stop: int | None) -> None:
        """Copy ``source[:stop]`` and its attributes over the target (a save of it)."""
        source = self.sessions[(namespace, source_id)]
        messages, attributes = source.messages[:stop], dict(source.attributes)
        target = self.write((namespace, target_id), messages, replace=True)
        target.attributes = attributes

    def update_attributes(self, key: Key, changes: Mapping[str, Any]) -> ModelSession:
        """Merge ``changes``: version + 1, the listing position unchanged."""
        session = self.sessions[key]
        session.attributes = _merged(session.attributes, changes)
        session.version += 1
        return session

    def delete(self, key: Key) -> None:
        """Forget the session if it exists."""
        self.sessions.pop(key, None)

    def keep_newest(self, namespace: str, keep: int) -> int:
        """Delete all but the namespace's ``keep`` newest sessions; return how many went."""
        ids = self.ids(namespace)
        doomed = ids[: max(0, len(ids) - keep)]
        for session_id in doomed:
            del self.sessions[(namespace, session_id)]
        return len(doomed)

    def clear(self, namespace: str) -> int:
        """Delete every session of the namespace; return how many went."""
        return self.keep_newest(namespace, 0)
