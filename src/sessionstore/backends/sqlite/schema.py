"""The SQLite schema: the ordered ``MIGRATIONS`` and every SQL statement, as named constants.

The schema version of a database is the number of ``MIGRATIONS`` steps applied
to it. Append new steps; never edit a released one. The reasons for the layout
are in the package docstring.
"""

from __future__ import annotations

__all__ = [
    "APPEND_SEGMENT",
    "COUNT_SESSIONS",
    "DATA_VERSION",
    "DELETE_SEGMENTS",
    "DELETE_SEGMENTS_FROM",
    "DELETE_SESSION",
    "INSERT_SESSION",
    "LIST_ASCENDING",
    "LIST_DESCENDING",
    "LOAD_SEGMENTS",
    "MAX_SEQ",
    "MAX_SMALL_RUN",
    "MIGRATIONS",
    "PRUNE_SELECT_KEYS",
    "SCAN_AFTER",
    "SCHEMA_VERSION",
    "SELECT_RECORD",
    "SELECT_SEGMENTS_FROM",
    "SELECT_WRITE_STATE",
    "SMALL_SEGMENT_BYTES",
    "UPDATE_AFTER_APPEND",
    "UPDATE_AFTER_SAVE",
]

#: Segments smaller than this are "small" and get merged with their neighbours.
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

#: Position i holds the SQL that takes a database from schema version i to i + 1.
MIGRATIONS: list[str] = [_V1, _V2]
SCHEMA_VERSION = len(MIGRATIONS)

# -- writes (run on the writer connection inside BEGIN IMMEDIATE) ------------------

MAX_SEQ = "SELECT coalesce(max(seq), 0) FROM sessions"
#: Changes when another connection committed since this one last looked.
DATA_VERSION = "PRAGMA data_version"
SELECT_WRITE_STATE = (
    "SELECT key, version, created_us, message_count, next_position, tail_start "
    "FROM sessions WHERE id = ?"
)
INSERT_SESSION = (
    "INSERT INTO sessions (id, message_count, created_us, updated_us, version, seq, "
    "next_position, tail_start) VALUES (?, ?, ?, ?, 1, ?, ?, ?)"
)
UPDATE_AFTER_SAVE = (
    "UPDATE sessions SET message_count = ?, created_us = ?, updated_us = ?, "
    "version = version + 1, seq = ?, next_position = ?, tail_start = ? WHERE key = ?"
)
#: An append's bookkeeping, its new values computed by the writer from the write state.
UPDATE_AFTER_APPEND = (
    "UPDATE sessions SET message_count = ?, updated_us = ?, version = ?, seq = ?, "
    "next_position = ?, tail_start = ? WHERE key = ?"
)
APPEND_SEGMENT = "INSERT INTO segments (session_key, position, payload) VALUES (?, ?, ?)"
DELETE_SEGMENTS = "DELETE FROM segments WHERE session_key = ?"
SELECT_SEGMENTS_FROM = (
    "SELECT payload FROM segments WHERE session_key = ? AND position >= ? ORDER BY position"
)
DELETE_SEGMENTS_FROM = "DELETE FROM segments WHERE session_key = ? AND position >= ?"
DELETE_SESSION = "DELETE FROM sessions WHERE key = ?"

#: The keys ``prune`` deletes, keyed by which arguments were given. The second
#: parameter of the keep-newest form is N: sessions at or below the seq of the
#: (N+1)-th newest are not among the newest N.
_NOT_NEWEST = "seq <= coalesce((SELECT seq FROM sessions ORDER BY seq DESC LIMIT 1 OFFSET ?), -1)"
PRUNE_SELECT_KEYS: dict[tuple[bool, bool], str] = {
    (True, False): "SELECT key FROM sessions WHERE updated_us < ?",
    (False, True): f"SELECT key FROM sessions WHERE {_NOT_NEWEST}",
    (True, True): f"SELECT key FROM sessions WHERE updated_us < ? AND {_NOT_NEWEST}",
}

# -- reads (run on the reader connection) ------------------------------------------

#: One statement, so the session row and its segments come from one snapshot.
LOAD_SEGMENTS = (
    "SELECT s.key, g.payload FROM sessions AS s "
    "LEFT JOIN segments AS g ON g.session_key = s.key "
    "WHERE s.id = ? ORDER BY g.position"
)
SELECT_RECORD = (
    "SELECT id, message_count, created_us, updated_us, version FROM sessions WHERE id = ?"
)
LIST_ASCENDING = (
    "SELECT id, message_count, created_us, updated_us, version FROM sessions "
    "ORDER BY seq LIMIT ? OFFSET ?"
)
LIST_DESCENDING = (
    "SELECT id, message_count, created_us, updated_us, version FROM sessions "
    "ORDER BY seq DESC LIMIT ? OFFSET ?"
)
#: A page of ``scan``: the sessions past a listing position, with their positions.
SCAN_AFTER = (
    "SELECT seq, id, message_count, created_us, updated_us, version FROM sessions "
    "WHERE seq > ? ORDER BY seq LIMIT ?"
)
COUNT_SESSIONS = "SELECT count(*) FROM sessions"
