"""The SQLite schema: the ordered ``MIGRATIONS`` and every SQL statement, as named constants.

The schema version of a database is the number of ``MIGRATIONS`` steps applied
to it. Append new steps; never edit a released one. The reasons for the layout
are in the package docstring.
"""

from __future__ import annotations

__all__ = [
    "APPEND_SEGMENT",
    "CLEAR_SEGMENTS",
    "CLEAR_SESSIONS",
    "COPY_SEGMENTS",
    "COUNT_SESSIONS",
    "DATA_VERSION",
    "DELETE_SEGMENTS",
    "DELETE_SEGMENTS_FROM",
    "DELETE_SESSION",
    "INSERT_SESSION",
    "LIST_ASCENDING",
    "LIST_DESCENDING",
    "LISTING_SEQ",
    "LOAD_SEGMENTS",
    "MAX_SMALL_RUN",
    "MIGRATIONS",
    "NAMESPACES",
    "PRUNE_SELECT_KEYS",
    "SCAN_AFTER",
    "SCHEMA_VERSION",
    "LAST_SEGMENT_BEFORE",
    "SELECT_RECORD",
    "SELECT_RECORD_BY_KEY",
    "SELECT_SEGMENTS_FROM",
    "SELECT_SLICE",
    "SELECT_WRITE_STATE",
    "SET_LISTING_SEQ",
    "SMALL_SEGMENT_BYTES",
    "UPDATE_AFTER_APPEND",
    "UPDATE_AFTER_SAVE",
    "SET_ATTRIBUTES_BUMP",
    "UPDATE_ATTRIBUTES",
]

#: Segments smaller than this are "small" and get merged with their neighbours; a save
#: splits a larger transcript into segments of about this size.
SMALL_SEGMENT_BYTES = 32 * 1024
#: How many small trailing segments a transcript may hold before they are merged.
MAX_SMALL_RUN = 16

_V1 = """
CREATE TABLE sessions (
    key           INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    message_count INTEGER NOT NULL,
    created_us    INTEGER NOT NULL,
    updated_us    INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    next_position INTEGER NOT NULL,
    tail_start    INTEGER NOT NULL
);
CREATE UNIQUE INDEX sessions_by_seq ON sessions (seq);
CREATE TABLE segments (
    session_key INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    payload     BLOB    NOT NULL,
    PRIMARY KEY (session_key, position)
) WITHOUT ROWID;
"""

# Segments in write order, found by session through an index (see the package docstring).
_V2 = """
CREATE TABLE segments_v2 (
    id          INTEGER PRIMARY KEY,
    session_key INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    payload     BLOB    NOT NULL
);
INSERT INTO segments_v2 (session_key, position, payload)
    SELECT session_key, position, payload FROM segments ORDER BY session_key, position;
DROP TABLE segments;
ALTER TABLE segments_v2 RENAME TO segments;
CREATE UNIQUE INDEX segments_by_session ON segments (session_key, position);
"""

