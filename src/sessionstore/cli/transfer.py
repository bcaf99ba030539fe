"""Moving whole sessions: export to JSON Lines, and copy from store to store.

Everything streams page by page, so memory stays bounded by one session, not
by the size of the store (the ids already met move to a temporary database
past ``IN_MEMORY`` of them; see ``seen_ids``). Only the public ``SessionStore``
API is used, so every backend works the same way.

The JSON Lines format, one session per line (``importing`` reads it back)::

    {"id": "...", "namespace": "", "created_at": "2026-01-02T03:04:05.000006Z",
     "updated_at": "...", "attributes": {"title": "..."},
     "messages": [ ...messages in their JSON form... ]}

What survives a round trip: namespaces, ids, attributes, messages and their
order, the order of sessions in the listing (import writes them in file
order), and ``created_at`` and ``updated_at`` on a target that
``supports_restore`` (every built-in backend; on others they are stamped by
the target's clock). Versions start again at 1. Lines written by the first
release have no ``namespace`` or ``attributes``: they mean the default
namespace and no attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sessionstore._messages import Message
from sessionstore._records import SessionRecord
from sessionstore._store import SessionStore
from sessionstore.cli.reading import PAGE_SIZE, in_namespace, iter_sessions
from sessionstore.cli.text import encode_json, format_timestamp

__all__ = ["copy_namespaces", "copy_sessions", "export_line", "write_session"]


def export_line(record: SessionRecord, messages: list[Message], namespace: str = "") -> bytes:
    """One session of ``namespace`` as a JSON Lines line (with its trailing newline)."""
    return (
        encode_json(
            {
                "id": str(record.id),
                "namespace": namespace,
                "created_at": format_timestamp(record.created_at),
                "updated_at": format_timestamp(record.updated_at),
                "attributes": dict(record.attributes),
                "messages": messages,
            }
        )
        + b"\n"
    )


async def write_session(
    target: SessionStore,
    session_id: str,
    messages: Sequence[Any],
    timestamps: tuple[datetime, datetime] | None,
    *,
    attributes: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> SessionRecord:
    """Make ``session_id`` in ``target`` hold exactly ``messages`` and ``attributes``.

    ``restore`` with ``timestamps`` (created_at, updated_at) when the target
    can, else ``save``. A created_at later than updated_at (writers with skewed
    clocks) is lowered to updated_at, which ``prune`` goes by.
    """
    whole = dict(attributes or {})
    if timestamps is not None and target.supports_restore:
        created_at, updated_at = timestamps
        return await target.restore(
            session_id,
            messages,
            created_at=min(created_at, updated_at),
            updated_at=updated_at,
            expected_version=expected_version,
            attributes=whole,
        )
    # save merges attributes: remove the keys an existing session has beyond ``whole``.
    current = await target.get(session_id) if expected_version != 0 else None
    stale = {} if current is None else dict.fromkeys(set(current.attributes) - set(whole))
    return await target.save(
        session_id, messages, expected_version=expected_version, attributes={**stale, **whole}
    )


async def copy_sessions(
    source: SessionStore,
    target: SessionStore,
    ids: Sequence[str] | None = None,
    *,
    on_copied: Callable[[SessionRecord], None] | None = None,
    page_size: int = PAGE_SIZE,
) -> int:
    """Copy sessions from ``source`` to ``target``, replacing any of the same id; return how many.

    Each is copied with its attributes; timestamps are kept when the target
    ``supports_restore``. Idempotent: re-running it makes each target session
    equal the source's again. Pass namespace views to copy between namespaces.
    """
    copied = 0
    async for record, messages in iter_sessions(source, ids, page_size=page_size):
        await write_session(
            target,
            record.id,
            messages,
            (record.created_at, record.updated_at),
            attributes=record.attributes,
        )
        copied += 1
        if on_copied is not None:
            on_copied(record)
    return copied


async def copy_namespaces(
    source: SessionStore,
    target: SessionStore,
    pairs: Sequence[tuple[str, str]],
    ids: Sequence[str] | None = None,
    *,
    on_copied: Callable[[SessionRecord], None] | None = None,
) -> int:
    """``copy_sessions`` for each (source namespace, target namespace) of ``pairs``."""
    copied = 0
    for source_name, target_name in pairs:
        copied += await copy_sessions(
            in_namespace(source, source_name),
            in_namespace(target, target_name),
            ids,
            on_copied=on_copied,
        )
    return copied
