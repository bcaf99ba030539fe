"""The PostgreSQL backend's fixtures: a throwaway PostgreSQL server and fresh stores on it.

The server is real (``initdb`` + ``pg_ctl`` from /usr/lib/postgresql/*/bin) on
127.0.0.1 at a free port, with trust authentication and durability left on.
As root it runs as the ``postgres`` user, as PostgreSQL refuses to run as root.
When it cannot start, the tests that need it are skipped, except under CI
(``CI=true``), where that is a failure.

A PgBouncer (Debian's ``pgbouncer``, run as this test session's own process,
as the ``postgres`` user when root) listens on another free loopback port in
front of that server, in transaction pooling mode with trust authentication:
the ``postgres_pgbouncer_*`` fixtures give stores that reach the server
through it, as a plain URL pointing at a managed pooler would. It starts or is
skipped (failed under CI) the same way.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
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


def _store_factory(url: str, server_url: str, **options: Any) -> StoreFactory:
    """Fresh, empty stores opened at ``url`` with ``options``, each with its own prefix,
    dropped on the server."""

    @asynccontextmanager
    async def factory() -> AsyncIterator[PostgresSessionStore]:
        prefix = unique_prefix()
        try:
            async with PostgresSessionStore(url, table_prefix=prefix, **options) as store:
                yield store
        finally:
            await drop_prefix(server_url, prefix)

    return factory


@pytest.fixture
def postgres_store_factory(postgres_url: str) -> StoreFactory:
    """Fresh, empty PostgreSQL stores, each with its own table prefix, dropped on exit."""
    return _store_factory(postgres_url, postgres_url)


#: The key of the sealed stores (fixed for a test run: every sealed store reads every other's).
SEALED_ENCRYPTION = Encryption({"test-key": os.urandom(32)})


@pytest.fixture
def postgres_sealed_store_factory(postgres_url: str) -> StoreFactory:
    """Like ``postgres_store_factory``, with encryption and zstd compression on."""
    return _store_factory(
        postgres_url, postgres_url, encryption=SEALED_ENCRYPTION, compression="zstd"
    )


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


def _store_urls(
    url: str, server_url: str, settle: Callable[[str, str], None]
) -> Iterator[StoreUrls]:
    """URLs at ``url`` of fresh table prefixes, each also its connections' ``application_name``."""
    prefixes: list[str] = []

    def new() -> str:
        prefixes.append(unique_prefix())
        return f"{url}?table_prefix={prefixes[-1]}&application_name={prefixes[-1]}"

    try:
        yield StoreUrls(new=new, settle=lambda store_url: settle(server_url, store_url))
    finally:
        for prefix in prefixes:
            asyncio.run(drop_prefix(server_url, prefix))


@pytest.fixture
def postgres_urls(postgres_url: str) -> Iterator[StoreUrls]:
    """URLs of fresh table prefixes, each also the ``application_name`` of its connections."""
    yield from _store_urls(postgres_url, postgres_url, _server_processes_gone)


PGBOUNCER = Path("/usr/sbin/pgbouncer")


class PgBouncer:
    """A PgBouncer in transaction pooling mode in front of ``server``; ``url`` goes through it."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.root = scratch_directory("pgbouncer")
        self.logfile = self.root / "pgbouncer.log"
        self.port = free_port()
        self.url = f"postgresql://{server.user}@127.0.0.1:{self.port}/{DATABASE}"
        self.process: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> Path:
        (self.root / "users.txt").write_text(f'"{self.server.user}" ""\n')
        config = self.root / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={self.server.port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.root / 'users.txt'}\n"
            "pool_mode = transaction\nmax_client_conn = 1000\ndefault_pool_size = 40\n"
            f"logfile = {self.logfile}\n"
        )
        return config

    def start(self) -> None:
        """Start PgBouncer and wait until a query goes through it to the server."""
        config = self._write_config()
        command = [str(PGBOUNCER), "-q", str(config)]
        if self.server.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            command = ["runuser", "-u", "postgres", "--", *command]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                stderr = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise RuntimeError(
                    f"pgbouncer exited with {self.process.returncode}: {stderr}\n"
                    f"{log_tail(self.logfile)}"
                )
            try:
                with psycopg.connect(self.url, connect_timeout=2, prepare_threshold=None) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"pgbouncer did not answer: {exc}\n{log_tail(self.logfile)}"
                    ) from exc
                time.sleep(0.1)

    def teardown(self) -> None:
        """Stop PgBouncer and remove its files."""
        try:
            if self.process is not None and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            if self.process is not None and self.process.stderr is not None:
                self.process.stderr.close()
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_pgbouncer_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The test database's URL through a PgBouncer in transaction pooling mode."""
    if not PGBOUNCER.exists():
        server_unavailable("PgBouncer", f"no {PGBOUNCER} (Debian package pgbouncer)")
    bouncer = PgBouncer(postgres_server)
    try:
        bouncer.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        bouncer.teardown()
        server_unavailable("PgBouncer", exc)
    try:
        yield bouncer.url
    finally:
        bouncer.teardown()


@pytest.fixture
def postgres_pgbouncer_store_factory(
    postgres_url: str, postgres_pgbouncer_url: str
) -> StoreFactory:
    """Fresh, empty PostgreSQL stores reached through PgBouncer; dropped on the server."""
    return _store_factory(postgres_pgbouncer_url, postgres_url)


def _server_work_done(server_url: str, url: str) -> None:
    """Wait until no server process runs or holds a transaction for ``url``'s application name.

    Behind PgBouncer a server connection keeps the last client's application
    name while idle in the pool, so an idle one counts as done; it is checked
    twice, a little apart, so a statement PgBouncer is still passing on is seen.
    """
    application = parse_qs(urlsplit(url).query)["application_name"][0]
    quiet = 0
    with psycopg.connect(server_url, autocommit=True) as conn:
        for _ in range(300):
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = %s AND state IS DISTINCT FROM 'idle'",
                [application],
            ).fetchone()
            quiet = quiet + 1 if row is not None and row[0] == 0 else 0
            if quiet == 3:
                return
            time.sleep(0.05)
    raise AssertionError(f"server work of {application} still running after 15 s")


@pytest.fixture
def postgres_pgbouncer_urls(postgres_url: str, postgres_pgbouncer_url: str) -> Iterator[StoreUrls]:
    """URLs through PgBouncer of fresh table prefixes, also their ``application_name``."""
    yield from _store_urls(postgres_pgbouncer_url, postgres_url, _server_work_done)
