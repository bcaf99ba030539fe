"""The PostgreSQL backend: ``PostgresSessionStore``, sessions in tables through psycopg 3.

How it works, and why:

- Every save, append and restore is one call of a PL/pgSQL function that the
  schema's migrations create: one round trip and one transaction, with the
  session's row locked while the version is checked and the transcript written.
  A load is one ``SELECT`` of the transcript's segments in order. Each
  statement inside the function sees a fresh snapshot, so work done under the
  row lock always sees the writes that committed before the lock was won.
- Tables, for a prefix ``p_``: ``p_sessions`` has one row per session; its
  ``seq`` comes from the sequence ``p_seq`` on every write and is indexed, so
  listing, scanning and pruning read this table alone, in write order.
  ``segment_count`` and ``tail_bytes`` describe the last segment, so an append
  never reads a payload. ``p_segments`` holds the transcript as JSON-array byte
  strings (``BYTEA``: exactly what msgspec wrote) in ``position`` order: a save
  leaves one segment; an append merges into the last one while that stays
  under ``MERGE_LIMIT_BYTES`` and starts a new one otherwise, so an append
  rewrites a bounded number of bytes and the segment count follows the
  transcript's size, not its number of appends. ``p_write`` and ``p_restore``
  are the write functions; ``p_migrations`` records the schema versions applied.
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

Modules: ``store`` (the store class), ``pool`` (connections and error
translation), ``schema`` (migrations and the named queries).
"""

from __future__ import annotations

from sessionstore.backends.postgres.store import PostgresSessionStore

__all__ = ["PostgresSessionStore"]
