"""Schema version 4 (data at rest): the functions learn that a segment may be sealed.

A sealed segment (compressed and/or encrypted by ``PayloadCodec``) starts with
a NUL byte, which JSON never does. The server can neither concatenate nor split
one, so this step replaces three functions and adds one; no table changes
(sealed attributes are stored base64-encoded in the same TEXT column, where
plain ones start with ``{``):

- ``write`` merges an append into the last segment only when both are plain
  JSON; otherwise the append becomes a segment of its own.
- ``cut`` refuses (SQLSTATE ``SS422``, ``schema.SEALED``) to split a sealed
  segment or to return sealed segments (pop); ``fork`` refuses to copy sealed
  segments or attributes, which are bound to the source session. The client
  then does the same work itself (``sealed.SealedOperations``), so a store
  without a codec still pops, replaces the tail of and forks sessions that
  another store compressed.
- ``splice`` is the one write of that client-side work: under the row lock it
  checks the caller's expected version and the version the client read
  (``p_base``, else ``schema.STALE``: the client reads again), drops the
  segments from a segment boundary on and inserts the given ones there. With
  ``p_source`` (a fork) both rows are locked in id order and the source must
  still be at the version read.
"""

from __future__ import annotations

__all__ = ["MIGRATION_4"]

#: What every writer returns: the session's record after the write.
_RETURNS_RECORD = """RETURNS TABLE (
    out_count BIGINT, out_created BIGINT, out_updated BIGINT, out_version BIGINT,
    out_attributes TEXT
) LANGUAGE plpgsql AS $fn$"""

_WRITE = (
    """
CREATE OR REPLACE FUNCTION {write_fn}(
    p_ns TEXT, p_id TEXT, p_payloads BYTEA[], p_counts BIGINT[], p_now BIGINT,
    p_expected BIGINT, p_replace BOOLEAN, p_attributes TEXT, p_base BIGINT, p_created BIGINT
) """
    + _RETURNS_RECORD
    + """
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
           AND cur.tail_bytes + size - 1 <= {merge_limit} AND get_byte(p_payloads[1], 0) <> 0 THEN
            -- "[a,b]" + "[c]" -> "[a,b,c]", only when both are plain JSON (a sealed
            -- payload starts with a NUL byte)
            UPDATE {segments}
               SET payload = substring(payload FROM 1 FOR length(payload) - 1)
                             || '\\x2c'::BYTEA || substring(p_payloads[1] FROM 2)
             WHERE key = cur.key AND first_index = cur.tail_start AND get_byte(payload, 0) <> 0;
            IF FOUND THEN
                added := p_counts[1];
                p_payloads := '{{}}';
                p_counts := '{{}}';
            END IF;
        END IF;
    END IF;
    IF cardinality(p_payloads) > 0 THEN
        added := added + {put_fn}(cur.key, start, p_payloads, p_counts);
    END IF;
    RETURN QUERY SELECT * FROM {finish_fn}(cur.key, start + added, p_now, p_created,
                                           p_attributes);
END
$fn$;
"""
)

_CUT = """
CREATE OR REPLACE FUNCTION {cut_fn}(
    p_key BIGINT, p_keep BIGINT, p_total BIGINT, p_return BOOLEAN
) RETURNS SETOF BYTEA LANGUAGE plpgsql AS $fn$
DECLARE
    seg RECORD;
    parts RECORD;
BEGIN
    IF p_keep >= p_total THEN
        RETURN;
    END IF;
    IF p_return AND EXISTS (SELECT 1 FROM {segments} WHERE key = p_key AND first_index >= p_keep
                             AND get_byte(substring(payload FROM 1 FOR 1), 0) = 0) THEN
        RAISE EXCEPTION 'sealed segment' USING ERRCODE = 'SS422';
    END IF;
    SELECT first_index, payload INTO seg FROM {segments}
     WHERE key = p_key AND first_index <= p_keep ORDER BY first_index DESC LIMIT 1;
    IF FOUND AND seg.first_index < p_keep THEN  -- the segment that holds the cut: split it
        IF get_byte(seg.payload, 0) = 0 THEN
            RAISE EXCEPTION 'sealed segment' USING ERRCODE = 'SS422';
        END IF;
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
"""

_FORK = (
    """
CREATE OR REPLACE FUNCTION {fork_fn}(
    p_ns TEXT, p_source TEXT, p_target TEXT, p_stop BIGINT, p_expected BIGINT, p_now BIGINT
) """
    + _RETURNS_RECORD
    + """
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
        IF left(src.attributes, 1) <> '{{' THEN  -- sealed: bound to the source
            RAISE EXCEPTION 'sealed attributes' USING ERRCODE = 'SS422';
        END IF;
        DELETE FROM {segments} WHERE key = cur.key;
        INSERT INTO {segments} (key, first_index, payload)
        SELECT cur.key, first_index, payload FROM {segments}
         WHERE key = src.key AND first_index < hi;
        IF EXISTS (SELECT 1 FROM {segments} WHERE key = cur.key
                      AND get_byte(substring(payload FROM 1 FOR 1), 0) = 0) THEN
            RAISE EXCEPTION 'sealed segment' USING ERRCODE = 'SS422';
        END IF;
    END IF;
    PERFORM {cut_fn}(cur.key, hi, src.message_count, false);
    RETURN QUERY SELECT * FROM {finish_fn}(cur.key, hi, p_now, NULL,
                                           coalesce(src.attributes, '{{}}'));
END
$fn$;
"""
)

_SPLICE = (
    """
CREATE FUNCTION {splice_fn}(
    p_ns TEXT, p_id TEXT, p_from BIGINT, p_payloads BYTEA[], p_counts BIGINT[],
    p_expected BIGINT, p_base BIGINT, p_now BIGINT, p_attributes TEXT,
    p_source TEXT, p_source_version BIGINT
) """
    + _RETURNS_RECORD
    + """
DECLARE
    cur {sessions};
    added BIGINT;
BEGIN
    IF p_source IS NOT NULL THEN  -- a fork: the source must be as the client read it
        PERFORM 1 FROM {sessions} WHERE namespace = p_ns AND id IN (p_source, p_id)
          ORDER BY id FOR UPDATE;
        PERFORM 1 FROM {sessions}
          WHERE namespace = p_ns AND id = p_source AND version = p_source_version;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'stale source' USING ERRCODE = 'SS412', DETAIL = '-1';
        END IF;
    END IF;
    cur := {row_fn}(p_ns, p_id, p_now, true, p_expected);
    IF p_base IS NOT NULL AND p_base <> cur.version THEN  -- written since the client read it
        RAISE EXCEPTION 'stale read' USING ERRCODE = 'SS412', DETAIL = cur.version::TEXT;
    END IF;
    DELETE FROM {segments} WHERE key = cur.key AND first_index >= p_from;
    added := {put_fn}(cur.key, p_from, p_payloads, p_counts);
    RETURN QUERY SELECT * FROM {finish_fn}(cur.key, p_from + added, p_now, NULL, p_attributes);
END
$fn$;
"""
)

MIGRATION_4 = _WRITE + _CUT + _FORK + _SPLICE