# Schema 3: namespaces, attributes, a listing counter, segments that know their messages.
# A segment's first message index comes from a running sum of the counts of the segments
# before it (a payload that is not JSON counts 0: it stays, and still reads as corrupt).
# ``tail_start`` becomes the first message index of the small trailing run, ``small_run``
# the number of segments in that run.
_V3 = """
CREATE TABLE listing (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO listing (id, seq) SELECT 1, coalesce(max(seq), 0) FROM sessions;
CREATE TABLE segments_v3 (
    id            INTEGER PRIMARY KEY,
    session_key   INTEGER NOT NULL,
    first_index   INTEGER NOT NULL,
    message_count INTEGER NOT NULL,
    payload       BLOB    NOT NULL
);
INSERT INTO segments_v3 (id, session_key, first_index, message_count, payload)
    SELECT id, session_key, sum(n) OVER (PARTITION BY session_key ORDER BY position) - n, n,
           payload
    FROM (SELECT id, session_key, position, payload,
                 CASE WHEN json_valid(CAST(payload AS TEXT))
                      THEN json_array_length(CAST(payload AS TEXT)) ELSE 0 END AS n
          FROM segments)
    ORDER BY id;
CREATE TABLE sessions_v3 (
    key           INTEGER PRIMARY KEY,
    namespace     TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    message_count INTEGER NOT NULL,
    created_us    INTEGER NOT NULL,
    updated_us    INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    tail_start    INTEGER NOT NULL,
    small_run     INTEGER NOT NULL,
    attributes    BLOB
);
INSERT INTO sessions_v3 (key, namespace, id, message_count, created_us, updated_us, version,
                         seq, tail_start, small_run, attributes)
    SELECT s.key, '', s.id, s.message_count, s.created_us, s.updated_us, s.version, s.seq,
           coalesce((SELECT g.first_index FROM segments AS o JOIN segments_v3 AS g ON g.id = o.id
                     WHERE o.session_key = s.key AND o.position = s.tail_start),
                    s.message_count),
           s.next_position - s.tail_start, NULL
    FROM sessions AS s ORDER BY s.key;
DROP TABLE segments;
DROP TABLE sessions;
ALTER TABLE segments_v3 RENAME TO segments;
ALTER TABLE sessions_v3 RENAME TO sessions;
CREATE UNIQUE INDEX sessions_by_id ON sessions (namespace, id);
CREATE INDEX sessions_by_namespace ON sessions (namespace, seq);
CREATE INDEX segments_by_session ON segments (session_key, first_index)
"""

#: Position i holds the SQL that takes a database from schema version i to i + 1.
MIGRATIONS: list[str] = [_V1, _V2, _V3]
SCHEMA_VERSION = len(MIGRATIONS)

_RECORD = "id, message_count, created_us, updated_us, version, attributes"

# -- writes (run on the writer connection inside BEGIN IMMEDIATE) ------------------

#: The listing counter: every write takes the next number (see ``Transaction``).
LISTING_SEQ = "SELECT seq FROM listing"
SET_LISTING_SEQ = "UPDATE listing SET seq = ?"
#: Changes when another connection committed since this one last looked.
DATA_VERSION = "PRAGMA data_version"
SELECT_WRITE_STATE = (
    "SELECT key, version, created_us, message_count, tail_start, small_run, attributes "
    "FROM sessions WHERE namespace = ? AND id = ?"
)
SELECT_RECORD_BY_KEY = (
    "SELECT id, message_count, created_us, updated_us, version, attributes FROM sessions "
    "WHERE key = ?"
)
#: The last segment starting before message ``?2``: the one ``fork`` may have to cut.
LAST_SEGMENT_BEFORE = (
    "SELECT first_index, message_count, payload FROM segments "
    "WHERE session_key = ? AND first_index < ? ORDER BY first_index DESC LIMIT 1"
)
INSERT_SESSION = (
    "INSERT INTO sessions (namespace, id, message_count, created_us, updated_us, version, seq, "
    "tail_start, small_run, attributes) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)"
)
UPDATE_AFTER_SAVE = (
    "UPDATE sessions SET message_count = ?, created_us = ?, updated_us = ?, "
    "version = version + 1, seq = ?, tail_start = ?, small_run = ? WHERE key = ?"
)
#: An append's bookkeeping, its new values computed by the writer from the write state.
UPDATE_AFTER_APPEND = (
    "UPDATE sessions SET message_count = ?, updated_us = ?, version = ?, seq = ?, "
    "tail_start = ?, small_run = ? WHERE key = ?"
)
UPDATE_ATTRIBUTES = "UPDATE sessions SET attributes = ? WHERE key = ?"
#: ``update_attributes``: version + 1, and neither ``updated_us`` nor ``seq`` moves.
SET_ATTRIBUTES_BUMP = "UPDATE sessions SET attributes = ?, version = ? WHERE key = ?"
APPEND_SEGMENT = (
    "INSERT INTO segments (session_key, first_index, message_count, payload) VALUES (?, ?, ?, ?)"
)
DELETE_SEGMENTS = "DELETE FROM segments WHERE session_key = ?"
#: The segments from message index ``?2`` on (``?2`` is a segment's first index).
SELECT_SEGMENTS_FROM = (
    "SELECT first_index, message_count, payload FROM segments "
    "WHERE session_key = ? AND first_index >= ? ORDER BY first_index"
)
DELETE_SEGMENTS_FROM = "DELETE FROM segments WHERE session_key = ? AND first_index >= ?"
DELETE_SESSION = "DELETE FROM sessions WHERE key = ?"
#: ``fork``: the whole segments of session ``?1`` that end at or before message ``?3``,
#: copied to session ``?2`` inside SQLite.
COPY_SEGMENTS = (
    "INSERT INTO segments (session_key, first_index, message_count, payload) "
    "SELECT ?2, first_index, message_count, payload FROM segments "
    "WHERE session_key = ?1 AND first_index < ?3 AND first_index + message_count <= ?3 "
    "ORDER BY first_index"
)
CLEAR_SEGMENTS = (
    "DELETE FROM segments WHERE session_key IN (SELECT key FROM sessions WHERE namespace = ?)"
)
CLEAR_SESSIONS = "DELETE FROM sessions WHERE namespace = ?"

