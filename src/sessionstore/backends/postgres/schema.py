"""SQL of the PostgreSQL backend: the ordered migrations and the named query of each operation.

Every statement is a template whose ``{name}`` fields are filled with
``psycopg.sql.Identifier`` values (schema-qualified table, sequence and
function names built from the validated ``schema`` and ``table_prefix``), so
no user input is ever formatted into SQL text. ``%s`` / ``%(name)s`` are bind
parameters. The tables and why they look so: the package docstring.
"""

from __future__ import annotations

from sessionstore.backends.postgres.migration3 import MIGRATION_3
from sessionstore.backends.postgres.migration4 import MIGRATION_4

__all__ = [
    "APPEND_READ_SQL",
    "ATTRIBUTES_SQL",
    "CLEAR_SQL",
    "CONFLICT",
    "COUNT_SQL",
    "CREATE_MIGRATIONS_TABLE_SQL",
    "CREATE_SCHEMA_SQL",
    "CURRENT_VERSION_SQL",
    "DEADLOCK",
    "DELETE_SQL",
    "FORK_SQL",
    "GET_SQL",
    "LIST_ASC_SQL",
    "LIST_DESC_SQL",
    "LOCK_SQL",
    "MERGE_LIMIT_BYTES",
    "MIGRATIONS",
    "NAMESPACES_SQL",
    "NOT_FOUND",
    "POP_SQL",
    "PRUNE_SQL",
    "RECORD_VERSION_SQL",
    "SCAN_AFTER_SQL",
    "SCHEMA_EXISTS_SQL",
    "SEALED",
    "SLICE_SQL",
    "SPLICE_SQL",
    "SPLIT_BYTES",
    "STALE",
    "TAIL_SQL",
    "WRITE_SQL",
]

#: An append merges into the last segment while the result stays within this size.
#: Kept under PostgreSQL's TOAST threshold (~2 KiB): a tail segment stored in
#: line is rewritten cheaply, while one moved out of line costs a new TOAST value
#: and its WAL on every append.
MERGE_LIMIT_BYTES = 1_800

#: A write splits its messages into segments of about this size (or one message each).
#: A slice reads whole segments, so this bounds what a tail reads beyond what it
#: returns; bigger segments make a long save and load cheaper (fewer rows).
SPLIT_BYTES = 16 * 1024

_MIGRATION_1 = """
CREATE SEQUENCE {seq};

CREATE TABLE {sessions} (
    id            TEXT PRIMARY KEY,
    message_count BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,   -- microseconds since the Unix epoch, writer's clock
    updated_at    BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    segment_count INTEGER NOT NULL,
    tail_bytes    INTEGER NOT NULL
);
CREATE UNIQUE INDEX {seq_index} ON {sessions} (seq);

CREATE TABLE {segments} (
    session_id TEXT NOT NULL REFERENCES {sessions} (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    payload    BYTEA NOT NULL,
    PRIMARY KEY (session_id, position)
);
-- Payloads are read whole and are mostly small: skip TOAST compression, whose
-- CPU cost shows on every load and append, at the price of some disk.
ALTER TABLE {segments} ALTER COLUMN payload SET STORAGE EXTERNAL;

CREATE FUNCTION {write_fn}(
    p_id TEXT, p_payload BYTEA, p_count BIGINT, p_now BIGINT, p_expected BIGINT,
    p_replace BOOLEAN
) RETURNS TABLE (
    out_ok BOOLEAN, out_count BIGINT, out_created BIGINT, out_updated BIGINT,
    out_version BIGINT
) LANGUAGE plpgsql AS $fn$
DECLARE
    cur RECORD;
    size INTEGER := length(p_payload);
    new_segments INTEGER;
    new_tail INTEGER;
BEGIN
    LOOP
        SELECT s.version, s.message_count, s.created_at, s.segment_count, s.tail_bytes
          INTO cur FROM {sessions} s WHERE s.id = p_id FOR UPDATE;
        EXIT WHEN FOUND;
        IF p_expected IS NOT NULL AND p_expected <> 0 THEN
            RETURN QUERY SELECT false, 0::BIGINT, 0::BIGINT, 0::BIGINT, 0::BIGINT;
            RETURN;
        END IF;
        -- A concurrent writer may create the row first: then loop and lock it.
        INSERT INTO {sessions} (id, message_count, created_at, updated_at, version, seq,
                                segment_count, tail_bytes)
             VALUES (p_id, p_count, p_now, p_now, 1, nextval({seq_name}), 1, size)
        ON CONFLICT (id) DO NOTHING;
        IF FOUND THEN
            INSERT INTO {segments} (session_id, position, payload) VALUES (p_id, 0, p_payload);
            RETURN QUERY SELECT true, p_count, p_now, p_now, 1::BIGINT;
            RETURN;
        END IF;
    END LOOP;

    IF p_expected IS NOT NULL AND p_expected <> cur.version THEN
        RETURN QUERY SELECT false, 0::BIGINT, 0::BIGINT, 0::BIGINT, cur.version;
        RETURN;
    END IF;

    new_segments := cur.segment_count;
    new_tail := cur.tail_bytes;
    IF p_replace THEN
        DELETE FROM {segments} WHERE session_id = p_id;
        INSERT INTO {segments} (session_id, position, payload) VALUES (p_id, 0, p_payload);
        new_segments := 1;
        new_tail := size;
    ELSIF size > 2 THEN  -- "[]" adds nothing
        IF cur.tail_bytes <= 2 THEN
            UPDATE {segments} SET payload = p_payload
             WHERE session_id = p_id AND position = cur.segment_count - 1;
            new_tail := size;
        ELSIF cur.tail_bytes + size - 1 <= {merge_limit} THEN
            -- "[a,b]" + "[c]" -> "[a,b,c]"
            UPDATE {segments}
               SET payload = substring(payload FROM 1 FOR length(payload) - 1)
                             || '\\x2c'::BYTEA || substring(p_payload FROM 2)
             WHERE session_id = p_id AND position = cur.segment_count - 1;
            new_tail := cur.tail_bytes + size - 1;
        ELSE
            INSERT INTO {segments} (session_id, position, payload)
                 VALUES (p_id, cur.segment_count, p_payload);
            new_segments := cur.segment_count + 1;
            new_tail := size;
        END IF;
    END IF;

    UPDATE {sessions}
       SET message_count = CASE WHEN p_replace THEN p_count ELSE message_count + p_count END,
           updated_at = p_now, version = version + 1, seq = nextval({seq_name}),
           segment_count = new_segments, tail_bytes = new_tail
     WHERE id = p_id;
    RETURN QUERY SELECT true,
        CASE WHEN p_replace THEN p_count ELSE cur.message_count + p_count END,
        cur.created_at, p_now, cur.version + 1;
END
$fn$;
"""

