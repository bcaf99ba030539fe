"""The typer application: looking at sessions (list, show, count), delete and demo.

Moving data (export, import, copy) lives in ``commands_transfer`` and upkeep
(doctor, prune) in ``commands_maintenance``; all are registered on ``app`` here.
Every command works through the public ``SessionStore`` API only, so it behaves
the same on every backend.
"""

from __future__ import annotations

import shlex
from typing import Annotated

import typer
from rich.text import Text

from sessionstore._messages import Message
from sessionstore._open import open_store
from sessionstore._records import ListOptions, SessionRecord, validate_session_id
from sessionstore._store import SessionStore
from sessionstore.cli import commands_maintenance, commands_transfer
from sessionstore.cli._runner import (
    UrlOption,
    binary_stdout,
    err_console,
    out_console,
    run,
    url_from,
)
from sessionstore.cli._util import UnknownSessionError, encode_json, redact_url, safe_text
from sessionstore.cli.demo import DEMO_SESSIONS
from sessionstore.cli.render import record_to_json, render_records, render_transcript

__all__ = ["app"]

app = typer.Typer(
    name="sessionstore",
    help="Inspect, move and maintain sessionstore stores (SQLite, PostgreSQL, Redis).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
)

DEFAULT_LIST_LIMIT = 50


@app.command("list")
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
        out = binary_stdout()
        for record in records:
            out.write(encode_json(record_to_json(record)) + b"\n")
        out.flush()
        return
    if not records:
        note = "no sessions" if offset == 0 else f"no sessions after offset {offset}"
        err_console().print(Text(note + (" (try: sessionstore demo)" if offset == 0 else "")))
        return
    render_records(out_console(wide_when_piped=True), records)
    if limit and len(records) == limit:
        err_console().print(
            Text(
                f"showing {offset + 1}-{offset + len(records)}; "
                f"more may follow: --offset {offset + len(records)}",
                style="dim",
            )
        )


@app.command("show")
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
        out = binary_stdout()
        out.write(encode_json(messages) + b"\n")
        out.flush()
        return
    render_transcript(out_console(), session_id, record, messages)


@app.command("count")
def count_command(url: UrlOption = None) -> None:
    """Print how many sessions the store holds."""
    store_url = url_from(url)

    async def work() -> int:
        async with open_store(store_url) as store:
            return await store.count()

    typer.echo(str(run(work(), store_url)))


@app.command("delete")
def delete_command(
    session_ids: Annotated[list[str], typer.Argument(metavar="ID", help="Ids to delete.")],
    url: UrlOption = None,
) -> None:
    """Delete sessions. Ids that do not exist are reported but are not an error (exit 0).

    All ids are validated before anything is deleted.
    """
    store_url = url_from(url)

    async def work() -> tuple[int, list[str]]:
        # Every id is checked before anything is deleted.
        ids = [validate_session_id(raw) for raw in dict.fromkeys(session_ids)]
        missing: list[str] = []
        async with open_store(store_url) as store:
            for sid in ids:
                if await store.get(sid) is None:
                    missing.append(sid)
                    continue
                await store.delete(sid)
        return len(ids) - len(missing), missing

    deleted, missing = run(work(), store_url)
    typer.echo(f"deleted {deleted} session{'s' if deleted != 1 else ''}")
    if missing:
        shown = ", ".join(safe_text(sid, quote=True) for sid in missing)
        typer.echo(f"not found (nothing to delete): {shown}", err=True)


async def _write_demo(store: SessionStore) -> list[tuple[str, int]]:
    written: list[tuple[str, int]] = []
    for session_id, messages in DEMO_SESSIONS.items():
        record = await store.save(session_id, messages)
        written.append((session_id, record.message_count))
    return written


@app.command("demo")
def demo_command(url: UrlOption = None) -> None:
    """Write two sample agent conversations (tool calls, results, an image) to look at.

    Re-running it overwrites the demo sessions with the same content.
    """
    store_url = url_from(url)

    async def work() -> list[tuple[str, int]]:
        async with open_store(store_url) as store:
            return await _write_demo(store)

    written = run(work(), store_url)
    typer.echo(f"wrote {len(written)} demo sessions to {redact_url(store_url)}:")
    for session_id, count in written:
        typer.echo(f"  {session_id} ({count} messages)")
    url_part = f" --url {shlex.quote(redact_url(store_url))}" if url is not None else ""
    first = next(iter(DEMO_SESSIONS))
    typer.echo(f"next, try: sessionstore show {first}{url_part}")


# Registered after the commands above so that --help lists them in this order.
app.command("export")(commands_transfer.export_command)
app.command("import")(commands_transfer.import_command)
app.command("copy")(commands_transfer.copy_command)
app.command("doctor")(commands_maintenance.doctor_command)
app.command("prune")(commands_maintenance.prune_command)
