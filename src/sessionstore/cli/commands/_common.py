"""What every command shares: the ``--url`` option, consoles, running a coroutine, errors.

Every ``SessionStoreError`` (and an ``OSError`` from a file the user named) becomes
one line on stderr and exit code 1, with any password from the URLs involved
replaced by ``***``; typer's own usage errors keep exit code 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from sessionstore._errors import SessionStoreError
from sessionstore._open import resolve_url
from sessionstore._records import SessionRecord
from sessionstore._urls import scrub_secrets, url_passwords
from sessionstore.cli.reading import check_namespace
from sessionstore.cli.text import encode_json, safe_text

__all__ = [
    "AllNamespacesOption",
    "NamespaceOption",
    "UrlOption",
    "checked_namespace",
    "namespace_option",
    "namespace_scope",
    "binary_stdout",
    "err_console",
    "fail",
    "out_console",
    "print_json_lines",
    "progress_bar",
    "run",
    "url_from",
    "usage_error",
]

T = TypeVar("T")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help="Store URL (sqlite:///path.db, postgresql://..., redis://..., memory://). "
        "Default: $SESSIONSTORE_URL, else sqlite:///sessions.db.",
        show_default=False,
    ),
]


def namespace_option(flag: str, help: str) -> Any:
    """A ``typer.Option`` naming one namespace (``NS``) under ``flag``."""
    return typer.Option(flag, metavar="NS", help=help, show_default=False)


NamespaceOption = Annotated[
    str, namespace_option("--namespace", 'The namespace to work in (default: "", the default one).')
]

AllNamespacesOption = Annotated[
    bool,
    typer.Option(
        "--all-namespaces", help="Every namespace that holds sessions, one after another."
    ),
]


def checked_namespace(name: str, option: str = "--namespace") -> str:
    """``name`` if it is a namespace (``""`` or 1 to 256 UTF-8 bytes), else a usage error."""
    try:
        return check_namespace(name)
    except SessionStoreError as exc:
        usage_error(str(exc), param_hint=f"'{option}'")


def namespace_scope(namespace: str, every: bool) -> str:
    """``--namespace`` checked, and not given together with ``--all-namespaces`` (usage error)."""
    if every and namespace != "":
        usage_error("give --namespace or --all-namespaces, not both", param_hint="'--namespace'")
    return checked_namespace(namespace)


def url_from(option: str | None) -> str:
    """The store URL a command uses: ``--url``, else ``$SESSIONSTORE_URL``, else the default."""
    return resolve_url(option)


def out_console(*, wide_when_piped: bool = False) -> Console:
    """A rich console on stdout (created per call so test runners' streams are honoured).

    With ``wide_when_piped``, output to a file or pipe is not folded at 80 columns,
    so a table keeps one line per row for ``grep``.
    """
    console = Console(highlight=False)
    if wide_when_piped and not console.is_terminal:
        console = Console(highlight=False, width=10_000)
    return console


def err_console() -> Console:
    """A rich console on stderr, for progress bars and notes that must not pollute stdout."""
    return Console(stderr=True, highlight=False)


def binary_stdout() -> Any:
    """Stdout as a binary stream, for JSON output written as bytes."""
    sys.stdout.flush()
    return typer.get_binary_stream("stdout")


def print_json_lines(values: Iterable[Any]) -> None:
    """Print each of ``values`` as one line of compact JSON on stdout (for ``--json``)."""
    out = binary_stdout()
    for value in values:
        out.write(encode_json(value) + b"\n")
    out.flush()


@contextlib.contextmanager
def progress_bar(
    label: str, total: int, *, time_remaining: bool = False
) -> Iterator[Callable[[SessionRecord], None]]:
    """A progress bar on stderr, drawn only on a terminal; yields the callback that advances it."""
    console = err_console()
    columns: list[ProgressColumn] = [TextColumn(label), BarColumn(), MofNCompleteColumn()]
    if time_remaining:
        columns.append(TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=total)

        def advance(_: SessionRecord) -> None:
            bar.advance(task)

        yield advance


def _redact_secrets(text: str, urls: Iterable[str]) -> str:
    """``text`` with every password any of ``urls`` carries replaced by ``***``."""
    secrets: list[str] = []
    for url in urls:
        try:
            secrets += url_passwords(url)
        except ValueError:  # a URL urllib cannot split carries no password it can find
            continue
    return scrub_secrets(text, secrets)


def fail(message: str, *urls: str) -> NoReturn:
    """Print ``sessionstore: error: <message>`` (one line, secrets redacted) and exit 1."""
    line = safe_text(" ".join(_redact_secrets(message, urls).split("\n")))
    typer.echo(f"sessionstore: error: {line}", err=True)
    raise typer.Exit(1)


def usage_error(
    message: str, *, param_hint: str | None = None, ctx: typer.Context | None = None
) -> NoReturn:
    """Report a usage error the way typer does (exit code 2), about a parameter or the command."""
    if ctx is not None and param_hint is None:
        ctx.fail(message)
    raise typer.BadParameter(message, param_hint=param_hint)


def _silence_stdout() -> None:
    # The reader went away (``sessionstore export | head``): point stdout at
    # /dev/null so the interpreter's final flush does not raise again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


def run(work: Coroutine[Any, Any, T], *urls: str) -> T:
    """Run ``work`` to completion, turning library and file errors into one line and exit 1."""
    try:
        return asyncio.run(work)
    except SessionStoreError as exc:
        fail(str(exc), *urls)
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(1) from None
    except OSError as exc:
        fail(str(exc), *urls)
    except KeyboardInterrupt:
        typer.echo("sessionstore: interrupted", err=True)
        raise typer.Exit(130) from None
    except Exception as exc:
        # Not one of ours: a bug, or a driver error a backend failed to translate.
        # Still one line by default (tracebacks can carry connection details).
        if os.environ.get("SESSIONSTORE_DEBUG"):
            raise
        fail(
            f"unexpected {type(exc).__name__}: {exc} (set SESSIONSTORE_DEBUG=1 for a traceback)",
            *urls,
        )
