"""Big transcripts (issue 12): a 100,000-message session on every backend against raw drivers.

For SQLite, PostgreSQL, Redis and memory: whole load, tail load (last 20),
append 1 and overwrite (``save`` of all N messages), ours against a raw
baseline doing the same work with the bare driver (``_raw_sqlite.RawRows``,
``_raw_servers.RawPostgres`` / ``RawRedis``, a dict of ``orjson`` payload lists
for memory), sides interleaved, each side in its own database. The same runs
at 10k, 30k and 100k give the per-message cost growth (nothing may be
quadratic). Peak RSS: each operation once more at the largest N in a fresh
subprocess that resets the kernel's peak-RSS mark just before the operation
and then reports its ``VmHWM`` (not ``getrusage``'s ``ru_maxrss``: the kernel folds
the peak into it whenever a thread exits, so a reset does not reach it). ``--help`` for options.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from _harness import (
    Stats,
    agent_messages,
    argument_parser,
    emit,
    format_seconds,
    machine_description,
    markdown_table,
    measure_interleaved,
    package_version,
    paired_ratio,
    rotating_windows,
)
from _raw_servers import RawPostgres, RawRedis
from _raw_sqlite import RawRows
from _servers import postgres_server, redis_server
from compare_server_peers import _postgres_databases, _redis_databases
from sessionstore import InMemorySessionStore, SessionStore, open_store

Messages = list[dict[str, Any]]
TAIL = 20
OPERATIONS = ("load", "tail 20", "append 1", "overwrite")


class RawMemory:
    """What a careful user keeps in memory: a dict of ``orjson`` payload lists."""

    def __init__(self, _: str = "") -> None:
        self._data: dict[str, list[bytes]] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()

    async def save(self, session_id: str, messages: Messages) -> None:
        self._data[session_id] = [orjson.dumps(m) for m in messages]

    async def append(self, session_id: str, messages: Messages) -> None:
        self._data.setdefault(session_id, []).extend(orjson.dumps(m) for m in messages)

    async def load(self, session_id: str) -> list[Any]:
        return [orjson.loads(p) for p in self._data[session_id]]

    async def tail(self, session_id: str, count: int) -> list[Any]:
        return [orjson.loads(p) for p in self._data[session_id][-count:]]


@dataclass(slots=True)
class Backend:
    """Where one backend's two sides live: ours (a store URL or path) and raw (a target)."""

    label: str
    ours: str
    raw_kind: str
    raw_target: str


@dataclass(slots=True)
class Results:
    timings: dict[tuple[str, str, int], dict[str, Stats]] = field(default_factory=dict)
    rss: dict[tuple[str, str], dict[str, tuple[int, int]]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def open_raw(kind: str, target: str) -> Any:
    kinds: dict[str, Callable[[str], Any]] = {
        "sqlite": lambda path: RawRows(path, "full"),
        "postgres": RawPostgres,
        "redis": RawRedis,
        "memory": RawMemory,
    }
    return kinds[kind](target)


def open_ours(target: str) -> SessionStore:
    if target == "memory":
        return InMemorySessionStore()
    return open_store(target)


def operation_sides(
    operation: str, sid: str, store: SessionStore, raw: Any, messages: Messages, n: int
) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    """The two sides of one operation on session ``sid`` of ``n`` messages."""
    if operation == "load":
        return [("ours", lambda: store.load(sid)), ("raw", lambda: raw.load(sid))]
    if operation == "tail 20":
        return [
            ("ours", lambda: store.load(sid, start=-TAIL)),
            ("raw", lambda: raw.tail(sid, TAIL)),
        ]
    if operation == "append 1":
        one = [messages[n % len(messages)]] if messages else []
        return [("ours", lambda: store.append(sid, one)), ("raw", lambda: raw.append(sid, one))]
    ours_window, raw_window = rotating_windows(messages, n), rotating_windows(messages, n)
    return [
        ("ours", lambda: store.save(sid, ours_window())),
        ("raw", lambda: raw.save(sid, raw_window())),
    ]


async def time_backend(
    backend: Backend, sizes: Sequence[int], repeats: dict[str, int], results: Results
) -> None:
    """Every operation at every size, ours and raw interleaved."""
    messages = agent_messages(max(sizes) + 8)
    raw = open_raw(backend.raw_kind, backend.raw_target)
    await raw.open()
    try:
        async with open_ours(backend.ours) as store:
            for n in sizes:
                sid = f"big-{n}"
                await store.save(sid, messages[:n])
                await raw.save(sid, messages[:n])
                for operation in OPERATIONS:
                    sides = operation_sides(operation, sid, store, raw, messages, n)
                    stats = await measure_interleaved(sides, repeats[operation])
                    results.timings[(backend.label, operation, n)] = stats
                    print(f"  {backend.label} {operation} N={n:,}: " + ", ".join(
                        f"{k} {format_seconds(v.median)}" for k, v in stats.items()
                    ), file=sys.stderr, flush=True)  # fmt: skip
    finally:
        await raw.close()


def measure_rss(backend: Backend, n: int, results: Results) -> None:
    """Each operation once per side in a fresh subprocess at ``n`` messages (raw, ours, ...)."""
    for operation in OPERATIONS:
        cell: dict[str, tuple[int, int]] = {}
        for side in ("raw", "ours"):
            target = backend.ours if side == "ours" else backend.raw_target
            command = [sys.executable, __file__, "--rss-child", side, backend.raw_kind,
                       target, operation, str(n)]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                results.skipped[f"{backend.label} RSS {operation} {side}"] = done.stderr[-300:]
                continue
            before, peak = json.loads(done.stdout.strip().splitlines()[-1])
            cell[side] = (before, peak)
        results.rss[(backend.label, operation)] = cell


def _reset_peak() -> int:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux ``clear_refs`` 5); that RSS."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
        clear_refs.write("5")
    return _status_kib("VmRSS")


