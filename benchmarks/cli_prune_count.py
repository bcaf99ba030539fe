"""``prune --dry-run --older-than`` counting: one ``scan`` pass against paging by offset (issue 17).

Fills a SQLite store with N sessions (300,000 by default; ``--sessions``), copies
the file so each side reads its own database, then times, interleaved in a
fresh random order each round, how long each side takes to count the sessions
``prune --older-than --keep-newest 1`` would delete:

- *offset*: the former ``count_prunable``, ``list_paginated`` page by page by
  offset (each page costs its offset: quadratic in N);
- *scan*: the current ``count_prunable``, one pass of ``store.scan``.

Prints the median and the min-max of each side and the ratio offset / scan.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sessionstore import ListOptions, SessionStore, open_store
from sessionstore.cli.maintenance import count_prunable

PAGE = 500


async def offset_count(store: SessionStore, before: datetime, keep_newest: int) -> int:
    """The former way: page by offset up to the candidates."""
    candidates = max(0, await store.count() - keep_newest)
    doomed = offset = 0
    while offset < candidates:
        limit = min(PAGE, candidates - offset)
        page = await store.list_paginated(ListOptions(offset=offset, limit=limit))
        doomed += sum(1 for record in page if record.updated_at < before)
        if len(page) < limit:
            break
        offset += len(page)
    return doomed


async def fill(path: Path, sessions: int) -> None:
    async with open_store(f"sqlite:///{path}") as store:
        message = [{"role": "user", "content": "hello"}]
        batch = 1000
        for start in range(0, sessions, batch):
            await asyncio.gather(
                *(store.save(f"s{n:07d}", message) for n in range(start, start + batch))
            )


async def timed(url: str, side: str, before: datetime) -> tuple[float, int]:
    async with open_store(url) as store:
        await store.count()  # the store is open before the clock starts
        began = time.perf_counter()
        if side == "offset":
            result = await offset_count(store, before, 1)
        else:
            result = await count_prunable(store, updated_before=before, keep_newest=1)
        return time.perf_counter() - began, result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "base.db"
        await fill(base, args.sessions)
        urls = {}
        for side in ("offset", "scan"):
            copy = Path(scratch) / f"{side}.db"
            shutil.copy(base, copy)
            urls[side] = f"sqlite:///{copy}"
        before = datetime.now(UTC)
        times: dict[str, list[float]] = {"offset": [], "scan": []}
        rng = random.Random(17)
        for _ in range(args.rounds):
            sides = list(times)
            rng.shuffle(sides)
            counts = set()
            for side in sides:
                seconds, counted = await timed(urls[side], side, before)
                times[side].append(seconds)
                counts.add(counted)
            assert len(counts) == 1, counts  # both sides count the same sessions
        print(f"| side | median s | min-max s | ({args.sessions:,} sessions) |")
        print("| --- | --- | --- | --- |")
        for side, values in times.items():
            spread = f"{min(values):.3f}-{max(values):.3f}"
            print(f"| {side} | {statistics.median(values):.3f} | {spread} | |")
        ratio = statistics.median(times["offset"]) / statistics.median(times["scan"])
        print(f"offset / scan: {ratio:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
