"""What the viewer's tests share: a live server in a thread, seeding stores, a hostile corpus.

``running_viewer`` starts ``sessionstore serve``'s uvicorn server in process, on a
free loopback port, in its own thread and event loop (as the command runs it); the
tests then reach it over real HTTP, from httpx or from Debian's chromium.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import cli_support
from sessionstore import open_store
from sessionstore.web.server import build_server

__all__ = [
    "CHROMIUM",
    "HOSTILE_IDS",
    "HOSTILE_TEXT",
    "PNG_BASE64",
    "Viewer",
    "agent_transcript",
    "append",
    "free_port",
    "running_viewer",
    "seed",
]

CHROMIUM = "/usr/bin/chromium"

#: Ids a URL or a page could get wrong: path separators, dot segments, markup, quotes, spaces.
HOSTILE_IDS = [
    "a/b",
    "..",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "quote\"'&amp;",
    "sp ace?x=1#frag",
    "ünï ☃",
]

HOSTILE_TEXT = "<img src=x onerror=alert(1)>"


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour, built here so the tests ship no binary."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


#: A 48x32 orange PNG, base64 as an image block carries it.
PNG_BASE64 = base64.b64encode(_png(48, 32, (230, 120, 20))).decode()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Viewer:
    """A running viewer: its base URL and the token it wants (None: none)."""

    def __init__(self, base: str, token: str | None) -> None:
        self.base = base
        self.token = token


@contextlib.contextmanager
def running_viewer(url: str, *, namespace: str = "", token: str | None = None) -> Iterator[Viewer]:
    """Serve the store at ``url`` on a free port in a thread until the block ends."""
    port = free_port()
    server = build_server(url, namespace=namespace, host="127.0.0.1", port=port, token=token)
    thread = threading.Thread(target=server.run, name="viewer", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the viewer stopped while starting"
        assert time.monotonic() < deadline, "the viewer did not start"
        time.sleep(0.02)
    try:
        yield Viewer(f"http://127.0.0.1:{port}", token)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _off_loop(work: Callable[[], None]) -> None:
    """Run ``work`` in a thread of its own: Playwright's sync API keeps an event loop running
    in the test's thread, where ``asyncio.run`` refuses to start another."""
    failures: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:  # re-raised in the test's thread below
            failures.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def seed(
    url: str,
    sessions: dict[str, list[Any]],
    *,
    namespace: str = "",
    attributes: dict[str, Any] | None = None,
) -> None:
    """Save each of ``sessions`` (id to messages) in order, so the last is the newest."""
    _off_loop(lambda: cli_support.seed(url, sessions, namespace=namespace, attributes=attributes))


def append(url: str, session_id: str, messages: Sequence[Any], *, namespace: str = "") -> None:
    """Append ``messages`` to a session, as a running agent would."""

    async def work() -> None:
        async with open_store(url) as store:
            view = store.namespace(namespace) if namespace else store
            await view.append(session_id, list(messages))

    _off_loop(lambda: asyncio.run(work()))


def agent_transcript() -> list[dict[str, Any]]:
    """A transcript with every part the session page shows: text, a call, its result, an error,
    an image and metadata."""
    return [
        {"role": "system", "content": "You are a weather agent."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is on this picture, and is it raining in Oslo?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG_BASE64},
                },
            ],
            "metadata": {"client": "web-test", "trace": "t-1"},
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {
                    "type": "tool_use",
                    "id": "call-1",
                    "name": "get_weather",
                    "input": {"city": "Oslo", "units": "metric"},
                },
                {
                    "type": "tool_use",
                    "id": "call-2",
                    "name": "get_radar",
                    "input": {"city": "Oslo"},
                },
            ],
        },
        {
            "role": "tool",
            "content": [
                {"type": "tool_result", "tool_use_id": "call-1", "content": "rain, 7 °C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "call-2",
                    "content": "radar offline",
                    "is_error": True,
                },
            ],
        },
        {"role": "assistant", "content": "An orange rectangle; and yes, take an umbrella."},
    ]
