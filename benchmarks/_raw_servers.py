"""Hand-written PostgreSQL (psycopg 3 async + pool) and Redis (redis.asyncio) baselines.

Each does by hand what a careful user would: one round trip per append (a
CTE on PostgreSQL, a Lua script on Redis), the same session bookkeeping as
our stores (write sequence, count, timestamps, version), ``orjson`` for the
payloads. Their tables and keys carry a ``bench_raw`` prefix so they never
meet our stores' own schema.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

PG_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS bench_raw_seq;
CREATE TABLE IF NOT EXISTS bench_raw_sessions (
    id text PRIMARY KEY, seq bigint NOT NULL, message_count integer NOT NULL,
    created_at bigint NOT NULL, updated_at bigint NOT NULL, version integer NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS bench_raw_sessions_by_seq ON bench_raw_sessions (seq);
CREATE TABLE IF NOT EXISTS bench_raw_messages (
    session_id text NOT NULL, position integer NOT NULL, payload bytea NOT NULL,
    PRIMARY KEY (session_id, position));
"""

# One statement: bump the session row and insert the new rows after its old count.
PG_APPEND = """
WITH s AS (
    INSERT INTO bench_raw_sessions (id, seq, message_count, created_at, updated_at, version)
    VALUES (%(id)s, nextval('bench_raw_seq'), %(n)s, %(now)s, %(now)s, 1)
    ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq,
        message_count = bench_raw_sessions.message_count + EXCLUDED.message_count,
        updated_at = EXCLUDED.updated_at, version = bench_raw_sessions.version + 1
    RETURNING message_count)
INSERT INTO bench_raw_messages (session_id, position, payload)
SELECT %(id)s, s.message_count - %(n)s + p.ord - 1, p.payload
FROM s, unnest(%(payloads)s::bytea[]) WITH ORDINALITY AS p(payload, ord)
"""
PG_REPLACE = """
WITH s AS (
    INSERT INTO bench_raw_sessions (id, seq, message_count, created_at, updated_at, version)
    VALUES (%(id)s, nextval('bench_raw_seq'), %(n)s, %(now)s, %(now)s, 1)
    ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, message_count = EXCLUDED.message_count,
        updated_at = EXCLUDED.updated_at, version = bench_raw_sessions.version + 1
    RETURNING 1)
INSERT INTO bench_raw_messages (session_id, position, payload)
SELECT %(id)s, p.ord - 1, p.payload
FROM s, unnest(%(payloads)s::bytea[]) WITH ORDINALITY AS p(payload, ord)
"""
PG_DELETE_MESSAGES = "DELETE FROM bench_raw_messages WHERE session_id = %s"
PG_LOAD = "SELECT payload FROM bench_raw_messages WHERE session_id = %s ORDER BY position"
PG_TAIL = (
    "SELECT payload FROM bench_raw_messages WHERE session_id = %(id)s AND position >= "
    "(SELECT message_count FROM bench_raw_sessions WHERE id = %(id)s) - %(n)s ORDER BY position"
)
PG_LIST = (
    "SELECT id, message_count, created_at, updated_at, version FROM bench_raw_sessions "
    "ORDER BY seq DESC LIMIT %s"
)
PG_POPULATE = """
INSERT INTO bench_raw_sessions (id, seq, message_count, created_at, updated_at, version)
SELECT %(prefix)s || g, nextval('bench_raw_seq'), 1, %(now)s, %(now)s, 1
FROM generate_series(1, %(count)s) AS g
"""

# KEYS: messages list, meta hash, sequence counter, index zset. ARGV: now, id, payloads...
REDIS_APPEND = """
local seq = redis.call('INCR', KEYS[3])
local n = 0
for i = 3, #ARGV, 1000 do
    n = redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('HSETNX', KEYS[2], 'created_at', ARGV[1])
redis.call('HSET', KEYS[2], 'updated_at', ARGV[1], 'message_count', n)
redis.call('HINCRBY', KEYS[2], 'version', 1)
redis.call('ZADD', KEYS[4], seq, ARGV[2])
return n
"""
REDIS_REPLACE = "redis.call('DEL', KEYS[1])\n" + REDIS_APPEND
REDIS_INDEX = "bench_raw:index"
REDIS_SEQ = "bench_raw:seq"


def _now_micros() -> int:
    return time.time_ns() // 1000


