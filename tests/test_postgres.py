"""PostgreSQL-specific behaviour on a real server: schema, URLs, pools, secrets, failures."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from plugins.postgres import PostgresServer, drop_prefix, unique_prefix
from plugins.writers import busy_writers
from sessionstore import (
    ConflictError,
    CorruptSessionError,
    InvalidArgumentError,
    Message,
    SchemaVersionError,
    SessionNotFoundError,
    StoreUnavailableError,
    open_store,
)
from sessionstore.backends.postgres import PostgresSessionStore
from sessionstore.backends.postgres.schema import MERGE_LIMIT_BYTES, MIGRATIONS


@asynccontextmanager
async def fresh_store(
    url: str, *, schema: str = "public", pool_timeout: float = 10.0, max_connections: int = 10
) -> AsyncIterator[PostgresSessionStore]:
    """A store on a new prefix, its tables dropped afterwards."""
    prefix = unique_prefix()
    try:
        async with PostgresSessionStore(
            url,
            schema=schema,
            table_prefix=prefix,
            pool_timeout=pool_timeout,
            max_connections=max_connections,
        ) as store:
            yield store
    finally:
        await drop_prefix(url, prefix, schema)


async def fetch(url: str, query: sql.Composable | str, *params: object) -> list[tuple[object, ...]]:
    """Rows of one query on a connection of its own."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(query, params or None)  # type: ignore[arg-type]
        return await cursor.fetchall() if cursor.description else []


def table(store: PostgresSessionStore, suffix: str) -> sql.Identifier:
    return sql.Identifier(store.schema, store.table_prefix + suffix)


# -- schema and migrations ---------------------------------------------------------------


async def test_open_migrates_once_and_records_the_version(postgres_url: str) -> None:
    prefix = unique_prefix()
    try:
        for text in ("one", "two"):
            async with PostgresSessionStore(postgres_url, table_prefix=prefix) as store:
                await store.append("a", [Message.user(text)])
        rows = await fetch(
            postgres_url, sql.SQL("SELECT version FROM {}").format(table(store, "migrations"))
        )
        assert rows == [(version,) for version in range(1, len(MIGRATIONS) + 1)]
        async with PostgresSessionStore(postgres_url, table_prefix=prefix) as store:
            assert await store.load("a") == [Message.user("one"), Message.user("two")]
    finally:
        await drop_prefix(postgres_url, prefix)


async def test_a_version_1_store_is_upgraded_to_the_current_schema(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = unique_prefix()
    created = datetime(2001, 2, 3, tzinfo=UTC)
    try:
        with monkeypatch.context() as patched:
            patched.setattr("sessionstore.backends.postgres.schema.MIGRATIONS", MIGRATIONS[:1])
            async with PostgresSessionStore(postgres_url, table_prefix=prefix) as store:
                pass
        # What version 1's code wrote: a save through its write function, then an append.
        write = sql.SQL("SELECT * FROM {}(%s, %s, %s, %s, NULL, %s)").format(table(store, "write"))
        await fetch(postgres_url, write, "a", b'[{"role":"user","content":"old"}]', 1, 1, True)
        await fetch(postgres_url, write, "a", b'[{"role":"user","content":"more"}]', 1, 2, False)
        async with PostgresSessionStore(postgres_url, table_prefix=prefix) as store:
            assert await store.load("a") == [Message.user("old"), Message.user("more")]
            record = await store.restore("a", [], created_at=created, updated_at=created)
            assert record.version == 3 and record.created_at == created
            assert await store.get("a") == record
            rows = await fetch(
                postgres_url, sql.SQL("SELECT version FROM {}").format(table(store, "migrations"))
            )
            assert rows == [(version,) for version in range(1, len(MIGRATIONS) + 1)]
    finally:
        await drop_prefix(postgres_url, prefix)


async def test_a_newer_schema_refuses_to_open_and_writes_nothing(postgres_url: str) -> None:
    async with fresh_store(postgres_url) as store:
        await store.save("a", [Message.user("kept")])
        migrations = table(store, "migrations")
        newer = len(MIGRATIONS) + 1
        await fetch(
            postgres_url, sql.SQL("INSERT INTO {} (version) VALUES (%s)").format(migrations), newer
        )
        other = PostgresSessionStore(postgres_url, table_prefix=store.table_prefix)
        with pytest.raises(SchemaVersionError, match=f"version {newer}"):
            await other.open()
        await other.close()
        rows = await fetch(postgres_url, sql.SQL("SELECT max(version) FROM {}").format(migrations))
        assert rows == [(newer,)]
        assert await store.load("a") == [Message.user("kept")]


async def test_prefixes_and_schemas_isolate_stores(postgres_url: str) -> None:
    schema = f"s{uuid.uuid4().hex[:10]}"
    try:
        async with (
            fresh_store(postgres_url) as first,
            fresh_store(postgres_url) as second,
            fresh_store(postgres_url, schema=schema) as third,
        ):
            await first.save("same-id", [Message.user("first")])
            await second.save("same-id", [Message.user("second")])
            await third.append("only-third", [Message.user("third")])
            assert await first.load("same-id") == [Message.user("first")]
            assert await second.load("same-id") == [Message.user("second")]
            assert await third.load("same-id") is None
            assert [r.id for r in await first.list()] == ["same-id"]
            assert [r.id for r in await third.list()] == ["only-third"]
            await first.delete("same-id")
            assert await second.count() == 1
            rows = await fetch(
                postgres_url, "SELECT 1 FROM pg_tables WHERE schemaname = %s", schema
            )
            assert rows, "tables of a custom schema live in that schema"
    finally:
        await fetch(
            postgres_url, sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("schema", "public; DROP TABLE x"),
        ("schema", "1abc"),
        ("schema", ""),
        ("schema", "a" * 64),
        ("table_prefix", 'x"y'),
        ("table_prefix", "é_"),
        ("table_prefix", "p" * 41),
    ],
)
def test_unsafe_identifiers_are_refused(postgres_url: str, option: str, value: str) -> None:
    with pytest.raises(InvalidArgumentError, match=option):
        PostgresSessionStore(postgres_url, **{option: value})  # type: ignore[arg-type]


