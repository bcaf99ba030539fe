"""``sessionstore rekey``: rewrite every session under the primary encryption key.

Each session is read (``snapshot``: record and transcript at one version) and
written back whole at that version, with its timestamps and attributes
(``restore`` where the store supports it, else ``save``), so the store seals
every payload anew under its primary key (and compresses it if asked). A
concurrent write makes the rewrite fail with ``ConflictError``: the session is
read again and rewritten, since that write sealed only what it wrote.

Resuming: the ids of the sessions to rewrite are taken from the listing first
(a rewrite moves a session in the listing), in listing order, and each one
rewritten is recorded in a progress file (one JSON line each, flushed), which
a rerun reads to skip them; it is removed when the run completes. A session
rewritten but not yet recorded when the process died is rewritten again,
which is harmless. Sessions created during the run are written under the
primary key by whoever creates them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sessionstore._errors import ConflictError, SessionStoreError
from sessionstore._store import SessionStore
from sessionstore.cli.reading import in_namespace

__all__ = [
    "MAX_ATTEMPTS",
    "Progress",
    "RekeyResult",
    "default_progress_path",
    "rekey_namespaces",
    "rekey_session",
    "session_ids",
]

#: How many times one session is read and rewritten before rekey gives up on it.
MAX_ATTEMPTS = 20


def default_progress_path(url: str, primary: str) -> Path:
    """``.sessionstore-rekey-<digest>.progress`` in the current directory, one per URL and key.

    The URL is hashed (it may hold a password), never written out.
    """
    digest = hashlib.sha256(f"{url}\0{primary}".encode()).hexdigest()[:16]
    return Path(f".sessionstore-rekey-{digest}.progress")


class Progress:
    """The sessions a previous, interrupted run rewrote, and the record of this run's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: set[tuple[str, str]] = set()
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    namespace, session_id = json.loads(line)
                except (ValueError, TypeError):
                    continue  # a line cut short by the interrupt
                self.done.add((namespace, session_id))
        self._file: IO[str] | None = None

    def __enter__(self) -> Progress:
        self._file = self.path.open("a", encoding="utf-8")
        return self

    def __exit__(self, *_: object) -> None:
        if self._file is not None:
            self._file.close()

    def record(self, namespace: str, session_id: str) -> None:
        """Remember that ``session_id`` of ``namespace`` is rewritten (flushed at once)."""
        assert self._file is not None
        self._file.write(json.dumps([namespace, session_id]) + "\n")
        self._file.flush()
        self.done.add((namespace, session_id))

    def finish(self) -> None:
        """The run completed: nothing is left to resume."""
        self.path.unlink(missing_ok=True)


@dataclass
class RekeyResult:
    """What a run did: sessions rewritten, skipped as done before, gone, and retries."""

    rewritten: int = 0
    resumed: int = 0
    vanished: int = 0
    retries: int = 0


async def rekey_session(view: SessionStore, session_id: str) -> tuple[bool, int]:
    """Rewrite one session at the version read; (whether it still exists, conflicts retried)."""
    for attempt in range(MAX_ATTEMPTS):
        snap = await view.snapshot(session_id)
        if snap is None:
            return False, attempt
        record = snap.record
        try:
            if view.supports_restore:
                await view.restore(
                    session_id, snap.messages, created_at=record.created_at,
                    updated_at=record.updated_at, attributes=record.attributes,
                    expected_version=record.version,
                )  # fmt: skip
            else:
                await view.save(
                    session_id, snap.messages, expected_version=record.version,
                    attributes=dict(record.attributes),
                )  # fmt: skip
        except ConflictError:
            continue  # written meanwhile: read it again
        return True, attempt
    raise SessionStoreError(
        f"session {session_id!r} was written by others {MAX_ATTEMPTS} times while rekey read it; "
        "run rekey again to finish"
    )


async def session_ids(view: SessionStore) -> list[str]:
    """The ids of ``view``'s sessions, in listing order (oldest write first)."""
    return [record.id async for record in view.scan()]


async def rekey_namespaces(
    store: SessionStore,
    names: Iterable[str],
    progress: Progress,
    on_total: Callable[[int], None],
    on_done: Callable[[], None],
) -> RekeyResult:
    """Rewrite every session of ``names`` not in ``progress``; ``on_done`` after each one."""
    todo: list[tuple[str, list[str]]] = []
    for name in names:
        todo.append((name, await session_ids(in_namespace(store, name))))
    on_total(sum(len(ids) for _, ids in todo))
    result = RekeyResult()
    for name, ids in todo:
        view = in_namespace(store, name)
        for session_id in ids:
            if (name, session_id) in progress.done:
                result.resumed += 1
            else:
                exists, retries = await rekey_session(view, session_id)
                result.retries += retries
                if exists:
                    result.rewritten += 1
                else:
                    result.vanished += 1
                progress.record(name, session_id)
            on_done()
    return result
