"""Round-2 contract costs on PostgreSQL: ``bench_contract2.py``'s comparisons for this backend.

``python benchmarks/bench_contract2.py --backend postgres [--quick] [--url ...]`` (or this
script, the same). Without ``--url`` it starts a throwaway PostgreSQL server; each side
uses its own database of that server. The other namespaces' sessions are inserted with
SQL straight into the table (records without transcripts: listing never reads one).
"""

from __future__ import annotations

import argparse
import sys

import psycopg
from psycopg import sql

import bench_contract2
from _servers import postgres_server
from bench_contract2 import LONG, Report, long_vs_short, namespace_page, sizes
from sessionstore import PostgresSessionStore


def database_url(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def crowd(url: str, count: int) -> None:
    """``count`` sessions in 100 other namespaces, straight into the store's table."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sessionstore_sessions (namespace, id, message_count, created_at,"
            " updated_at, version, seq, tail_start, tail_bytes)"
            " SELECT 'other-' || (i %% 100), 'session-' || i, 0, 1, 1, 1,"
            " nextval('sessionstore_seq'), 0, 0 FROM generate_series(1, %s) AS i",
            (count,),
        )
        conn.execute("VACUUM ANALYZE sessionstore_sessions")


async def _sides(report: Report, server_url: str, repeats: int, others: int) -> None:
    long_db = database_url(server_url, "bench_long")
    short_db = database_url(server_url, "bench_short")
    async with PostgresSessionStore(long_db) as big, PostgresSessionStore(short_db) as small:
        await long_vs_short(report, big, small, repeats, LONG)
    crowded_db = database_url(server_url, "bench_crowded")
    alone_db = database_url(server_url, "bench_alone")
    async with PostgresSessionStore(crowded_db):
        pass  # the schema
    crowd(crowded_db, others)
    async with (
        PostgresSessionStore(crowded_db) as crowded,
        PostgresSessionStore(alone_db) as alone,
    ):
        await namespace_page(report, crowded, alone, repeats, others, batch=50)


async def bench_postgres(args: argparse.Namespace) -> Report:
    """The PostgreSQL comparisons, each side on its own database of one server."""
    report = Report("PostgreSQL")
    repeats, _, others = sizes(args)
    with postgres_server(args.url) as server:
        if server.url is None:
            report.notes.append(f"skipped: PostgreSQL unavailable: {server.reason}")
            return report
        await _sides(report, server.url, repeats, others)
    report.notes.append(
        f"The long session ({LONG:,} messages, --quick too) is built by {LONG // 100:,} "
        "appends of 100 ~200-character messages, or by one save (split into 16 KiB "
        "segments); pop is followed by an untimed append, so the lengths stay."
    )
    report.notes.append(
        f"The {others:,} other sessions (100 namespaces) are inserted with SQL into the "
        "store's table; the tenant's 1,000 are written through the API on both sides."
    )
    return report


if __name__ == "__main__":
    bench_contract2.main(["--backend", "postgres", *sys.argv[1:]])
