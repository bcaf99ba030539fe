"""Round-2 contract costs on Redis: ``bench_contract2.py``'s comparisons for this backend.

``bench_contract2.py`` (the SQLite helper's) measures each pushed-down operation
against its cheap counterpart as ratios, sides interleaved; this module adds its
Redis side to that script's ``BACKENDS`` and runs it::

    python benchmarks/bench_contract2_redis.py [--quick] [--url redis://host:port]

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
from collections.abc import Awaitable, Callable
from functools import partial

import redis.asyncio

import bench_contract2
from _harness import text_messages
from _servers import redis_server
from bench_contract2 import LONG, SHORT, Report, Side, _long_session, _tenant, measure
from sessionstore import ListOptions, Message, RedisSessionStore

#: An untimed call that puts a session back after a timed one (None: nothing to do).
Reset = Callable[[], Awaitable[object]] | None

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


async def _long_vs_short(report: Report, url: str, repeats: int, long: int) -> None:
    messages = [Message.from_dict(d) for d in text_messages(1_000)]
    async with (
        RedisSessionStore(_database(url, 1)) as big,
        RedisSessionStore(_database(url, 2)) as small,
    ):
        await _long_session(big, messages, long)
        await big.save("saved", [messages[n % len(messages)] for n in range(long)])
        await small.save("short", messages[:SHORT])
        for built, sid in (("appended", "long"), ("saved at once", "saved")):
            report.add(
                f"load: tail 20 of {long:,} ({built}) vs all of {SHORT}",
                await measure(
                    [
                        (f"tail of {long:,}", partial(big.load, sid, start=-20), None),
                        (f"all of {SHORT}", partial(small.load, "short"), None),
                    ],
                    repeats,
                ),
                2.0,
            )
        last = messages[0]
        saved = [messages[n % len(messages)] for n in range(long)]
        short = messages[:SHORT]
        # After each timed call, an untimed one puts the session back as it was: an
        # append for the appended session (its tail is list elements), a save for the
        # saved one (so every timed call cuts into the saved bulk string).
        resets: dict[str, tuple[Reset, Reset]] = {
            "long": (partial(big.append, "long", [last]), partial(small.append, "short", [last])),
            "saved": (partial(big.save, "saved", saved), partial(small.save, "short", short)),
        }
        for built, sid in (("appended", "long"), ("saved at once", "saved")):
            big_reset, small_reset = resets[sid]
            report.add(
                f"pop 1: session of {long:,} ({built}) vs of {SHORT}",
                await measure(
                    [
                        (f"of {long:,}", partial(big.pop, sid), big_reset),
                        (f"of {SHORT}", partial(small.pop, "short"), small_reset),
                    ],
                    repeats,
                ),
                2.0,
            )
            if sid == "long":
                big_reset = small_reset = None  # the same length after a replace_tail
            report.add(
                f"replace_tail(-2, 2 messages): session of {long:,} ({built}) vs of {SHORT}",
                await measure(
                    [
                        (f"of {long:,}", partial(big.replace_tail, sid, -2, [last, last]),
                         big_reset),
                        (f"of {SHORT}", partial(small.replace_tail, "short", -2, [last, last]),
                         small_reset),
                    ],
                    repeats,
                ),
                2.0,
            )  # fmt: skip


async def _namespace_page(report: Report, url: str, repeats: int, others: int) -> None:
    async with (
        RedisSessionStore(_database(url, 3)) as crowded,
        RedisSessionStore(_database(url, 4)) as alone,
    ):
        await _other_namespaces(crowded, _database(url, 3), others)
        await _tenant(crowded)
        await _tenant(alone)
        page = ListOptions(offset=500, limit=50, newest_first=True)
        views = {f"with {others:,} others": crowded, "alone": alone}
        listed: list[Side] = [
            (name, partial(store.namespace("tenant").list_paginated, page), None)
            for name, store in views.items()
        ]
        report.add(
            "list_paginated(offset=500, limit=50, newest_first) of a 1,000-session namespace",
            await measure(listed, repeats),
            1.5,
        )
        counted: list[Side] = [
            (name, store.namespace("tenant").count, None) for name, store in views.items()
        ]
        report.add("count() of a 1,000-session namespace", await measure(counted, repeats), 1.5)


async def bench_redis(args: argparse.Namespace) -> Report:
    """The Redis comparisons, each side on its own database index of one server."""
    report = Report("Redis")
    repeats = 15 if args.quick else 101
    long = 20_000 if args.quick else LONG
    others = 100_000 if args.quick else 1_000_000
    with redis_server(args.url) as server:
        if server.url is None:
            report.notes.append(f"skipped: {server.reason}")
            return report
        databases = [_database(server.url, index) for index in range(1, 5)]
        for database in databases:
            await _flush(database)
        try:
            await _long_vs_short(report, server.url, repeats, long)
            await _namespace_page(report, server.url, repeats, others)
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


bench_contract2.BACKENDS["redis"] = bench_redis

if __name__ == "__main__":
    bench_contract2.main(["--backend", "redis", *sys.argv[1:]])