# Version 2: ``restore`` is a save through the write function of version 1,
# then created_at set to the given value, in the same transaction (the row is
# still locked by the write), so a restore is as atomic as a save.
_MIGRATION_2 = """
CREATE FUNCTION {restore_fn}(
    p_id TEXT, p_payload BYTEA, p_count BIGINT, p_created BIGINT, p_updated BIGINT,
    p_expected BIGINT
) RETURNS TABLE (
    out_ok BOOLEAN, out_count BIGINT, out_created BIGINT, out_updated BIGINT,
    out_version BIGINT
) LANGUAGE plpgsql AS $fn$
BEGIN
    SELECT w.out_ok, w.out_count, w.out_created, w.out_updated, w.out_version
      INTO out_ok, out_count, out_created, out_updated, out_version
      FROM {write_fn}(p_id, p_payload, p_count, p_updated, p_expected, true) w;
    IF out_ok THEN
        UPDATE {sessions} SET created_at = p_created WHERE id = p_id;
        out_created := p_created;
    END IF;
    RETURN NEXT;
END
$fn$;
"""

#: Position + 1 is the schema version. Append new steps; never edit a released one.
MIGRATIONS: list[str] = [_MIGRATION_1, _MIGRATION_2, MIGRATION_3, MIGRATION_4]

#: The SQLSTATEs the functions raise for a refused call (all its work rolled back).
CONFLICT = "SS409"  # the session's version is not the expected one (DETAIL: the actual)
NOT_FOUND = "SS404"  # replace_tail or fork of a session that does not exist
STALE = "SS412"  # the client read a version that is no longer current (attributes, splice)
SEALED = "SS422"  # a sealed segment the server cannot split, return or copy: the client does it
#: Two forks that lock each other's source and target: the server rolls one back.
DEADLOCK = "40P01"

LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"
SCHEMA_EXISTS_SQL = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
CREATE_SCHEMA_SQL = "CREATE SCHEMA IF NOT EXISTS {schema}"
CREATE_MIGRATIONS_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS {migrations} (
    version    INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""
CURRENT_VERSION_SQL = "SELECT coalesce(max(version), 0) FROM {migrations}"
RECORD_VERSION_SQL = "INSERT INTO {migrations} (version) VALUES (%s)"

_RECORD = "out_count, out_created, out_updated, out_version, out_attributes"
WRITE_SQL = (
    f"SELECT {_RECORD} FROM {{write_fn}}(%s, %s, %b::BYTEA[], %s::BIGINT[], %s,"
    " %s::BIGINT, %s, %s::TEXT, %s::BIGINT, %s::BIGINT)"
)
TAIL_SQL = (
    f"SELECT {_RECORD} FROM {{tail_fn}}(%s, %s, %s, %b::BYTEA[], %s::BIGINT[], %s::BIGINT, %s)"
)
FORK_SQL = f"SELECT {_RECORD} FROM {{fork_fn}}(%s, %s, %s, %s::BIGINT, %s::BIGINT, %s)"
SPLICE_SQL = (
    f"SELECT {_RECORD} FROM {{splice_fn}}(%s, %s, %s::BIGINT, %b::BYTEA[], %s::BIGINT[],"
    " %s::BIGINT, %s::BIGINT, %s, %s::TEXT, %s::TEXT, %s::BIGINT)"
)
POP_SQL = "SELECT * FROM {pop_fn}(%s, %s, %s, %s::BIGINT, %s)"
ATTRIBUTES_SQL = (
    "UPDATE {sessions} SET attributes = nullif(%s, '{{}}'), version = version + 1"
    " WHERE namespace = %s AND id = %s AND version = %s"
    " RETURNING message_count, created_at, updated_at, version, attributes"
)
# The record and the slice [lo, hi) in one statement (one snapshot): the segments
# from the one holding message lo up to the last one starting before hi.
SLICE_SQL = """
WITH s AS (
    SELECT key, message_count, created_at, updated_at, version, attributes,
           CASE WHEN %(start)s::BIGINT < 0 THEN greatest(0, message_count + %(start)s::BIGINT)
                ELSE least(%(start)s::BIGINT, message_count) END AS lo,
           CASE WHEN %(stop)s::BIGINT IS NULL THEN message_count
                WHEN %(stop)s::BIGINT < 0 THEN greatest(0, message_count + %(stop)s::BIGINT)
                ELSE least(%(stop)s::BIGINT, message_count) END AS hi
      FROM {sessions} WHERE namespace = %(ns)s AND id = %(id)s
)
SELECT s.message_count, s.created_at, s.updated_at, s.version, s.attributes, s.lo, s.hi,
       g.first_index, g.payload
  FROM s LEFT JOIN LATERAL (
       SELECT first_index, payload FROM {segments}
        WHERE key = s.key AND first_index < s.hi
          AND first_index >= (SELECT coalesce(max(first_index), 0) FROM {segments}
                               WHERE key = s.key AND first_index <= s.lo)
  ) g ON s.lo < s.hi
 ORDER BY g.first_index
"""
# What a sealed append reads: the record, and the last segment when it may take the append.
APPEND_READ_SQL = """
SELECT s.message_count, s.created_at, s.updated_at, s.version, s.attributes, s.tail_start,
       CASE WHEN s.tail_bytes BETWEEN 3 AND {merge_limit} THEN
            (SELECT payload FROM {segments} WHERE key = s.key AND first_index = s.tail_start)
       END
  FROM {sessions} s WHERE namespace = %s AND id = %s
"""
_COLUMNS = "message_count, created_at, updated_at, version, attributes"
GET_SQL = f"SELECT {_COLUMNS} FROM {{sessions}} WHERE namespace = %s AND id = %s"
LIST_ASC_SQL = (
    f"SELECT id, {_COLUMNS} FROM {{sessions}} WHERE namespace = %s"
    " ORDER BY seq ASC LIMIT %s OFFSET %s"
)
LIST_DESC_SQL = (
    f"SELECT id, {_COLUMNS} FROM {{sessions}} WHERE namespace = %s"
    " ORDER BY seq DESC LIMIT %s OFFSET %s"
)
# A page of scan(): the sessions past a listing position, with their positions.
SCAN_AFTER_SQL = (
    f"SELECT seq, id, {_COLUMNS} FROM {{sessions}}"
    " WHERE namespace = %s AND seq > %s ORDER BY seq ASC LIMIT %s"
)
COUNT_SQL = "SELECT count(*) FROM {sessions} WHERE namespace = %s"
# A loose index scan: one probe of the (namespace, seq) index per namespace.
NAMESPACES_SQL = """
WITH RECURSIVE n (ns) AS (
    SELECT min(namespace) FROM {sessions}
    UNION ALL
    SELECT (SELECT min(namespace) FROM {sessions} WHERE namespace > n.ns) FROM n
     WHERE n.ns IS NOT NULL
)
SELECT ns FROM n WHERE ns IS NOT NULL
"""
DELETE_SQL = "DELETE FROM {sessions} WHERE namespace = %s AND id = %s"
CLEAR_SQL = "DELETE FROM {sessions} WHERE namespace = %s"
# The outer updated_at test is re-checked against a row a concurrent write just
# changed, so a session written while the prune runs is not deleted for being old.
PRUNE_SQL = """
DELETE FROM {sessions}
 WHERE namespace = %(ns)s
   AND key IN (SELECT key FROM {sessions} WHERE namespace = %(ns)s
                ORDER BY seq DESC OFFSET %(keep)s)
   AND (%(before)s::BIGINT IS NULL OR updated_at < %(before)s::BIGINT)
"""
