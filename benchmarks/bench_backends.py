"""Our stores against hand-written raw-driver baselines, in one run (issues 2 and 3).

For each backend (SQLite, PostgreSQL, Redis) the same workload runs through
our public API and through a baseline that uses the driver directly with
``orjson``, interleaved (ABAB) so machine noise hits both sides alike.
Ratios are ours / raw: lower is better. Run ``--help`` for the options.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from _harness import (
    Stats,
    Target,
    argument_parser,
    emit,
    format_range,
    format_seconds,
    machine_description,
    markdown_table,
    measure_interleaved,
    package_version,
    paired_ratio,
    rotating_windows,
    text_messages,
)
from _servers import postgres_server, redis_server
from sessionstore import ListOptions, Message, SessionStore, open_store

Messages = list[dict[str, Any]]
LIST_LIMIT = 50


@dataclass(slots=True)
class Baseline:
    """One raw implementation; ``append`` is None when the layout has no cheap append."""

    name: str
    load: Callable[[str], Awaitable[object]]
    save: Callable[[str, Messages], Awaitable[None]]
    list_newest: Callable[[int], Awaitable[object]] | None
    populate: Callable[[int, str], Awaitable[None]] | None
    append: Callable[[str, Messages], Awaitable[None]] | None = None


@dataclass(slots=True)
class Settings:
    sizes: list[int]
    list_sessions: int
    repeats: dict[str, int]
    populate_concurrency: int = 1000


@dataclass(slots=True)
class Section:
    """The rows and ratios of one backend."""

    label: str
    rows: list[list[str]] = field(default_factory=list)
    ratios: dict[tuple[str, int, str], float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: str = ""

    def add(self, operation: str, n: int, results: dict[str, Stats]) -> None:
        """Rows for every side; sides named ``ours...`` are ours, the rest baselines.

        The ratio column is ``ours`` / this; another of our sides (``ours (dicts)``) gets
        its ratios to each baseline under ``operation (dicts)``.
        """
        ours = results["ours"]
        for name, stats in results.items():
            ratio = ""
            if name.startswith("ours (") and name.endswith(")"):
                variant = f"{operation} {name[len('ours ') :]}"
                for other, base in results.items():
                    if not other.startswith("ours"):
                        self.ratios[(variant, n, other)] = paired_ratio(stats, base)
            elif name != "ours":
                self.ratios[(operation, n, name)] = paired_ratio(ours, stats)
                ratio = f"{self.ratios[(operation, n, name)]:.2f}x"
            self.rows.append(
                [
                    self.label,
                    operation,
                    f"{n:,}",
                    name,
                    format_seconds(stats.median),
                    format_range(stats),
                    ratio,
                ]
            )


async def populate_ours(
    store: SessionStore, count: int, prefix: str, message: Message, concurrency: int
) -> float:
    """Create ``count`` one-message sessions via the public API, ``concurrency`` appends at a
    time (SQLite's group commit batches them); return the seconds taken."""
    started = time.perf_counter()
    for start in range(0, count, concurrency):
        await asyncio.gather(
            *(
                store.append(f"{prefix}{i}", [message])
                for i in range(start, min(count, start + concurrency))
            )
        )
    return time.perf_counter() - started


async def run_section(
    section: Section, store: SessionStore, baselines: Sequence[Baseline], settings: Settings
) -> None:
    """The whole workload for one backend: append, load, overwrite at each N, then list."""
    tag = f"r{time.time_ns() % 10**9}-"
    largest = max(settings.sizes)
    dicts = text_messages(largest + 200)
    typed = [Message.from_dict(d) for d in dicts]
    for n in settings.sizes:
        append_id, load_id = f"{tag}append-{n}", f"{tag}load-{n}"
        await store.save(append_id, typed[:n])
        await store.save(load_id, typed[:n])
        assert await store.load(load_id) == typed[:n], "our store did not load what it saved"
        for baseline in baselines:
            await baseline.save(append_id, dicts[:n])
            await baseline.save(load_id, dicts[:n])
            loaded = await baseline.load(load_id)
            assert isinstance(loaded, list) and len(loaded) == n, f"{baseline.name} lost data"
        next_index = _cycler(n, len(dicts))
        append_sides: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("ours", _bind_append(store.append, append_id, typed, next_index))
        ]
        for baseline in baselines:
            if baseline.append is not None:
                append_sides.append(
                    (baseline.name, _bind_append(baseline.append, append_id, dicts, next_index))
                )
        if len(append_sides) > 1:
            section.add(
                "append 1", n, await measure_interleaved(append_sides, settings.repeats["append"])
            )

        load_sides: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("ours", _bind_load(store.load, load_id))
        ]
        load_sides += [(b.name, _bind_load(b.load, load_id)) for b in baselines]
        section.add("load", n, await measure_interleaved(load_sides, settings.repeats["load"]))

        save_sides: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("ours", _bind_save(store.save, load_id, rotating_windows(typed, n))),
            ("ours (dicts)", _bind_save(store.save, load_id, rotating_windows(dicts, n))),
        ]
        save_sides += [
            (b.name, _bind_save(b.save, load_id, rotating_windows(dicts, n))) for b in baselines
        ]
        section.add("overwrite", n, await measure_interleaved(save_sides, settings.repeats["save"]))

    listers = [b for b in baselines if b.list_newest is not None and b.populate is not None]
    if listers:
        await run_listing(section, store, listers, settings, f"{tag}list-", typed[0])


