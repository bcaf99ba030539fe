"""The ``export``, ``import`` and ``copy`` commands, over ``transfer`` and ``importing``."""

from __future__ import annotations

import contextlib
import enum
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated

import typer

from sessionstore._open import open_store
from sessionstore._urls import redact_url
from sessionstore.cli.commands._common import (
    UrlOption,
    binary_stdout,
    fail,
    progress_bar,
    run,
    url_from,
    usage_error,
)
from sessionstore.cli.importing import ImportFile, ImportSummary, LineProblem, write_import
from sessionstore.cli.reading import iter_sessions
from sessionstore.cli.transfer import copy_sessions, export_line

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
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here instead of stdout."),
    ] = None,
) -> None:
    """Export sessions as JSON Lines: {"id", "created_at", "updated_at", "messages"} per line.

    Timestamps are ISO-8601 UTC with microseconds. Without ids every session is
    streamed once, page by page in listing order (oldest write first). Safe
    while the store is in use: no session that exists throughout the export is
    missed, and one written meanwhile is in it with the state it had when read.
    With -o the file appears only once the export is complete.
    """
    store_url = url_from(url)

    async def work() -> int:
        exported = 0
        async with open_store(store_url) as store:
            # Check the named ids exist before the output file is created.
            sessions = iter_sessions(store, session_ids or None)
            first = await anext(sessions, None)
            with _output(output) as stream:
                if first is not None:
                    stream.write(export_line(*first))
                    exported = 1
                async for record, messages in sessions:
                    stream.write(export_line(record, messages))
                    exported += 1
        return exported

    exported = run(work(), store_url)
    where = "stdout" if output in (None, "-") else output
    typer.echo(f"exported {exported} session{'s' if exported != 1 else ''} to {where}", err=True)


def _read_input(path: str) -> ImportFile:
    """The import file at ``path`` (``-``: stdin) read once and checked; unreadable: exit 1."""
    try:
        if path == "-":
            return ImportFile.read(typer.get_binary_stream("stdin"))
        with open(path, "rb") as stream:
            return ImportFile.read(stream)
    except OSError as exc:
        fail(str(exc))


def _report_problems(problems: list[LineProblem], count: int, path: str, what: str) -> None:
    """Print each problem on stderr with the file's name, then fail: nothing was imported."""
    name = "stdin" if path == "-" else path
    for problem in problems:
        typer.echo(f"sessionstore: {name}: {problem}", err=True)
    hidden = count - len(problems)
    if hidden:
        typer.echo(f"sessionstore: ... and {hidden} more", err=True)
    fail(f"{count} {what}{'s' if count != 1 else ''} in {name}; nothing was imported")


def import_command(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="A JSON Lines export, or - for stdin.")
    ],
    url: UrlOption = None,
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

    Every line is validated first (JSON, fields, id, messages; duplicate ids are
    an error); a bad line is reported with its number and nothing is written.
    Each session is then written in one step, so none is ever half-written.
    Kept: ids, messages and their order, the order of sessions, and a line's
    created_at/updated_at when it has both (on every built-in backend; a store
    without restore stamps the import time). Versions restart at 1. The file is
    read once (stdin works like a file); the checked sessions wait in a
    temporary file, so memory holds one session at a time.
    """
    store_url = url_from(url)
    with _read_input(file) as imported:
        if imported.problem_count:
            _report_problems(imported.problems, imported.problem_count, file, "bad line")

        async def work() -> ImportSummary:
            async with open_store(store_url) as store:
                return await write_import(store, imported, on_conflict.value)

        result = run(work(), store_url)
    if result.problem_count:
        _report_problems(result.problems, result.problem_count, file, "conflicting id")
    written = result.created + result.replaced
    typer.echo(
        f"imported {written} session{'s' if written != 1 else ''} "
        f"({result.created} created, {result.replaced} replaced, {result.skipped} skipped)",
        err=True,
    )


def _split_ids(ids: str | None, repeated: list[str] | None) -> list[str] | None:
    """The ids of ``--ids A,B`` and every ``--id``; None (copy all) when there are none."""
    selected = [part for part in (ids or "").split(",") if part] + list(repeated or [])
    return selected or None


def copy_command(
    to: Annotated[
        str, typer.Option("--to", metavar="URL", help="The store to copy into.", show_default=False)
    ],
    url: UrlOption = None,
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

    Existing sessions in the target are replaced by the source's transcript, so
    re-running a copy is safe. Ids, messages, the order of sessions and
    created_at/updated_at are kept (on every built-in backend; a store without
    restore stamps the copy time); versions in the target are its own. A
    progress bar is shown on a terminal (on stderr), none when piped.
    """
    source_url = url_from(url)
    if to == source_url:
        usage_error("the target is the source store", param_hint="'--to'")
    selected = _split_ids(ids, id_)

    async def work() -> int:
        async with open_store(source_url) as source, open_store(to) as target:
            total = len(set(selected)) if selected is not None else await source.count()
            with progress_bar("copying", total, time_remaining=True) as advance:
                return await copy_sessions(source, target, selected, on_copied=advance)

    copied = run(work(), source_url, to)
    # Both stores opened, so their URLs split and redact_url cannot fail here.
    typer.echo(
        f"copied {copied} session{'s' if copied != 1 else ''} from {redact_url(source_url)} "
        f"to {redact_url(to)}",
        err=True,
    )
