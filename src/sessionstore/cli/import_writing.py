"""Writing a checked import file into a store: all of it, or nothing, or a count to resume from.

``importing`` reads and checks the file; this module writes it. Before the
first write everything ``restore`` would refuse has been refused (the line
checks reuse the library's own validation; the store's ``max_write_bytes`` is
checked here), and with ``on_conflict="fail"`` every id the store already
holds with other contents. An id the store already holds with exactly the
line's contents (messages, attributes, and the timestamps a restore keeps) is
not a conflict: it was imported before and is left as it is. So when a backend
error (a full disk, a lost connection) stops an import midway, the error says
how many sessions were written, and running the same import again writes the
rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sessionstore._errors import ConflictError, SessionStoreError
from sessionstore._store import SessionStore
from sessionstore.cli.importing import (
    MAX_REPORTED,
    ImportFile,
    ImportLine,
    LineProblem,
    OnConflict,
    describe,
)
from sessionstore.cli.reading import in_namespace
from sessionstore.cli.transfer import write_session

__all__ = ["ImportInterruptedError", "ImportSummary", "import_sessions", "write_import"]


class ImportInterruptedError(SessionStoreError):
    """An import stopped after writing some sessions; the message says how many, and what next."""

    def __init__(self, message: str, *, written: int) -> None:
        super().__init__(message)
        self.written = written


@dataclass(slots=True)
class ImportSummary:
    """The outcome of an import: sessions created, replaced, skipped, already there, or problems.

    ``unchanged``: sessions the store already held with the same contents (an
    earlier run of the same import wrote them), left as they are.
    """

    created: int = 0
    replaced: int = 0
    skipped: int = 0
    unchanged: int = 0
    problems: list[LineProblem] = field(default_factory=list)
    problem_count: int = 0

    @property
    def written(self) -> int:
        """Sessions this import wrote."""
        return self.created + self.replaced

    def add_problem(self, problem: LineProblem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(problem)


async def import_sessions(
    store: SessionStore,
    stream: Iterable[bytes],
    on_conflict: OnConflict = "fail",
    *,
    namespace: str | None = None,
) -> ImportSummary:
    """Import a JSON Lines file into ``store``: ``ImportFile.read``, then ``write_import``.

    ``stream`` is read once, so it may be a pipe. ``namespace``: as for ``ImportFile.read``.
    """
    with ImportFile.read(stream, namespace=namespace) as imported:
        return await write_import(store, imported, on_conflict)


def _lines(imported: ImportFile) -> Iterator[tuple[int, ImportLine]]:
    """Every session of ``imported`` with its line number, in file order."""
    for (_, number), session in zip(imported.ids(), imported.sessions(), strict=True):
        yield number, session


def _check_sizes(store: SessionStore, imported: ImportFile, summary: ImportSummary) -> None:
    """Note each session whose messages are more than ``store`` takes in one write."""
    limit = store.max_write_bytes
    if limit is None or imported.largest_messages <= limit:
        return
    for number, session in _lines(imported):
        if len(session.messages) > limit:
            summary.add_problem(
                LineProblem(
                    number,
                    f"the messages encode to {len(session.messages):,} bytes of JSON, more "
                    f"than the {limit:,} bytes {type(store).__name__} takes in one write",
                )
            )


async def _identical(store: SessionStore, session: ImportLine) -> bool | None:
    """Whether the store holds ``session`` exactly as the line has it; None: not at all."""
    target = in_namespace(store, session.namespace)
    snapshot = await target.snapshot(session.session_id)
    if snapshot is None:
        return None
    record = snapshot.record
    if session.timestamps is not None and store.supports_restore:
        created_at, updated_at = session.timestamps
        if (record.created_at, record.updated_at) != (min(created_at, updated_at), updated_at):
            return False
    return (
        snapshot.messages == session.decode_messages()
        and dict(record.attributes) == session.decode_attributes()
    )


async def _check_existing(
    store: SessionStore, imported: ImportFile, summary: ImportSummary
) -> None:
    """Note each id ``store`` already holds with other contents than its line's."""
    for number, session in _lines(imported):
        if await _identical(store, session) is False:
            summary.add_problem(
                LineProblem(
                    number,
                    f"session {describe(session.key)} already exists in the store with other "
                    "contents (use --on-conflict skip or replace)",
                )
            )


async def write_import(
    store: SessionStore, imported: ImportFile, on_conflict: OnConflict = "fail"
) -> ImportSummary:
    """Write the sessions of ``imported`` into ``store``, or return the problems and write nothing.

    A bad line, a duplicate id, a session over the store's ``max_write_bytes``,
    or (with ``on_conflict="fail"``) an id the store holds with other contents
    means nothing is written and the problems are returned. Each session is one
    ``restore`` (or ``save``, see ``write_session``), so none is ever
    half-written. A line's created_at and updated_at are kept when it has both
    and the store ``supports_restore``; otherwise the store stamps the time of
    the import. A backend error midway raises ImportInterruptedError saying how
    many sessions were written; the same import run again continues.
    """
    if imported.problem_count:
        return ImportSummary(problems=imported.problems, problem_count=imported.problem_count)
    summary = ImportSummary()
    _check_sizes(store, imported, summary)
    if on_conflict == "fail" and not summary.problem_count:
        await _check_existing(store, imported, summary)
    if summary.problem_count:
        return summary
    for number, session in _lines(imported):
        try:
            await _write(store, session, on_conflict, summary)
        except SessionStoreError as exc:
            raise _interrupted(summary, number, session, exc) from exc
    return summary


def _interrupted(
    summary: ImportSummary, number: int, session: ImportLine, exc: SessionStoreError
) -> ImportInterruptedError:
    plural = "s" if summary.written != 1 else ""
    return ImportInterruptedError(
        f"the import stopped at line {number} (session {describe(session.key)}): {exc}; "
        f"before it, {summary.written} session{plural} had been written "
        f"({summary.created} created, {summary.replaced} replaced, {summary.skipped} "
        f"skipped, {summary.unchanged} already there); run the same import again to "
        "continue: sessions it already wrote are recognised and left as they are",
        written=summary.written,
    )


async def _write(
    store: SessionStore, session: ImportLine, on_conflict: OnConflict, summary: ImportSummary
) -> None:
    """Write one session as ``on_conflict`` says and count it in ``summary``."""
    messages = session.decode_messages()
    target = in_namespace(store, session.namespace)
    attributes = session.decode_attributes()
    if on_conflict == "replace":
        record = await write_session(
            target, session.session_id, messages, session.timestamps, attributes=attributes
        )
        if record.version == 1:
            summary.created += 1
        else:
            summary.replaced += 1
        return
    try:
        await write_session(
            target,
            session.session_id,
            messages,
            session.timestamps,
            attributes=attributes,
            expected_version=0,
        )
    except ConflictError:
        if await _identical(store, session):
            summary.unchanged += 1
        elif on_conflict == "skip":
            summary.skipped += 1
        else:
            raise SessionStoreError(
                f"session {describe(session.key)} was created by another writer during the import"
            ) from None
    else:
        summary.created += 1
