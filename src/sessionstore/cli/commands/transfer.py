"""The ``export``, ``import`` and ``copy`` commands, over ``transfer`` and ``importing``."""

from __future__ import annotations

import contextlib
import enum
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Annotated

import typer

from sessionstore._errors import CorruptSessionError
from sessionstore._messages import Message
from sessionstore._open import open_store
from sessionstore._records import SessionRecord
from sessionstore._store import SessionStore
from sessionstore._urls import redact_url
from sessionstore.cli.commands._common import (
    AllNamespacesOption,
    NamespaceOption,
    UrlOption,
    binary_stdout,
    checked_namespace,
    fail,
    namespace_option,
    namespace_scope,
    progress_bar,
    run,
    url_from,
    usage_error,
)
from sessionstore.cli.import_writing import ImportSummary, write_import
from sessionstore.cli.importing import ImportFile, LineProblem
from sessionstore.cli.reading import (
    in_namespace,
    iter_sessions,
    namespace_label,
    selected_namespaces,
)
from sessionstore.cli.text import safe_text
from sessionstore.cli.transfer import copy_namespaces, export_line

__all__ = ["ConflictPolicy", "copy_command", "export_command", "import_command"]


class ConflictPolicy(enum.StrEnum):
    """What ``import`` does with an id the store already has."""

    FAIL = "fail"
    SKIP = "skip"
    REPLACE = "replace"


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[IO[bytes]]:
    """Stdout, or a file that appears complete (renamed into place) only on success."""
    if path is None or path == "-":
        stream = binary_stdout()
        yield stream
        stream.flush()
        return
    target = Path(path)
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
            dir=target.parent, prefix=f".{target.name}.", suffix=".partial", delete=False
        )
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror}") from exc
    try:
        with handle:
            yield handle
        os.replace(handle.name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise


def export_command(
    session_ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="ID", help="Sessions to export; all when none given."),
    ] = None,
    url: UrlOption = None,
    namespace: NamespaceOption = "",
    all_namespaces: AllNamespacesOption = False,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here instead of stdout."),
    ] = None,
) -> None:
    """Export sessions as JSON Lines, one session per line.

    Each line: {"id", "namespace", "created_at", "updated_at", "attributes",
    "messages"}. Timestamps are ISO-8601 UTC with microseconds. Without ids
    every session of the namespace (of each namespace, with --all-namespaces)
    is streamed once, page by page in listing order (oldest write first). Safe
    while the store is in use: no session that exists throughout the export is
    missed, and one written meanwhile is in it with the state it had when read.
    With -o the file appears only once the export is complete. A session that
    cannot be read (corrupt in storage) does not stop the export: it is
    reported on stderr and left out, the rest is exported, and the command
    ends with exit code 1 and a summary naming the sessions left out.
    """
    namespace = namespace_scope(namespace, all_namespaces)
    if all_namespaces and session_ids:
        usage_error("ids name sessions of one namespace: give --namespace, not --all-namespaces")
    store_url = url_from(url)
    unreadable: list[str] = []

    def skip(record: SessionRecord, error: CorruptSessionError, name: str) -> None:
        where = f" in namespace {namespace_label(name)}" if name else ""
        unreadable.append(f"{safe_text(record.id, quote=True)}{where}")
        typer.echo(safe_text(f"sessionstore: not exported: {error}"), err=True)

    async def work() -> int:
        async with open_store(store_url) as store:
            names = await selected_namespaces(store, namespace, all_namespaces)
            # Check the named ids exist before the output file is created.
            sessions = _namespaced(store, names, session_ids or None, skip)
            first = await anext(sessions, None)
            with _output(output) as stream:
                if first is None:
                    return 0
                stream.write(export_line(*first))
                exported = 1
                async for record, messages, name in sessions:
                    stream.write(export_line(record, messages, name))
                    exported += 1
        return exported

    _exported(run(work(), store_url), output, unreadable)


