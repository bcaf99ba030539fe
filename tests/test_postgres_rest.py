"""Data at rest on PostgreSQL: what the server holds is sealed, bound to its session, and reads.

Every test runs against the real test server; raw checks read the tables with
psycopg, and the "no plaintext" test greps ``pg_dump`` output of the test database.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql

from plugins.postgres import PostgresServer, drop_prefix, unique_prefix
from sessionstore import CorruptSessionError, Message, PostgresSessionStore, Role, SessionRecord
from sessionstore.backends.base import Encryption, MissingKeyError
from sessionstore.backends.postgres.schema import MERGE_LIMIT_BYTES
from test_postgres_migration import expected_sessions, released_url  # noqa: F401 - a fixture

OLD_KEY = os.urandom(32)
NEW_KEY = os.urandom(32)


Stores = Callable[..., AbstractAsyncContextManager[PostgresSessionStore]]


@pytest.fixture
def prefix(postgres_url: str) -> Any:
    """One table prefix the stores of a test share, dropped afterwards."""
    name = unique_prefix()
    yield name
    import asyncio

    asyncio.run(drop_prefix(postgres_url, name))


@pytest.fixture
def stores(postgres_url: str, prefix: str) -> Stores:
    """Stores on the test's tables, each with the options given."""

    @asynccontextmanager
    async def open_one(**options: Any) -> AsyncIterator[PostgresSessionStore]:
        async with PostgresSessionStore(postgres_url, table_prefix=prefix, **options) as store:
            yield store

    return open_one


def keys(*names: str, primary: str | None = None) -> Encryption:
    material = {"old": OLD_KEY, "new": NEW_KEY, "other": os.urandom(32)}
    return Encryption({name: material[name] for name in names}, primary=primary)


def messages(marker: str, count: int, start: int = 0) -> list[Message]:
    return [Message(role=Role.USER, content=f"{marker} message {start + i}") for i in range(count)]


async def loaded(store: PostgresSessionStore, session_id: str, start: int = 0) -> list[Message]:
    found = await store.load(session_id, start=start)
    assert found is not None
    return found


async def record(store: PostgresSessionStore, session_id: str) -> SessionRecord:
    found = await store.get(session_id)
    assert found is not None
    return found


