"""What the server plugins share: a free port, a scratch directory, and skipping a server
that cannot start (failing instead under CI, where every backend must be tested)."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from typing import NoReturn

import pytest

__all__ = ["free_port", "log_tail", "scratch_directory", "server_unavailable"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def scratch_directory(name: str) -> Path:
    """A new temporary directory for one server's files; the caller removes it."""
    return Path(tempfile.mkdtemp(prefix=f"sessionstore-{name}-"))


def log_tail(log: Path, characters: int = 2000) -> str:
    """The end of a server's log file, for an error message."""
    return log.read_text(errors="replace")[-characters:] if log.exists() else "(no log)"


def server_unavailable(server: str, reason: object) -> NoReturn:
    """Skip the tests that need ``server``; under CI (``CI=true``) fail them instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{server} test server unavailable under CI: {reason}")
    pytest.skip(f"{server} test server unavailable: {reason}")
