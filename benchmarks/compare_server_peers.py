"""Our PostgreSQL and Redis stores against the server stores users would otherwise pick (issue 12).

PostgreSQL: the OpenAI Agents SDK's ``SQLAlchemySession`` (postgresql+asyncpg) and
langchain-postgres ``PostgresChatMessageHistory``. Redis: the SDK's ``RedisSession``
and langchain-redis ``RedisChatMessageHistory`` (where it works: it needs the
RediSearch module, which Debian's redis-server lacks). Each side has its own
database on one server started here (``fsync=on``, ``synchronous_commit`` as the
server has it; Redis as Debian configures it), sides interleaved in a shuffled
order each round, ratios = that side's time / ours. ``--help`` for options.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import psycopg

from _harness import (
    argument_parser,
    emit,
    machine_description,
    markdown_table,
    package_version,
)
from _peers import Adapter
from _server_peers import POSTGRES_PEERS, REDIS_PEERS, OursServerAdapter
from _servers import postgres_server, redis_server
from compare_peers import Report, run_sizes


async def _postgres_databases(url: str, count: int) -> list[str]:
    """``count`` fresh databases on the server at ``url``; their URLs."""
    base, _, _ = url.rpartition("/")
    urls = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        for index in range(count):
            name = f"bench_side_{index}"
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await connection.execute(f'CREATE DATABASE "{name}"')
            urls.append(f"{base}/{name}")
    return urls


def _redis_databases(url: str, count: int) -> list[str]:
    base = url.rstrip("/").rpartition("/")[0] if url.count("/") > 2 else url.rstrip("/")
    return [f"{base}/{index + 1}" for index in range(count)]


async def _open_sides(
    ours_name: str, kinds: Sequence[type[Adapter]], urls: Sequence[str]
) -> tuple[list[Adapter], dict[str, str]]:
    adapters: list[Adapter] = [OursServerAdapter(urls[0], ours_name)]
    adapters += [kind(url) for kind, url in zip(kinds, urls[1:], strict=True)]
    opened, skipped = [], {}
    for adapter in adapters:
        try:
            await adapter.open()
        except Exception as exc:  # a peer that cannot install or open is reported, not fatal
            skipped[adapter.name] = f"{type(exc).__name__}: {str(exc)[:160]}"
            continue
        opened.append(adapter)
    return opened, skipped


async def _section(
    title: str,
    ours_name: str,
    kinds: Sequence[type[Adapter]],
    urls: Sequence[str],
    sizes: Sequence[int],
    repeats: dict[str, int],
) -> str:
    adapters, skipped = await _open_sides(ours_name, kinds, urls)
    report = Report(ours=ours_name)
    if not adapters or adapters[0].name != ours_name:
        return f"## {title}\n\nour store did not open: {skipped}\n"
    try:
        await run_sizes(adapters, sizes, repeats, report)
    finally:
        for adapter in adapters:
            await adapter.close()
    rows = list(report.rows) + [["—", "—", n, "skipped", why, ""] for n, why in skipped.items()]
    header = ["operation", "N", "store", "median", "min-max", "this / ours (time)"]
    notes = [f"- {a.name}: {a.layout}" for a in adapters]
    return "\n".join([f"## {title}", "", markdown_table(header, rows), "", *notes, ""])


async def main_async(args: argparse.Namespace) -> str:
    sizes = args.sizes or ([10, 1000] if args.quick else [1000, 10000])
    repeats = (
        {"append": 3, "load": 3, "save": 3} if args.quick else {"append": 31, "load": 15, "save": 9}
    )
    if args.append_repeats:
        repeats["append"] = args.append_repeats
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("sessionstore", "openai-agents", "SQLAlchemy", "asyncpg", "psycopg",
                     "langchain-postgres", "redis", "langchain-redis")
    )  # fmt: skip
    parts = [
        "# sessionstore vs the server stores users would otherwise pick",
        "",
        f"Run: {machine_description()}. Packages: {versions}. Repeats per cell: {repeats}.",
        "",
    ]
    wanted = args.only.split(",")
    with postgres_server(args.postgres_url) as postgres:
        if "postgres" not in wanted:
            pass
        elif postgres.url is None:
            parts.append(f"PostgreSQL skipped: {postgres.reason}")
        else:
            urls = await _postgres_databases(postgres.url, 1 + len(POSTGRES_PEERS))
            parts.append(
                await _section(
                    "PostgreSQL", "sessionstore PostgresSessionStore", POSTGRES_PEERS, urls,
                    sizes, repeats,
                )
            )  # fmt: skip
    with redis_server(args.redis_url) as redis:
        if "redis" not in wanted:
            pass
        elif redis.url is None:
            parts.append(f"Redis skipped: {redis.reason}")
        else:
            urls = _redis_databases(redis.url, 1 + len(REDIS_PEERS))
            parts.append(
                await _section(
                    "Redis", "sessionstore RedisSessionStore", REDIS_PEERS, urls, sizes, repeats
                )
            )
    return "\n".join(parts)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument("--postgres-url", default=None, help="use this server, not a fresh one")
    parser.add_argument("--redis-url", default=None, help="use this server, not a fresh one")
    parser.add_argument("--only", default="postgres,redis", help="postgres, redis or both")
    parser.add_argument("--append-repeats", type=int, default=None, help="rounds per append cell")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    emit(asyncio.run(main_async(args)), args.output)


if __name__ == "__main__":
    main(sys.argv[1:])