def raw(url: str, prefix: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``query`` with ``{segments}`` and ``{sessions}`` naming the test's tables."""
    statement = sql.SQL(query).format(
        segments=sql.Identifier(prefix + "segments"), sessions=sql.Identifier(prefix + "sessions")
    )
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def segments_of(url: str, prefix: str, session_id: str) -> list[bytes]:
    return [
        bytes(row[0])
        for row in raw(
            url,
            prefix,
            "SELECT g.payload FROM {segments} g JOIN {sessions} s ON s.key = g.key"
            " WHERE s.id = %s ORDER BY g.first_index",
            session_id,
        )
    ]


def dump(server: PostgresServer, prefix: str) -> bytes:
    """``pg_dump`` of the test database's tables of ``prefix``."""
    result = subprocess.run(
        [
            str(server.bindir / "pg_dump"), "-h", "127.0.0.1", "-p", str(server.port),
            "-U", server.user, "-d", server.url.rsplit("/", 1)[1], "-t", f"public.{prefix}*",
        ],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout


def shows(text: bytes, marker: str) -> bool:
    """Whether ``marker`` is in ``text`` as text or as the hex of a bytea."""
    return marker.encode() in text or marker.encode().hex().encode() in text


async def write_everything(store: PostgresSessionStore, marker: str) -> None:
    """Every kind of write, each carrying ``marker``."""
    await store.save("saved", messages(marker, 40), attributes={"note": marker})
    for i in range(30):
        await store.append("appended", messages(marker, 1, i), attributes={"n": f"{marker}{i}"})
    await store.replace_tail("saved", -3, messages(marker, 2, 100))
    await store.pop("saved", 1)
    await store.fork("saved", "forked", stop=20)
    await store.update_attributes("forked", {"more": marker})
    await store.save("big", messages(marker * 50, 400))


async def test_pg_dump_shows_no_plaintext_when_sealed(
    postgres_server: PostgresServer, stores: Stores, prefix: str
) -> None:
    marker = f"secret-{uuid.uuid4().hex}"
    async with stores(encryption=keys("new"), compression="zstd") as store:
        await write_everything(store, marker)
        assert (await loaded(store, "saved"))[-1].content == f"{marker} message 100"
        assert (await record(store, "forked")).attributes == {"note": marker, "more": marker}
    assert not shows(dump(postgres_server, prefix), marker)
    # The same dump of a store without encryption shows it: the check can see it.
    async with stores() as plain:
        await plain.save("plain", messages(marker, 1))
    assert shows(dump(postgres_server, prefix), marker)


async def test_a_changed_byte_breaks_that_session_only(
    postgres_url: str, stores: Stores, prefix: str
) -> None:
    async with stores(encryption=keys("new")) as store:
        await store.save("a", messages("a", 5))
        await store.save("b", messages("b", 5))
        raw(
            postgres_url, prefix,
            "UPDATE {segments} SET payload = set_byte(payload, length(payload) - 1,"
            " get_byte(payload, length(payload) - 1) # 1)"
            " WHERE key = (SELECT key FROM {sessions} WHERE id = 'a') RETURNING 1",
        )  # fmt: skip
        with pytest.raises(CorruptSessionError) as caught:
            await loaded(store, "a")
        assert caught.value.session_id == "a"
        assert len(await loaded(store, "b")) == 5


async def test_payloads_and_attributes_swapped_between_sessions_do_not_decrypt(
    postgres_url: str, stores: Stores, prefix: str
) -> None:
    async with stores(encryption=keys("new")) as store:
        await store.save("a", messages("a", 3), attributes={"who": "a"})
        await store.save("b", messages("b", 3), attributes={"who": "b"})
        swap = (
            "UPDATE {sessions} s SET attributes = o.attributes FROM {sessions} o"
            " WHERE s.id IN ('a', 'b') AND o.id IN ('a', 'b') AND o.id <> s.id RETURNING 1"
        )
        raw(postgres_url, prefix, swap)
        for session_id in ("a", "b"):
            with pytest.raises(CorruptSessionError):
                await store.get(session_id)
        raw(postgres_url, prefix, swap)  # back again: both read
        assert (await record(store, "a")).attributes == {"who": "a"}
        raw(
            postgres_url, prefix,
            "UPDATE {segments} g SET payload = (SELECT o.payload FROM {segments} o"
            "  WHERE o.key <> g.key AND o.first_index = g.first_index"
            "    AND o.key IN (SELECT key FROM {sessions} WHERE id IN ('a', 'b')))"
            " WHERE g.key IN (SELECT key FROM {sessions} WHERE id IN ('a', 'b')) RETURNING 1",
        )  # fmt: skip
        for session_id in ("a", "b"):
            with pytest.raises(CorruptSessionError):
                await loaded(store, session_id)


async def test_a_segment_moved_within_a_session_does_not_decrypt(
    postgres_url: str, stores: Stores, prefix: str
) -> None:
    async with stores(encryption=keys("new")) as store:
        await store.save("a", messages("x" * 8000, 6))  # several segments
        assert len(segments_of(postgres_url, prefix, "a")) > 2
        raw(
            postgres_url, prefix,
            "UPDATE {segments} g SET payload = o.payload FROM {segments} o"
            " WHERE g.key = o.key AND g.first_index = 0 AND o.first_index > 0"
            " AND o.first_index = (SELECT min(first_index) FROM {segments}"
            " WHERE key = g.key AND first_index > 0) RETURNING 1",
        )  # fmt: skip
        with pytest.raises(CorruptSessionError):
            await loaded(store, "a")


async def test_a_wrong_key_and_a_missing_key_are_told_apart(stores: Stores) -> None:
    async with stores(encryption=keys("old")) as store:
        await store.save("a", messages("a", 3), attributes={"k": "v"})
    wrong = Encryption({"old": os.urandom(32)})
    async with stores(encryption=wrong) as store:
        with pytest.raises(CorruptSessionError) as caught:
            await loaded(store, "a")
        assert not isinstance(caught.value, MissingKeyError)
    async with stores(encryption=keys("new")) as store:
        with pytest.raises(MissingKeyError) as missing:
            await loaded(store, "a")
        assert missing.value.key_id == "old"
        assert "'old'" in str(missing.value)
    async with stores() as store:  # no keys at all
        with pytest.raises(CorruptSessionError, match="no keys"):
            await loaded(store, "a")
        assert await store.count() == 1  # ids and counts stay readable


async def test_rotation_reads_old_keys_and_writes_the_primary(
    postgres_url: str, stores: Stores, prefix: str
) -> None:
    async with stores(encryption=keys("old")) as store:
        await store.save("a", messages("a", 3), attributes={"k": "v"})
        await store.save("b", messages("b", 3))
    async with stores(encryption=keys("old", "new")) as store:
        assert len(await loaded(store, "a")) == 3
        await store.save("a", messages("a2", 4), attributes={"k": "w"})
        await store.append("b", messages("b", 1, 3))  # the tail is resealed under "new"
    assert all(s[3:6] == b"new" for s in segments_of(postgres_url, prefix, "a"))
    assert all(s[3:6] == b"new" for s in segments_of(postgres_url, prefix, "b"))
    async with stores(encryption=keys("new")) as store:
        assert [m.content for m in await loaded(store, "b")][-1] == "b message 3"
        assert (await record(store, "a")).attributes == {"k": "w"}


async def test_plaintext_sessions_read_and_are_sealed_when_rewritten(
    postgres_url: str, stores: Stores, prefix: str
) -> None:
    async with stores() as plain:
        await plain.save("a", messages("a", 5), attributes={"k": "v"})
        await plain.save("b", messages("b", 5), attributes={"k": "v"})
    async with stores(encryption=keys("new"), compression="zstd") as store:
        assert len(await loaded(store, "a")) == 5
        assert (await record(store, "a")).attributes == {"k": "v"}
        await store.append("a", messages("a", 1, 5))  # merged into the tail, resealed
        await store.save("b", await loaded(store, "b"), attributes={"k": "v"})
        assert [m.content for m in await loaded(store, "a")][-1] == "a message 5"
    for session_id in ("a", "b"):
        assert all(s[:1] == b"\0" for s in segments_of(postgres_url, prefix, session_id))
    attributes = raw(postgres_url, prefix, "SELECT attributes FROM {sessions} WHERE id = 'b'")
    assert base64.b64decode(attributes[0][0])[:1] == b"\0"


async def test_compressed_and_plain_stores_read_and_edit_each_others_sessions(
    stores: Stores,
) -> None:
    text = "the same words again and again " * 20
    async with stores(compression="zstd") as packed, stores() as plain:
        await packed.save("p", messages(text, 30), attributes={"k": text})
        await plain.save("q", messages(text, 30))
        for reader in (packed, plain):
            for session_id in ("p", "q"):
                assert len(await loaded(reader, session_id)) == 30
        # The plain store's server-side pop, replace_tail and fork meet compressed
        # segments: the client does the split instead.
        assert [m.content for m in await plain.pop("p", 2)] == [
            f"{text} message 28", f"{text} message 29"
        ]  # fmt: skip
        await plain.replace_tail("p", 5, messages("new", 1))
        await plain.append("p", messages("newer", 1))
        await plain.fork("p", "p2", stop=4)
        assert [m.content for m in await loaded(packed, "p")][-2:] == [
            "new message 0", "newer message 0"
        ]  # fmt: skip
        assert len(await loaded(packed, "p2")) == 4
        assert (await record(plain, "p2")).attributes == {"k": text}
        await packed.append("q", messages("x", 1))
        assert len(await loaded(plain, "q")) == 31


async def test_a_store_without_keys_cannot_fork_or_pop_encrypted_sessions(
    stores: Stores,
) -> None:
    async with stores(encryption=keys("new")) as sealed, stores() as plain:
        await sealed.save("a", messages("a", 5), attributes={"k": "v"})
        with pytest.raises(CorruptSessionError):
            await plain.pop("a", 2)
        with pytest.raises(CorruptSessionError):
            await plain.fork("a", "b")
        assert len(await loaded(sealed, "a")) == 5  # nothing was lost
        assert await sealed.get("b") is None


async def test_sealed_appends_merge_into_a_bounded_tail(
    postgres_url: str, stores: Stores, prefix: str
) -> None:
    async with stores(encryption=keys("new"), compression="zstd") as store:
        for i in range(300):
            await store.append("a", messages("m", 1, i))
        assert [m.content for m in await loaded(store, "a")] == [
            f"m message {i}" for i in range(300)
        ]
        assert [m.content for m in await loaded(store, "a", start=-3)] == [
            f"m message {i}" for i in range(297, 300)
        ]
    stored = segments_of(postgres_url, prefix, "a")
    assert all(len(s) <= MERGE_LIMIT_BYTES for s in stored)
    assert len(stored) < 300 // 10  # merged, not one segment per append


async def test_keys_never_show_in_reprs_errors_or_logs(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = keys("new")
    shown = {NEW_KEY.hex(), base64.b64encode(NEW_KEY).decode(), repr(NEW_KEY)}
    async with stores(encryption=Encryption({"new": os.urandom(32)})) as other:
        await other.save("a", messages("a", 1))
    async with stores(encryption=secret) as store:
        with pytest.raises(CorruptSessionError) as caught:
            await loaded(store, "a")
        texts = [repr(store), repr(secret), str(caught.value), repr(caught.value), caplog.text]
    assert not any(key in text for key in shown for text in texts)


async def test_a_released_database_opened_sealed_reads_and_takes_sealed_writes(
    released_url: str,  # noqa: F811 - the fixture imported above
) -> None:
    expected = {session["id"]: session for session in expected_sessions()}
    options: dict[str, Any] = {"encryption": keys("new"), "compression": "zstd"}
    async with PostgresSessionStore(released_url, **options) as store:
        for session_id, session in expected.items():
            found = await loaded(store, session_id)
            assert len(found) == session["message_count"]
        long = expected["long"]
        await store.append("long", [Message.user("new")], attributes={"title": "Long"})
        popped = await store.pop("long", 2)
        assert [m.text for m in popped] == [long["messages"][-1]["content"], "new"]
        await store.replace_tail("long", -5, [Message.user("summary")])
        found = await loaded(store, "long")
        assert len(found) == long["message_count"] - 5
        assert found[-1] == Message.user("summary")
        await store.fork("tools", "tools-copy", stop=2)
        assert await loaded(store, "tools-copy") == (await loaded(store, "tools"))[:2]
        assert (await record(store, "long")).attributes == {"title": "Long"}
    async with PostgresSessionStore(released_url) as plain:  # no keys: sealed parts refuse
        with pytest.raises(CorruptSessionError):
            await plain.load("tools-copy")
        assert await plain.count() == len(expected) + 1
