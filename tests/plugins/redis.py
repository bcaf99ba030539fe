"""The Redis backend's fixtures: a real ``redis-server`` on loopback for the test session.

The server keeps an append-only file so that data survives ``restart()``, and
listens on a unix socket too so ``unix://`` URLs can be tested. Each store from
``redis_store_factory`` gets a unique key prefix, and its keys are deleted on exit.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio

from plugins._server import free_port, log_tail, scratch_directory, server_unavailable
from plugins._urls import StoreUrls
from sessionstore import Encryption, RedisSessionStore
from sessionstore.testing import StoreFactory


class RedisServer:
    """A ``redis-server`` child process on 127.0.0.1 that can be stopped and restarted."""

    def __init__(self, executable: str, directory: Path, port: int) -> None:
        self.executable = executable
        self.directory = directory
        self.port = port
        self.socket_path = directory / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def unix_url(self, db: int = 0) -> str:
        """``unix://<dir>/redis.sock?db=<db>``."""
        return f"unix://{self.socket_path}?db={db}"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server (same port, same data directory) and wait until PING answers."""
        command = [
            self.executable,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        try:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"redis-server exited with {self._process.returncode}: {self._log_tail()}"
                    )
                try:
                    if client.ping():
                        return
                except redis.exceptions.RedisError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not answer PING: {self._log_tail()}")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        """Shut the server down gracefully (SIGTERM flushes the append-only file)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        """Stop, then start again on the same port with the same data."""
        self.stop()
        self.start()

    def _log_tail(self) -> str:
        return log_tail(self.directory / "redis.log")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the whole test session (skipped if unavailable, not on CI)."""
    executable = shutil.which("redis-server")
    directory = scratch_directory("redis")
    server = RedisServer(executable or "redis-server", directory, free_port())
    try:
        if executable is None:
            raise RuntimeError("redis-server is not on PATH")
        server.start()
    except (RuntimeError, OSError) as exc:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
        server_unavailable("Redis", exc)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


async def delete_prefix(url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` (SCAN is fine here: test cleanup only)."""
    client = redis.asyncio.Redis.from_url(url)
    try:
        pattern = prefix.replace("\\", "\\\\")
        for special in "*?[]":
            pattern = pattern.replace(special, "\\" + special)
        keys = [key async for key in client.scan_iter(match=pattern + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def unique_prefix() -> str:
    """A key prefix no other store in this test session uses."""
    return f"sessionstore-test:{uuid.uuid4().hex}:"


@pytest.fixture
async def raw_client(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client of the test server's database 0."""
    client = redis.asyncio.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis_server: RedisServer) -> AsyncIterator[str]:
    """A fresh key prefix whose keys are deleted after the test."""
    value = unique_prefix()
    yield value
    await delete_prefix(redis_server.url, value)


#: The encryption a sealed store of the tests uses (a fixed test key, never a real one).
TEST_ENCRYPTION = Encryption({"test-key": bytes(range(32))})


def redis_factory(
    server: RedisServer, *, list_chunk: int | None = None, sealed: bool = False
) -> StoreFactory:
    """Fresh, empty Redis stores on ``server``, each under its own key prefix.

    ``list_chunk``: read listing windows in chunks this small (the store's default if None).
    ``sealed``: stores that encrypt and compress what they store.
    """
    rest: dict[str, Any] = {"encryption": TEST_ENCRYPTION, "compression": "zstd"} if sealed else {}

    @asynccontextmanager
    async def _redis_store() -> AsyncIterator[RedisSessionStore]:
        prefix = unique_prefix()
        try:
            async with RedisSessionStore(server.url, key_prefix=prefix, **rest) as store:
                if list_chunk is not None:
                    store.list_chunk = list_chunk
                yield store
        finally:
            await delete_prefix(server.url, prefix)

    return _redis_store


@pytest.fixture
def redis_store_factory(redis_server: RedisServer) -> StoreFactory:
    """Fresh, empty Redis stores, each under its own key prefix on the shared server."""
    return redis_factory(redis_server)


async def _listing_holds_still(url: str) -> None:
    """Return once two listings 50 ms apart agree.

    A script a killed client sent just before it died may still wait in the
    server's socket buffer; the server runs it soon after, or never.
    """
    async with RedisSessionStore(url) as store:
        previous = await store.list()
        for _ in range(100):
            await asyncio.sleep(0.05)
            current = await store.list()
            if current == previous:
                return
            previous = current
    raise AssertionError("the store kept changing after the writer was killed")


def _flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture
def redis_urls(redis_server: RedisServer) -> Iterator[StoreUrls]:
    """URLs of databases 1 to 15 in turn, emptied around the test.

    A URL cannot set the key prefix, so each store gets a database of its own.
    """
    databases = iter(range(1, 16))
    used: list[str] = []

    def new() -> str:
        used.append(redis_server.url.rsplit("/", 1)[0] + f"/{next(databases)}")
        _flush(used[-1])
        return used[-1]

    try:
        yield StoreUrls(new=new, settle=lambda url: asyncio.run(_listing_holds_still(url)))
    finally:
        for url in used:
            _flush(url)
