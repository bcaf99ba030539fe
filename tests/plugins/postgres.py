"""The PostgreSQL backend's fixtures: a throwaway PostgreSQL server and fresh stores on it.

The server is real (``initdb`` + ``pg_ctl`` from /usr/lib/postgresql/*/bin) on
127.0.0.1 at a free port, with trust authentication and durability left on.
As root it runs as the ``postgres`` user, as PostgreSQL refuses to run as root.
When it cannot start, the tests that need it are skipped, except under CI
(``CI=true``), where that is a failure.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from psycopg import sql

from plugins._server import free_port, log_tail, scratch_directory, server_unavailable
from plugins._urls import StoreUrls
from sessionstore import PostgresSessionStore
from sessionstore.backends.base import Encryption
from sessionstore.testing import StoreFactory

DATABASE = "sessionstore_test"


def _find_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


class PostgresServer:
    """A throwaway PostgreSQL cluster; ``url`` points at its test database."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = scratch_directory("pg")
        self.datadir = self.root / "data"
        self.logfile = self.root / "server.log"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.user = "postgres"
        self.admin_url = f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"
        self.url = f"postgresql://{self.user}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n{log_tail(self.logfile)}"
            )

    def setup(self) -> None:
        """initdb, start, and create the test database."""
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.datadir), "-A", "trust", "-U", self.user,
            "-E", "UTF8", "--no-instructions",
        )  # fmt: skip
        self.start()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} "
            f"-c unix_socket_directories={self.root} -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-l", str(self.logfile), "-w", "-t", "60",
            "-o", options, "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server now (fast shutdown: clients are disconnected)."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        """Stop and start again on the same port and data."""
        self.stop()
        self.start()

    def teardown(self) -> None:
        """Stop the server if running and remove its files."""
        try:
            if (self.datadir / "postmaster.pid").exists():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running throwaway PostgreSQL 15 (or newest installed) for the whole test session."""
    bindir = _find_bindir()
    if bindir is None:
        server_unavailable("PostgreSQL", "no /usr/lib/postgresql/*/bin/pg_ctl")
    server = PostgresServer(bindir)
    try:
        server.setup()
    except (RuntimeError, OSError, subprocess.SubprocessError, psycopg.Error) as exc:
        server.teardown()
        server_unavailable("PostgreSQL", exc)
    try:
        yield server
    finally:
        server.teardown()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """A password-less URL of the test database (trust authentication)."""
    return postgres_server.url


def unique_prefix() -> str:
    """A table prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:12]}_"


async def drop_prefix(url: str, prefix: str, schema: str = "public") -> None:
    """Drop every table, sequence and function named ``<prefix>*`` in ``schema``."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = %s AND left(p.proname, length(%s)) = %s",
            (schema, prefix, prefix),
        )
        for (signature,) in await cursor.fetchall():
            await conn.execute(sql.SQL("DROP FUNCTION IF EXISTS {}").format(sql.SQL(signature)))
        cursor = await conn.execute(
            "SELECT c.relkind, c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'S')"
            " AND left(c.relname, length(%s)) = %s ORDER BY c.relkind DESC",  # tables first
            (schema, prefix, prefix),
        )
        for kind, name in await cursor.fetchall():
            statement = (
                "DROP TABLE IF EXISTS {} CASCADE" if kind == "r" else "DROP SEQUENCE IF EXISTS {}"
            )
            await conn.execute(sql.SQL(statement).format(sql.Identifier(schema, name)))


def _store_factory(url: str, **options: Any) -> StoreFactory:
    """Fresh, empty stores with ``options``, each with its own table prefix, dropped on exit."""

    @asynccontextmanager
    async def factory() -> AsyncIterator[PostgresSessionStore]:
        prefix = unique_prefix()
        try:
            async with PostgresSessionStore(url, table_prefix=prefix, **options) as store:
                yield store
        finally:
            await drop_prefix(url, prefix)

    return factory


@pytest.fixture
def postgres_store_factory(postgres_url: str) -> StoreFactory:
    """Fresh, empty PostgreSQL stores, each with its own table prefix, dropped on exit."""
    return _store_factory(postgres_url)


#: The key of the sealed stores (fixed for a test run: every sealed store reads every other's).
SEALED_ENCRYPTION = Encryption({"test-key": os.urandom(32)})


@pytest.fixture
def postgres_sealed_store_factory(postgres_url: str) -> StoreFactory:
    """Like ``postgres_store_factory``, with encryption and zstd compression on."""
    return _store_factory(postgres_url, encryption=SEALED_ENCRYPTION, compression="zstd")


def _server_processes_gone(server_url: str, url: str) -> None:
    """Wait until no process of the server at ``server_url`` serves ``url``'s application name.

    A call the client sent before it was killed still runs to its end on the
    server; the server process goes only after it has read everything the
    client sent, so once it has gone nothing more can land.
    """
    application = parse_qs(urlsplit(url).query)["application_name"][0]
    with psycopg.connect(server_url, autocommit=True) as conn:
        for _ in range(300):
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                [application],
            ).fetchone()
            if row is not None and row[0] == 0:
                return
            time.sleep(0.05)
    raise AssertionError(f"server processes of {application} still running after 15 s")


@pytest.fixture
def postgres_urls(postgres_url: str) -> Iterator[StoreUrls]:
    """URLs of fresh table prefixes, each also the ``application_name`` of its connections."""
    prefixes: list[str] = []

    def new() -> str:
        prefixes.append(unique_prefix())
        return f"{postgres_url}?table_prefix={prefixes[-1]}&application_name={prefixes[-1]}"

    try:
        yield StoreUrls(new=new, settle=lambda url: _server_processes_gone(postgres_url, url))
    finally:
        for prefix in prefixes:
            asyncio.run(drop_prefix(postgres_url, prefix))
