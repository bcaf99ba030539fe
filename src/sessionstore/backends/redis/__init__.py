"""The Redis backend: ``RedisSessionStore``, sessions in Redis, one Lua script per write.

How it works, and why:

- Redis runs a script without interleaving any other command, so a save or
  append (version check, transcript, metadata, listing sequence) is one round
  trip that happens whole or not at all, whoever crashes: a client that dies
  mid-call leaves the old state. The scripts never read the clock (``TIME``):
  timestamps come from the writer as arguments, as on every other backend.
- A transcript is two parts. What the last save wrote is one *bulk* string
  (its JSON array) beside the end offset of each message in it; what was
  written since is a list (a header element, then one JSON message per
  element), which an append folds into the bulk once it holds more than
  ``fold_at`` (256) messages. A whole load is one MULTI of ``GET`` and
  ``LRANGE``; a slice reads the offsets it needs and cuts the bulk with
  ``GETRANGE``, so the tail 20 of a 100,000-message session costs what a
  20-message session does; an append is one ``RPUSH``; pop (``RPOP`` count),
  replace_tail (``LTRIM`` + ``RPUSH``) and fork (``COPY``, inside Redis) run
  inside the script that also updates the record and the listing, and shorten
  the bulk by closing its array early and blanking the rest (cost: the bytes
  dropped). A save's array never passes through Lua: it is SET under staging
  keys in the same MULTI as the script, which renames them into place.
- Attributes are fields of the session's metadata hash (the key as a JSON
  string, the value as JSON), merged inside the write script, which checks the
  size limit before writing anything.
- The listing order is a sorted set scored by a counter that the write script
  increments, never by the clock, so it is exact across machines.
- Keys, under a store's prefix ``P`` (``HEX`` is the lower-case hex of the
  session id's UTF-8 bytes, so any id is safe in a key and ids never collide).
  The default namespace ``""`` uses base ``B = P`` (the released key names, so
  existing data keeps working); any other namespace ``B = P n:<hex of its
  UTF-8>:``, with its own listing keys, so its pages and counts cost the same
  whatever other namespaces hold:

  - ``B m:HEX``: hash of ``message_count``, ``created_us``, ``updated_us``,
    ``version``, ``bulk`` (the bulk's messages still in the transcript) and
    the attributes
  - ``B s:HEX``: the transcript list (header, then the messages after the bulk)
  - ``B b:HEX``, ``B e:HEX``: the bulk's JSON array and its messages' end
    offsets (little-endian uint32); ``B t:HEX``, ``B u:HEX`` stage a save's
    (they live only inside one MULTI, with an expiry as a backstop)
  - ``B order``: sorted set, member = session id, score = write sequence
  - ``B updated``: sorted set, member = session id, score = ``updated_us``
  - ``B seq``: the namespace's write-sequence counter (``INCR``)
  - ``P namespaces``: set of the other namespaces that hold a session, kept
    exact by delete, prune and clear

  Scores stay exact: a sequence or a microsecond timestamp below 2**53 is
  exact in a double. The scripts derive keys from session ids, so all of a
  store's keys must live on one server: Redis Cluster is not supported.
- Data at rest: with ``encryption=`` or ``compression=``, no Lua script can
  split, join or cut a payload, so such a store keeps transcripts in the
  *chunked* layout (``chunks``): the list holds sealed JSON-array chunks, each
  bound to its first message index, beside a string of those indexes that
  slices binary-search; attributes are one sealed hash field ``a``. Its writes
  read, seal in Python and run one script guarded by the version read; an
  append is one RPUSH and APPEND (and needs no read when this store wrote the
  session last), a pop or replace_tail reseals only the chunk it cuts, a fork
  reads the source and reseals everything under the target (ciphertext is
  bound to its session). Ids, namespaces, counts, timestamps and versions stay
  readable. Plain sessions read as they are and are sealed by their next
  write; a plain store reads and edits chunked sessions through the same path
  (compressed ones it can read; encrypted ones need the keys).
- The key prefix must end with ``:``, so the store's own names (``seq``,
  ``order``, ``m:...``) cannot meet another application's keys; and every write
  script first checks that each key it may write holds the type the store keeps
  there (``guards``): a foreign key fails the call with ``BackendError`` before
  anything is written. A URL's path must be ``/<database number>`` or nothing.
- Sessions written by the released backend (a list of JSON-array segments)
  are read as they are, and rewritten in the current layout by the first
  write that needs message positions (append, pop, replace_tail, fork).
- A redis-py asyncio client belongs to its event loop: the store keeps one
  per loop (``PerLoop``), made from the URL or from the settings of a client
  passed in, and closes every one on ``close``.
- A script holds the server while it runs, so no listing script reads more
  than ``listing.LIST_CHUNK`` sessions, and prune and clear delete
  ``listing.DELETE_BATCH`` per script; larger windows are read in chunks that
  continue from the last write sequence read.
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

Modules: ``store`` (the store class and its per-session hooks), ``queries``
(its listing hooks), ``sealed`` and ``sealed_edits`` (the chunked layout's
hooks), ``pool`` (the per-loop clients, scripts by SHA and error translation),
``codec`` (keys and the values scripts take and return), ``lua``, ``scripts``,
``listing``, ``chunks`` and ``guards`` (the Lua scripts).
"""

from __future__ import annotations

from sessionstore.backends.redis.store import RedisSessionStore

__all__ = ["RedisSessionStore"]
