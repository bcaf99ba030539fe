"""The ``list``, ``show``, ``count``, ``delete`` and ``demo`` commands: sessions one by one."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer
from rich.text import Text

from sessionstore._records import ListOptions, SessionId, SessionRecord, Snapshot
from sessionstore._urls import redact_url
from sessionstore.cli.commands._common import (
    AllNamespacesOption,
    NamespaceOption,
    UrlOption,
    checked_namespace,
    err_console,
    namespace_scope,
    open_store,
    out_console,
    print_json_lines,
    run,
    url_from,
)
from sessionstore.cli.demo import DEMO_SESSIONS, write_demo
from sessionstore.cli.maintenance import delete_sessions
from sessionstore.cli.reading import (
    UnknownSessionError,
    in_namespace,
    selected_namespaces,
    unique_ids,
)
from sessionstore.cli.render import record_to_json, render_records, render_transcript
from sessionstore.cli.text import safe_text

__all__ = ["count_command", "delete_command", "demo_command", "list_command", "show_command"]

DEFAULT_LIST_LIMIT = 50


def list_command(
    url: UrlOption = None,
    namespace: NamespaceOption = "",
    all_namespaces: AllNamespacesOption = False,
    limit: Annotated[
        int, typer.Option(min=0, help="Sessions to show; 0 shows all (slow on a big store).")
    ] = DEFAULT_LIST_LIMIT,
    offset: Annotated[int, typer.Option(min=0, help="Sessions to skip first.")] = 0,
    newest_first: Annotated[
        bool, typer.Option("--newest-first", help="Most recently written first.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON object per line: id, namespace, message_count, created_at, "
            "updated_at, version, attributes.",
        ),
    ] = False,
) -> None:
    """List sessions in the order of their last write (oldest first), one page at a time.

    Shows 50 sessions by default: the page is one list_paginated call, so it is
    fast on any store size; use --offset/--limit to page and --newest-first to
    see the latest. The title column is the session's "title" attribute. With
    --all-namespaces each namespace gets its own page (--offset and --limit
    apply within each). Times are UTC.
    """
    namespace = namespace_scope(namespace, all_namespaces)
    store_url = url_from(url)
    options = ListOptions(offset=offset, limit=limit or None, newest_first=newest_first)

    async def work() -> list[tuple[str, SessionRecord]]:
        async with open_store(store_url) as store:
            rows: list[tuple[str, SessionRecord]] = []
            for name in await selected_namespaces(store, namespace, all_namespaces):
                page = await in_namespace(store, name).list_paginated(options)
                rows += [(name, record) for record in page]
            return rows

    rows = run(work(), store_url)
    if as_json:
        print_json_lines(record_to_json(record, name) for name, record in rows)
    elif rows:
        render_records(out_console(wide_when_piped=True), rows, show_namespace=all_namespaces)
        if not all_namespaces:
            _note_more(offset, limit, len(rows))
    else:
        note = "no sessions" if offset == 0 else f"no sessions after offset {offset}"
        err_console().print(Text(note + (" (try: sessionstore demo)" if offset == 0 else "")))


def _note_more(offset: int, limit: int, shown: int) -> None:
    """Tell the user (on stderr) how to see the next page when this one was full."""
    if limit and shown == limit:
        last = offset + shown
        note = f"showing {offset + 1}-{last}; more may follow: --offset {last}"
        err_console().print(Text(note, style="dim"))


def show_command(
    session_id: Annotated[str, typer.Argument(metavar="ID", help="The session id.")],
    url: UrlOption = None,
    namespace: NamespaceOption = "",
    last: Annotated[
        int | None,
        typer.Option(
            "--last",
            min=1,
            metavar="N",
            help="Only the last N messages (reads only those, however long the transcript).",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the raw messages as one JSON array (their stored JSON form)."
        ),
    ] = False,
) -> None:
    """Show one session's transcript: roles in colour, tool calls and results, images.

    The header shows the session's attributes. An id that starts with '-' goes
    last, after '--': sessionstore show --url URL -- -my-id. An unknown id is
    an error (exit code 1).
    """
    namespace = checked_namespace(namespace)
    store_url = url_from(url)

    async def work() -> Snapshot:
        async with open_store(store_url) as store:
            view = in_namespace(store, namespace)
            snapshot = await view.snapshot(session_id, start=0 if last is None else -last)
            if snapshot is None:
                raise UnknownSessionError(session_id)
            return snapshot

    snapshot = run(work(), store_url)
    if as_json:
        print_json_lines([snapshot.messages])
    else:
        render_transcript(out_console(), snapshot.record, snapshot.messages, namespace=namespace)


def count_command(
    url: UrlOption = None,
    namespace: NamespaceOption = "",
    all_namespaces: AllNamespacesOption = False,
) -> None:
    """Print how many sessions the namespace holds (with --all-namespaces: the whole store)."""
    namespace = namespace_scope(namespace, all_namespaces)
    store_url = url_from(url)

    async def work() -> int:
        async with open_store(store_url) as store:
            names = await selected_namespaces(store, namespace, all_namespaces)
            return sum([await in_namespace(store, name).count() for name in names])

    typer.echo(str(run(work(), store_url)))


def delete_command(
    session_ids: Annotated[list[str], typer.Argument(metavar="ID", help="Ids to delete.")],
    url: UrlOption = None,
    namespace: NamespaceOption = "",
) -> None:
    """Delete sessions. Ids that do not exist are reported but are not an error (exit 0).

    All ids are validated before anything is deleted.
    """
    namespace = checked_namespace(namespace)
    store_url = url_from(url)

    async def work() -> tuple[int, list[SessionId]]:
        ids = unique_ids(session_ids)  # every id is checked before the store is touched
        async with open_store(store_url) as store:
            missing = await delete_sessions(in_namespace(store, namespace), ids)
        return len(ids) - len(missing), missing

    deleted, missing = run(work(), store_url)
    typer.echo(f"deleted {deleted} session{'s' if deleted != 1 else ''}")
    if missing:
        shown = ", ".join(safe_text(sid, quote=True) for sid in missing)
        typer.echo(f"not found (nothing to delete): {shown}", err=True)


def demo_command(url: UrlOption = None, namespace: NamespaceOption = "") -> None:
    """Write two sample agent conversations (tool calls, results, an image) to look at.

    Each has a "title" attribute. Re-running it overwrites the demo sessions
    with the same content.
    """
    namespace = checked_namespace(namespace)
    store_url = url_from(url)

    async def work() -> list[tuple[str, int]]:
        async with open_store(store_url) as store:
            return await write_demo(in_namespace(store, namespace))

    written = run(work(), store_url)
    # The store opened, so its URL splits and redact_url cannot fail here.
    shown_url = redact_url(store_url)
    typer.echo(f"wrote {len(written)} demo sessions to {shown_url}:")
    for session_id, count in written:
        typer.echo(f"  {session_id} ({count} messages)")
    url_part = f" --url {shlex.quote(shown_url)}" if url is not None else ""
    if namespace:
        url_part += f" --namespace {shlex.quote(namespace)}"
    first = next(iter(DEMO_SESSIONS))
    typer.echo(f"next, try: sessionstore show {first}{url_part}")
