"""The ``doctor`` and ``prune`` commands, over ``maintenance``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.text import Text

from sessionstore._errors import InvalidArgumentError
from sessionstore._open import open_store
from sessionstore._records import utc_now
from sessionstore.cli.commands._common import (
    AllNamespacesOption,
    NamespaceOption,
    UrlOption,
    namespace_scope,
    out_console,
    progress_bar,
    run,
    url_from,
    usage_error,
)
from sessionstore.cli.maintenance import Finding, cutoff_before, diagnose, prune_namespaces
from sessionstore.cli.reading import in_namespace, namespace_label, selected_namespaces
from sessionstore.cli.text import format_timestamp, safe_text

__all__ = ["doctor_command", "prune_command"]


def doctor_command(
    url: UrlOption = None,
    namespace: NamespaceOption = "",
    all_namespaces: AllNamespacesOption = False,
) -> None:
    """Check that every session loads and agrees with its record; never modifies anything.

    Reports, with ids, sessions whose transcript does not decode, whose record's
    message count differs from the transcript, or that are listed but do not
    load. Exit code 1 when any problem is found, 0 for a healthy store.
    """
    namespace = namespace_scope(namespace, all_namespaces)
    store_url = url_from(url)
    console = out_console()
    findings: list[Finding] = []

    def reporter(name: str) -> Callable[[Finding], None]:
        where = f"namespace {namespace_label(name)}, " if all_namespaces else ""

        def report(finding: Finding) -> None:
            findings.append(finding)
            line = f"{where}{safe_text(finding.session_id, quote=True)}: {finding.problem}"
            console.print(Text(safe_text(line)))

        return report

    async def work() -> int:
        async with open_store(store_url) as store:
            names = await selected_namespaces(store, namespace, all_namespaces)
            views = [in_namespace(store, name) for name in names]
            total = sum([await view.count() for view in views])
            checked = 0
            with progress_bar("checking", total) as advance:
                for name, view in zip(names, views, strict=True):
                    checked += await diagnose(view, reporter(name), on_checked=advance)
            return checked

    checked = run(work(), store_url)
    if findings:
        console.print(f"checked {checked} sessions: {len(findings)} with problems")
        raise typer.Exit(1)
    console.print(f"checked {checked} sessions: no problems found")


def prune_command(
    ctx: typer.Context,
    url: UrlOption = None,
    namespace: NamespaceOption = "",
    all_namespaces: AllNamespacesOption = False,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            metavar="DURATION",
            help="Delete sessions last written longer ago than this: a whole number and one "
            "unit, s, m, h, d or w (45s, 90m, 12h, 30d, 2w).",
        ),
    ] = None,
    keep_newest: Annotated[
        int | None,
        typer.Option(
            "--keep-newest", min=0, metavar="N", help="Always keep the N most recently written."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only report how many would be deleted.")
    ] = False,
) -> None:
    """Delete old sessions: --older-than, --keep-newest, or both.

    With both, a session is deleted only when it is older than the duration and
    not among the newest N. At least one of them is required. With
    --all-namespaces each namespace is pruned on its own (--keep-newest keeps N
    in each). --dry-run only reads the store (it scans the listing to count)
    and deletes nothing.
    """
    namespace = namespace_scope(namespace, all_namespaces)
    if older_than is None and keep_newest is None:
        usage_error("give --older-than, --keep-newest or both", ctx=ctx)
    cutoff = None
    if older_than is not None:
        try:
            cutoff = cutoff_before(utc_now(), older_than)
        except InvalidArgumentError as exc:
            usage_error(str(exc), param_hint="'--older-than'")
    store_url = url_from(url)

    async def work() -> int:
        async with open_store(store_url) as store:
            names = await selected_namespaces(store, namespace, all_namespaces)
            return await prune_namespaces(
                store, names, updated_before=cutoff, keep_newest=keep_newest, dry_run=dry_run
            )

    count = run(work(), store_url)
    plural = "s" if count != 1 else ""
    when = f" (last written before {format_timestamp(cutoff)})" if cutoff is not None else ""
    if dry_run:
        typer.echo(f"would delete {count} session{plural}{when}; dry run, nothing deleted")
    else:
        typer.echo(f"deleted {count} session{plural}{when}")
