"""The ``doctor`` and ``prune`` commands, over ``maintenance``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from sessionstore._errors import InvalidArgumentError
from sessionstore._open import open_store
from sessionstore._records import utc_now
from sessionstore.cli.commands._common import (
    UrlOption,
    out_console,
    progress_bar,
    run,
    url_from,
    usage_error,
)
from sessionstore.cli.maintenance import Finding, count_prunable, diagnose, parse_duration
from sessionstore.cli.text import format_timestamp, safe_text

__all__ = ["doctor_command", "prune_command"]


def doctor_command(url: UrlOption = None) -> None:
    """Check that every session loads and agrees with its record; never modifies anything.

    Reports, with ids, sessions whose transcript does not decode, whose record's
    message count differs from the transcript, or that are listed but do not
    load. Exit code 1 when any problem is found, 0 for a healthy store.
    """
    store_url = url_from(url)
    console = out_console()
    findings: list[Finding] = []

    def report(finding: Finding) -> None:
        findings.append(finding)
        console.print(Text(f"{safe_text(finding.session_id, quote=True)}: {finding.problem}"))

    async def work() -> int:
        async with open_store(store_url) as store:
            with progress_bar("checking", await store.count()) as advance:
                return await diagnose(store, report, on_checked=advance)

    checked = run(work(), store_url)
    if findings:
        console.print(f"checked {checked} sessions: {len(findings)} with problems")
        raise typer.Exit(1)
    console.print(f"checked {checked} sessions: no problems found")


def prune_command(
    ctx: typer.Context,
    url: UrlOption = None,
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
    not among the newest N. At least one of them is required. --dry-run only
    reads the store (it scans the listing to count) and deletes nothing.
    """
    if older_than is None and keep_newest is None:
        usage_error("give --older-than, --keep-newest or both", ctx=ctx)
    cutoff = None
    if older_than is not None:
        try:
            cutoff = utc_now() - parse_duration(older_than)
        except InvalidArgumentError as exc:
            usage_error(str(exc), param_hint="'--older-than'")
    store_url = url_from(url)

    async def work() -> int:
        async with open_store(store_url) as store:
            if dry_run:
                return await count_prunable(store, updated_before=cutoff, keep_newest=keep_newest)
            return await store.prune(updated_before=cutoff, keep_newest=keep_newest)

    count = run(work(), store_url)
    plural = "s" if count != 1 else ""
    when = f" (last written before {format_timestamp(cutoff)})" if cutoff is not None else ""
    if dry_run:
        typer.echo(f"would delete {count} session{plural}{when}; dry run, nothing deleted")
    else:
        typer.echo(f"deleted {count} session{plural}{when}")
