"""The SQLite backend: sessions in one database file, shared by tasks, threads and processes.

``SQLiteSessionStore`` is its one public name. How it is built, and why:

Layout (``schema``)
    ``sessions`` holds one small index row per session, keyed by
    ``(namespace, id)``: listing, counting, ``get``, ``prune`` and ``clear`` read
    only this table, never a transcript. Its ``key`` is an integer surrogate,
    so that segment rows carry an 8-byte key instead of a 1 KiB id. ``seq`` is
    the listing order: each write takes the next number of the one-row
    ``listing`` counter inside its write transaction, where the database-wide
    write lock makes it a monotonic sequence across processes (a counter, not
    ``max(seq) + 1``, so deleting the newest session never lets a number come
    back); the clock never orders anything. The index ``(namespace, seq)``
    leads with the namespace, so a namespace's page, count, prune, clear or
    scan searches its own range of the index and costs the same whatever the
    other namespaces hold; ``namespaces()`` is a skip scan, one seek per name.
    ``attributes`` holds the session's attributes as compact sorted JSON
    (NULL for none), read with the record and never with the transcript.

    ``segments`` holds a transcript as JSON-array blobs, each with the index of
    its first message and its message count, found through the index
    ``(session_key, first_index)``. A slice ``[lo:hi]`` seeks the segment
    holding ``lo`` and reads on to ``hi``; segments wholly inside the slice
    decode as stored, the boundary ones are cut at the byte level
    (``msgspec.Raw``), so ``load(start=-20)`` of a long transcript reads and
    decodes about one segment more than it returns. A whole load reads the
    session row and its segments in one statement (one snapshot); a slice and
    ``snapshot`` read the row and then the segments in one read transaction.
    Segment rows sit in write order (rowid), not clustered by session:
    concurrent appends to many sessions then fill the same few pages instead
    of one page per session, and the pages a commit writes to the WAL are most
    of what an append costs.

    The schema version of a file is the number of ``schema.MIGRATIONS`` steps
    applied to it, kept in ``PRAGMA user_version`` (a field of the file header,
    so it changes atomically with the transaction that applies the steps).
    Step 3 (namespaces, attributes, the counter, segment indexes) rewrites
    both tables in the migrating transaction: first indexes come from a
    running sum of each segment's ``json_array_length``.

Segments (``segments``, ``operations``, ``edits``)
    A save, and an append of ``SMALL_SEGMENT_BYTES`` or more, is laid out in
    segments of about ``SMALL_SEGMENT_BYTES`` (a payload under twice that stays
    whole, unparsed), so that tail reads stay cheap. A smaller append is one
    more segment, so its cost does not depend on the transcript's length. A
    segment under ``SMALL_SEGMENT_BYTES`` is small; when the trailing run of
    small segments (``tail_start``, ``small_run`` in the session row) grows
    past ``MAX_SMALL_RUN``, that run alone is merged into one blob at the byte
    level, without decoding: an append's cost stays bounded, and a transcript
    holds at most ``bytes / SMALL_SEGMENT_BYTES + MAX_SMALL_RUN + 1`` segments
    or so. ``pop`` and ``replace_tail`` cut the transcript at a message index:
    they delete the segments from the one holding the cut on and write back
    that one's kept prefix, touching nothing before it. ``fork`` copies the
    source's segment rows with ``INSERT ... SELECT``; only a segment that
    ``stop`` falls inside passes through Python, to be cut.

Threads (``threads``, ``writer``)
    SQLite calls block, so the event loop never runs them. The store owns two
    threads, each with its own connection and queue: it queues a function of
    ``reads``, ``operations`` or ``edits`` with a future made on the caller's
    running loop, and the thread resolves it there with
    ``loop.call_soon_threadsafe``; no future is ever bound to another loop, so
    the store serves any number of threads and loops at once, loops that come
    and go included (the first call, from whichever loop, opens the store;
    see ``_lifecycle``). The ``Reader`` runs reads beside the writer (WAL
    allows it), so a load never waits behind an fsync.

Group commit (``writer``, ``transaction``)
    The ``GroupCommitWriter`` takes everything queued, a *batch* of calls
    (up to ``MAX_BATCH``), and runs it in one ``BEGIN IMMEDIATE``
    transaction, so one fsync covers many callers. The calls of one
    transaction share a ``Transaction``: the listing sequence (read from the
    counter at BEGIN, stored back once before COMMIT), one clock reading, the
    state cache and the rows deferred to one ``executemany`` per statement.
    Each call still stays atomic, ordered and version-checked, and fails
    alone:

    * A call that fails with one of our errors before it changed a row (a
      ``ConflictError``: the version check comes before any write; the writer
      checks ``total_changes``) has nothing to undo; its batch-mates go on.
    * A call that fails after it may have written (an SQLite error such as
      disk-full, a bug) undoes the whole transaction. Its batch-mates, undone
      with it, run again in a new transaction, this time *guarded*: each in
      its own SAVEPOINT, so that a further failure rolls back only that call.
      When an error makes SQLite abort the transaction even so, the remaining
      calls run again once more. A failure thus costs its batch-mates a
      re-run, never their atomicity, and no call pays for a SAVEPOINT unless
      a batch-mate failed.
    * Appends, and a new session's first segment, defer their rows to one
      ``executemany`` per statement for the whole batch, run before anything
      in the batch reads what they touch and before COMMIT. If running them
      fails, no one call is to blame: the transaction is undone and the whole
      batch runs again guarded, where nothing is deferred, so the culprit
      fails alone.

    Futures resolve only after COMMIT returned, so a call returns only once
    its data is durable. If the commit fails, every call of the batch fails
    with a ``BackendError`` and nothing of the batch is visible. A write whose
    caller was cancelled after it was queued still happens.

The state cache (``transaction.WriteState``)
    The writer keeps each session's write state (key, version, creation time,
    message count, the small trailing run, attributes), keyed by namespace and
    id, as its own commits left it, so an append usually reads nothing: it
    computes the new state and defers both of its rows. The cache is trusted only while
    ``PRAGMA data_version`` shows that no other connection committed, is
    dropped on every rollback and for a guarded re-run, and keeps at most
    ``MAX_CACHED_STATES`` sessions, oldest first out.

Durability and many processes (``connection``)
    WAL journal with ``synchronous=FULL`` by default: a write that returned
    survives a power cut. ``durability="normal"`` (``synchronous=NORMAL``)
    never corrupts the file either, but may lose the last commits on power
    loss, in exchange for fewer fsyncs. Many processes may share the file:
    ``busy_timeout``, ``BEGIN IMMEDIATE``, and jittered retries where SQLite
    answers busy without waiting (``PRAGMA journal_mode``, a reader during WAL
    recovery). The writer's connection switches the file to WAL and migrates
    the schema inside ``BEGIN IMMEDIATE``, re-checking the version there, so
    concurrent first opens are race-free; a reader's connection only checks
    the version and is ``query_only``. A file that cannot be written (nor its
    directory, where the ``-wal`` and ``-shm`` live; or on read-only media)
    opens read-only for both: ``immutable`` on read-only media when no WAL
    content is pending, ``mode=ro`` otherwise (https://sqlite.org/wal.html);
    the store then refuses writes itself. A file of a newer schema version is
    refused untouched (``SchemaVersionError``). sqlite3 errors become ours in
    one place: busy, locked, permission and read-only failures become
    ``StoreUnavailableError``, any other ``BackendError``, the sqlite3 error
    chained.

Limits (``segments.check_fits``)
    SQLite holds at most ``SQLITE_LIMIT_LENGTH`` bytes in one blob or row. A
    write is split into segments, a message never is: a message must leave a
    segment's room under the connection's limit, checked before any row of
    the write changes.

Modules: ``store`` (the store class), ``connection``, ``schema`` (SQL and
migrations), ``threads`` (the thread base and the reader), ``writer`` (group
commit), ``transaction`` (what one write transaction shares), ``reads`` (the
reader's work), ``operations`` (writes of whole sessions), ``edits`` (pop,
replace_tail, fork, update_attributes) and ``segments`` (laying out, slicing,
cutting and merging segments).
"""

from __future__ import annotations

from sessionstore.backends.sqlite.store import SQLiteSessionStore

__all__ = ["SQLiteSessionStore"]
