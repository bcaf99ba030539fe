"""Data at rest on PostgreSQL: what encryption and zstd compression cost, and what zstd saves.

Four stores, each on its own database of one throwaway server: plain (neither
option), encrypted (AES-256-GCM), compressed (zstd) and both. For 1,000 and
10,000 messages, interleaved in a fresh random order every round:

- append: ``append`` of one message to a session of N messages (sealed stores
  read and reseal the small last segment: two round trips);
- load: ``load()`` of the N messages;
- overwrite: ``save`` of N messages over N (windows that change the bytes).

Each cell is the median of per-round ratios to the plain store. Storage: the
bytes of the stored segments of the N-message session (``octet_length`` of the
payloads), plain vs each option. ``--quick`` for a short run.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg import sql

from _harness import (
    argument_parser,
    emit,
    machine_description,
    markdown_table,
    measure_interleaved,
    package_version,
    paired_ratio,
    rotating_windows,
    text_messages,
)
from _servers import postgres_server
from sessionstore import Encryption, Message, PostgresSessionStore

SIDES: dict[str, dict[str, Any]] = {
    "plain": {},
    "encrypted": {"encryption": Encryption({"k1": os.urandom(32)})},
    "compressed": {"compression": "zstd"},
    "both": {"encryption": Encryption({"k1": os.urandom(32)}), "compression": "zstd"},
}


def database_url(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server_url.rsplit("/", 1)[0] + f"/{name}"


Call = Callable[[PostgresSessionStore], Awaitable[Any]]


def timed_calls(n: int, one: list[Message], window: Callable[[], list[Message]]) -> dict[str, Call]:
    """The three measured calls on a store, for sessions of ``n`` messages."""

    async def append(store: PostgresSessionStore) -> Any:
        return await store.append(f"append-{n}", one)

    async def load(store: PostgresSessionStore) -> Any:
        return await store.load(f"load-{n}")

    async def overwrite(store: PostgresSessionStore) -> Any:
        return await store.save(f"save-{n}", window())

    return {"append": append, "load": load, "overwrite": overwrite}


def stored_bytes(url: str, session_id: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(octet_length(g.payload)), 0) FROM sessionstore_segments g"
            " JOIN sessionstore_sessions s ON s.key = g.key WHERE s.id = %s",
            (session_id,),
        ).fetchone()
    return int(row[0]) if row else 0


async def run(server_url: str, sizes: list[int], repeats: int) -> str:
    urls = {name: database_url(server_url, f"bench_rest_{name}") for name in SIDES}
    stores = {name: PostgresSessionStore(urls[name], **SIDES[name]) for name in SIDES}
    rows: list[list[str]] = []
    sizes_rows: list[list[str]] = []
    for store in stores.values():
        await store.open()
    try:
        for n in sizes:
            corpus = [Message.from_dict(m) for m in text_messages(n + 8)]
            window = rotating_windows(corpus, n)
            for store in stores.values():
                await store.save(f"load-{n}", corpus[:n])
                await store.save(f"append-{n}", corpus[:n])
            for operation, call in timed_calls(n, corpus[:1], window).items():
                sides = [(name, lambda s=store, c=call: c(s)) for name, store in stores.items()]
                results = await measure_interleaved(sides, repeats)
                ratios = [
                    f"{paired_ratio(results[name], results['plain']):.2f}x"
                    for name in SIDES
                    if name != "plain"
                ]
                median_ms = results["plain"].median * 1000
                rows.append([operation, f"{n:,}", f"{median_ms:.2f} ms", *ratios])
            plain_bytes = stored_bytes(urls["plain"], f"load-{n}")
            sizes_row = [f"{n:,}", f"{plain_bytes:,}"]
            for name in ("encrypted", "compressed", "both"):
                size = stored_bytes(urls[name], f"load-{n}")
                sizes_row.append(f"{size:,} ({size / plain_bytes:.2f}x)")
            sizes_rows.append(sizes_row)
    finally:
        for store in stores.values():
            await store.close()
    header = ["operation", "N", "plain (median)", "encrypted", "compressed", "both"]
    return "\n".join(
        [
            "# Data at rest on PostgreSQL: cost and size",
            "",
            f"{machine_description()}; sessionstore {package_version('sessionstore')}, "
            f"cryptography {package_version('cryptography')}, "
            f"zstandard {package_version('zstandard')}; {repeats} rounds per cell.",
            "",
            "Time, as a ratio to the plain store (lower is better):",
            "",
            markdown_table(header, rows),
            "",
            "Stored segment bytes of the N-message session:",
            "",
            markdown_table(["N", "plain", "encrypted", "compressed", "both"], sizes_rows),
        ]
    )


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--postgres-url", default=os.environ.get("SESSIONSTORE_BENCH_PG_URL"))
    args = parser.parse_args()
    sizes = args.sizes or [1_000, 10_000]
    repeats = 9 if args.quick else 31
    with postgres_server(args.postgres_url) as server:
        if server.url is None:
            sys.exit(f"no PostgreSQL server: {server.reason}")
        report = asyncio.run(run(server.url, sizes, repeats))
    emit(report, args.output)


if __name__ == "__main__":
    main()
