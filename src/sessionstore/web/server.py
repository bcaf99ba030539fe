"""Running the viewer under uvicorn: one process, one event loop, one open store."""

from __future__ import annotations

import sys
from urllib.parse import quote

import uvicorn

from sessionstore.web.app import create_app
from sessionstore.web.security import require_token

__all__ = ["build_server", "serve", "viewer_url"]


def viewer_url(host: str, port: int, token: str | None = None) -> str:
    """The address to open in a browser (with ``?token=`` when the server wants one)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    url = f"http://{shown}:{port}/"
    return url + f"?token={quote(token, safe='')}" if token else url


def build_server(
    url: str,
    *,
    namespace: str = "",
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
) -> uvicorn.Server:
    """The viewer's uvicorn server, not started (``serve`` runs it; tests run it in a thread)."""
    app = create_app(url, namespace=namespace, token=token)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
    )
    return uvicorn.Server(config)


def serve(
    url: str,
    *,
    namespace: str = "",
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
) -> None:
    """Serve until interrupted; off loopback a token is required (made when not given)."""
    token = require_token(host, token)
    server = build_server(url, namespace=namespace, host=host, port=port, token=token)
    sys.stderr.write(f"sessionstore viewer (read-only) on {viewer_url(host, port, token)}\n")
    if token:
        sys.stderr.write(
            "every request needs the token: open the URL above, or send it in the "
            "X-Sessionstore-Token header\n"
        )
    sys.stderr.write("press Ctrl+C to stop\n")
    server.run()
