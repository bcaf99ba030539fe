"""Our SQLite store against the stores users would otherwise pick, in one run (issue 5).

Peers, each through its own public API on its own SQLite file, WAL +
``synchronous=FULL`` everywhere: the OpenAI Agents SDK's ``SQLiteSession``,
LangChain's ``SQLChatMessageHistory`` and LangGraph's ``AsyncSqliteSaver``.
Plus a raw ``sqlite3`` group-commit writer for the concurrent case. Sides are
interleaved (order shuffled each round) and medians reported with min-max. ``--help`` for options.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from _harness import (
    Stats,
    Target,
    agent_messages,
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
)
from _peers import PEERS, Adapter, OursAdapter
from _raw_sqlite import GroupCommitAppender

TASKS, APPENDS_PER_TASK = 64, 100
OURS = OursAdapter.name
RAW_GROUP_COMMIT = "raw sqlite3 group commit (1 writer thread)"


@dataclass(slots=True)
class Throughput:
    """Concurrent-append runs of one store: messages/s and p99 latency per run."""

    rates: list[float] = field(default_factory=list)
    p99s: list[float] = field(default_factory=list)
    error: str = ""


@dataclass(slots=True)
class Report:
    #: The side every ratio divides by.
    ours: str = OURS
    rows: list[list[str]] = field(default_factory=list)
    medians: dict[tuple[str, int, str], float] = field(default_factory=dict)
    ratios: dict[tuple[str, int, str], float] = field(default_factory=dict)
    throughput: dict[str, Throughput] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def add(self, operation: str, n: int, results: dict[str, Stats]) -> None:
        ours = results[self.ours]
        for name, stats in results.items():
            self.medians[(operation, n, name)] = stats.median
            self.ratios[(operation, n, name)] = paired_ratio(stats, ours)
            ratio = f"{self.ratios[(operation, n, name)]:.2f}x"
            self.rows.append(
                [
                    operation,
                    f"{n:,}",
                    name,
                    format_seconds(stats.median),
                    format_range(stats),
                    ratio,
                ]
            )


async def open_adapters(directory: str) -> tuple[list[Adapter], dict[str, str]]:
    """Our store and every peer that imports and opens; the others with the reason."""
    adapters: list[Adapter] = []
    skipped: dict[str, str] = {}
    kinds: list[type[Adapter]] = [OursAdapter, *PEERS]
    for index, kind in enumerate(kinds):
        adapter = kind(os.path.join(directory, f"{index}-{kind.package}.db"))
        try:
            await adapter.open()
        except Exception as exc:  # a peer that is not installed or fails to open is skipped
            skipped[kind.name] = f"{type(exc).__name__}: {exc}"
            continue
        adapters.append(adapter)
    return adapters, skipped


def check_length(name: str, loaded: Any, expected: int) -> None:
    """Refuse to report numbers for a store that did not keep what it was given."""
    found = None if loaded is None else len(loaded)
    if found != expected:
        raise RuntimeError(f"{name} loaded {found} messages, expected {expected}")


def _op(function: Callable[..., Awaitable[Any]], *args: Any) -> Callable[[], Awaitable[Any]]:
    return lambda: function(*args)


def _appender(
    adapter: Adapter, sid: str, messages: list[Any], counter: Iterator[int]
) -> Callable[[], Awaitable[Any]]:
    """Append the next message of ``messages`` (by ``counter``) to ``sid``."""
    return lambda: adapter.append(sid, messages[next(counter)])


def _overwriter(
    adapter: Adapter, sid: str, window: Callable[[], list[Any]]
) -> Callable[[], Awaitable[Any]]:
    """Overwrite ``sid`` with the next window of messages (the content changes every time)."""
    return lambda: adapter.overwrite(sid, window())


async def run_sizes(
    adapters: Sequence[Adapter], sizes: Sequence[int], repeats: dict[str, int], report: Report
) -> None:
    """Append one message to / load / overwrite a session of N, for each N."""
    dicts = agent_messages(max(sizes) + 500)
    native = {a.name: [a.convert(d) for d in dicts] for a in adapters}
    for n in sizes:
        for adapter in adapters:
            await adapter.overwrite(f"append-{n}", native[adapter.name][:n])
            await adapter.overwrite(f"load-{n}", native[adapter.name][:n])
            check_length(adapter.name, await adapter.load(f"load-{n}"), n)
        sides = [
            (a.name, _appender(a, f"append-{n}", native[a.name], iter(range(n, len(dicts)))))
            for a in adapters
        ]
        report.add("append 1", n, await measure_interleaved(sides, repeats["append"]))
        sides = [(a.name, _op(a.load, f"load-{n}")) for a in adapters]
        report.add("load", n, await measure_interleaved(sides, repeats["load"]))
        sides = [
            (a.name, _overwriter(a, f"load-{n}", rotating_windows(native[a.name], n)))
            for a in adapters
        ]
        report.add("overwrite", n, await measure_interleaved(sides, repeats["save"]))


async def run_listing(
    adapters: Sequence[Adapter], sessions: int, repeats: int, report: Report
) -> None:
    """Create ``sessions`` one-message sessions per store, then list the newest 50."""
    message = agent_messages(1)[0]
    for adapter in adapters:
        item = adapter.convert(message)
        started = time.perf_counter()
        if isinstance(adapter, OursAdapter):
            for start in range(0, sessions, 1000):
                batch = range(start, min(sessions, start + 1000))
                await asyncio.gather(*(adapter.append(f"list-{i}", item) for i in batch))
            how = "1,000 concurrent appends at a time"
        else:
            release = getattr(adapter, "release", None)
            for i in range(sessions):
                await adapter.append(f"list-{i}", item)
                if release is not None:
                    release(f"list-{i}")
            how = "one append after another"
        report.notes.append(
            f"listing setup, {adapter.name}: {sessions:,} sessions via its API ({how}) in "
            f"{time.perf_counter() - started:.1f} s"
        )
    sides = [(a.name, _op(a.list_newest, 50)) for a in adapters]
    report.add("list newest 50", sessions, await measure_interleaved(sides, repeats))


async def concurrent_appends(
    append: Callable[[str, Any], Awaitable[Any]], item: Any, prefix: str
) -> tuple[float, float]:
    """64 tasks x 100 one-message appends, each task its own session: (messages/s, p99 s)."""
    latencies: list[float] = []

    async def worker(task: int) -> None:
        sid = f"{prefix}{task}"
        for _ in range(APPENDS_PER_TASK):
            started = time.perf_counter()
            await append(sid, item)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(t) for t in range(TASKS)))
    elapsed = time.perf_counter() - started
    p99 = statistics.quantiles(latencies, n=100)[98]
    return TASKS * APPENDS_PER_TASK / elapsed, p99


async def run_concurrent(
    adapters: Sequence[Adapter], directory: str, repeats: int, report: Report
) -> None:
    message = agent_messages(1)[0]
    raw = GroupCommitAppender(os.path.join(directory, "raw-group-commit.db"), "full")
    raw.start()
    sides: list[tuple[str, Callable[[str, Any], Awaitable[Any]], Any, Adapter | None]] = [
        (a.name, a.append, a.convert(message), a) for a in adapters
    ]
    sides.append((RAW_GROUP_COMMIT, lambda sid, m: raw.append(sid, [m]), message, None))
    try:
        for run in range(repeats):
            for name, append, item, adapter in sides if run % 2 == 0 else reversed(sides):
                result = report.throughput.setdefault(name, Throughput())
                if result.error:
                    continue
                try:
                    rate, p99 = await concurrent_appends(append, item, f"conc{run}-")
                    if adapter is not None:
                        loaded = await adapter.load(f"conc{run}-{TASKS - 1}")
                        check_length(name, loaded, APPENDS_PER_TASK)
                except Exception as exc:  # a peer that fails under concurrency is reported
                    result.error = f"{type(exc).__name__}: {str(exc)[:120]}"
                    continue
                result.rates.append(rate)
                result.p99s.append(p99)
    finally:
        raw.stop()
    report.notes.append(
        f"raw group commit: {raw.transactions} transactions for "
        f"{repeats * TASKS * APPENDS_PER_TASK:,} appends (each drains all pending appends)."
    )


def durability_notes(adapters: Sequence[Adapter]) -> list[str]:
    """What journal mode each file ended in and which synchronous level each side uses."""
    notes = []
    for adapter in adapters:
        with contextlib.closing(sqlite3.connect(adapter.path)) as connection:
            (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        if isinstance(adapter, OursAdapter):
            how = "durability='full' (its connection sets synchronous=FULL)"
        elif adapter.package == "openai-agents":
            with contextlib.closing(sqlite3.connect(":memory:")) as connection:
                (level,) = connection.execute("PRAGMA synchronous").fetchone()
            how = (
                f"sets WAL itself; synchronous left at SQLite's default = {level} "
                f"({'FULL' if level == 2 else 'not FULL'}), not changeable via its API"
            )
        else:
            how = "we set PRAGMA journal_mode=WAL, synchronous=FULL on its connections"
        notes.append(f"durability, {adapter.name}: file journal_mode={mode}; {how}")
    return notes


def targets(report: Report, sizes: Sequence[int], peers: Sequence[str]) -> list[Target]:
    found: list[Target] = []
    checks = [(op, n) for op in ("append 1", "load", "overwrite") for n in sizes if n >= 1000]
    checks += [(op, n) for (op, n, _) in report.medians if op.startswith("list")]
    for operation, n in dict.fromkeys(checks):
        ratios = [
            report.ratios[(operation, n, p)] for p in peers if (operation, n, p) in report.ratios
        ]
        ratio = min(ratios) if ratios else None
        found.append(
            Target(
                f"{operation} at N={n:,}: ours vs fastest peer",
                ratio,
                2.0,
                at_least=True,
                label="fastest peer time / ours",
            )
        )
    ours_rate = (
        statistics.median(report.throughput[OURS].rates)
        if report.throughput.get(OURS) and report.throughput[OURS].rates
        else None
    )

    def rate_ratio(name: str) -> float | None:
        other = report.throughput.get(name)
        if ours_rate is None or other is None or not other.rates:
            return None
        return ours_rate / statistics.median(other.rates)

    found.append(
        Target(
            "concurrent appends vs SQLiteSession",
            rate_ratio("openai-agents SQLiteSession"),
            15.0,
            at_least=True,
            label="ours msgs/s / theirs",
        )
    )
    found.append(
        Target(
            "concurrent appends vs raw group commit",
            rate_ratio(RAW_GROUP_COMMIT),
            0.7,
            at_least=True,
            label="ours msgs/s / raw",
        )
    )
    return found


def render(
    report: Report, adapters: Sequence[Adapter], found: Sequence[Target], repeats: dict[str, int]
) -> str:
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in (
            "sessionstore",
            "msgspec",
            "openai-agents",
            "langchain-community",
            "langchain-core",
            "SQLAlchemy",
            "aiosqlite",
            "langgraph-checkpoint-sqlite",
            "langgraph-checkpoint",
        )
    )
    rows = list(report.rows)
    rows += [["—", "—", name, "skipped", reason, ""] for name, reason in report.skipped.items()]
    ours = report.throughput.get(OURS)
    ours_rate = statistics.median(ours.rates) if ours and ours.rates else None
    concurrent_rows = []
    for name, result in report.throughput.items():
        if result.error or not result.rates:
            concurrent_rows.append([name, "failed", result.error, "", ""])
            continue
        rate = statistics.median(result.rates)
        concurrent_rows.append(
            [
                name,
                f"{rate:,.0f}",
                f"{min(result.rates):,.0f}-{max(result.rates):,.0f}",
                format_seconds(statistics.median(result.p99s)),
                "" if ours_rate is None else f"{ours_rate / rate:.2f}x",
            ]
        )
    parts = [
        "# sessionstore vs the stores users would otherwise pick (SQLite, WAL + synchronous=FULL)",
        "",
        f"Run: {machine_description()}; SQLite {sqlite3.sqlite_version}.",
        f"Packages: {versions}.",
        "Messages: agent traffic, ~200-char user/assistant turns with a tool call + tool result "
        "in every 10 messages. Repeats per cell (sides interleaved, order shuffled each "
        "round, 1 warmup; times are medians, ratios medians of per-repeat ratios): "
        + ", ".join(f"{k} {v}" for k, v in repeats.items())
        + ".",
        "",
        markdown_table(
            ["operation", "N", "store", "median", "min-max", "this / ours (time)"], rows
        ),
        "",
        f"Concurrent appends: {TASKS} asyncio tasks x {APPENDS_PER_TASK} one-message appends, "
        "each task its own session (medians over runs):",
        "",
        markdown_table(
            ["store", "messages/s", "min-max", "p99 per append", "ours / this (msgs/s)"],
            concurrent_rows,
        ),
        "",
        "Targets:",
        "",
        *(t.line() for t in found),
        "",
        "How each store was used:",
        "",
        *(f"- {a.name}: {a.layout}; listing: {a.list_how}" for a in adapters),
        *(f"- {note}" for note in durability_notes(adapters)),
        *(f"- {note}" for note in report.notes),
    ]
    return "\n".join(parts)


async def main_async(args: argparse.Namespace) -> str:
    sizes = args.sizes or ([10, 1000] if args.quick else [10, 1000, 10000])
    sessions = args.list_sessions or (1_000 if args.quick else 10_000)
    repeats = (
        {"append": 3, "load": 3, "save": 3, "list": 5, "concurrent": 1}
        if args.quick
        else {"append": 15, "load": 9, "save": 7, "list": 21, "concurrent": 3}
    )
    report = Report()
    with tempfile.TemporaryDirectory(prefix="bench-peers-", dir=args.dir) as directory:
        adapters, report.skipped = await open_adapters(directory)
        if not adapters or not isinstance(adapters[0], OursAdapter):
            raise SystemExit(f"our SQLite store did not open: {report.skipped}")
        try:
            await run_sizes(adapters, sizes, repeats, report)
            await run_listing(adapters, sessions, repeats["list"], report)
            await run_concurrent(adapters, directory, repeats["concurrent"], report)
        finally:
            for adapter in adapters:
                await adapter.close()
        peers = [a.name for a in adapters[1:] if not a.reference]
        return render(report, adapters, targets(report, sizes, peers), repeats)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument("--dir", default=None, help="where the SQLite files go (default: tmp)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    emit(asyncio.run(main_async(args)), args.output)


if __name__ == "__main__":
    main(sys.argv[1:])
