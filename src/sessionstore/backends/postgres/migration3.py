"""Schema version 3 (round 2): namespaces, attributes, indexed segments, tail and fork functions.

Upgrades a version-2 database in place (one transaction, under the migration
lock, like every step):

- ``sessions`` gains ``namespace`` (``COLLATE "C"``: sorted as Python sorts
  str), ``attributes`` (compact sorted JSON text, NULL = none), a surrogate
  ``key`` the segments refer to, and ``tail_start`` (first message index of the
  last segment); it is keyed by ``(namespace, id)`` and its listing index is
  ``(namespace, seq)``, so one namespace's page, count, prune and clear read
  only that namespace's index entries.
- ``segments`` is rebuilt keyed by ``(key, first_index)``: each segment knows
  the index of its first message, so a slice reads only the segments it
  overlaps. The message counts of the old segments come from the server's own
  JSON parser; empty segments are dropped (none is ever stored now).
- The write functions of versions 1 and 2 are replaced by ``write`` (save,
  append and restore), ``tail`` (replace_tail), ``pop`` and ``fork``, built on
  ``row`` (lock or create a session, checking the version), ``put`` (insert
  segments), ``cut`` (drop the messages from an index on, splitting at most one
  segment) and ``finish`` (the write's record update). A version conflict or a
  missing session raises a sessionstore SQLSTATE (``schema.CONFLICT`` ...), so
  nothing a refused call did is kept.
"""

from __future__ import annotations

__all__ = ["MIGRATION_3"]

_TABLES = """
ALTER TABLE {sessions} ADD COLUMN namespace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE {sessions} ADD COLUMN attributes TEXT;
ALTER TABLE {sessions} ADD COLUMN tail_start BIGINT NOT NULL DEFAULT 0;
CREATE SEQUENCE {key_seq};
ALTER TABLE {sessions} ADD COLUMN key BIGINT NOT NULL DEFAULT nextval({key_seq_name});
ALTER SEQUENCE {key_seq} OWNED BY {sessions}.key;
ALTER TABLE {sessions} ADD CONSTRAINT {key_unique} UNIQUE (key);

CREATE TABLE {segments_new} (
    key         BIGINT NOT NULL REFERENCES {sessions} (key) ON DELETE CASCADE,
    first_index BIGINT NOT NULL,
    payload     BYTEA NOT NULL,
    PRIMARY KEY (key, first_index)
);
ALTER TABLE {segments_new} ALTER COLUMN payload SET STORAGE EXTERNAL;
INSERT INTO {segments_new} (key, first_index, payload)
SELECT s.key,
       coalesce(sum(g.n) OVER (PARTITION BY g.session_id ORDER BY g.position
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0),
       g.payload
  FROM (SELECT session_id, position, payload,
               json_array_length(convert_from(payload, 'UTF8')::json) AS n
          FROM {segments}) g
  JOIN {sessions} s ON s.id = g.session_id
 WHERE g.n > 0;
DROP TABLE {segments};
ALTER TABLE {segments_new} RENAME TO {segments_bare};

UPDATE {sessions} s SET tail_start = t.first_index, tail_bytes = t.bytes
  FROM (SELECT DISTINCT ON (key) key, first_index, length(payload) AS bytes
          FROM {segments} ORDER BY key, first_index DESC) t
 WHERE t.key = s.key;
UPDATE {sessions} s SET tail_start = 0, tail_bytes = 0
 WHERE NOT EXISTS (SELECT 1 FROM {segments} g WHERE g.key = s.key);

ALTER TABLE {sessions} DROP CONSTRAINT {sessions_pkey};
ALTER TABLE {sessions} ADD PRIMARY KEY (namespace, id);
DROP INDEX {seq_index_qualified};
CREATE UNIQUE INDEX {ns_seq_index} ON {sessions} (namespace, seq);
ALTER TABLE {sessions} ALTER COLUMN namespace DROP DEFAULT;
ALTER TABLE {sessions} DROP COLUMN segment_count;
DROP FUNCTION {restore_fn}(TEXT, BYTEA, BIGINT, BIGINT, BIGINT, BIGINT);
DROP FUNCTION {write_fn}(TEXT, BYTEA, BIGINT, BIGINT, BIGINT, BOOLEAN);
"""

