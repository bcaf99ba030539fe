"""Round-2 contract costs: each pushed-down operation against its cheap counterpart, as ratios.

For a backend (``--backend sqlite|postgres|redis``, ``--url`` for a server), each
comparison runs two sides in the same process, interleaved in a fresh random
order every round, each side on its own database (SQLite: its own file):

- tail: ``load(start=-20)`` of a 100,000-message session vs ``load()`` of a
  20-message session (contract: about the same cost; target <= 2x);
- pop and replace_tail of the last message of a 100,000-message session vs of a
  20-message one (contract: independent of the length; target <= 2x);
- a page of ``list_paginated`` (50, newest first, offset 500) and ``count()`` of a
  1,000-session namespace in a store that also holds 1,000,000 sessions in other
  namespaces vs in a store holding that namespace alone (target <= 1.5x).

Backends register a function in ``BACKENDS``; SQLite is here, the server helpers
add theirs. ``python benchmarks/bench_contract2.py --quick`` for a short run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

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
from sessionstore import ListOptions, Message, SessionStore, SQLiteSessionStore

#: One measured side: its name, the timed call, and an untimed call that undoes its effect.
Side = tuple[str, Callable[[], Awaitable[object]], Callable[[], Awaitable[object]] | None]

LONG = 100_000
SHORT = 20
TENANT = 1_000


async def _nothing() -> None:
    return None


async def measure(sides: Sequence[Side], repeats: int, seed: int = 5) -> dict[str, Stats]:
    """Each side ``repeats`` times after a warmup, in a fresh random order every round."""
    for _, operation, reset in sides:
        await operation()
        await (reset or _nothing)()
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
    """Rows of (comparison, side, median, range) and the ratio targets."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[list[str]] = []
        self.targets: list[Target] = []
        self.notes: list[str] = []

    def add(self, what: str, results: dict[str, Stats], limit: float) -> None:
        (costly, costly_stats), (cheap, cheap_stats) = results.items()
        for name, stats in results.items():
            shown = [what, name, format_seconds(stats.median), format_range(stats)]
            self.rows.append(shown)
        ratio = paired_ratio(costly_stats, cheap_stats)
        self.targets.append(Target(f"{what}: {costly} vs {cheap}", ratio, limit))

    def render(self) -> str:
        table = markdown_table(["comparison", "side", "median", "min-max"], self.rows)
        lines = [f"## {self.title}", "", table, "", *(t.line() for t in self.targets)]
        return "\n".join([*lines, "", *(f"- {note}" for note in self.notes)])


# -- SQLite ----------------------------------------------------------------------------


async def _long_session(store: SessionStore, messages: list[Message], size: int) -> None:
    """A ``size``-message session built like an agent's: appends of 100 messages."""
    for start in range(0, size, 100):
        await store.append("long", [messages[(start + n) % len(messages)] for n in range(100)])


def _bulk_other_namespaces(path: str, sessions: int) -> None:
    """``sessions`` empty sessions spread over 100 other namespaces, inserted in bulk.

    Written with SQL in the store's own schema (through the API this would take minutes);
    the listing counter moves past them, as the API's writes would have moved it.
    """
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("BEGIN")
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO sessions (namespace, id, message_count, created_us, updated_us, "
            "version, seq, tail_start, small_run, attributes) "
            "SELECT 'other-' || (i % 100), 'session-' || i, 0, 1, 1, 1, "
            "(SELECT seq FROM listing) + i, 0, 0, NULL FROM n",
            (sessions,),
        )
        conn.execute("UPDATE listing SET seq = (SELECT max(seq) FROM sessions)")
        conn.execute("COMMIT")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def _tenant(store: SessionStore) -> None:
    tenant = store.namespace("tenant")
    for start in range(0, TENANT, 250):
        await asyncio.gather(
            *(tenant.append(f"t{n}", [Message.user("hi")]) for n in range(start, start + 250))
        )


async def _long_vs_short(report: Report, tmp: str, repeats: int, long: int) -> None:
    messages = [Message.from_dict(d) for d in text_messages(1_000)]
    async with (
        SQLiteSessionStore(os.path.join(tmp, "long.db")) as big,
        SQLiteSessionStore(os.path.join(tmp, "short.db")) as small,
    ):
        await _long_session(big, messages, long)
        await small.save("short", messages[:SHORT])
        report.add(
            f"load: tail 20 of {long:,} vs all of {SHORT}",
            await measure(
                [
                    (f"tail of {long:,}", lambda: big.load("long", start=-20), None),
                    (f"all of {SHORT}", lambda: small.load("short"), None),
                ],
                repeats,
            ),
            2.0,
        )
        last = messages[0]
        report.add(
            f"pop 1: session of {long:,} vs of {SHORT}",
            await measure(
                [
                    (f"of {long:,}", lambda: big.pop("long"), lambda: big.append("long", [last])),
                    (f"of {SHORT}", lambda: small.pop("short"),
                     lambda: small.append("short", [last])),
                ],
                repeats,
            ),
            2.0,
        )  # fmt: skip
        report.add(
            f"replace_tail(-2, 2 messages): session of {long:,} vs of {SHORT}",
            await measure(
                [
                    (f"of {long:,}", lambda: big.replace_tail("long", -2, [last, last]), None),
                    (f"of {SHORT}", lambda: small.replace_tail("short", -2, [last, last]), None),
                ],
                repeats,
            ),
            2.0,
        )


async def _namespace_page(report: Report, tmp: str, repeats: int, others: int) -> None:
    crowded_path, alone_path = os.path.join(tmp, "crowded.db"), os.path.join(tmp, "alone.db")
    async with SQLiteSessionStore(crowded_path):
        pass  # the schema
    await asyncio.to_thread(_bulk_other_namespaces, crowded_path, others)
    async with (
        SQLiteSessionStore(crowded_path) as crowded,
        SQLiteSessionStore(alone_path) as alone,
    ):
        await _tenant(crowded)
        await _tenant(alone)
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


async def bench_sqlite(args: argparse.Namespace) -> Report:
    """The SQLite comparisons, each side on its own file (WAL, synchronous=FULL)."""
    report = Report("SQLite")
    repeats = 15 if args.quick else 101
    long = 20_000 if args.quick else LONG
    others = 100_000 if args.quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="bench-contract2-", dir=args.url) as tmp:
        await _long_vs_short(report, tmp, repeats, long)
        await _namespace_page(report, tmp, repeats, others)
    report.notes.append(
        f"The long session is built by {long // 100:,} appends of 100 ~200-character "
        "messages (merged runs of small segments), the short one by one save. pop and "
        "replace_tail keep the lengths: an untimed append after each pop."
    )
    report.notes.append(
        f"The {others:,} other sessions (100 namespaces) are bulk-inserted with SQL in the "
        "store's schema; the tenant's 1,000 are written through the API on both sides."
    )
    return report


#: ``--backend`` name -> the coroutine that measures it (server helpers add theirs).
BACKENDS: dict[str, Callable[[argparse.Namespace], Awaitable[Report]]] = {
    "sqlite": bench_sqlite,
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="sqlite")
    parser.add_argument(
        "--url",
        default=None,
        help="the server to use (postgres, redis); for sqlite, the directory for the files",
    )
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> str:
    report = await BACKENDS[args.backend](args)
    return "\n".join([f"# Round-2 contract costs ({args.backend})", "",
                      machine_description(), "", report.render()])  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    emit(asyncio.run(main_async(args)), args.output)


if __name__ == "__main__":
    main(sys.argv[1:])