# -- URLs and pools ----------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
async def test_url_parameters_reach_libpq(postgres_url: str, scheme: str) -> None:
    app = f"sessionstore test {uuid.uuid4().hex[:8]}"
    prefix = unique_prefix()
    rest = postgres_url.split("://", 1)[1]
    url = f"{scheme}://{rest}?sslmode=disable&application_name={quote(app)}&table_prefix={prefix}"
    store = open_store(url)
    assert isinstance(store, PostgresSessionStore)
    assert store.table_prefix == prefix
    try:
        async with store:
            await store.append("a", [Message.user("hi")])
            rows = await fetch(
                postgres_url,
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                app,
            )
            (connections,) = rows[0]
            assert isinstance(connections, int) and connections >= 1
    finally:
        await drop_prefix(postgres_url, prefix)


async def test_a_pool_passed_in_stays_open_after_close(postgres_url: str) -> None:
    prefix = unique_prefix()
    pool = AsyncConnectionPool(postgres_url, min_size=1, max_size=2, open=False)
    await pool.open()
    try:
        async with PostgresSessionStore(pool=pool, table_prefix=prefix) as store:
            await store.save("a", [Message.user("hi")])
            assert await store.load("a") == [Message.user("hi")]
        assert not pool.closed
        async with pool.connection() as conn:
            cursor = await conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(table(store, "sessions"))
            )
            assert await cursor.fetchone() == (1,)
    finally:
        await pool.close()
        await drop_prefix(postgres_url, prefix)


async def test_refused_calls_on_a_pool_of_transactions_leave_nothing_behind(
    postgres_url: str,
) -> None:
    """Connections that are not autocommit: a refused write rolls back, the next call works."""
    prefix = unique_prefix()
    pool = AsyncConnectionPool(postgres_url, min_size=1, max_size=1, open=False)
    await pool.open()
    try:
        async with PostgresSessionStore(pool=pool, table_prefix=prefix) as store:
            await store.save("a", [Message.user("one")], attributes={"k": 1})
            with pytest.raises(ConflictError):
                await store.append("a", [Message.user("no")], expected_version=7)
            with pytest.raises(ConflictError):
                await store.save("new", [Message.user("no")], expected_version=3)
            with pytest.raises(SessionNotFoundError):
                await store.replace_tail("missing", 0, [Message.user("no")])
            with pytest.raises(SessionNotFoundError):
                await store.fork("missing", "a")
            assert await store.pop("a") == [Message.user("one")]
            record = await store.update_attributes("a", {"k": None})
            assert (record.version, record.attributes) == (3, {})
            assert await store.list() == [record]
            assert await store.get("new") is None and await store.get("missing") is None
    finally:
        await pool.close()
        await drop_prefix(postgres_url, prefix)