_HELPERS = """
CREATE FUNCTION {row_fn}(
    p_ns TEXT, p_id TEXT, p_now BIGINT, p_create BOOLEAN, p_expected BIGINT
) RETURNS {sessions} LANGUAGE plpgsql AS $fn$
DECLARE
    cur {sessions};
BEGIN
    LOOP
        SELECT * INTO cur FROM {sessions} WHERE namespace = p_ns AND id = p_id FOR UPDATE;
        IF FOUND THEN
            IF p_expected IS NOT NULL AND p_expected <> cur.version THEN
                RAISE EXCEPTION 'version conflict'
                      USING ERRCODE = 'SS409', DETAIL = cur.version::TEXT;
            END IF;
            RETURN cur;
        END IF;
        IF p_expected IS NOT NULL AND p_expected <> 0 THEN
            RAISE EXCEPTION 'version conflict' USING ERRCODE = 'SS409', DETAIL = '0';
        END IF;
        IF NOT p_create THEN
            RETURN NULL;
        END IF;
        -- A concurrent writer may create the row first: then loop and lock it.
        INSERT INTO {sessions} (namespace, id, message_count, created_at, updated_at,
                                version, seq, tail_start, tail_bytes)
             VALUES (p_ns, p_id, 0, p_now, p_now, 0, nextval({seq_name}), 0, 0)
        ON CONFLICT (namespace, id) DO NOTHING;
    END LOOP;
END
$fn$;

CREATE FUNCTION {put_fn}(
    p_key BIGINT, p_start BIGINT, p_payloads BYTEA[], p_counts BIGINT[]
) RETURNS BIGINT LANGUAGE sql AS $fn$
    INSERT INTO {segments} (key, first_index, payload)
    SELECT p_key, p_start + coalesce(sum(u.c) OVER (ORDER BY u.i ROWS BETWEEN UNBOUNDED
                                                    PRECEDING AND 1 PRECEDING), 0), u.p
      FROM unnest(p_payloads, p_counts) WITH ORDINALITY AS u (p, c, i);
    SELECT coalesce(sum(c), 0)::BIGINT FROM unnest(p_counts) AS c;
$fn$;

CREATE FUNCTION {cut_fn}(
    p_key BIGINT, p_keep BIGINT, p_total BIGINT, p_return BOOLEAN
) RETURNS SETOF BYTEA LANGUAGE plpgsql AS $fn$
DECLARE
    seg RECORD;
    parts RECORD;
BEGIN
    IF p_keep >= p_total THEN
        RETURN;
    END IF;
    SELECT first_index, payload INTO seg FROM {segments}
     WHERE key = p_key AND first_index <= p_keep ORDER BY first_index DESC LIMIT 1;
    IF FOUND AND seg.first_index < p_keep THEN  -- the segment that holds the cut: split it
        SELECT convert_to('[' || string_agg(e::TEXT, ',' ORDER BY i)
                                 FILTER (WHERE i <= p_keep - seg.first_index) || ']', 'UTF8')
                   AS head,
               convert_to('[' || string_agg(e::TEXT, ',' ORDER BY i)
                                 FILTER (WHERE i > p_keep - seg.first_index) || ']', 'UTF8')
                   AS rest
          INTO parts
          FROM json_array_elements(convert_from(seg.payload, 'UTF8')::json)
               WITH ORDINALITY AS t (e, i);
        IF p_return THEN
            RETURN NEXT parts.rest;
        END IF;
        UPDATE {segments} SET payload = parts.head
         WHERE key = p_key AND first_index = seg.first_index;
    END IF;
    IF p_return THEN
        RETURN QUERY SELECT payload FROM {segments}
                      WHERE key = p_key AND first_index >= p_keep ORDER BY first_index;
    END IF;
    DELETE FROM {segments} WHERE key = p_key AND first_index >= p_keep;
END
$fn$;

CREATE FUNCTION {finish_fn}(
    p_key BIGINT, p_count BIGINT, p_now BIGINT, p_created BIGINT, p_attributes TEXT
) RETURNS TABLE (
    out_count BIGINT, out_created BIGINT, out_updated BIGINT, out_version BIGINT,
    out_attributes TEXT
) LANGUAGE plpgsql AS $fn$
DECLARE
    t_start BIGINT;
    t_bytes INTEGER;
BEGIN
    SELECT first_index, length(payload) INTO t_start, t_bytes FROM {segments}
     WHERE key = p_key ORDER BY first_index DESC LIMIT 1;
    UPDATE {sessions}
       SET message_count = p_count, updated_at = p_now,
           created_at = coalesce(p_created, created_at), version = version + 1,
           seq = nextval({seq_name}),
           attributes = CASE WHEN p_attributes IS NULL THEN attributes
                             ELSE nullif(p_attributes, '{{}}') END,
           tail_start = coalesce(t_start, 0), tail_bytes = coalesce(t_bytes, 0)
     WHERE key = p_key
    RETURNING message_count, created_at, updated_at, version, attributes
         INTO out_count, out_created, out_updated, out_version, out_attributes;
    RETURN NEXT;
END
$fn$;
"""