async def run_listing(
    section: Section,
    store: SessionStore,
    listers: Sequence[Baseline],
    settings: Settings,
    prefix: str,
    message: Message,
) -> None:
    """Fill both sides with ``settings.list_sessions`` sessions, then time listing the newest."""
    concurrency = settings.populate_concurrency
    seconds = await populate_ours(store, settings.list_sessions, prefix, message, concurrency)
    section.notes.append(
        f"{section.label}: {settings.list_sessions:,} sessions for the listing were created "
        f"through our public API ({concurrency:,} concurrent one-message appends at a time) in "
        f"{seconds:.1f} s; the raw side's index was bulk-loaded directly (one statement or "
        "pipelined batches)."
    )
    for baseline in listers:
        assert baseline.populate is not None
        await baseline.populate(settings.list_sessions, prefix)
    options = ListOptions(limit=LIST_LIMIT, newest_first=True)
    list_sides: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("ours", lambda: store.list_paginated(options))
    ]
    for baseline in listers:
        assert baseline.list_newest is not None
        list_sides.append((baseline.name, _bind_list(baseline.list_newest)))
    total = settings.list_sessions + 2 * len(settings.sizes)
    section.add(
        f"list newest {LIST_LIMIT} of ~{total:,}",
        settings.list_sessions,
        await measure_interleaved(list_sides, settings.repeats["list"]),
    )


def _cycler(start: int, size: int) -> Callable[[], int]:
    """A function returning start, start+1, ... modulo ``size``: which message to append next."""
    counter = iter(range(start, start + 10**9))
    return lambda: next(counter) % size


def _bind_append(
    append: Callable[[str, Any], Awaitable[object]],
    sid: str,
    messages: Sequence[Any],
    next_index: Callable[[], int],
) -> Callable[[], Awaitable[object]]:
    return lambda: append(sid, [messages[next_index()]])


def _bind_load(
    load: Callable[[str], Awaitable[object]], sid: str
) -> Callable[[], Awaitable[object]]:
    return lambda: load(sid)


def _bind_save(
    save: Callable[[str, Any], Awaitable[object]], sid: str, window: Callable[[], Sequence[Any]]
) -> Callable[[], Awaitable[object]]:
    return lambda: save(sid, window())


