"""Throwaway PostgreSQL and Redis servers on 127.0.0.1 for one benchmark run.

A server that cannot be started (binaries missing, not root for ``runuser``)
yields ``None`` with a reason, so the benchmark reports it as skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

PG_BIN = "/usr/lib/postgresql/15/bin"
REDIS_SERVER = "/usr/bin/redis-server"


@dataclass(frozen=True, slots=True)
class ServerUrl:
    """Where a server listens, or why there is none."""

    url: str | None
    reason: str = ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.05)
    return False


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command]


@contextlib.contextmanager
def postgres_server(url_from_env: str | None = None) -> Iterator[ServerUrl]:
    """A PostgreSQL 15 server in a temp dir (``fsync=on``, defaults otherwise), or a given URL."""
    if url_from_env:
        yield ServerUrl(url_from_env)
        return
    if not os.path.exists(f"{PG_BIN}/initdb") or shutil.which("runuser") is None:
        yield ServerUrl(None, f"no PostgreSQL binaries at {PG_BIN}")
        return
    workdir = tempfile.mkdtemp(prefix="bench-pg-")
    port = _free_port()
    started = False
    try:
        shutil.chown(workdir, user="postgres")
        datadir = os.path.join(workdir, "data")
        subprocess.run(
            _as_postgres(f"{PG_BIN}/initdb", "-D", datadir, "-U", "postgres", "--auth=trust"),
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=on"
        subprocess.run(
            _as_postgres(
                f"{PG_BIN}/pg_ctl",
                "-D",
                datadir,
                "-o",
                options,
                "-l",
                f"{workdir}/log",
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
        )
        started = True
        if not _wait_for_port(port, 15):
            yield ServerUrl(None, "PostgreSQL did not start listening")
            return
        yield ServerUrl(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    except (OSError, subprocess.CalledProcessError, LookupError) as exc:
        yield ServerUrl(None, f"could not start PostgreSQL: {exc}")
    finally:
        if started:
            subprocess.run(
                _as_postgres(
                    f"{PG_BIN}/pg_ctl", "-D", f"{workdir}/data", "-m", "immediate", "stop"
                ),
                capture_output=True,
                check=False,
            )
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def redis_server(url_from_env: str | None = None) -> Iterator[ServerUrl]:
    """A Redis server on loopback without persistence, or a given URL."""
    if url_from_env:
        yield ServerUrl(url_from_env)
        return
    if not os.path.exists(REDIS_SERVER):
        yield ServerUrl(None, f"no {REDIS_SERVER}")
        return
    workdir = tempfile.mkdtemp(prefix="bench-redis-")
    port = _free_port()
    process = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not _wait_for_port(port, 10):
            yield ServerUrl(None, "redis-server did not start listening")
            return
        yield ServerUrl(f"redis://127.0.0.1:{port}/0")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
