"""Round-2 contract costs on Redis: ``bench_contract2.py``'s comparisons for this backend.

``bench_contract2.py`` measures each pushed-down operation against its cheap
counterpart as ratios, sides interleaved; this module opens the Redis sides, and
that script's ``BACKENDS`` runs it (this script does the same)::

    python benchmarks/bench_contract2.py --backend redis [--quick] [--url redis://host:port]

Without ``--url`` it starts a throwaway ``redis-server`` (no persistence). Each
side uses its own database index of that server:

- tail: ``load(start=-20)`` of a 100,000-message session (built by appends of
  100, or by one save) vs ``load()`` of a 20-message session;
- pop 1 and replace_tail(-2, 2 messages) of the 100,000-message session vs of the
  20-message one;
- a namespace's page (``list_paginated``, 50 newest first at offset 500) and
  ``count()`` beside 1,000,000 sessions of 100 other namespaces vs alone.
"""

from __future__ import annotations

import argparse
import sys

import redis.asyncio

import bench_contract2
from _servers import redis_server
from bench_contract2 import Report, long_vs_short, namespace_page, sizes
from sessionstore import RedisSessionStore

#: Creates ARGV[2] empty sessions of namespace ARGV[1] (its key base) named
#: ``session-<n>`` from ARGV[3] on, laid out as the store writes them.
_BULK_SESSIONS = """
local base, count, first = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for n = first, first + count - 1 do
  local id = 'session-' .. n
  local suffix = string.gsub(id, '.', function(c) return string.format('%02x', string.byte(c)) end)
  redis.call('HSET', base .. 'm:' .. suffix, 'version', 1, 'message_count', 0,
    'created_us', 1, 'updated_us', 1, 'bulk', 0)
  redis.call('RPUSH', base .. 's:' .. suffix, ARGV[4])
  local seq = redis.call('INCR', base .. 'seq')
  redis.call('ZADD', base .. 'order', seq, id)
  redis.call('ZADD', base .. 'updated', 1, id)
end
return count
"""


def _database(url: str, index: int) -> str:
    return f"{url.rsplit('/', 1)[0]}/{index}"


async def _flush(url: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        await client.flushdb(asynchronous=True)
    finally:
        await client.aclose()


async def _other_namespaces(store: RedisSessionStore, url: str, sessions: int) -> None:
    """``sessions`` empty sessions over 100 other namespaces, written by a script in batches."""
    from sessionstore.backends.redis.scripts import HEADER

    client = redis.asyncio.Redis.from_url(url)
    try:
        script = client.register_script(_BULK_SESSIONS)
        per_space = sessions // 100
        for space in range(100):
            name = f"other-{space}"
            base = store._keys(name).base
            for first in range(0, per_space, 10_000):
                count = min(10_000, per_space - first)
                await script(args=[base, count, first, HEADER])
            await client.sadd(f"{store._prefix}namespaces", name)
    finally:
        await client.aclose()


async def _sides(report: Report, url: str, repeats: int, long: int, others: int) -> None:
    async with (
        RedisSessionStore(_database(url, 1)) as big,
        RedisSessionStore(_database(url, 2)) as small,
    ):
        # After each timed cut, an untimed call puts the session back as it was: an
        # append for the appended session (its tail is list elements), a save for the
        # saved one (so every timed call cuts into the saved bulk string).
        await long_vs_short(report, big, small, repeats, long, cut_saved=True)
    async with (
        RedisSessionStore(_database(url, 3)) as crowded,
        RedisSessionStore(_database(url, 4)) as alone,
    ):
        await _other_namespaces(crowded, _database(url, 3), others)
        await namespace_page(report, crowded, alone, repeats, others)


async def bench_redis(args: argparse.Namespace) -> Report:
    """The Redis comparisons, each side on its own database index of one server."""
    report = Report("Redis")
    repeats, long, others = sizes(args)
    with redis_server(args.url) as server:
        if server.url is None:
            report.notes.append(f"skipped: {server.reason}")
            return report
        databases = [_database(server.url, index) for index in range(1, 5)]
        for database in databases:
            await _flush(database)
        try:
            await _sides(report, server.url, repeats, long, others)
        finally:
            for database in databases:
                await _flush(database)
    report.notes.append(
        f"The long session is built by {long // 100:,} appends of 100 ~200-character "
        "messages (list elements, folded into the bulk every 256), or by one save (one bulk "
        "string and its offsets); the "
        "short one by one save. After each pop an untimed append (appended session) or "
        "save (saved session, so each timed pop or replace_tail cuts into the bulk) puts "
        "it back."
    )
    report.notes.append(
        f"The {others:,} other sessions (100 namespaces, empty) are written by a Lua script "
        "in the store's key layout; the tenant's 1,000 through the API on both sides."
    )
    return report


if __name__ == "__main__":
    bench_contract2.main(["--backend", "redis", *sys.argv[1:]])
