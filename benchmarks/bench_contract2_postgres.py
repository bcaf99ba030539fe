"""Round-2 contract costs on PostgreSQL: what a call costs must not grow with what it skips.

The same comparisons as ``bench_contract2.py`` makes for SQLite (which was not
on this branch when this was written), each side on its own database of one
throwaway server, interleaved in a fresh random order every round:

- tail: ``load(start=-20)`` of a 100,000-message session (built by appends of
  100, or by one save) vs ``load()`` of a 20-message session (target <= 2x);
- pop 1 and ``replace_tail(-2, 2 messages)`` on the long session vs the short
  one (target <= 2x; pop is followed by an untimed append, so lengths stay);
- ``list_paginated(offset=500, limit=50, newest_first=True)`` and ``count()`` of
  a 1,000-session namespace beside 1,000,000 sessions in 100 other namespaces
  vs alone (target <= 1.5x). The other sessions are inserted with SQL straight
  into the table (records without transcripts: listing never reads one).

Ratios are medians of per-round ratios. ``--quick`` for a short run.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import psycopg
from psycopg import sql

from _harness import (
    Stats,
    Target,
    argument_parser,
    emit,
    format_range,
    format_seconds,
    machine_description,
    markdown_table,
    paired_ratio,
    text_messages,
)
from _servers import postgres_server
from sessionstore import ListOptions, Message, PostgresSessionStore

LONG = 100_000
SHORT = 20
TENANT = 1_000

Operation = Callable[[], Awaitable[Any]]
#: One measured side: its name, the timed call, and an untimed call that undoes its effect.
Side = tuple[str, Operation, Operation | None]


def database_url(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def crowd(url: str, count: int) -> None:
    """``count`` sessions in 100 other namespaces, straight into the store's table."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sessionstore_sessions (namespace, id, message_count, created_at,"
            " updated_at, version, seq, tail_start, tail_bytes)"
            " SELECT 'other-' || (i %% 100), 'session-' || i, 0, 1, 1, 1,"
            " nextval('sessionstore_seq'), 0, 0 FROM generate_series(1, %s) AS i",
            (count,),
        )
        conn.execute("VACUUM ANALYZE sessionstore_sessions")


async def measure(sides: list[Side], repeats: int, seed: int = 5) -> dict[str, Stats]:
    """Each side ``repeats`` times after a warmup, shuffled every round; resets untimed."""
    for _, operation, reset in sides:
        await operation()
        if reset is not None:
            await reset()
    results = {name: Stats() for name, _, _ in sides}
    order = list(sides)
    shuffle = random.Random(seed).shuffle
    for _ in range(repeats):
        shuffle(order)
        for name, operation, reset in order:
            started = time.perf_counter()
            await operation()
            results[name].samples.append(time.perf_counter() - started)
            if reset is not None:
                await reset()
    return results


class Report:
    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.targets: list[Target] = []

    def add(self, what: str, results: dict[str, Stats], limit: float) -> None:
        (costly, costly_stats), (cheap, cheap_stats) = results.items()
        ratio = paired_ratio(costly_stats, cheap_stats)
        for name, stats in results.items():
            self.rows.append([what, name, format_seconds(stats.median), format_range(stats)])
        self.targets.append(Target(f"{what}: {costly} vs {cheap}", ratio, limit))


