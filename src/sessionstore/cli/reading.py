"""Reading sessions out of a store for a command: every session once, or the ones named.

``export``, ``copy`` and ``doctor`` walk whole stores that other writers may be
using; ``scan_once`` gives each session once, whatever the writers do meanwhile.
Only the public ``SessionStore`` API is used, so every backend behaves alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence

from sessionstore._errors import CorruptSessionError, InvalidArgumentError
from sessionstore._messages import Message
from sessionstore._records import SessionId, SessionRecord, validate_namespace, validate_session_id
from sessionstore._store import SessionStore
from sessionstore.cli.seen_ids import IN_MEMORY, SeenIds
from sessionstore.cli.text import safe_text

__all__ = [
    "PAGE_SIZE",
    "UnknownSessionError",
    "check_namespace",
    "in_namespace",
    "iter_sessions",
    "namespace_label",
    "scan_once",
    "selected_namespaces",
    "unique_ids",
]

#: Sessions read per page when streaming a whole store.
PAGE_SIZE = 500


class UnknownSessionError(InvalidArgumentError):
    """A command named a session id that the store does not have."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"no session with id {safe_text(session_id, quote=True)}")
        self.session_id = session_id


def check_namespace(name: str) -> str:
    """``name`` if it names a namespace: ``""`` (the default) or 1 to 256 UTF-8 bytes, no NUL."""
    return name if name == "" else validate_namespace(name)


def in_namespace(store: SessionStore, name: str) -> SessionStore:
    """The view of ``store`` that sees namespace ``name`` (``""``: the store itself)."""
    return store if name == "" else store.namespace(name)


def namespace_label(name: str) -> str:
    """A namespace for people: quoted and terminal-safe, ``(default)`` for ``""``."""
    return "(default)" if name == "" else safe_text(name, quote=True)


async def selected_namespaces(store: SessionStore, name: str, every: bool) -> list[str]:
    """The namespaces a command works on: all that hold sessions when ``every``, else ``name``."""
    return await store.namespaces() if every else [name]


def unique_ids(ids: Iterable[str]) -> list[SessionId]:
    """``ids`` validated, each once, in the given order; raises at the first invalid one."""
    seen: dict[SessionId, None] = {}
    for raw in ids:
        seen.setdefault(validate_session_id(raw), None)
    return list(seen)


async def scan_once(
    store: SessionStore, page_size: int = PAGE_SIZE, *, in_memory: int = IN_MEMORY
) -> AsyncIterator[SessionRecord]:
    """Every session's record, once, in listing order: ``store.scan`` without its repeats.

    A session that exists throughout is never skipped (on every built-in
    backend). One written during the scan after it was read is not yielded
    again, so it appears with the state it had when read. The ids seen are
    kept in memory up to ``in_memory`` of them, then in a temporary database.
    """
    with SeenIds(in_memory) as seen:
        async for record in store.scan(page_size=page_size):
            number = len(seen)
            if seen.setdefault(record.id, number) == number:  # not met before
                yield record


async def iter_sessions(
    store: SessionStore,
    ids: Sequence[str] | None = None,
    *,
    page_size: int = PAGE_SIZE,
    on_unreadable: Callable[[SessionRecord, CorruptSessionError], None] | None = None,
) -> AsyncIterator[tuple[SessionRecord, list[Message]]]:
    """Yield ``(record, transcript)`` for ``ids`` (all must exist) or for every session.

    Without ids every session is read once, page by page in listing order
    (oldest write first), with ``scan_once``: safe on a store being written,
    where no session that exists throughout is skipped and one written
    meanwhile may come with its earlier state. A session deleted between
    listing and loading is skipped. Each record and its transcript are read
    together (``snapshot``), so the record's attributes go with those messages.
    A session that cannot be read (CorruptSessionError) goes to ``on_unreadable``
    and is skipped; without ``on_unreadable`` the error propagates.
    """
    records = scan_once(store, page_size) if ids is None else _named(store, ids)
    async for record in records:
        try:
            snapshot = await store.snapshot(record.id)
        except CorruptSessionError as exc:
            if on_unreadable is None:
                raise
            on_unreadable(record, exc)
            continue
        if snapshot is not None:
            yield snapshot.record, snapshot.messages


async def _named(store: SessionStore, ids: Sequence[str]) -> AsyncIterator[SessionRecord]:
    """The records of ``ids`` (each once, in the given order), once all are known to exist."""
    records: list[SessionRecord] = []
    for sid in unique_ids(ids):
        record = await store.get(sid)
        if record is None:
            raise UnknownSessionError(sid)
        records.append(record)
    for record in records:
        yield record
