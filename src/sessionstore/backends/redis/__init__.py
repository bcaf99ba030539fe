"""The Redis backend: ``RedisSessionStore``, sessions in Redis, one Lua script per write.

How it works, and why:

- Redis runs a script without interleaving any other command, so a save or
  append (version check, transcript, metadata, listing sequence) is one round
  trip that happens whole or not at all, whoever crashes: a client that dies
  mid-call leaves the old state. The scripts never read the clock (``TIME``):
  timestamps come from the writer as arguments, as on every other backend.
- A transcript is a list of JSON-array segments, so an append is one ``RPUSH``
  whatever the transcript's length, and a load is one ``LRANGE``. The write
  script merges a trailing run of small segments into one, so a long chat
  stays a few segments.
- The listing order is a sorted set scored by a counter that the write script
  increments, never by the clock, so it is exact across machines.
- Keys, under a store's prefix ``P`` (``HEX`` is the lower-case hex of the
  session id's UTF-8 bytes, so any id is safe in a key and ids never collide):

  - ``P m:HEX``: hash of ``message_count``, ``created_us``, ``updated_us``,
    ``version`` and ``tail_run`` (how many trailing segments are small)
  - ``P s:HEX``: list of segments, each a JSON array of messages
  - ``P order``: sorted set, member = session id, score = write sequence
  - ``P updated``: sorted set, member = session id, score = ``updated_us``
  - ``P seq``: the write-sequence counter (``INCR``)

  Scores stay exact: a sequence or a microsecond timestamp below 2**53 is
  exact in a double. The scripts derive keys from session ids, so all of a
  store's keys must live on one server: Redis Cluster is not supported.
- A script holds the server while it runs, so no listing script reads more
  than ``scripts.LIST_CHUNK`` sessions, and prune deletes ``scripts.PRUNE_BATCH``
  per script; larger windows are read in chunks that continue from the last
  write sequence read.
- Commands are never retried by the driver: a write whose reply was lost may
  have been applied, and sending it again could append twice. Reads are
  retried once after a lost connection. A lost server surfaces as
  ``StoreUnavailableError``; the next call reconnects by itself, and scripts
  flushed by a restart are loaded again on ``NOSCRIPT``.
- A store made from a URL uses a blocking connection pool: when all
  ``max_connections`` connections are busy, a call queues for one (up to
  ``pool_timeout`` seconds) instead of failing, so any number of concurrent
  callers is safe.
- A password in the URL never appears in ``repr`` or in error messages.
- redis-py is an optional extra: this package imports without it, and
  building a store raises ``MissingDependencyError`` naming the extra.

Modules: ``store`` (the store class), ``pool`` (the client and error
translation), ``scripts`` (the Lua scripts and the constants they run with).
"""

from __future__ import annotations

from sessionstore.backends.redis.store import RedisSessionStore

__all__ = ["RedisSessionStore"]