async def long_vs_short(report: Report, long_db: str, short_db: str, repeats: int) -> None:
    messages = [Message.from_dict(d) for d in text_messages(1_000)]
    async with PostgresSessionStore(long_db) as big, PostgresSessionStore(short_db) as small:
        for start in range(0, LONG, 100):  # built like an agent's: appends of 100
            await big.append("long", [messages[(start + n) % 1_000] for n in range(100)])
        await big.save("saved", [messages[n % 1_000] for n in range(LONG)])
        await small.save("short", messages[:SHORT])
        for built, sid in (("appended", "long"), ("saved at once", "saved")):
            sides: list[Side] = [
                (f"tail of {LONG:,}", partial(big.load, sid, start=-20), None),
                (f"all of {SHORT}", partial(small.load, "short"), None),
            ]
            report.add(
                f"load: tail 20 of {LONG:,} ({built}) vs all of {SHORT}",
                await measure(sides, repeats),
                2.0,
            )
        last = messages[0]
        popped: list[Side] = [
            (f"of {LONG:,}", partial(big.pop, "long"), partial(big.append, "long", [last])),
            (f"of {SHORT}", partial(small.pop, "short"), partial(small.append, "short", [last])),
        ]
        report.add(f"pop 1: session of {LONG:,} vs of {SHORT}", await measure(popped, repeats), 2)
        replaced: list[Side] = [
            (f"of {LONG:,}", partial(big.replace_tail, "long", -2, [last, last]), None),
            (f"of {SHORT}", partial(small.replace_tail, "short", -2, [last, last]), None),
        ]
        report.add(
            f"replace_tail(-2, 2 messages): session of {LONG:,} vs of {SHORT}",
            await measure(replaced, repeats),
            2.0,
        )


async def namespace_page(
    report: Report, crowded_db: str, alone_db: str, repeats: int, others: int
) -> None:
    async with PostgresSessionStore(crowded_db):
        pass  # the schema
    crowd(crowded_db, others)
    async with (
        PostgresSessionStore(crowded_db) as crowded,
        PostgresSessionStore(alone_db) as alone,
    ):
        for store in (crowded, alone):
            tenant = store.namespace("tenant")
            for start in range(0, TENANT, 50):
                await asyncio.gather(
                    *(
                        tenant.append(f"t{n}", [Message.user("hi")])
                        for n in range(start, start + 50)
                    )
                )
        page = ListOptions(offset=500, limit=50, newest_first=True)
        views = {f"with {others:,} others": crowded, "alone": alone}
        listed: list[Side] = [
            (name, partial(store.namespace("tenant").list_paginated, page), None)
            for name, store in views.items()
        ]
        report.add(
            "list_paginated(offset=500, limit=50, newest_first) of a 1,000-session namespace",
            await measure(listed, repeats),
            1.5,
        )
        counted: list[Side] = [
            (name, store.namespace("tenant").count, None) for name, store in views.items()
        ]
        report.add("count() of a 1,000-session namespace", await measure(counted, repeats), 1.5)


async def run(server_url: str, repeats: int, others: int) -> str:
    report = Report()
    long_db = database_url(server_url, "bench_long")
    short_db = database_url(server_url, "bench_short")
    await long_vs_short(report, long_db, short_db, repeats)
    crowded_db = database_url(server_url, "bench_crowded")
    alone_db = database_url(server_url, "bench_alone")
    await namespace_page(report, crowded_db, alone_db, repeats, others)
    return "\n".join(
        [
            "# sessionstore round-2 contract costs: PostgreSQL",
            "",
            f"Run: {machine_description()}",
            f"Repeats per side: {repeats} (interleaved, shuffled each round, 1 warmup).",
            "",
            markdown_table(["comparison", "side", "median", "min-max"], report.rows),
            "",
            *(target.line() for target in report.targets),
            "",
            f"- The long session is built by {LONG // 100:,} appends of 100 ~200-character"
            " messages, or by one save (split into 16 KiB segments); pop is followed by an"
            " untimed append, so the lengths stay.",
            f"- The {others:,} other sessions (100 namespaces) are inserted with SQL into the"
            " store's table; the tenant's 1,000 are written through the API on both sides.",
        ]
    )


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--postgres-url", default=None, help="a server to use (admin URL)")
    parser.add_argument("--crowd", type=int, default=None, help="sessions in other namespaces")
    args = parser.parse_args()
    repeats = 15 if args.quick else 101
    crowd_size = args.crowd or (100_000 if args.quick else 1_000_000)
    with postgres_server(args.postgres_url) as server:
        if server.url is None:
            sys.exit(f"PostgreSQL unavailable: {server.reason}")
        report = asyncio.run(run(server.url, repeats, crowd_size))
    emit(report, args.output)


if __name__ == "__main__":
    main()