async def test_connection_options_reach_the_pool(postgres_url: str) -> None:
    prefix = unique_prefix()
    options = "max_connections=3&pool_timeout=4&connect_timeout=2.5"
    try:
        url = f"{postgres_url}?{options}&table_prefix={prefix}"
        async with PostgresSessionStore(url, min_connections=2) as store:
            pool = (await store._conns())._pool  # the pool of this event loop
            assert pool is not None
            assert (pool.min_size, pool.max_size, pool.timeout) == (2, 3, 4.0)
            assert isinstance(pool.kwargs, dict)
            assert pool.kwargs["connect_timeout"] == 3  # libpq counts whole seconds: rounded up
            await store.save("a", [Message.user("hi")])
    finally:
        await drop_prefix(postgres_url, prefix)


@pytest.mark.parametrize("value", [-1, 11, True, 1.0, "1", None])
def test_min_connections_is_a_count_up_to_max_connections(postgres_url: str, value: object) -> None:
    with pytest.raises(InvalidArgumentError, match="min_connections"):
        PostgresSessionStore(postgres_url, min_connections=value)  # type: ignore[arg-type]


def test_connection_string_and_pool_are_exclusive(postgres_url: str) -> None:
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        PostgresSessionStore()


# -- secrets -----------------------------------------------------------------------------


@pytest.fixture
async def password_role(postgres_url: str) -> AsyncIterator[tuple[str, str]]:
    """A role with a password (trust auth ignores it; it must never be shown)."""
    role, password = f"r{uuid.uuid4().hex[:8]}", f"Secr3t-{uuid.uuid4().hex}"
    ident = sql.Identifier(role)
    await fetch(
        postgres_url,
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(ident, sql.Literal(password)),
    )
    await fetch(postgres_url, sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(ident))
    try:
        yield role, password
    finally:
        await fetch(postgres_url, sql.SQL("DROP OWNED BY {}").format(ident))
        await fetch(postgres_url, sql.SQL("DROP ROLE {}").format(ident))


