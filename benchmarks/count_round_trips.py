"""Count what one PostgreSQL append sends to the server (issue 12): the statements it logs.

Starts a throwaway server the way the benchmarks do, turns on
``log_statement = 'all'`` (``ALTER SYSTEM`` + reload), opens our store, runs a
warmup append, then ``--appends`` appends to one session between two marker
statements, and prints every statement the server logged for them, per append.
Each logged statement is one client/server round trip (the store does not
pipeline); a pool's checkout or return adds none unless a statement shows up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

import psycopg

from _harness import text_messages
from _servers import postgres_server
from sessionstore import Message, open_store

MARK_START = "SELECT 'bench-round-trips-start'"
MARK_END = "SELECT 'bench-round-trips-end'"


async def run_appends(url: str, appends: int) -> str:
    """Log every statement, run ``appends`` appends between two markers; the log's path."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        await admin.execute("ALTER SYSTEM SET log_statement = 'all'")
        await admin.execute("SELECT pg_reload_conf()")
        cursor = await admin.execute("SHOW data_directory")
        row = await cursor.fetchone()
        assert row is not None
        log_path = os.path.join(os.path.dirname(row[0]), "log")
        await asyncio.sleep(0.5)  # the reload reaches new backends at their start
        messages = [Message.from_dict(d) for d in text_messages(appends + 1)]
        async with open_store(url) as store:
            await store.append("warmup", messages[:1])
            await admin.execute(MARK_START)
            for message in messages[1:]:
                await store.append("counted", [message])
            await admin.execute(MARK_END)
    await asyncio.sleep(0.5)
    return log_path


def logged_statements(log_path: str) -> list[str]:
    """The statements the server logged between the markers."""
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        log = handle.read()
    window = log.split(MARK_START, 1)[1].split(MARK_END, 1)[0]
    statements = []
    for line in window.splitlines():
        if "statement: " in line:
            statements.append(line.split("statement: ", 1)[1])
        elif "execute " in line and ": " in line:
            statements.append(line.split(": ", 2)[-1])
    return [statement for statement in statements if statement.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--appends", type=int, default=5)
    args = parser.parse_args(argv)
    with postgres_server() as server:
        if server.url is None:
            print(f"skipped: {server.reason}")
            return
        statements = logged_statements(asyncio.run(run_appends(server.url, args.appends)))
    print(f"{len(statements)} statements for {args.appends} appends "
          f"({len(statements) / args.appends:g} per append):")  # fmt: skip
    for statement in statements:
        print(f"- {' '.join(statement.split())[:300]}")


if __name__ == "__main__":
    main(sys.argv[1:])