def _exported(exported: int, output: str | None, unreadable: list[str]) -> None:
    """Say how many sessions were exported where; exit 1 naming those left out, if any."""
    where = "stdout" if output in (None, "-") else output
    done = f"exported {exported} session{'s' if exported != 1 else ''} to {where}"
    if unreadable:
        fail(
            f"{done}; {len(unreadable)} could not be read and are not in it: "
            f"{', '.join(unreadable)} (sessionstore doctor lists them)"
        )
    typer.echo(done, err=True)


async def _namespaced(
    store: SessionStore,
    names: list[str],
    ids: list[str] | None,
    on_unreadable: Callable[[SessionRecord, CorruptSessionError, str], None],
) -> AsyncIterator[tuple[SessionRecord, list[Message], str]]:
    """``iter_sessions`` of each namespace of ``names`` in turn, each session with its namespace."""
    for name in names:

        def skip(record: SessionRecord, error: CorruptSessionError, name: str = name) -> None:
            on_unreadable(record, error, name)

        async for record, messages in iter_sessions(
            in_namespace(store, name), ids, on_unreadable=skip
        ):
            yield record, messages, name


def _read_input(path: str, namespace: str | None) -> ImportFile:
    """The import file at ``path`` (``-``: stdin) read once and checked; unreadable: exit 1."""
    try:
        if path == "-":
            return ImportFile.read(typer.get_binary_stream("stdin"), namespace=namespace)
        with open(path, "rb") as stream:
            return ImportFile.read(stream, namespace=namespace)
    except OSError as exc:
        fail(str(exc))


def _report_problems(problems: list[LineProblem], count: int, path: str, what: str) -> None:
    """Print each problem on stderr with the file's name, then fail: nothing was imported."""
    name = "stdin" if path == "-" else path
    for problem in problems:
        typer.echo(safe_text(f"sessionstore: {name}: {problem}"), err=True)
    hidden = count - len(problems)
    if hidden:
        typer.echo(f"sessionstore: ... and {hidden} more", err=True)
    fail(f"{count} {what}{'s' if count != 1 else ''} in {name}; nothing was imported")


def import_command(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="A JSON Lines export, or - for stdin.")
    ],
    url: UrlOption = None,
    namespace: Annotated[
        str | None,
        namespace_option(
            "--namespace",
            "Import every session into this namespace (default: each line's own "
            '"namespace", the default namespace for lines without one).',
        ),
    ] = None,
    on_conflict: Annotated[
        ConflictPolicy,
        typer.Option(
            "--on-conflict",
            help="For ids the store already has: fail (import nothing), skip them, "
            "or replace their transcript.",
        ),
    ] = ConflictPolicy.FAIL,
) -> None:
    """Import sessions from a JSON Lines file in the format export writes.

    Every line is checked first for all the write would refuse (JSON, fields,
    ids, namespaces, attributes, messages and their depth, timestamps in UTC
    range, the store's size limit, an id twice); a bad line is reported with its
    number and nothing is written. A session already there with the line's exact
    contents is left alone, so if a store error (a full disk) stops an import
    midway, the error says how many sessions were written and the same command
    run again writes the rest. No session is ever half-written. Kept: namespaces, ids, attributes,
    messages and their order, the order of sessions, and a line's
    created_at/updated_at when it has both (on every built-in backend; a store
    without restore stamps the import time). Lines without "namespace" or
    "attributes" (files of the first release) go to the default namespace with
    no attributes. Versions restart at 1. The file is read once (stdin works
    like a file); the checked sessions wait in a temporary file, so memory
    holds one session at a time.
    """
    if namespace is not None:
        namespace = checked_namespace(namespace)
    store_url = url_from(url)
    with _read_input(file, namespace) as imported:
        if imported.problem_count:
            _report_problems(imported.problems, imported.problem_count, file, "bad line")

        async def work() -> ImportSummary:
            async with open_store(store_url) as store:
                return await write_import(store, imported, on_conflict.value)

        result = run(work(), store_url)
    if result.problem_count:
        _report_problems(result.problems, result.problem_count, file, "refused session")
    written = result.written
    typer.echo(
        f"imported {written} session{'s' if written != 1 else ''} "
        f"({result.created} created, {result.replaced} replaced, {result.skipped} skipped, "
        f"{result.unchanged} already there)",
        err=True,
    )