def _status_kib(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (VmRSS: resident now, VmHWM: its peak)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


async def rss_child(side: str, kind: str, target: str, operation: str, n: int) -> None:
    """Run one operation on session ``big-{n}`` and print [RSS before, peak RSS] in KiB."""
    import gc

    needs_input = kind == "memory" or operation in ("append 1", "overwrite")
    messages = agent_messages(n + 8) if needs_input else []
    sid = f"big-{n}"
    if side == "ours":
        store: Any = open_ours(target)
        await store.__aenter__()
        raw = None
    else:
        store, raw = None, open_raw(kind, target)
        await raw.open()
    if kind == "memory":  # nothing persists between processes: fill this one first
        await (store.save(sid, messages[:n]) if raw is None else raw.save(sid, messages[:n]))
    work = dict(operation_sides(operation, sid, store, raw, messages, n))[side]
    gc.collect()
    before = _reset_peak()
    await work()
    peak = _status_kib("VmHWM")
    print(json.dumps([before, peak]))
    if raw is None:
        await store.__aexit__(None, None, None)
    else:
        await raw.close()


def growth_rows(results: Results, sizes: Sequence[int]) -> list[list[str]]:
    """Per-message cost (load, overwrite) or per-call cost (tail, append) at each N."""
    rows = []
    labels = sorted({key[0] for key in results.timings}, key=BACKEND_ORDER.index)
    for label in labels:
        for operation in OPERATIONS:
            per_message = operation in ("load", "overwrite")
            for side in ("ours", "raw"):
                costs = []
                for n in sizes:
                    stats = results.timings.get((label, operation, n))
                    if stats is None:
                        break
                    costs.append(stats[side].median / (n if per_message else 1))
                if len(costs) != len(sizes):
                    continue
                shown = [format_seconds(c) for c in costs]
                rows.append([label, operation, side, "per message" if per_message else "per call",
                             *shown, f"{costs[-1] / costs[0]:.2f}x"])  # fmt: skip
    return rows


BACKEND_ORDER = ["SQLite", "PostgreSQL", "Redis", "memory"]


def timing_rows(results: Results, n: int) -> list[list[str]]:
    rows = []
    for (label, operation, size), stats in results.timings.items():
        if size != n:
            continue
        ours, raw = stats["ours"], stats["raw"]
        rows.append([label, operation, format_seconds(ours.median), format_seconds(raw.median),
                     f"{paired_ratio(ours, raw):.2f}x"])  # fmt: skip
    return rows


def rss_rows(results: Results) -> list[list[str]]:
    def mib(kib: int) -> str:
        return f"{kib / 1024:.0f} MiB"

    rows = []
    for (label, operation), cell in results.rss.items():
        shown = []
        for side in ("ours", "raw"):
            before, peak = cell.get(side, (0, 0))
            shown += [mib(peak), f"+{mib(peak - before)}"] if side in cell else ["n/a", "n/a"]
        rows.append([label, operation, *shown])
    return rows


def render(results: Results, sizes: Sequence[int], repeats: dict[str, int]) -> str:
    big = max(sizes)
    sized = ", ".join(f"{n:,}" for n in sizes)
    parts = [
        f"# Big transcripts: {big:,} messages, ours vs raw drivers",
        "",
        f"Run: {machine_description()}. Packages: sessionstore {package_version('sessionstore')}, "
        f"psycopg {package_version('psycopg')}, redis {package_version('redis')}. "
        f"Messages: harness agent_messages ({_megabytes(big)} MB of orjson at N={big:,}). "
        f"Repeats per cell (interleaved, shuffled order, 1 warmup): {repeats}.",
        "",
        f"## Time at N = {big:,} (medians; ratio = median of per-round ours/raw)",
        "",
        markdown_table(
            ["backend", "operation", "ours", "raw", "ours/raw"], timing_rows(results, big)
        ),
        "",
        f"## Growth with N = {sized}: last / first (1.00x = linear; quadratic would be "
        f"{big / sizes[0]:.0f}x)",
        "",
        markdown_table(
            ["backend", "operation", "side", "cost", *(f"N={n:,}" for n in sizes), "growth"],
            growth_rows(results, sizes),
        ),
        "",
        f"## Peak RSS at N = {big:,}: one operation in a fresh subprocess",
        "",
        "`peak` is the child's `VmHWM` (peak resident set); `+` is peak minus the "
        "resident size just before the operation (after imports, opening and, for append and "
        "overwrite, building the input dicts; for memory, after filling the store), where the "
        "child resets the kernel's peak mark (`/proc/self/clear_refs` 5), so `+` is what the "
        "operation itself added at its peak.",
        "",
        markdown_table(
            ["backend", "operation", "ours peak", "ours +", "raw peak", "raw +"], rss_rows(results)
        ),
    ]
    parts += ["", *(f"- skipped {k}: {v}" for k, v in results.skipped.items())]
    return "\n".join(parts)


def _megabytes(n: int) -> str:
    return f"{sum(len(orjson.dumps(m)) for m in agent_messages(n)) / 1e6:.1f}"


async def run_backend(
    backend: Backend, args: argparse.Namespace, repeats: dict[str, int], results: Results
) -> None:
    print(f"{backend.label}...", file=sys.stderr, flush=True)
    try:
        await time_backend(backend, args.sizes, repeats, results)
        if not args.no_rss:
            measure_rss(backend, max(args.sizes), results)
    except Exception as exc:  # one backend failing is reported, the others still run
        results.skipped[backend.label] = f"{type(exc).__name__}: {str(exc)[:200]}"


async def main_async(args: argparse.Namespace) -> str:
    repeats = (
        {"load": 3, "tail 20": 5, "append 1": 5, "overwrite": 2}
        if args.quick
        else {"load": 7, "tail 20": 21, "append 1": 21, "overwrite": 5}
    )
    results = Results()
    wanted = args.only.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-big-") as tmp:
        if "sqlite" in wanted:
            ours, raw = f"sqlite:///{tmp}/ours.db", os.path.join(tmp, "raw.db")
            await run_backend(Backend("SQLite", ours, "sqlite", raw), args, repeats, results)
    if "postgres" in wanted:
        with postgres_server() as server:
            if server.url is None:
                results.skipped["PostgreSQL"] = server.reason
            else:
                ours, raw = await _postgres_databases(server.url, 2)
                backend = Backend("PostgreSQL", ours, "postgres", raw)
                await run_backend(backend, args, repeats, results)
    if "redis" in wanted:
        with redis_server() as server:
            if server.url is None:
                results.skipped["Redis"] = server.reason
            else:
                ours, raw = _redis_databases(server.url, 2)
                await run_backend(Backend("Redis", ours, "redis", raw), args, repeats, results)
    if "memory" in wanted:
        await run_backend(Backend("memory", "memory", "memory", ""), args, repeats, results)
    return render(results, args.sizes, repeats)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument("--only", default="sqlite,postgres,redis,memory")
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS subprocesses")
    parser.add_argument("--rss-child", nargs=5, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = args.sizes or ([1_000, 3_000, 10_000] if args.quick else [10_000, 30_000, 100_000])
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.rss_child:
        side, kind, target, operation, n = args.rss_child
        asyncio.run(rss_child(side, kind, target, operation, int(n)))
        return
    emit(asyncio.run(main_async(args)), args.output)


if __name__ == "__main__":
    main(sys.argv[1:])