async def test_password_never_shown(
    postgres_server: PostgresServer,
    password_role: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    role, password = password_role
    good = (
        urlsplit(postgres_server.url)
        ._replace(netloc=f"{role}:{password}@127.0.0.1:{postgres_server.port}")
        .geturl()
    )
    async with fresh_store(good) as store:
        await store.append("a", [Message.user("hi")])
        assert await store.load("a") == [Message.user("hi")]
        assert password not in repr(store)
        assert role in repr(store)

    caplog.set_level(logging.DEBUG)
    closed_port = urlsplit(good)._replace(netloc=f"{role}:{password}@127.0.0.1:1").geturl()
    conninfo = f"host=127.0.0.1 port=1 user={role} password={password} dbname=postgres"
    for target in (closed_port, conninfo):
        store = PostgresSessionStore(target, pool_timeout=0.5)
        assert password not in repr(store)
        with pytest.raises(StoreUnavailableError) as caught:
            await store.load("a")
        await store.close()
        assert password not in str(caught.value)
    assert password not in caplog.text


async def test_an_unreachable_server_is_reported_with_the_reason(
    postgres_server: PostgresServer,
) -> None:
    closed_port = urlsplit(postgres_server.url)._replace(netloc="someone@127.0.0.1:1").geturl()
    store = PostgresSessionStore(closed_port, pool_timeout=0.5)
    with pytest.raises(StoreUnavailableError) as caught:
        await store.count()
    await store.close()
    message = str(caught.value)
    assert "within 0.5s" in message and "port=1" in message
    assert "refused" in message.lower(), message  # why, not only that it timed out


async def test_a_server_that_refuses_for_good_fails_the_open_without_waiting(
    postgres_server: PostgresServer,
) -> None:
    """No such database or role: no retry helps, so the open does not wait out its timeout.

    (The test server trusts every role, so a wrong password cannot be shown here.)
    """
    password = f"Secr3t-{uuid.uuid4().hex}"
    unknown_role = (
        urlsplit(postgres_server.url)
        ._replace(
            netloc=f"nobody_{uuid.uuid4().hex[:8]}:{password}@127.0.0.1:{postgres_server.port}"
        )
        .geturl()
    )
    missing = urlsplit(postgres_server.url)._replace(path="/no_such_database").geturl()
    for url, reason in ((missing, "does not exist"), (unknown_role, "role")):
        # A timeout this long would fail the test's own time limit if the open waited it out.
        store = PostgresSessionStore(url, pool_timeout=600)
        with pytest.raises(StoreUnavailableError) as caught:
            await store.count()
        await store.close()
        message = str(caught.value)
        assert reason in message and "within" not in message, message
        assert password not in message


def test_a_malformed_connection_string_error_hides_the_password() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        PostgresSessionStore("host=x password=hunter2secret bogus")
    assert "hunter2secret" not in str(caught.value)


# -- storage -----------------------------------------------------------------------------


async def test_a_corrupt_payload_names_its_session_and_spares_others(postgres_url: str) -> None:
    async with fresh_store(postgres_url) as store:
        await store.save("broken", [Message.user("a")])
        await store.save("fine", [Message.user("b")])
        await fetch(
            postgres_url,
            sql.SQL(
                "UPDATE {} SET payload = %s WHERE key = (SELECT key FROM {} WHERE id = %s)"
            ).format(table(store, "segments"), table(store, "sessions")),
            b'[{"role": "user", "cont',
            "broken",
        )
        with pytest.raises(CorruptSessionError, match="broken") as caught:
            await store.load("broken")
        assert caught.value.session_id == "broken"
        assert await store.load("fine") == [Message.user("b")]


async def test_many_appends_compact_into_few_segments(postgres_url: str) -> None:
    async with fresh_store(postgres_url) as store:
        expected: list[Message] = []
        sizes = [1, 5, 3, MERGE_LIMIT_BYTES, 2, 0, 7, MERGE_LIMIT_BYTES * 3, 1] + [1] * 200
        for number, size in enumerate(sizes):
            batch = [Message.user(f"{number}:{i}:" + "x" * (size // 3)) for i in range(3)]
            batch = batch if size else []
            await store.append("long", batch)
            expected.extend(batch)
        assert await store.load("long") == expected
        record = await store.get("long")
        assert record is not None
        assert record.message_count == len(expected)
        assert record.version == len(sizes)
        rows = await fetch(
            postgres_url,
            sql.SQL(
                "SELECT count(*), sum(length(payload)) FROM {}"
                " WHERE key = (SELECT key FROM {} WHERE id = %s)"
            ).format(table(store, "segments"), table(store, "sessions")),
            "long",
        )
        segments, total = rows[0]
        assert isinstance(segments, int) and isinstance(total, int)
        assert segments <= 2 * total // MERGE_LIMIT_BYTES + 1
        assert segments < len(sizes) // 10
        await store.save("long", [Message.user("reset")])
        await store.append("long", [Message.user("after")])
        assert await store.load("long") == [Message.user("reset"), Message.user("after")]


async def test_concurrent_first_writes_to_one_id_all_land(postgres_url: str) -> None:
    async with fresh_store(postgres_url, max_connections=8) as store:
        await asyncio.gather(
            *(
                store.append("new", [Message.user(f"{n}a"), Message.user(f"{n}b")])
                for n in range(24)
            )
        )
        messages = await store.load("new")
        assert messages is not None and len(messages) == 48
        texts = [m.text for m in messages]
        for first, second in zip(texts[::2], texts[1::2], strict=True):
            assert first is not None and second == first[:-1] + "b"
        record = await store.get("new")
        assert record is not None and record.version == 24


async def test_a_scan_beside_concurrent_transactions_skips_no_session(postgres_url: str) -> None:
    """seq comes from a sequence, so writes commit out of seq order; the scan still sees all."""
    async with fresh_store(postgres_url, max_connections=8) as store:
        ids = [f"s{index}" for index in range(120)]
        await asyncio.gather(*(store.save(session_id, []) for session_id in ids))
        async with busy_writers(store, ids, tasks=6, step=13):
            for _ in range(3):
                seen = {str(record.id) async for record in store.scan(page_size=7)}
                assert seen == set(ids)


def test_five_threads_each_with_its_own_loop_share_an_unopened_store(postgres_url: str) -> None:
    """psycopg pools belong to one event loop: the store keeps one per loop, made on first use."""
    prefix = unique_prefix()
    store = PostgresSessionStore(postgres_url, table_prefix=prefix)
    start = threading.Barrier(5)

    async def calls(number: int) -> int:
        await store.append("shared", [Message.user(f"thread {number}")])
        await store.namespace(f"t{number}").save("own", [Message.user(str(number))])
        for _ in range(3):
            await store.get("shared")
        return await store.count()

    def thread(number: int) -> int:
        start.wait()  # every thread makes its first call at the same moment
        return asyncio.run(calls(number))

    try:
        with ThreadPoolExecutor(5) as threads:
            counts = list(threads.map(thread, range(5)))
        assert counts == [1] * 5

        async def check() -> None:
            messages = await store.load("shared")
            assert messages is not None
            assert sorted(m.text or "" for m in messages) == [f"thread {n}" for n in range(5)]
            assert await store.namespaces() == ["", "t0", "t1", "t2", "t3", "t4"]
            for number in range(5):
                own = await store.namespace(f"t{number}").load("own")
                assert own == [Message.user(str(number))]
            await store.close()

        asyncio.run(check())
    finally:
        asyncio.run(drop_prefix(postgres_url, prefix))


async def test_crossing_forks_all_land(postgres_url: str) -> None:
    """Forks a to b and b to a at once: both rows are locked in one order, so they queue."""
    async with fresh_store(postgres_url, max_connections=8) as store:
        await store.save("x", [Message.user("x")])
        await store.save("y", [Message.user("y")])
        for _ in range(5):
            await asyncio.gather(*(store.fork(a, b) for a, b in [("x", "y"), ("y", "x")] * 3))
        x, y = await store.load("x"), await store.load("y")
        assert x == y and x in ([Message.user("x")], [Message.user("y")])


# -- failures ----------------------------------------------------------------------------


async def test_the_store_survives_a_server_restart(postgres_server: PostgresServer) -> None:
    async with fresh_store(postgres_server.url, pool_timeout=2.0) as store:
        await store.save("a", [Message.user("before")])
        postgres_server.restart()
        await store.append("a", [Message.user("after restart")])
        postgres_server.stop()
        try:
            with pytest.raises(StoreUnavailableError) as caught:
                await store.load("a")
            assert isinstance(caught.value.__cause__, psycopg.Error)
            with pytest.raises(StoreUnavailableError):
                await store.append("a", [Message.user("while down")])
        finally:
            postgres_server.start()
        # The pool reconnects by itself; allow it a few attempts, not a deadline.
        for attempt in range(20):
            try:
                loaded = await store.load("a")
                break
            except StoreUnavailableError:
                if attempt == 19:
                    raise
                await asyncio.sleep(0.5)
        assert loaded == [Message.user("before"), Message.user("after restart")]
        await store.append("a", [Message.user("back")])
        assert await store.count() == 1


async def test_a_checked_pool_passed_in_writes_right_after_a_server_restart(
    postgres_server: PostgresServer,
) -> None:
    """What the docstring advises for a pool of your own: check=check_connection."""
    prefix = unique_prefix()
    pool = AsyncConnectionPool(
        postgres_server.url,
        min_size=2,
        max_size=2,
        kwargs={"autocommit": True},
        check=AsyncConnectionPool.check_connection,
        open=False,
    )
    await pool.open(wait=True)
    try:
        async with PostgresSessionStore(pool=pool, table_prefix=prefix) as store:
            await store.save("a", [Message.user("before")])
            postgres_server.restart()
            # The first write after the restart lands: no dead idle connection is used.
            record = await store.append("a", [Message.user("after restart")])
            assert record.version == 2
            assert await store.load("a") == [Message.user("before"), Message.user("after restart")]
    finally:
        await pool.close()
        await drop_prefix(postgres_server.url, prefix)


async def test_concurrent_callers_queue_for_a_small_pool_instead_of_failing(
    postgres_url: str,
) -> None:
    # psycopg_pool queues callers for up to `timeout`: 500 appends through 4 connections.
    async with fresh_store(postgres_url, max_connections=4) as store:
        session_ids = ["one"] * 250 + [f"many-{n % 50}" for n in range(250)]
        records = await asyncio.gather(
            *(
                store.append(session_id, [Message.user(f"{n}a"), Message.user(f"{n}b")])
                for n, session_id in enumerate(session_ids)
            )
        )
        for session_id, calls in (("one", 250), ("many-0", 5), ("many-49", 5)):
            versions = sorted(r.version for r in records if r.id == session_id)
            assert versions == list(range(1, calls + 1))
            messages = await store.load(session_id)
            assert messages is not None and len(messages) == 2 * calls
            texts = [m.text or "" for m in messages]
            for first, second in zip(texts[::2], texts[1::2], strict=True):
                assert first.endswith("a") and second == first[:-1] + "b"
            expected = {f"{n}a" for n, sid in enumerate(session_ids) if sid == session_id}
            assert set(texts[::2]) == expected
        assert await store.count() == 51