def _split_ids(ids: str | None, repeated: list[str] | None) -> list[str] | None:
    """The ids of ``--ids A,B`` and every ``--id``; None (copy all) when there are none."""
    selected = [part for part in (ids or "").split(",") if part] + list(repeated or [])
    return selected or None


def _copy_pairs(
    ctx: typer.Context,
    namespace: str,
    every: bool,
    to_namespace: str | None,
    selected: list[str] | None,
) -> list[tuple[str, str]]:
    """(source, target) namespaces to copy; empty for --all-namespaces (filled from the store)."""
    if every:
        if to_namespace is not None:
            usage_error("--to-namespace needs one source namespace, not --all-namespaces", ctx=ctx)
        if selected is not None:
            usage_error("ids name sessions of one namespace: give --namespace", ctx=ctx)
        return []
    target = (
        namespace if to_namespace is None else checked_namespace(to_namespace, "--to-namespace")
    )
    return [(namespace, target)]


def copy_command(
    ctx: typer.Context,
    to: Annotated[
        str, typer.Option("--to", metavar="URL", help="The store to copy into.", show_default=False)
    ],
    url: UrlOption = None,
    namespace: NamespaceOption = "",
    all_namespaces: AllNamespacesOption = False,
    to_namespace: Annotated[
        str | None,
        namespace_option(
            "--to-namespace", "The namespace to copy into (default: the same as the source's)."
        ),
    ] = None,
    ids: Annotated[
        str | None,
        typer.Option("--ids", metavar="A,B", help="Comma-separated ids to copy (default: all)."),
    ] = None,
    id_: Annotated[
        list[str] | None,
        typer.Option("--id", metavar="ID", help="An id to copy; repeat it (ids with commas)."),
    ] = None,
) -> None:
    """Copy sessions from the store at --url to the store at --to, page by page.

    Existing sessions in the target are replaced by the source's, so re-running
    a copy is safe. Ids, namespaces, attributes, messages, the order of
    sessions and created_at/updated_at are kept (on every built-in backend; a
    store without restore stamps the copy time); versions in the target are its
    own. With --to-namespace the sessions land in that namespace instead, which
    may be in the same store. A progress bar is shown on a terminal (on
    stderr), none when piped.
    """
    namespace = namespace_scope(namespace, all_namespaces)
    source_url = url_from(url)
    selected = _split_ids(ids, id_)
    pairs = _copy_pairs(ctx, namespace, all_namespaces, to_namespace, selected)
    if to == source_url and (all_namespaces or pairs[0][0] == pairs[0][1]):
        usage_error("the target is the source store", param_hint="'--to'")

    async def work() -> int:
        async with open_store(source_url) as source, open_store(to) as target:
            if all_namespaces:
                pairs.extend((name, name) for name in await source.namespaces())
            if selected is not None:
                total = len(set(selected)) * len(pairs)
            else:
                total = sum([await in_namespace(source, name).count() for name, _ in pairs])
            with progress_bar("copying", total, time_remaining=True) as advance:
                return await copy_namespaces(source, target, pairs, selected, on_copied=advance)

    copied = run(work(), source_url, to)
    # Both stores opened, so their URLs split and redact_url cannot fail here.
    typer.echo(
        f"copied {copied} session{'s' if copied != 1 else ''} from {redact_url(source_url)} "
        f"to {redact_url(to)}",
        err=True,
    )
