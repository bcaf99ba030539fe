"""What data at rest costs (issue 14): encryption and zstd against the same store without them.

For each backend in ``BACKENDS`` (``--backend``), four stores side by side,
each on its own database (file, database or key prefix): plain, encrypted,
zstd, encrypted + zstd. Append (one message to a session of N), load (the
whole session of N) and overwrite (save N messages over N) run interleaved
across the four, and each cell is the median of the paired ratios to the
plain store (lower is better; 1.00x = free). Then the storage each store
takes for the same sessions, with and without zstd. Run ``--help``.

Adding a backend: a ``Backend`` entry with ``urls`` (an async context manager
yielding a function that returns the URL of a fresh, empty store) and ``size``
(the bytes a store at a URL takes, or None where it cannot be told).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

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
from sessionstore import Encryption, SessionStore, open_store

#: The sides, each compared with "plain": (name, open_store options).
_KEYS = Encryption({"bench": os.urandom(32)})
SIDES: list[tuple[str, dict[str, Any]]] = [
    ("plain", {}),
    ("encrypted", {"encryption": _KEYS}),
    ("zstd", {"compression": "zstd"}),
    ("encrypted+zstd", {"encryption": _KEYS, "compression": "zstd"}),
]
SIZE_SESSIONS = 20  # sessions written for the storage-size table


@dataclass(frozen=True)
class Backend:
    """How the benchmark reaches one backend's fresh stores and measures their size."""

    urls: Callable[[], AbstractAsyncContextManager[Callable[[], str]]]
    size: Callable[[str], int | None]


@asynccontextmanager
async def _sqlite_urls() -> AsyncIterator[Callable[[], str]]:
    with tempfile.TemporaryDirectory(prefix="bench-rest-") as directory:
        numbers = iter(range(10**6))
        yield lambda: f"sqlite:///{directory}/store-{next(numbers)}.db"


def _sqlite_size(url: str) -> int:
    """The file's size after a checkpoint and VACUUM (free pages dropped)."""
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
    return os.path.getsize(path)


#: Every backend the benchmark knows; the PostgreSQL and Redis sides add theirs here.
BACKENDS: dict[str, Backend] = {
    "sqlite": Backend(urls=_sqlite_urls, size=_sqlite_size),
}


async def _cost_rows(stores: dict[str, SessionStore], n: int, repeats: int) -> list[list[str]]:
    """Append, load and overwrite at ``n`` messages: each side's ratio to the plain store."""
    messages = text_messages(n + 8)
    window = rotating_windows(messages, n)
    extra = text_messages(1, seed=11)
    for store in stores.values():
        await store.save("s", messages[:n])

    def side(operation: str, store: SessionStore) -> Callable[[], Any]:
        if operation == "append":
            return lambda: store.append("s", extra)
        if operation == "load":
            return lambda: store.load("s")
        return lambda: store.save("s", window())

    rows: list[list[str]] = []
    for operation in ("overwrite", "load", "append"):
        sides = [(name, side(operation, store)) for name, store in stores.items()]
        results = await measure_interleaved(sides, repeats)
        plain = results["plain"]
        cells = [f"{paired_ratio(results[name], plain):.2f}x" for name, _ in SIDES[1:]]
        rows.append([operation, f"{n:,}", *cells])
        if operation == "append":  # keep the session at n for the next size's comparisons
            for store in stores.values():
                await store.save("s", messages[:n])
    return rows


async def _size_rows(backend: Backend, new_url: Callable[[], str], n: int) -> list[list[str]]:
    messages = text_messages(n)
    sizes: dict[str, int | None] = {}
    for name, options in SIDES:
        url = new_url()
        async with open_store(url, **options) as store:
            for number in range(SIZE_SESSIONS):
                await store.save(f"s{number}", messages)
        sizes[name] = backend.size(url)
    plain = sizes["plain"]
    rows = []
    for name, _ in SIDES:
        size = sizes[name]
        shown = "n/a" if size is None else f"{size / 1e6:.2f} MB"
        ratio = "" if size is None or not plain else f"{size / plain:.2f}x"
        rows.append([name, f"{SIZE_SESSIONS} x {n:,}", shown, ratio])
    return rows


async def run(name: str, sizes: list[int], repeats: int) -> str:
    backend = BACKENDS[name]
    async with backend.urls() as new_url:
        stores = {side: open_store(new_url(), **options) for side, options in SIDES}
        try:
            for store in stores.values():
                await store.__aenter__()
            cost: list[list[str]] = []
            for n in sizes:
                cost += await _cost_rows(stores, n, repeats)
        finally:
            for store in stores.values():
                await store.close()
        size_rows = await _size_rows(backend, new_url, 1000)
    header = ["operation", "N", *(f"{side} / plain" for side, _ in SIDES[1:])]
    return "\n\n".join(
        [
            f"## Data at rest: {name} ({repeats} interleaved repeats)",
            machine_description(),
            markdown_table(header, cost),
            markdown_table(["store", "sessions", "size", "/ plain"], size_rows),
        ]
    )


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="sqlite")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    sizes = args.sizes or ([1000] if args.quick else [1000, 10000])
    repeats = args.repeats or (5 if args.quick else 25)
    emit(asyncio.run(run(args.backend, sizes, repeats)), args.output)


if __name__ == "__main__":
    main()