class RawPostgres:
    """psycopg 3 async with a connection pool, autocommit, hand-written SQL."""

    describe = (
        "psycopg 3 async + AsyncConnectionPool (2-8), a row per message (bytea orjson), "
        "one-statement CTE append, DELETE + CTE insert in one transaction for overwrite, "
        "ORDER BY seq DESC LIMIT 50 on an indexed sessions table"
    )

    def __init__(self, url: str) -> None:
        self._url = url
        self._pool: Any = None

    async def open(self) -> None:
        from psycopg_pool import AsyncConnectionPool

        self._pool = AsyncConnectionPool(
            self._url, min_size=2, max_size=8, kwargs={"autocommit": True}, open=False
        )
        await self._pool.open(wait=True)
        async with self._pool.connection() as conn:
            await conn.execute(PG_SCHEMA)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def append(self, session_id: str, messages: list[dict[str, Any]]) -> None:
        payloads = [orjson.dumps(m) for m in messages]
        params = {"id": session_id, "n": len(payloads), "now": _now_micros(), "payloads": payloads}
        async with self._pool.connection() as conn:
            await conn.execute(PG_APPEND, params)

    async def save(self, session_id: str, messages: list[dict[str, Any]]) -> None:
        payloads = [orjson.dumps(m) for m in messages]
        params = {"id": session_id, "n": len(payloads), "now": _now_micros(), "payloads": payloads}
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(PG_DELETE_MESSAGES, (session_id,))
            await conn.execute(PG_REPLACE, params)

    async def load(self, session_id: str) -> list[Any]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(PG_LOAD, (session_id,))
            rows = await cursor.fetchall()
        return [orjson.loads(payload) for (payload,) in rows]

    async def tail(self, session_id: str, count: int) -> list[Any]:
        """The last ``count`` messages, found through the session row's count."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(PG_TAIL, {"id": session_id, "n": count})
            rows = await cursor.fetchall()
        return [orjson.loads(payload) for (payload,) in rows]

    async def list_newest(self, limit: int) -> list[Any]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(PG_LIST, (limit,))
            rows: list[Any] = await cursor.fetchall()
            return rows

    async def populate_sessions(self, count: int, prefix: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                PG_POPULATE, {"prefix": prefix, "now": _now_micros(), "count": count}
            )


class RawRedis:
    """redis.asyncio with hand-written Lua scripts: one round trip per write."""

    describe = (
        "redis.asyncio, a list per session (orjson payloads) + a meta hash + a zset index, "
        "one Lua script per append/overwrite, LRANGE for load, ZREVRANGE + pipelined "
        "HGETALL for the listing (server without persistence: --save '' --appendonly no)"
    )

    def __init__(self, url: str) -> None:
        self._url = url
        self._client: Any = None
        self._append: Any = None
        self._replace: Any = None

    async def open(self) -> None:
        import redis.asyncio

        self._client = redis.asyncio.Redis.from_url(self._url)
        self._append = self._client.register_script(REDIS_APPEND)
        self._replace = self._client.register_script(REDIS_REPLACE)
        await self._client.ping()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    @staticmethod
    def _keys(session_id: str) -> list[str]:
        return [f"bench_raw:m:{session_id}", f"bench_raw:h:{session_id}", REDIS_SEQ, REDIS_INDEX]

    async def append(self, session_id: str, messages: list[dict[str, Any]]) -> None:
        args = [_now_micros(), session_id, *(orjson.dumps(m) for m in messages)]
        await self._append(keys=self._keys(session_id), args=args)

    async def save(self, session_id: str, messages: list[dict[str, Any]]) -> None:
        args = [_now_micros(), session_id, *(orjson.dumps(m) for m in messages)]
        await self._replace(keys=self._keys(session_id), args=args)

    async def load(self, session_id: str) -> list[Any]:
        payloads = await self._client.lrange(f"bench_raw:m:{session_id}", 0, -1)
        return [orjson.loads(p) for p in payloads]

    async def tail(self, session_id: str, count: int) -> list[Any]:
        """The last ``count`` messages (``LRANGE -count -1``)."""
        payloads = await self._client.lrange(f"bench_raw:m:{session_id}", -count, -1)
        return [orjson.loads(p) for p in payloads]

    async def list_newest(self, limit: int) -> list[Any]:
        ids = await self._client.zrevrange(REDIS_INDEX, 0, limit - 1)
        pipe = self._client.pipeline(transaction=False)
        for raw_id in ids:
            pipe.hgetall(b"bench_raw:h:" + raw_id)
        result: list[Any] = await pipe.execute()
        return result

    async def populate_sessions(self, count: int, prefix: str) -> None:
        now = _now_micros()
        base = int(await self._client.incrby(REDIS_SEQ, count)) - count
        meta = {"created_at": now, "updated_at": now, "message_count": 1, "version": 1}
        for start in range(0, count, 2000):
            pipe = self._client.pipeline(transaction=False)
            for i in range(start, min(count, start + 2000)):
                pipe.hset(f"bench_raw:h:{prefix}{i}", mapping=meta)
                pipe.zadd(REDIS_INDEX, {f"{prefix}{i}": base + i + 1})
            await pipe.execute()
