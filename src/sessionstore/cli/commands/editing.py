"""The ``attributes``, ``pop``, ``fork``, ``namespaces`` and ``clear`` commands (``editing``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from sessionstore._errors import InvalidArgumentError
from sessionstore._messages import Message
from sessionstore._records import SessionRecord
from sessionstore._urls import redact_url
from sessionstore.cli.commands._common import (
    NamespaceOption,
    UrlOption,
    checked_namespace,
    fail,
    namespace_option,
    open_store,
    print_json_lines,
    run,
    url_from,
    usage_error,
)
from sessionstore.cli.editing import (
    attribute_changes,
    fork_session,
    namespace_counts,
    pop_messages,
)
from sessionstore.cli.reading import UnknownSessionError, in_namespace, namespace_label
from sessionstore.cli.text import safe_text

__all__ = [
    "attributes_command",
    "clear_command",
    "fork_command",
    "namespaces_command",
    "pop_command",
]

IdArgument = Annotated[str, typer.Argument(metavar="ID", help="The session id.")]


def attributes_command(
    session_id: IdArgument,
    assignments: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[KEY=VALUE | KEY:=JSON]...",
            help="Set KEY to the string VALUE, or (with :=) to a JSON value: "
            "n:=3, tags:='[\"a\"]'.",
            show_default=False,
        ),
    ] = None,
    unset: Annotated[
        list[str] | None,
        typer.Option("--unset", metavar="KEY", help="Remove KEY; repeat for more keys."),
    ] = None,
    url: UrlOption = None,
    namespace: NamespaceOption = "",
) -> None:
    """Print a session's attributes as one JSON object; with changes, change them first.

    The changes are merged in one atomic write (the version grows by one, the
    session keeps its place in the listing). An unknown id is an error (exit
    code 1); so are attributes over 64 KiB of JSON, and then nothing changes.
    """
    namespace = checked_namespace(namespace)
    try:
        changes = attribute_changes(assignments or [], unset or [])
    except InvalidArgumentError as exc:
        usage_error(str(exc))
    store_url = url_from(url)

    async def work() -> Mapping[str, Any]:
        async with open_store(store_url) as store:
            view = in_namespace(store, namespace)
            record = await view.get(session_id)
            if record is None:
                raise UnknownSessionError(session_id)
            if changes:
                record = await view.update_attributes(session_id, changes)
            return record.attributes

    print_json_lines([dict(run(work(), store_url))])


def pop_command(
    session_id: IdArgument,
    count: Annotated[
        int, typer.Option("--count", "-c", min=1, metavar="N", help="How many messages to remove.")
    ] = 1,
    url: UrlOption = None,
    namespace: NamespaceOption = "",
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the removed messages as one JSON array on stdout."),
    ] = False,
) -> None:
    """Remove the last N messages of a session (1 by default) in one atomic write.

    Fewer are removed when the session is shorter. An unknown id is an error
    (exit code 1); an empty session is left as it is.
    """
    namespace = checked_namespace(namespace)
    store_url = url_from(url)

    async def work() -> list[Message]:
        async with open_store(store_url) as store:
            return await pop_messages(in_namespace(store, namespace), session_id, count)

    popped = run(work(), store_url)
    if as_json:
        print_json_lines([popped])
    plural = "s" if len(popped) != 1 else ""
    typer.echo(
        f"removed {len(popped)} message{plural} from {safe_text(session_id, quote=True)}",
        err=as_json,
    )


def fork_command(
    source: Annotated[str, typer.Argument(metavar="SRC", help="The session to copy.")],
    target: Annotated[str, typer.Argument(metavar="DST", help="The new session's id.")],
    stop: Annotated[
        int | None,
        typer.Option(
            "--stop",
            metavar="N",
            help="Copy only the first N messages (a negative N drops the last -N).",
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite DST when it already exists.")
    ] = False,
    url: UrlOption = None,
    namespace: NamespaceOption = "",
) -> None:
    """Copy a session (its first N messages with --stop) and its attributes to a new id.

    The copy is made inside the store in one atomic write. DST must not exist
    unless --replace is given; an unknown SRC or an existing DST is an error
    (exit code 1) and nothing is written.
    """
    namespace = checked_namespace(namespace)
    if source == target:
        usage_error("SRC and DST are the same session")
    store_url = url_from(url)

    async def work() -> SessionRecord:
        async with open_store(store_url) as store:
            view = in_namespace(store, namespace)
            return await fork_session(view, source, target, stop=stop, replace=replace)

    record = run(work(), store_url)
    plural = "s" if record.message_count != 1 else ""
    typer.echo(
        f"forked {safe_text(source, quote=True)} to {safe_text(target, quote=True)} "
        f"({record.message_count} message{plural})"
    )


def namespaces_command(
    url: UrlOption = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help='One JSON object per line: {"namespace", "sessions"}.'),
    ] = False,
) -> None:
    """List the namespaces that hold sessions, with how many each holds.

    The default namespace is shown as (default), and as "" in --json.
    """
    store_url = url_from(url)

    async def work() -> Mapping[str, int]:
        async with open_store(store_url) as store:
            return await namespace_counts(store)

    counts = run(work(), store_url)
    if as_json:
        print_json_lines({"namespace": name, "sessions": n} for name, n in counts.items())
        return
    for name, sessions in counts.items():
        typer.echo(f"{sessions:>10}  {namespace_label(name)}")
    if not counts:
        typer.echo("no sessions in any namespace", err=True)


def clear_command(
    namespace: Annotated[
        str,
        namespace_option(
            "--namespace", 'The namespace to empty (required; "" is the default namespace).'
        ),
    ],
    url: UrlOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every session of one namespace (pushed down to the store: one step).

    --namespace is required, so a store is never emptied by accident. Without
    --yes the command asks first and deletes nothing unless the answer is yes
    (no answer, as in a script without --yes, exits with code 1).
    """
    namespace = checked_namespace(namespace)
    store_url = url_from(url)
    if not yes:
        where = f"namespace {namespace_label(namespace)} of {_shown(store_url)}"
        try:
            confirmed = typer.confirm(f"delete every session of {where}?", err=True)
        except typer.Abort:  # no answer: end of input, or Ctrl-C
            typer.echo("", err=True)
            confirmed = False
        if not confirmed:
            fail("not confirmed (pass --yes to skip the question); nothing was deleted")

    async def work() -> int:
        async with open_store(store_url) as store:
            return await in_namespace(store, namespace).clear()

    cleared = run(work(), store_url)
    typer.echo(
        f"deleted {cleared} session{'s' if cleared != 1 else ''} "
        f"from namespace {namespace_label(namespace)}"
    )


def _shown(url: str) -> str:
    """``url`` without its password, for a prompt (the URL itself when it does not split)."""
    try:
        return redact_url(url)
    except ValueError:
        return "the store"
