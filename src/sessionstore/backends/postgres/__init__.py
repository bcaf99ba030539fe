"""The PostgreSQL backend: ``PostgresSessionStore``, sessions in tables through psycopg 3.

How it works, and why:

- Every save, append, restore, pop, replace_tail and fork is one call of a
  PL/pgSQL function that the schema's migrations create: one round trip and
  one transaction, with the session's row locked while the version is checked
  and the transcript written. A refused call (version conflict, unknown
  session) raises a sessionstore SQLSTATE inside the function, so nothing it
  did is kept. A load or snapshot is one statement: the record and the slice
  come from one snapshot. Each statement inside a function sees a fresh
  snapshot, so work done under the row lock sees every write that committed
  before the lock was won.
- Tables, for a prefix ``p_`` (schema version 3, unchanged by 4): ``p_sessions`` has one row
  per ``(namespace, id)`` with a surrogate ``key``, the attributes (compact
  sorted JSON text, exactly what ``encode_attributes`` wrote) and a ``seq`` from
  the sequence ``p_seq`` that every write replaces; its index
  ``(namespace, seq)`` serves a namespace's listing, scan, count, prune and
  clear without touching other namespaces' entries. ``tail_start`` and
  ``tail_bytes`` describe the last segment, so an append never reads a payload.
  ``p_segments`` holds the transcript as JSON-array byte strings (``BYTEA``:
  exactly what msgspec wrote) keyed by ``(key, first_index)``, the index of
  each segment's first message: a slice reads only the segments it overlaps
  (a tail of 20 reads the last one or two), pop and replace_tail delete the
  segments past the cut and split at most one, and fork copies segments inside
  the server. A write splits its messages into segments of about
  ``SPLIT_BYTES`` (16 KiB, or one message); an append merges into the last
  segment while that stays under the limit, so an append rewrites a bounded
  number of bytes and the segment count follows the transcript's size.
  ``p_migrations`` records the schema versions applied.
- Data at rest (schema version 4): with ``encryption=`` or ``compression="zstd"``
  every segment is sealed by ``PayloadCodec`` in the client, bound to
  ``(namespace, id, "m", first_index)``, and the attributes to
  ``(namespace, id, "a")`` (stored as base64 text; plain ones start with ``{``).
  Ids, namespaces, counts, timestamps, versions and segment boundaries stay
  readable. The server cannot merge, split or copy sealed bytes, so the
  functions of version 4 merge an append only into a plain tail and refuse
  (``schema.SEALED``) to split, pop or fork sealed segments; the client then
  does that work (``sealed``): a sealed append reads the record and the last
  segment when small (one statement), merges into it here up to
  ``MERGE_LIMIT_BYTES`` or starts a new segment, and writes with the
  ``splice`` function guarded by the version it read (two round trips, a
  bounded number of bytes: still O(1)); pop and replace_tail read from the
  segment holding the cut and reseal its head; fork reseals every segment and
  the attributes under the target's place (ciphertext is bound to its session),
  checking under both row locks that the source is still at the version read.
  Reads unseal any segment starting with a NUL byte, so plain, compressed and
  encrypted sessions read alike; with neither option the writes are the
  server-side ones above, unchanged.
- psycopg pools belong to the event loop that made them: the store keeps one
  pool per loop (``sessionstore._loops.PerLoop``), made on first use there and
  closed on ``close()``, so any thread or loop may use the store.
- The schema is an ordered list of migrations (``schema.MIGRATIONS``), applied
  on open under an advisory lock, so many processes may open one store at once;
  a database at a newer version than this code knows raises
  ``SchemaVersionError`` untouched. Identifiers come from the validated
  ``schema`` and ``table_prefix`` through ``psycopg.sql``, never from formatting
  user input into SQL text.
- The store's connections (``pool.PostgresConnections``) translate driver errors at the
  boundary: a lost connection or a server that is down raises
  ``StoreUnavailableError`` and makes the pool test its idle connections, so the
  store heals by itself once the server is back. Reads are retried once after a
  lost connection; writes never are, since one that failed in flight may have
  committed. A server that refuses for good (no such database or role) fails the
  open at once, with its reason.
- A password in the connection string never appears in ``repr``, in error
  messages or in log lines.
- psycopg is an optional extra: this package imports without it, and building a
  store raises ``MissingDependencyError`` naming the extra.

Modules: ``store`` (the store class and its lifecycle), ``operations`` (the hooks),
``pool`` (connections and error translation), ``schema`` (migrations and the named
queries), ``migration3`` and ``migration4`` (schema versions 3 and 4), ``sealed`` (data at
rest: sealing, and the writes the client does itself).
"""

from __future__ import annotations

from sessionstore.backends.postgres.store import PostgresSessionStore

__all__ = ["PostgresSessionStore"]