#: The keys ``prune`` deletes in namespace ``?1``, keyed by which arguments were given.
#: ``?3`` is N of keep-newest: sessions at or below the seq of the (N+1)-th newest are
#: not among the newest N.
_NOT_NEWEST = (
    "seq <= coalesce((SELECT seq FROM sessions WHERE namespace = ?1 "
    "ORDER BY seq DESC LIMIT 1 OFFSET ?3), -1)"
)
PRUNE_SELECT_KEYS: dict[tuple[bool, bool], str] = {
    (True, False): "SELECT key FROM sessions WHERE namespace = ?1 AND updated_us < ?2",
    (False, True): f"SELECT key FROM sessions WHERE namespace = ?1 AND {_NOT_NEWEST}",
    (True, True): (
        f"SELECT key FROM sessions WHERE namespace = ?1 AND updated_us < ?2 AND {_NOT_NEWEST}"
    ),
}

# -- reads (run on the reader connection) ------------------------------------------

#: A whole transcript in one statement, so the session row and its segments come from
#: one snapshot.
LOAD_SEGMENTS = (
    "SELECT s.key, g.payload FROM sessions AS s "
    "LEFT JOIN segments AS g ON g.session_key = s.key "
    "WHERE s.namespace = ? AND s.id = ? ORDER BY g.first_index"
)
SELECT_RECORD = f"SELECT key, {_RECORD} FROM sessions WHERE namespace = ? AND id = ?"
#: The segments holding messages ``?2`` (inclusive) to ``?3`` (exclusive) of session
#: ``?1``: from the last segment starting at or before ``?2``, found by one index seek.
SELECT_SLICE = (
    "SELECT first_index, message_count, payload FROM segments WHERE session_key = ?1 "
    "AND first_index >= coalesce((SELECT first_index FROM segments WHERE session_key = ?1 "
    "AND first_index <= ?2 ORDER BY first_index DESC LIMIT 1), 0) "
    "AND first_index < ?3 ORDER BY first_index"
)
LIST_ASCENDING = f"SELECT {_RECORD} FROM sessions WHERE namespace = ? ORDER BY seq LIMIT ? OFFSET ?"
LIST_DESCENDING = (
    f"SELECT {_RECORD} FROM sessions WHERE namespace = ? ORDER BY seq DESC LIMIT ? OFFSET ?"
)
#: A page of ``scan``: the sessions past a listing position, with their positions.
SCAN_AFTER = (
    f"SELECT seq, {_RECORD} FROM sessions WHERE namespace = ? AND seq > ? ORDER BY seq LIMIT ?"
)
COUNT_SESSIONS = "SELECT count(*) FROM sessions WHERE namespace = ?"
#: Every namespace, one index seek each (a skip scan), however many sessions they hold.
NAMESPACES = (
    "WITH RECURSIVE names(name) AS ("
    "SELECT min(namespace) FROM sessions UNION ALL "
    "SELECT (SELECT min(namespace) FROM sessions WHERE namespace > name) FROM names "
    "WHERE name IS NOT NULL) "
    "SELECT name FROM names WHERE name IS NOT NULL"
)
