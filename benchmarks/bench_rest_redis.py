"""What data at rest costs on Redis (issue 14): encryption and zstd against the plain store.

``bench_rest.py`` (the SQLite helper's, not yet on main when this was written)
measures the same for its backends; this module is Redis's side, runnable alone::

    python benchmarks/bench_rest_redis.py [--quick] [--sizes 1000,10000] [--url redis://...]

Four stores side by side, each on its own database of one server: plain,
encrypted, zstd, encrypted + zstd (the last three keep the chunked layout).
Append (one message to a session of N), load (the whole session of N), tail
(``load(start=-20)``) and overwrite (save N messages over N) run interleaved
across the four; each cell is the median of the paired ratios to the plain
store (lower is better; 1.00x = free). Then the memory each store takes for the
same sessions (``MEMORY USAGE`` summed over its keys), with and without zstd.
Without ``--url`` it starts a throwaway ``redis-server``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import redis.asyncio

from _harness import (
    argument_parser,
    emit,
    machine_description,
    markdown_table,
    measure_interleaved,
    paired_ratio,
    rotating_windows,
    text_messages,
)
from _servers import redis_server
from sessionstore import Encryption, RedisSessionStore

_KEYS = Encryption({"bench": os.urandom(32)})
#: The sides, each compared with "plain": (name, store options).
SIDES: list[tuple[str, dict[str, Any]]] = [
    ("plain", {}),
    ("encrypted", {"encryption": _KEYS}),
    ("zstd", {"compression": "zstd"}),
    ("encrypted+zstd", {"encryption": _KEYS, "compression": "zstd"}),
]
SIZE_SESSIONS = 20
_PREFIX = "bench-rest:"


def _database(url: str, index: int) -> str:
    return f"{url.rsplit('/', 1)[0]}/{index}"


async def _flush(url: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def _memory(url: str) -> int:
    """The bytes the keys of ``url``'s database take (``MEMORY USAGE``, all samples)."""
    client = redis.asyncio.Redis.from_url(url)
    try:
        total = 0
        async for key in client.scan_iter(count=1000):
            total += int(await client.memory_usage(key, samples=0) or 0)
        return total
    finally:
        await client.aclose()


async def _cost_rows(stores: dict[str, RedisSessionStore], n: int, repeats: int) -> list[list[str]]:
    messages = text_messages(n + 8)
    window = rotating_windows(messages, n)
    extra = text_messages(1, seed=11)
    operations: dict[str, Callable[[RedisSessionStore], Callable[[], Any]]] = {
        "overwrite": lambda store: lambda: store.save("s", window()),
        "load": lambda store: lambda: store.load("s"),
        "tail 20": lambda store: lambda: store.load("s", start=-20),
        "append": lambda store: lambda: store.append("s", extra),
    }
    rows: list[list[str]] = []
    for operation, make in operations.items():
        for store in stores.values():
            await store.save("s", messages[:n])
        sides = [(name, make(store)) for name, store in stores.items()]
        results = await measure_interleaved(sides, repeats)
        plain = results["plain"]
        cells = [f"{paired_ratio(results[name], plain):.2f}x" for name, _ in SIDES[1:]]
        rows.append([operation, f"{n:,}", f"{plain.median * 1e3:.2f} ms", *cells])
    return rows


async def _size_rows(url: str, n: int) -> list[list[str]]:
    messages = text_messages(n)
    sizes: dict[str, int] = {}
    for index, (name, options) in enumerate(SIDES, start=len(SIDES) + 1):
        database = _database(url, index)
        await _flush(database)
        async with RedisSessionStore(database, key_prefix=_PREFIX, **options) as store:
            for number in range(SIZE_SESSIONS):
                await store.save(f"s{number}", messages)
        sizes[name] = await _memory(database)
        await _flush(database)
    return [
        [name, f"{SIZE_SESSIONS} x {n:,}", f"{size / 1e6:.2f} MB", f"{size / sizes['plain']:.2f}x"]
        for name, size in sizes.items()
    ]


async def run(url: str, sizes: list[int], repeats: int) -> str:
    stores: dict[str, RedisSessionStore] = {}
    for index, (name, options) in enumerate(SIDES, start=1):
        database = _database(url, index)
        await _flush(database)
        stores[name] = RedisSessionStore(database, key_prefix=_PREFIX, **options)
    try:
        cost: list[list[str]] = []
        for n in sizes:
            cost += await _cost_rows(stores, n, repeats)
    finally:
        for index, store in enumerate(stores.values(), start=1):
            await store.close()
            await _flush(_database(url, index))
    size_rows = await _size_rows(url, 1000)
    header = ["operation", "N", "plain", *(f"{side} / plain" for side, _ in SIDES[1:])]
    return "\n\n".join(
        [
            f"## Data at rest: redis ({repeats} interleaved repeats)",
            machine_description(),
            markdown_table(header, cost),
            markdown_table(["store", "sessions", "memory", "/ plain"], size_rows),
        ]
    )


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--url", default=None, help="a Redis server to use (databases 1-8)")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    sizes = args.sizes or ([1000] if args.quick else [1000, 10000])
    repeats = args.repeats or (5 if args.quick else 25)
    with redis_server(args.url) as server:
        if server.url is None:
            raise SystemExit(f"no Redis server: {server.reason}")
        emit(asyncio.run(run(server.url, sizes, repeats)), args.output)


if __name__ == "__main__":
    main()
