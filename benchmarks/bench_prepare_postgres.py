"""What turning psycopg's prepared statements off costs the PostgreSQL store (issue 15).

The store's pools open connections with ``prepare_threshold=None``, so that a
URL works unchanged behind PgBouncer in transaction pooling mode (which
before 1.21 cannot follow server-side prepared statements). This measures the
price on a direct connection: the same store API on two databases of one
throwaway server, each store given its own pool, identical but for psycopg's
``prepare_threshold`` (``None``: never prepare; ``5``: psycopg's default,
prepare a statement on its 5th run). Sides interleave in a fresh random order
every round; ratios (off / on, lower is better) are medians of per-round ratios.

Operations: append one message to a session of 100, load a session of 100,
save (overwrite) a session with 20 messages, and get one session's record.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

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
    paired_ratio,
    rotating_windows,
    text_messages,
)
from _servers import postgres_server
from sessionstore import Message, PostgresSessionStore

#: psycopg's own default: a statement is prepared on the server at its 5th execution.
PSYCOPG_DEFAULT_THRESHOLD = 5
#: The cost of prepare off that is "small" (off / on).
LIMIT = 1.10


def database_url(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server_url.rsplit("/", 1)[0] + f"/{name}"


async def open_pool(url: str, threshold: int | None) -> AsyncConnectionPool[Any]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=1,
        kwargs={"autocommit": True, "prepare_threshold": threshold},
        open=False,
    )
    await pool.open(wait=True)
    return pool


async def run(server_url: str, repeats: int) -> tuple[list[list[str]], list[Target]]:
    messages = [Message.from_dict(d) for d in text_messages(200)]
    window = rotating_windows(messages, 20)
    stores: dict[str, PostgresSessionStore] = {}
    pools = []
    for side, threshold in (("off", None), ("on", PSYCOPG_DEFAULT_THRESHOLD)):
        pool = await open_pool(database_url(server_url, f"bench_prepare_{side}"), threshold)
        pools.append(pool)
        stores[side] = PostgresSessionStore(pool=pool)
        await stores[side].open()
        await stores[side].save("loaded", messages[:100])
        await stores[side].save("appended", messages[:100])
        await stores[side].save("saved", messages[:20])
    operations: dict[str, Callable[[PostgresSessionStore], Callable[[], Awaitable[Any]]]] = {
        "append 1 to 100": lambda s: partial(s.append, "appended", messages[100:101]),
        "load 100": lambda s: partial(s.load, "loaded"),
        "save 20": lambda s: lambda: s.save("saved", window()),
        "get": lambda s: partial(s.get, "loaded"),
    }
    rows: list[list[str]] = []
    targets: list[Target] = []
    try:
        for what, make in operations.items():
            sides = [(f"prepare {side}", make(store)) for side, store in stores.items()]
            results: dict[str, Stats] = await measure_interleaved(sides, repeats, warmup=10)
            for name, stats in results.items():
                rows.append([what, name, format_seconds(stats.median), format_range(stats)])
            ratio = paired_ratio(results["prepare off"], results["prepare on"])
            targets.append(Target(what, ratio, LIMIT, label="prepare off / on"))
    finally:
        for store in stores.values():
            await store.close()
        for pool in pools:
            await pool.close()
    return rows, targets


def main() -> int:
    args = argument_parser(__doc__).parse_args()
    repeats = 100 if args.quick else 1_000
    with postgres_server() as server:
        if server.url is None:
            emit(f"PostgreSQL benchmark skipped: {server.reason}", args.output)
            return 0
        rows, targets = asyncio.run(run(server.url, repeats))
    report = "\n".join(
        [
            "# psycopg prepared statements off vs on (PostgreSQL store, direct connection)",
            "",
            machine_description(),
            f"{repeats} rounds per operation, sides interleaved, each on its own database.",
            "",
            markdown_table(["operation", "side", "median", "min-max"], rows),
            "",
            *(target.line() for target in targets),
        ]
    )
    emit(report, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
