"""The ``rekey`` command, over ``sessionstore.cli.rekey``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sessionstore._errors import SessionStoreError
from sessionstore._rest import ENCRYPTION_KEYS_VARIABLE, Encryption
from sessionstore.cli.commands._common import (
    AllNamespacesOption,
    NamespaceOption,
    UrlOption,
    err_console,
    fail,
    namespace_scope,
    open_store,
    run,
    url_from,
)
from sessionstore.cli.reading import selected_namespaces
from sessionstore.cli.rekey import Progress as RekeyProgress
from sessionstore.cli.rekey import RekeyResult, default_progress_path, rekey_namespaces

__all__ = ["rekey_command"]


CompressionOption = Annotated[
    Literal["zstd"] | None,
    typer.Option(
        "--compression",
        help="Also compress every session with zstd (without it, rewritten sessions are "
        "stored uncompressed).",
    ),
]

ProgressFileOption = Annotated[
    Path | None,
    typer.Option(
        "--progress-file",
        metavar="PATH",
        help="Where to record the sessions done, so an interrupted run resumes "
        "(default: .sessionstore-rekey-<digest>.progress in the current directory, "
        "removed when the run completes).",
        show_default=False,
    ),
]


def rekey_command(
    url: UrlOption = None,
    namespace: NamespaceOption = "",
    all_namespaces: AllNamespacesOption = False,
    compression: CompressionOption = None,
    progress_file: ProgressFileOption = None,
) -> None:
    """Rewrite every session under the primary key of $SESSIONSTORE_ENCRYPTION_KEYS.

    Keys come from $SESSIONSTORE_ENCRYPTION_KEYS (id:base64key,..., primary
    last): give the old key ids as well, so that sessions written under them
    can be read. Safe on a store in use (a session written meanwhile is read
    again and rewritten); resumable: run it again after an interrupt and it
    skips the sessions already done. Plaintext sessions are encrypted too.
    """
    namespace = namespace_scope(namespace, all_namespaces)
    store_url = url_from(url)
    try:
        encryption = Encryption.from_env()
    except SessionStoreError as exc:
        fail(str(exc))
    if encryption is None:
        fail(f"rekey needs encryption keys in ${ENCRYPTION_KEYS_VARIABLE} (id:base64key,...)")
    path = progress_file or default_progress_path(store_url, encryption.primary)
    progress = RekeyProgress(path)
    console = err_console()
    columns = (TextColumn("rekeying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())

    async def work() -> RekeyResult:
        async with open_store(store_url, compression=compression) as store:
            names = await selected_namespaces(store, namespace, all_namespaces)
            with (
                progress,
                Progress(*columns, console=console, disable=not console.is_terminal) as bar,
            ):
                task = bar.add_task("rekeying", total=None)
                return await rekey_namespaces(
                    store,
                    names,
                    progress,
                    on_total=lambda total: bar.update(task, total=total),
                    on_done=lambda: bar.advance(task),
                )

    result = run(work(), store_url)
    progress.finish()
    resumed = f", {result.resumed} done by an earlier run" if result.resumed else ""
    gone = f", {result.vanished} deleted meanwhile" if result.vanished else ""
    typer.echo(
        f"rekeyed {result.rewritten} session{'s' if result.rewritten != 1 else ''} "
        f"under key {encryption.primary!r}{resumed}{gone}"
    )
