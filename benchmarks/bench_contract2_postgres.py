"""Round-2 contract costs on PostgreSQL: what a call costs must not grow with what it skips.

Each pair runs the same call against two databases on one throwaway server
(every side its own database), interleaved in shuffled order:

- tail: ``load(start=-20)`` of a 100,000-message session vs ``load()`` of a
  20-message session (target: at most 2x);
- pop and replace_tail of the last message of the long session vs the short one
  (pop is followed by an append of the message back, in both sides);
- a namespace's page (``list_paginated(limit=20, newest_first=True)``) plus its
  ``count()`` beside 1,000,000 sessions in other namespaces vs alone (target:
  at most 1.3x). The other sessions are inserted straight into the table
  (records without transcripts: listing never reads transcripts).

Ratios are medians of per-round ratios (long / short, crowded / alone).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg import sql

from _harness import (
    Target,
    argument_parser,
    emit,
    format_seconds,
    machine_description,
    markdown_table,
    measure_interleaved,
    paired_ratio,
    text_messages,
)
from _servers import postgres_server
from sessionstore import ListOptions, Message, PostgresSessionStore

LONG = 100_000
SHORT = 20
TENANT = 50

Operation = Callable[[], Awaitable[Any]]


def database_url(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def crowd(url: str, count: int) -> None:
    """``count`` sessions in 1,000 other namespaces, straight into the store's table."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sessionstore_sessions (namespace, id, message_count, created_at,"
            " updated_at, version, seq, tail_start, tail_bytes)"
            " SELECT 'other' || (i %% 1000), 's' || i, 0, 0, 0, 1,"
            " nextval('sessionstore_seq'), 0, 0 FROM generate_series(1, %s) AS i",
            (count,),
        )
        conn.execute("VACUUM ANALYZE sessionstore_sessions")


async def pair(
    label: str,
    sides: tuple[tuple[str, Operation], tuple[str, Operation]],
    repeats: int,
    rows: list[list[str]],
) -> float:
    results = await measure_interleaved(list(sides), repeats)
    (first, _), (second, _) = sides
    ratio = paired_ratio(results[first], results[second])
    for name, _ in sides:
        rows.append([label, name, format_seconds(results[name].median), f"{ratio:.2f}x"])
    return ratio


async def run(server_url: str, repeats: int, crowd_size: int) -> str:
    long_db = database_url(server_url, "bench_long")
    short_db = database_url(server_url, "bench_short")
    rows: list[list[str]] = []
    targets: list[Target] = []
    async with (
        PostgresSessionStore(long_db) as big,
        PostgresSessionStore(short_db) as small,
    ):
        messages = text_messages(LONG)
        for start in range(0, LONG, 10_000):
            await big.append("long", messages[start : start + 10_000])
        await small.save("short", messages[:SHORT])
        ratio = await pair(
            "tail 20 of 100k vs whole 20",
            (
                ("load(start=-20), 100k", lambda: big.load("long", start=-SHORT)),
                ("load(), 20", lambda: small.load("short")),
            ),
            repeats,
            rows,
        )
        targets.append(Target("tail of 20 from 100,000 vs a 20-message load", ratio, 2.0))
        last = Message.user("the last word " + "x" * 150)

        async def pop_back(store: PostgresSessionStore, sid: str) -> None:
            await store.pop(sid)
            await store.append(sid, [last])

        ratio = await pair(
            "pop 1 (+ append back)",
            (("100k", lambda: pop_back(big, "long")), ("20", lambda: pop_back(small, "short"))),
            repeats,
            rows,
        )
        targets.append(Target("pop on 100,000 vs on 20 messages", ratio, 1.5))
        ratio = await pair(
            "replace_tail(-1)",
            (
                ("100k", lambda: big.replace_tail("long", -1, [last])),
                ("20", lambda: small.replace_tail("short", -1, [last])),
            ),
            repeats,
            rows,
        )
        targets.append(Target("replace_tail on 100,000 vs on 20 messages", ratio, 1.5))
        for store in (big, small):
            for number in range(TENANT):
                await store.namespace("tenant").save(f"t{number}", messages[:2])
    crowd(long_db, crowd_size)
    async with (
        PostgresSessionStore(long_db) as crowded,
        PostgresSessionStore(short_db) as alone,
    ):

        def page(store: PostgresSessionStore) -> Operation:
            tenant = store.namespace("tenant")

            async def operation() -> None:
                await tenant.list_paginated(ListOptions(limit=20, newest_first=True))
                await tenant.count()

            return operation

        ratio = await pair(
            f"namespace page + count beside {crowd_size:,} others",
            ((f"{crowd_size:,} others", page(crowded)), ("alone", page(alone))),
            repeats,
            rows,
        )
        targets.append(Target("a namespace's page + count, crowded vs alone", ratio, 1.3))
    return "\n".join(
        [
            "# sessionstore round-2 contract costs: PostgreSQL",
            "",
            f"Run: {machine_description()}",
            f"Repeats per side: {repeats} (interleaved, shuffled each round, 1 warmup).",
            "",
            markdown_table(["pair", "side", "median", "first / second"], rows),
            "",
            *(target.line() for target in targets),
        ]
    )


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--postgres-url", default=None, help="a server to use (admin URL)")
    parser.add_argument("--crowd", type=int, default=1_000_000)
    args = parser.parse_args()
    repeats = 15 if args.quick else 101
    with postgres_server(args.postgres_url) as server:
        if server.url is None:
            sys.exit(f"PostgreSQL unavailable: {server.reason}")
        report = asyncio.run(run(server.url, repeats, args.crowd))
    emit(report, args.output)


if __name__ == "__main__":
    main()
