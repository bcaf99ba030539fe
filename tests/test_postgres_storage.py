"""How the PostgreSQL backend stores and reads, checked on the server's own plans and tables.

A namespace's page, count, prune and clear read only that namespace's index
entries; a slice reads only the segments it overlaps; pop and replace_tail
never read the head of a transcript; attributes are stored as compact sorted
JSON; fork copies segments inside the server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from plugins.postgres import drop_prefix, unique_prefix
from sessionstore import CorruptSessionError, InvalidArgumentError, Message
from sessionstore.backends.postgres import PostgresSessionStore
from sessionstore.backends.postgres.schema import SPLIT_BYTES

OTHER_SESSIONS = 200_000
TENANT_SESSIONS = 30


def table(store: PostgresSessionStore, suffix: str) -> sql.Identifier:
    return sql.Identifier(store.schema, store.table_prefix + suffix)


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def explain(url: str, store: PostgresSessionStore, name: str, params: Any) -> dict[str, Any]:
    """The executed plan of the store's statement ``name``, its effects rolled back."""
    with psycopg.connect(url) as conn:
        query = sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ") + store._sql[name]
        row = conn.execute(query, params).fetchone()
        conn.rollback()
    assert row is not None
    plan: dict[str, Any] = row[0][0]
    return plan


def fill_other_namespaces(url: str, store: PostgresSessionStore, count: int) -> None:
    """``count`` sessions in 100 other namespaces, written straight into the table."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (namespace, id, message_count, created_at, updated_at, version,"
                " seq, tail_start, tail_bytes)"
                " SELECT 'other' || (i %% 100), 's' || i, 0, 0, 0, 1, nextval(%s), 0, 0"
                " FROM generate_series(1, %s) AS i"
            ).format(table(store, "sessions")),
            (f'"{store.schema}"."{store.table_prefix}seq"', count),
        )
        conn.execute(sql.SQL("ANALYZE {}").format(table(store, "sessions")))


async def test_a_namespace_costs_what_it_holds_beside_many_other_sessions(
    postgres_url: str,
) -> None:
    prefix = unique_prefix()
    try:
        async with PostgresSessionStore(postgres_url, table_prefix=prefix) as store:
            tenant = store.namespace("tenant")
            for number in range(TENANT_SESSIONS):
                await tenant.save(f"t{number}", [Message.user("hi")])
            fill_other_namespaces(postgres_url, store, OTHER_SESSIONS)
            statements = {
                "list_asc": ("tenant", 10, 5),
                "list_desc": ("tenant", 10, 0),
                "scan_after": ("tenant", 0, 10),
                "count": ("tenant",),
                "prune": {"ns": "tenant", "keep": 5, "before": None},
                "clear": ("tenant",),
            }
            for name, params in statements.items():
                plan = explain(postgres_url, store, name, params)
                nodes = list(plan_nodes(plan["Plan"]))
                assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], (name, plan)
                scanned = sum(n["Actual Rows"] for n in nodes if "Index Name" in n)
                assert scanned <= 3 * TENANT_SESSIONS, (name, scanned)
                blocks = plan["Plan"]["Shared Hit Blocks"] + plan["Plan"]["Shared Read Blocks"]
                # A scan of the table reads thousands; an index walk a few hundred at most.
                assert blocks < 1000, (name, blocks)
            assert await tenant.count() == TENANT_SESSIONS
            assert await store.count() == 0
    finally:
        await drop_prefix(postgres_url, prefix)


@pytest.fixture
async def store(postgres_url: str) -> Any:
    prefix = unique_prefix()
    try:
        async with PostgresSessionStore(postgres_url, table_prefix=prefix) as opened:
            yield opened
    finally:
        await drop_prefix(postgres_url, prefix)


def long_transcript(count: int) -> list[Message]:
    return [Message.user(f"message {number} " + "x" * 90) for number in range(count)]


async def corrupt_all_but_the_last(url: str, store: PostgresSessionStore, keep: int) -> int:
    """Make all segments of session 'long' but the last ``keep`` undecodable; return how many."""
    segments, sessions = table(store, "segments"), table(store, "sessions")
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(
            sql.SQL(
                "UPDATE {} SET payload = '\\x5b7b'::BYTEA WHERE key = (SELECT key FROM {}"
                " WHERE id = 'long') AND first_index < (SELECT min(first_index) FROM"
                " (SELECT first_index FROM {} WHERE key = (SELECT key FROM {} WHERE id = 'long')"
                " ORDER BY first_index DESC LIMIT %s) t)"
            ).format(segments, sessions, segments, sessions),
            (keep,),
        )
        return cursor.rowcount


async def test_a_tail_reads_only_the_last_segments(
    store: PostgresSessionStore, postgres_url: str
) -> None:
    messages = long_transcript(3_000)
    await store.save("long", messages)  # a save is split into segments too
    plan = explain(
        postgres_url, store, "slice", {"ns": "", "id": "long", "start": -20, "stop": None}
    )
    segment_rows = [
        n["Actual Rows"]
        for n in plan_nodes(plan["Plan"])
        if n.get("Relation Name", "").endswith("segments")
        and n["Parent Relationship"] != "SubPlan"
        and n.get("Node Type") != "Result"
    ]
    assert segment_rows and max(segment_rows) <= 3
    assert await corrupt_all_but_the_last(postgres_url, store, 3) >= 10
    assert await store.load("long", start=-20) == messages[-20:]
    with pytest.raises(CorruptSessionError):
        await store.load("long")


async def test_pop_and_replace_tail_touch_only_the_tail(
    store: PostgresSessionStore, postgres_url: str
) -> None:
    messages = long_transcript(3_000)
    await store.save("long", messages)
    await corrupt_all_but_the_last(postgres_url, store, 3)
    assert await store.pop("long", 4) == messages[-4:]
    record = await store.replace_tail("long", -3, [Message.user("compacted")])
    assert record.message_count == 3_000 - 4 - 3 + 1
    assert await store.load("long", start=-3) == [*messages[-9:-7], Message.user("compacted")]
    await store.append("long", [Message.user("after")])
    assert await store.load("long", start=-2) == [Message.user("compacted"), Message.user("after")]


async def test_segments_stay_bounded_and_contiguous(
    store: PostgresSessionStore, postgres_url: str
) -> None:
    messages = long_transcript(500)
    await store.save("long", messages[:250])
    for start in range(250, 500, 7):
        await store.append("long", messages[start : start + 7])
    await store.replace_tail("long", 100, messages[100:300])
    await store.append("long", messages[300:])
    assert await store.load("long") == messages
    async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
        cursor = await conn.execute(
            sql.SQL(
                "SELECT first_index, json_array_length(convert_from(payload, 'UTF8')::json),"
                " length(payload) FROM {} ORDER BY first_index"
            ).format(table(store, "segments"))
        )
        rows = await cursor.fetchall()
    expected_start = 0
    for first_index, count, size in rows:
        assert first_index == expected_start and count > 0
        assert size <= SPLIT_BYTES or count == 1
        expected_start += count
    assert expected_start == len(messages)


async def test_attributes_are_compact_sorted_json_and_keep_the_listing(
    store: PostgresSessionStore, postgres_url: str
) -> None:
    await store.save(
        "a", [Message.user("1")], attributes={"title": "Ünï", "b": [1, {"z": 0, "a": 1}]}
    )
    await store.save("b", [Message.user("2")])
    record = await store.update_attributes("a", {"title": None, "owner": "kim"})
    assert record.attributes == {"b": [1, {"z": 0, "a": 1}], "owner": "kim"}
    assert [r.id for r in await store.list()] == ["a", "b"]
    async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
        cursor = await conn.execute(
            sql.SQL("SELECT id, attributes FROM {} ORDER BY id").format(table(store, "sessions"))
        )
        stored = await cursor.fetchall()
    assert stored == [("a", '{"b":[1,{"a":1,"z":0}],"owner":"kim"}'), ("b", None)]
    assert json.loads(stored[0][1]) == dict(record.attributes)


async def test_fork_copies_segments_inside_the_server(
    store: PostgresSessionStore, postgres_url: str
) -> None:
    """The copy never passes through the client: even segments it could not decode are copied."""
    messages = long_transcript(3_000)
    await store.save("long", messages, attributes={"title": "source"})
    corrupted = await corrupt_all_but_the_last(postgres_url, store, 3)
    record = await store.fork("long", "copy", stop=-10)
    assert record.message_count == 2_990 and record.attributes == {"title": "source"}
    assert await store.load("copy", start=-5) == messages[-15:-10]
    segments, sessions = table(store, "segments"), table(store, "sessions")
    async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
        cursor = await conn.execute(
            sql.SQL(
                "SELECT count(*) FROM {} g JOIN {} s ON s.key = g.key"
                " WHERE s.id = 'copy' AND g.payload = '\\x5b7b'::BYTEA"
            ).format(segments, sessions)
        )
        row = await cursor.fetchone()
    assert row == (corrupted,)


async def test_slices_across_many_segments_match_python_slicing(
    store: PostgresSessionStore,
) -> None:
    messages = long_transcript(400)
    await store.save("long", messages[:300])  # segments of up to SPLIT_BYTES
    for start in range(300, 400, 3):  # small appends merged into small segments
        await store.append("long", messages[start : start + 3])
    bounds: list[int | None] = [
        None, 0, 1, 139, 140, 141, 299, 300, 301, 399, 400, 401, -1, -2, -139, -400, -401,
    ]  # fmt: skip
    for lo in bounds:
        for hi in bounds:
            got = await store.load("long", start=lo or 0, stop=hi)
            assert got == messages[lo:hi], (lo, hi)
    snap = await store.snapshot("long", start=-150, stop=-7)
    assert snap is not None and snap.messages == messages[-150:-7]
    assert snap.record.message_count == 400


async def test_a_write_past_the_limit_is_refused_before_anything_is_sent(
    store: PostgresSessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert PostgresSessionStore.max_write_bytes == 512 * 1024 * 1024
    monkeypatch.setattr(PostgresSessionStore, "max_write_bytes", 10_000)
    with pytest.raises(InvalidArgumentError, match="10,000 bytes"):
        await store.save("big", long_transcript(100))
    assert await store.get("big") is None
    await store.save("big", long_transcript(50))  # within the limit
    assert await store.load("big") == long_transcript(50)
