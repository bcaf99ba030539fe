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

Every backend runs the same comparisons through ``long_vs_short`` and
``namespace_page``, measured by ``measure`` and reported by ``Report``; ``BACKENDS``
maps ``--backend`` to the function that opens its stores (SQLite here, PostgreSQL in
``bench_contract2_postgres.py``, Redis in ``bench_contract2_redis.py``, imported
only when chosen). ``python benchmarks/bench_contract2.py --quick`` for a short run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
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

#: An untimed call that puts a session back after a timed one (None: nothing to do).
Reset = Callable[[], Awaitable[object]] | None
#: One measured side: its name, the timed call, and an untimed call that undoes its effect.
Side = tuple[str, Callable[[], Awaitable[object]], Reset]

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


def sizes(args: argparse.Namespace) -> tuple[int, int, int]:
    """(repeats per side, messages of the long session, sessions in other namespaces)."""
    repeats = 15 if args.quick else 101
    long = 20_000 if args.quick else LONG
    others = args.crowd or (100_000 if args.quick else 1_000_000)
    return repeats, long, others


async def _long_session(store: SessionStore, messages: list[Message], size: int) -> None:
    """A ``size``-message session built like an agent's: appends of 100 messages."""
    for start in range(0, size, 100):
        await store.append("long", [messages[(start + n) % len(messages)] for n in range(100)])


async def _tenant(store: SessionStore, batch: int) -> None:
    tenant = store.namespace("tenant")
    for start in range(0, TENANT, batch):
        await asyncio.gather(
            *(tenant.append(f"t{n}", [Message.user("hi")]) for n in range(start, start + batch))
        )


async def long_vs_short(
    report: Report,
    big: SessionStore,
    small: SessionStore,
    repeats: int,
    long: int,
    *,
    cut_saved: bool = False,
) -> None:
    """Tail loads, pops and replace_tails of a ``long``-message session vs a short one.

    Pops and replace_tails cut the appended session, and with ``cut_saved`` the saved one
    too (each timed cut then followed by an untimed save that puts it back).
    """
    messages = [Message.from_dict(d) for d in text_messages(1_000)]
    saved, short = [messages[n % len(messages)] for n in range(long)], messages[:SHORT]
    await _long_session(big, messages, long)
    await big.save("saved", saved)
    await small.save("short", short)
    for built, sid in (("appended", "long"), ("saved at once", "saved")):
        report.add(
            f"load: tail 20 of {long:,} ({built}) vs all of {SHORT}",
            await measure(
                [
                    (f"tail of {long:,}", partial(big.load, sid, start=-20), None),
                    (f"all of {SHORT}", partial(small.load, "short"), None),
                ],
                repeats,
            ),
            2.0,
        )
    last = messages[0]
    resets: dict[str, tuple[Reset, Reset]] = {
        "long": (partial(big.append, "long", [last]), partial(small.append, "short", [last])),
        "saved": (partial(big.save, "saved", saved), partial(small.save, "short", short)),
    }
    cuts = (("appended", "long"), ("saved at once", "saved")) if cut_saved else (("", "long"),)
    for built, sid in cuts:
        label = f" ({built})" if built else ""
        big_reset, small_reset = resets[sid]
        popped: list[Side] = [
            (f"of {long:,}", partial(big.pop, sid), big_reset),
            (f"of {SHORT}", partial(small.pop, "short"), small_reset),
        ]
        what = f"pop 1: session of {long:,}{label} vs of {SHORT}"
        report.add(what, await measure(popped, repeats), 2.0)
        if sid == "long":
            big_reset = small_reset = None  # the same length after a replace_tail
        replaced: list[Side] = [
            (f"of {long:,}", partial(big.replace_tail, sid, -2, [last, last]), big_reset),
            (f"of {SHORT}", partial(small.replace_tail, "short", -2, [last, last]), small_reset),
        ]
        what = f"replace_tail(-2, 2 messages): session of {long:,}{label} vs of {SHORT}"
        report.add(what, await measure(replaced, repeats), 2.0)


async def namespace_page(
    report: Report,
    crowded: SessionStore,
    alone: SessionStore,
    repeats: int,
    others: int,
    *,
    batch: int = 250,
) -> None:
    """A 1,000-session namespace's page and count beside ``others`` sessions vs alone.

    The crowded store already holds the others; the tenant's sessions are written here
    through the API, ``batch`` appends at a time.
    """
    await _tenant(crowded, batch)
    await _tenant(alone, batch)
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


# -- SQLite ----------------------------------------------------------------------------


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


async def _sqlite_sides(report: Report, tmp: str, repeats: int, long: int, others: int) -> None:
    async with (
        SQLiteSessionStore(os.path.join(tmp, "long.db")) as big,
        SQLiteSessionStore(os.path.join(tmp, "short.db")) as small,
    ):
        await long_vs_short(report, big, small, repeats, long)
    crowded_path, alone_path = os.path.join(tmp, "crowded.db"), os.path.join(tmp, "alone.db")
    async with SQLiteSessionStore(crowded_path):
        pass  # the schema
    await asyncio.to_thread(_bulk_other_namespaces, crowded_path, others)
    async with (
        SQLiteSessionStore(crowded_path) as crowded,
        SQLiteSessionStore(alone_path) as alone,
    ):
        await namespace_page(report, crowded, alone, repeats, others)


async def bench_sqlite(args: argparse.Namespace) -> Report:
    """The SQLite comparisons, each side on its own file (WAL, synchronous=FULL)."""
    report = Report("SQLite")
    repeats, long, others = sizes(args)
    with tempfile.TemporaryDirectory(prefix="bench-contract2-", dir=args.url) as tmp:
        await _sqlite_sides(report, tmp, repeats, long, others)
    report.notes.append(
        f"The long session is built by {long // 100:,} appends of 100 ~200-character "
        "messages (merged runs of small segments), or by one save (split into ~32 KiB "
        "segments); the short one by one save. pop and "
        "replace_tail keep the lengths: an untimed append after each pop."
    )
    report.notes.append(
        f"The {others:,} other sessions (100 namespaces) are bulk-inserted with SQL in the "
        "store's schema; the tenant's 1,000 are written through the API on both sides."
    )
    return report


def _imported(module: str, name: str) -> Callable[[argparse.Namespace], Awaitable[Report]]:
    """``module.name``, imported when the backend is chosen (its driver is an extra)."""

    async def bench(args: argparse.Namespace) -> Report:
        backend: Callable[[argparse.Namespace], Awaitable[Report]]
        backend = getattr(importlib.import_module(module), name)
        return await backend(args)

    return bench


#: ``--backend`` name -> the coroutine that measures it.
BACKENDS: dict[str, Callable[[argparse.Namespace], Awaitable[Report]]] = {
    "sqlite": bench_sqlite,
    "postgres": _imported("bench_contract2_postgres", "bench_postgres"),
    "redis": _imported("bench_contract2_redis", "bench_redis"),
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="sqlite")
    parser.add_argument(
        "--url",
        default=None,
        help="the server to use (postgres, redis); for sqlite, the directory for the files",
    )
    parser.add_argument(
        "--crowd", type=int, default=None, help="sessions in other namespaces (default 1,000,000)"
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
    # The backend modules import this one by name: let them share this run's module.
    sys.modules.setdefault("bench_contract2", sys.modules[__name__])
    main(sys.argv[1:])
