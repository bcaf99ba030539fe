"""The ``serve`` command: the read-only web viewer (needs the ``web`` extra)."""

from __future__ import annotations

from typing import Annotated

import typer

from sessionstore._records import ListOptions
from sessionstore.cli.commands._common import (
    NamespaceOption,
    UrlOption,
    checked_namespace,
    fail,
    open_store,
    run,
    url_from,
)
from sessionstore.web import INSTALL_HINT, WEB_MODULES

__all__ = ["serve_command"]


def serve_command(
    url: UrlOption = None,
    namespace: NamespaceOption = "",
    host: Annotated[
        str,
        typer.Option(metavar="ADDRESS", help="Address to bind; any but loopback needs a token."),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(metavar="PORT", min=1, max=65535, help="Port to listen on.")
    ] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            metavar="T",
            help="Access token every request must carry (made and printed when binding "
            "off loopback without one).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Browse sessions and transcripts in a web browser (read-only; needs sessionstore[web]).

    The index lists sessions newest first; a session's page shows its
    transcript and follows it live. It binds 127.0.0.1 by default.
    """
    namespace = checked_namespace(namespace)
    store_url = url_from(url)
    try:
        from sessionstore.web.server import serve
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in WEB_MODULES:
            raise
        fail(
            f"serve needs the optional 'web' extra ({missing} is not installed); "
            f"install it with: {INSTALL_HINT}"
        )
    if token == "":
        fail("--token must not be empty")
    run(_reachable(store_url), store_url)  # a bad URL or a down server: one line, exit 1
    serve(store_url, namespace=namespace, host=host, port=port, token=token)


async def _reachable(store_url: str) -> None:
    """Open the store once and read from it, so a bad URL fails before the server starts."""
    async with open_store(store_url) as store:
        await store.list_paginated(ListOptions(limit=1))
