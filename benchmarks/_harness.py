"""Shared benchmark machinery: timing, interleaving, message generation, Markdown tables.

The benchmarks compare two or more implementations *in the same run* on a
shared, noisy machine, so every measurement interleaves the sides (A, B, A,
B...) and reports the median with the min-max range rather than one number.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, TypeVar

T = TypeVar("T")

Operation = Callable[[], Awaitable[object]]

_WORDS = tuple(
    " ".join(
        [
            "the user asked about deployment logs and the assistant suggested checking the",
            "retry policy before scaling the worker pool because latency spikes usually come",
            "from cold caches rather than the database itself so we should compare last week's",
            "numbers with today's traffic and look for a pattern in the error budget report",
        ]
    ).split()
)


def text_of_length(rng: random.Random, length: int = 200) -> str:
    """A sentence-like string of about ``length`` characters."""
    parts: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(_WORDS)
        parts.append(word)
        size += len(word) + 1
    return (" ".join(parts))[:length].rstrip() + "."


def text_messages(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` alternating user/assistant text turns of ~200 characters, as JSON dicts."""
    rng = random.Random(seed)
    roles = ("user", "assistant")
    return [{"role": roles[i % 2], "content": text_of_length(rng)} for i in range(count)]


def agent_messages(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """Agent-like traffic as JSON dicts: mostly ~200-char turns, every 10th pair a tool call.

    Positions 10k+2 and 10k+3 are an assistant ``tool_use`` and its ``tool`` result.
    """
    rng = random.Random(seed)
    result: list[dict[str, Any]] = []
    for i in range(count):
        slot = i % 10
        if slot == 2:
            result.append(
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": text_of_length(rng, 80)},
                        {
                            "type": "tool_use",
                            "id": f"toolu_{i}",
                            "name": "search_logs",
                            "input": {"query": text_of_length(rng, 40), "limit": 20},
                        },
                    ],
                }
            )
        elif slot == 3:
            result.append(
                {
                    "role": "tool",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": f"toolu_{i - 1}",
                            "content": text_of_length(rng, 200),
                        }
                    ],
                }
            )
        else:
            role = "user" if slot % 2 == 0 else "assistant"
            result.append({"role": role, "content": text_of_length(rng)})
    return result


@dataclass(slots=True)
class Stats:
    """Wall-clock samples of one operation, in seconds."""

    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)


def paired_ratio(numerator: Stats, denominator: Stats) -> float:
    """Median of the per-repeat ratios: each pair ran back to back, so slow drift cancels."""
    return statistics.median(
        a / b for a, b in zip(numerator.samples, denominator.samples, strict=True)
    )


async def measure_interleaved(
    sides: Sequence[tuple[str, Operation]], repeats: int, warmup: int = 1, seed: int = 5
) -> dict[str, Stats]:
    """Run each side's operation ``repeats`` times, interleaved, after a warmup.

    Every round runs each side once, in a fresh random order (seeded, so runs
    repeat): every side lands in every position and after every neighbour, so
    none always follows the same expensive one (a big fsync, a cold cache). A
    fixed rotation (A B C, B C A, ...) would not do that: it keeps the cycle,
    so B would follow A in every round but the ones it opens.
    """
    for _ in range(warmup):
        for _, operation in sides:
            await operation()
    results = {name: Stats() for name, _ in sides}
    order = list(sides)
    shuffle = random.Random(seed).shuffle
    for _ in range(repeats):
        shuffle(order)
        for name, operation in order:
            started = time.perf_counter()
            await operation()
            results[name].samples.append(time.perf_counter() - started)
    return results


def rotating_windows(messages: Sequence[T], size: int, count: int = 7) -> Callable[[], list[T]]:
    """A function returning ``size``-message windows at offsets 1, 2, ... ``count``, cycling.

    Overwrites must change the bytes: SQLite rewrites an equal-sized blob in place and
    skips pages whose content did not change, so saving identical content over and
    over measures far less I/O than a real overwrite does.
    """
    windows = [list(messages[offset : offset + size]) for offset in range(1, count + 1)]
    counter = iter(range(10**9))
    return lambda: windows[next(counter) % count]


class WorkerThread:
    """One worker thread that blocking calls are awaited on (a single-thread executor)."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the worker thread and await its result."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    def shutdown(self) -> None:
        """Stop the thread after pending work."""
        self._executor.shutdown(wait=True)


def format_seconds(seconds: float) -> str:
    """A duration with a unit that keeps 3 significant digits."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def format_range(stats: Stats) -> str:
    """``min-max`` of the samples."""
    return f"{format_seconds(stats.low)}-{format_seconds(stats.high)}"


@dataclass(slots=True)
class Target:
    """A ratio target; by default ``ours / reference <= limit`` (lower is better).

    With ``at_least=True`` the ratio must reach ``limit`` instead (e.g. a throughput ratio).
    """

    description: str
    ratio: float | None
    limit: float
    at_least: bool = False
    label: str = "ours/reference"

    @property
    def verdict(self) -> str:
        if self.ratio is None:
            return "SKIPPED"
        met = self.ratio >= self.limit if self.at_least else self.ratio <= self.limit
        return "PASS" if met else "MISS"

    def line(self) -> str:
        shown = "n/a" if self.ratio is None else f"{self.ratio:.2f}x"
        relation = ">=" if self.at_least else "<="
        return (
            f"- {self.verdict}: {self.description}: {self.label} = {shown} "
            f"(target {relation} {self.limit:g}x)"
        )


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def package_version(name: str) -> str:
    """The installed version of distribution ``name``, or ``not installed``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_description() -> str:
    """nproc, CPU model, Python version and the date, for the report header."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; {os.cpu_count()} CPUs ({cpu}); "
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}; "
        "machine shared with other jobs (noisy)"
    )


def emit(report: str, output: str | None) -> None:
    """Print the report and, when ``output`` is given, write it there too."""
    print(report)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(report + "\n")


def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every benchmark takes: --quick, --sizes, --list-sessions, -o."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true", help="few repeats, N up to 1,000")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=None)
    parser.add_argument("--list-sessions", type=int, default=None)
    parser.add_argument("-o", "--output", default=None, help="also write the Markdown here")
    return parser