_WRITERS = """
CREATE FUNCTION {write_fn}(
    p_ns TEXT, p_id TEXT, p_payloads BYTEA[], p_counts BIGINT[], p_now BIGINT,
    p_expected BIGINT, p_replace BOOLEAN, p_attributes TEXT, p_base BIGINT, p_created BIGINT
) RETURNS TABLE (
    out_count BIGINT, out_created BIGINT, out_updated BIGINT, out_version BIGINT,
    out_attributes TEXT
) LANGUAGE plpgsql AS $fn$
DECLARE
    cur {sessions};
    start BIGINT := 0;
    added BIGINT := 0;
    size INTEGER;
BEGIN
    cur := {row_fn}(p_ns, p_id, p_now, true, p_expected);
    IF p_base IS NOT NULL AND p_base <> cur.version THEN  -- attributes merged on a stale read
        RAISE EXCEPTION 'stale attributes' USING ERRCODE = 'SS412', DETAIL = cur.version::TEXT;
    END IF;
    IF p_replace THEN
        DELETE FROM {segments} WHERE key = cur.key;
    ELSE
        start := cur.message_count;
        size := length(p_payloads[1]);
        IF cardinality(p_payloads) = 1 AND cur.tail_bytes > 2
           AND cur.tail_bytes + size - 1 <= {merge_limit} THEN
            -- "[a,b]" + "[c]" -> "[a,b,c]": an append rewrites a bounded number of bytes
            UPDATE {segments}
               SET payload = substring(payload FROM 1 FOR length(payload) - 1)
                             || '\\x2c'::BYTEA || substring(p_payloads[1] FROM 2)
             WHERE key = cur.key AND first_index = cur.tail_start;
            added := p_counts[1];
            p_payloads := '{{}}';
            p_counts := '{{}}';
        END IF;
    END IF;
    IF cardinality(p_payloads) > 0 THEN
        added := added + {put_fn}(cur.key, start, p_payloads, p_counts);
    END IF;
    RETURN QUERY SELECT * FROM {finish_fn}(cur.key, start + added, p_now, p_created,
                                           p_attributes);
END
$fn$;

CREATE FUNCTION {pop_fn}(
    p_ns TEXT, p_id TEXT, p_count BIGINT, p_expected BIGINT, p_now BIGINT
) RETURNS SETOF BYTEA LANGUAGE plpgsql AS $fn$
DECLARE
    cur {sessions};
    keep BIGINT;
BEGIN
    cur := {row_fn}(p_ns, p_id, p_now, false, p_expected);
    IF cur.key IS NULL OR cur.message_count = 0 THEN
        RETURN;
    END IF;
    keep := greatest(0, cur.message_count - p_count);
    RETURN QUERY SELECT * FROM {cut_fn}(cur.key, keep, cur.message_count, true);
    PERFORM {finish_fn}(cur.key, keep, p_now, NULL, NULL);
END
$fn$;

CREATE FUNCTION {tail_fn}(
    p_ns TEXT, p_id TEXT, p_start BIGINT, p_payloads BYTEA[], p_counts BIGINT[],
    p_expected BIGINT, p_now BIGINT
) RETURNS TABLE (
    out_count BIGINT, out_created BIGINT, out_updated BIGINT, out_version BIGINT,
    out_attributes TEXT
) LANGUAGE plpgsql AS $fn$
DECLARE
    cur {sessions};
    lo BIGINT;
    added BIGINT;
BEGIN
    cur := {row_fn}(p_ns, p_id, p_now, false, p_expected);
    IF cur.key IS NULL THEN
        RAISE EXCEPTION 'no such session' USING ERRCODE = 'SS404';
    END IF;
    lo := CASE WHEN p_start < 0 THEN greatest(0, cur.message_count + p_start)
               ELSE least(p_start, cur.message_count) END;
    PERFORM {cut_fn}(cur.key, lo, cur.message_count, false);
    added := {put_fn}(cur.key, lo, p_payloads, p_counts);
    RETURN QUERY SELECT * FROM {finish_fn}(cur.key, lo + added, p_now, NULL, NULL);
END
$fn$;

CREATE FUNCTION {fork_fn}(
    p_ns TEXT, p_source TEXT, p_target TEXT, p_stop BIGINT, p_expected BIGINT, p_now BIGINT
) RETURNS TABLE (
    out_count BIGINT, out_created BIGINT, out_updated BIGINT, out_version BIGINT,
    out_attributes TEXT
) LANGUAGE plpgsql AS $fn$
DECLARE
    src {sessions};
    cur {sessions};
    hi BIGINT;
BEGIN
    -- Both rows locked in one order, so crossing forks (a to b, b to a) queue, never deadlock.
    PERFORM 1 FROM {sessions} WHERE namespace = p_ns AND id IN (p_source, p_target)
      ORDER BY id FOR UPDATE;
    SELECT * INTO src FROM {sessions} WHERE namespace = p_ns AND id = p_source;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such session' USING ERRCODE = 'SS404';
    END IF;
    hi := CASE WHEN p_stop IS NULL THEN src.message_count
               WHEN p_stop < 0 THEN greatest(0, src.message_count + p_stop)
               ELSE least(p_stop, src.message_count) END;
    cur := {row_fn}(p_ns, p_target, p_now, true, p_expected);
    IF cur.key <> src.key THEN  -- copied inside the server, segment by segment
        DELETE FROM {segments} WHERE key = cur.key;
        INSERT INTO {segments} (key, first_index, payload)
        SELECT cur.key, first_index, payload FROM {segments}
         WHERE key = src.key AND first_index < hi;
    END IF;
    PERFORM {cut_fn}(cur.key, hi, src.message_count, false);
    RETURN QUERY SELECT * FROM {finish_fn}(cur.key, hi, p_now, NULL,
                                           coalesce(src.attributes, '{{}}'));
END
$fn$;
"""

MIGRATION_3 = _TABLES + _HELPERS + _WRITERS