def _bind_list(list_newest: Callable[[int], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
    return lambda: list_newest(LIST_LIMIT)


async def bench_sqlite(
    settings: Settings, durability: Literal["full", "normal"]
) -> tuple[Section, list[Target]]:
    """SQLiteSessionStore against raw sqlite3 rows and raw sqlite3 blob, same pragmas.

    Each side has a database file of its own, so none pays for another's WAL checkpoints.
    """
    from _raw_sqlite import RawBlob, RawRows

    section = Section(f"SQLite ({durability})")
    try:
        from sessionstore import SQLiteSessionStore
    except ImportError as exc:
        section.skipped = f"SQLiteSessionStore not importable: {exc}"
        return section, []
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as tmp:
        rows = RawRows(os.path.join(tmp, "raw-rows.db"), durability)
        blob = RawBlob(os.path.join(tmp, "raw-blob.db"), durability)
        baselines = [
            Baseline(
                "raw rows",
                rows.load,
                rows.save,
                rows.list_newest,
                rows.populate_sessions,
                append=rows.append,
            ),
            Baseline("raw blob", blob.load, blob.save, None, None),
        ]
        try:
            await rows.open()
            await blob.open()
            async with SQLiteSessionStore(
                os.path.join(tmp, "ours.db"), durability=durability
            ) as store:
                await run_section(section, store, baselines, settings)
        finally:
            await rows.close()
            await blob.close()
    section.notes.append(
        f"SQLite: every side WAL + synchronous={durability.upper()}, each on its own file; raw "
        "sides run sqlite3 on a worker thread of their own awaited from asyncio; raw rows keeps "
        "a session row (seq, count, timestamps, version) like ours."
    )
    return section, sqlite_targets(section, max(settings.sizes))


def sqlite_targets(section: Section, big: int) -> list[Target]:
    """The SQLite targets, on the largest N measured."""
    ratios = section.ratios
    lister = next((k for k in ratios if k[0].startswith("list")), None)
    return [
        Target(
            f"SQLite append at N={big:,} vs raw rows",
            ratios.get(("append 1", big, "raw rows")),
            1.5,
        ),
        Target(
            f"SQLite load at N={big:,} vs raw blob+orjson",
            ratios.get(("load", big, "raw blob")),
            1.0,
        ),
        Target(
            f"SQLite overwrite at N={big:,} vs raw blob upsert (Message input)",
            ratios.get(("overwrite", big, "raw blob")),
            1.5,
        ),
        Target(
            f"SQLite overwrite at N={big:,} vs raw blob upsert (dict input)",
            ratios.get(("overwrite (dicts)", big, "raw blob")),
            1.5,
        ),
        Target(
            "SQLite list newest 50 vs raw indexed query",
            ratios.get(lister) if lister else None,
            2.0,
        ),
    ]


async def bench_server(
    label: str, url: str, raw: Any, settings: Settings
) -> tuple[Section, list[Target]]:
    """Our store for ``url`` against a raw-driver baseline object on the same server."""
    section = Section(label)
    await raw.open()
    baseline = Baseline(
        "raw driver", raw.load, raw.save, raw.list_newest, raw.populate_sessions, append=raw.append
    )
    try:
        async with open_store(url) as store:
            await run_section(section, store, [baseline], settings)
    finally:
        await raw.close()
    section.notes.append(f"{label}: raw driver = {raw.describe}; same server, its own tables/keys.")
    targets = []
    for n in settings.sizes:
        for operation in ("append 1", "load", "overwrite", "overwrite (dicts)"):
            ratio = section.ratios.get((operation, n, "raw driver"))
            targets.append(Target(f"{label} {operation} at N={n:,} vs raw driver", ratio, 1.5))
    return section, targets


async def main_async(args: argparse.Namespace) -> str:
    settings = Settings(
        sizes=args.sizes or ([10, 1000] if args.quick else [10, 1000, 10000]),
        list_sessions=args.list_sessions or (5_000 if args.quick else 100_000),
        repeats=(
            {"append": 5, "load": 5, "save": 3, "list": 5}
            if args.quick
            else {"append": 41, "load": 15, "save": 9, "list": 31}
        ),
    )
    sections: list[Section] = []
    targets: list[Target] = []
    wanted = set(args.only.split(","))
    if "sqlite" in wanted:
        section, found = await bench_sqlite(settings, args.durability)
        sections.append(section)
        targets += found
    # Server stores hold a bounded connection pool: populate them 64 appends at a time.
    server_settings = Settings(
        settings.sizes, min(settings.list_sessions, 10_000), settings.repeats, 64
    )
    if "postgres" in wanted:
        from _raw_servers import RawPostgres

        with postgres_server(args.postgres_url) as server:
            if server.url is None:
                sections.append(Section("PostgreSQL", skipped=server.reason))
            else:
                section, found = await _guarded(
                    "PostgreSQL",
                    bench_server(
                        "PostgreSQL", server.url, RawPostgres(server.url), server_settings
                    ),
                )
                sections.append(section)
                targets += found
    if "redis" in wanted:
        from _raw_servers import RawRedis

        with redis_server(args.redis_url) as server:
            if server.url is None:
                sections.append(Section("Redis", skipped=server.reason))
            else:
                section, found = await _guarded(
                    "Redis",
                    bench_server("Redis", server.url, RawRedis(server.url), server_settings),
                )
                sections.append(section)
                targets += found
    return render(sections, targets, settings)


async def _guarded(
    label: str, work: Awaitable[tuple[Section, list[Target]]]
) -> tuple[Section, list[Target]]:
    """Run one backend's benchmark; a missing backend or server becomes a skipped section."""
    try:
        return await work
    except (ImportError, OSError) as exc:
        return Section(label, skipped=f"{type(exc).__name__}: {exc}"), []
    except Exception as exc:  # a backend still being written: report, keep the other rows
        return Section(label, skipped=f"failed: {type(exc).__name__}: {exc}"), []


def render(sections: Sequence[Section], targets: Sequence[Target], settings: Settings) -> str:
    header = ["backend", "operation", "N", "implementation", "median", "min-max", "ours / this"]
    rows = [row for section in sections for row in section.rows]
    rows += [[s.label, "—", "—", "skipped", s.skipped, "", ""] for s in sections if s.skipped]
    repeats = ", ".join(f"{k} {v}" for k, v in settings.repeats.items())
    parts = [
        "# sessionstore: our backends vs raw drivers",
        "",
        f"Run: {machine_description()}",
        f"Packages: sessionstore {package_version('sessionstore')}, msgspec "
        f"{package_version('msgspec')}, orjson {package_version('orjson')}, psycopg "
        f"{package_version('psycopg')}, redis {package_version('redis')}; "
        f"SQLite {_sqlite_version()}.",
        "Repeats per cell (sides interleaved, order shuffled each round, 1 warmup): "
        f"{repeats}. Times are medians; ratios are medians of the per-repeat ratios. "
        "Messages: ~200-char user/assistant text turns.",
        "",
        markdown_table(header, rows),
        "",
        "Targets (ours / reference, lower is better):",
        "",
        *(t.line() for t in targets),
        "",
        *(f"- {note}" for s in sections for note in s.notes),
    ]
    return "\n".join(parts)


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument("--durability", choices=["full", "normal"], default="full")
    parser.add_argument("--only", default="sqlite,postgres,redis")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    emit(asyncio.run(main_async(args)), args.output)


if __name__ == "__main__":
    main(sys.argv[1:])
