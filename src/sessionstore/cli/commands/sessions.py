"""The ``list``, ``show``, ``count``, ``delete`` and ``demo`` commands: sessions one by one."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer
from rich.text import Text

from sessionstore._messages import Message
from sessionstore._open import open_store
from sessionstore._records import ListOptions, SessionId, SessionRecord
from sessionstore._urls import redact_url
from sessionstore.cli.commands._common import (
    UrlOption,
    err_console,
    out_console,
    print_json_lines,
    run,
    url_from,
)
from sessionstore.cli.demo import DEMO_SESSIONS, write_demo
from sessionstore.cli.maintenance import delete_sessions
from sessionstore.cli.reading import UnknownSessionError, unique_ids
from sessionstore.cli.render import record_to_json, render_records, render_transcript
from sessionstore.cli.text import safe_text

__all__ = ["count_command", "delete_command", "demo_command", "list_command", "show_command"]

DEFAULT_LIST_LIMIT = 50


def list_command(
    url: UrlOption = None,
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
            help="One JSON object per line: id, message_count, created_at, updated_at, version.",
        ),
    ] = False,
) -> None:
    """List sessions in the order of their last write (oldest first), one page at a time.

    Shows 50 sessions by default: the page is one list_paginated call, so it is
    fast on any store size; use --offset/--limit to page and --newest-first to
    see the latest. Times are UTC.
    """
    store_url = url_from(url)
    options = ListOptions(offset=offset, limit=limit or None, newest_first=newest_first)

    async def work() -> list[SessionRecord]:
        async with open_store(store_url) as store:
            return await store.list_paginated(options)

    records = run(work(), store_url)
    if as_json:
        print_json_lines(record_to_json(record) for record in records)
    elif records:
        render_records(out_console(wide_when_piped=True), records)
        _note_more(offset, limit, len(records))
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
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the raw messages as one JSON array (their stored JSON form)."
        ),
    ] = False,
) -> None:
    """Show one session's transcript: roles in colour, tool calls and results, images.

    An id that starts with '-' goes last, after '--': sessionstore show --url URL -- -my-id.
    An unknown id is an error (exit code 1).
    """
    store_url = url_from(url)

    async def work() -> tuple[list[Message], SessionRecord | None]:
        async with open_store(store_url) as store:
            messages = await store.load(session_id)
            if messages is None:
                raise UnknownSessionError(session_id)
            return messages, await store.get(session_id)

    messages, record = run(work(), store_url)
    if as_json:
        print_json_lines([messages])
    else:
        render_transcript(out_console(), session_id, record, messages)


def count_command(url: UrlOption = None) -> None:
    """Print how many sessions the store holds."""
    store_url = url_from(url)

    async def work() -> int:
        async with open_store(store_url) as store:
            return await store.count()

    typer.echo(str(run(work(), store_url)))


def delete_command(
    session_ids: Annotated[list[str], typer.Argument(metavar="ID", help="Ids to delete.")],
    url: UrlOption = None,
) -> None:
    """Delete sessions. Ids that do not exist are reported but are not an error (exit 0).

    All ids are validated before anything is deleted.
    """
    store_url = url_from(url)

    async def work() -> tuple[int, list[SessionId]]:
        ids = unique_ids(session_ids)  # every id is checked before the store is touched
        async with open_store(store_url) as store:
            missing = await delete_sessions(store, ids)
        return len(ids) - len(missing), missing

    deleted, missing = run(work(), store_url)
    typer.echo(f"deleted {deleted} session{'s' if deleted != 1 else ''}")
    if missing:
        shown = ", ".join(safe_text(sid, quote=True) for sid in missing)
        typer.echo(f"not found (nothing to delete): {shown}", err=True)


def demo_command(url: UrlOption = None) -> None:
    """Write two sample agent conversations (tool calls, results, an image) to look at.

    Re-running it overwrites the demo sessions with the same content.
    """
    store_url = url_from(url)

    async def work() -> list[tuple[str, int]]:
        async with open_store(store_url) as store:
            return await write_demo(store)

    written = run(work(), store_url)
    # The store opened, so its URL splits and redact_url cannot fail here.
    shown_url = redact_url(store_url)
    typer.echo(f"wrote {len(written)} demo sessions to {shown_url}:")
    for session_id, count in written:
        typer.echo(f"  {session_id} ({count} messages)")
    url_part = f" --url {shlex.quote(shown_url)}" if url is not None else ""
    first = next(iter(DEMO_SESSIONS))
    typer.echo(f"next, try: sessionstore show {first}{url_part}")
