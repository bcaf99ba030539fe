"""The Lua scripts of the Redis backend, each beside the constants it is run with.

Every write is one script, which Redis runs without interleaving any other
command, so it is atomic; the key layout the scripts share is described in
the package docstring. A script that returns a session's metadata returns it
in record order (``META_FIELDS``), the order ``record_from_stored`` takes.
"""

from __future__ import annotations

from typing import Any

from sessionstore._records import SessionId, SessionRecord, record_from_stored

__all__ = [
    "DELETE_SCRIPT",
    "LIST_CHUNK",
    "LIST_SCRIPT",
    "MERGE_RUN",
    "META_FIELDS",
    "PRUNE_BATCH",
    "PRUNE_SCRIPT",
    "SCAN_SCRIPT",
    "SMALL_SEGMENT_BYTES",
    "WRITE_SCRIPT",
    "sequenced_records",
]

#: A session's metadata fields in record order: what ``record_from_stored`` takes.
META_FIELDS = ("message_count", "created_us", "updated_us", "version")

# Shared helpers, prepended to scripts that derive keys from session ids.
_HELPERS = """
local function hex(id)
  return (string.gsub(id, '.', function(c) return string.format('%02x', string.byte(c)) end))
end
local function drop(prefix, order, updated, id)
  local suffix = hex(id)
  redis.call('DEL', prefix .. 'm:' .. suffix, prefix .. 's:' .. suffix)
  redis.call('ZREM', order, id)
  redis.call('ZREM', updated, id)
end
"""

#: Segments smaller than this are merged with their neighbours when a run grows long.
SMALL_SEGMENT_BYTES = 16 * 1024
#: How many small trailing segments trigger one merge (bounds the work of a merge).
MERGE_RUN = 32

#: Save or append. KEYS: meta, segments, order, updated, seq.
#: ARGV: mode ("save"|"append"), id, payload, message count, now_us,
#: expected version (-1 = any), SMALL_SEGMENT_BYTES, MERGE_RUN,
#: created_us ("" = keep the stored one, or now_us for a new session; restore gives it).
#: Returns {"ok", message_count, created_us, updated_us, version} (the record's
#: fields in record order) or {"conflict", version}.
WRITE_SCRIPT = """
local meta = redis.call('HMGET', KEYS[1], 'version', 'message_count', 'created_us', 'tail_run')
local version = tonumber(meta[1]) or 0
local expected = tonumber(ARGV[6])
if expected >= 0 and expected ~= version then
  return {'conflict', version}
end
local payload = ARGV[3]
local added = tonumber(ARGV[4])
local small = tonumber(ARGV[7])
local created = meta[3] or ARGV[5]
if ARGV[9] ~= '' then created = ARGV[9] end
local count, run
if ARGV[1] == 'save' or version == 0 then
  redis.call('DEL', KEYS[2])
  redis.call('RPUSH', KEYS[2], payload)
  count = added
  if #payload < small then run = 1 else run = 0 end
else
  count = tonumber(meta[2]) + added
  run = tonumber(meta[4]) or 0
  if added > 0 then
    if #payload >= small then
      redis.call('RPUSH', KEYS[2], payload)
      run = 0
    elseif run + 1 < tonumber(ARGV[8]) then
      redis.call('RPUSH', KEYS[2], payload)
      run = run + 1
    else
      -- Merge the trailing run of small segments and this one into a single
      -- segment by splicing JSON arrays: '[a,b]' .. '[c]' -> '[a,b,c]'. The work is
      -- bounded by run * small bytes and happens once per run of appends.
      local tail = redis.call('LRANGE', KEYS[2], -run, -1)
      tail[#tail + 1] = payload
      local parts = {}
      local mergeable = true
      for _, segment in ipairs(tail) do
        if string.sub(segment, 1, 1) ~= '[' or string.sub(segment, -1) ~= ']' then
          mergeable = false
          break
        end
        if segment ~= '[]' then
          parts[#parts + 1] = string.sub(segment, 2, -2)
        end
      end
      if mergeable then
        local merged = '[' .. table.concat(parts, ',') .. ']'
        redis.call('LTRIM', KEYS[2], 0, -run - 1)
        redis.call('RPUSH', KEYS[2], merged)
        if #merged < small then run = 1 else run = 0 end
      else
        -- A damaged segment is left as it is, so that loading still reports it.
        redis.call('RPUSH', KEYS[2], payload)
        run = 0
      end
    end
  end
end
version = version + 1
redis.call('HSET', KEYS[1], 'version', version, 'message_count', count,
  'created_us', created, 'updated_us', ARGV[5], 'tail_run', run)
local seq = redis.call('INCR', KEYS[5])
redis.call('ZADD', KEYS[3], seq, ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[2])
return {'ok', count, created, ARGV[5], version}
"""

# The listing scripts' reply from a WITHSCORES range (id, score, id, score...): each
# session's sequence, id and metadata (META_FIELDS, in order), flat; a session whose
# hash is gone is skipped.
_RECORDS = """
local function records(prefix, found)
  local out = {}
  for i = 1, #found, 2 do
    local meta = redis.call('HMGET', prefix .. 'm:' .. hex(found[i]),
      'message_count', 'created_us', 'updated_us', 'version')
    if meta[4] then
      out[#out + 1] = tonumber(found[i + 1])
      out[#out + 1] = found[i]
      out[#out + 1] = meta[1]
      out[#out + 1] = meta[2]
      out[#out + 1] = meta[3]
      out[#out + 1] = meta[4]
    end
  end
  return out
end
"""

#: The most sessions one listing script reads: Redis serves no one else while a
#: script runs, so a larger window is read in chunks of this many.
LIST_CHUNK = 5000

#: A page of the listing by rank, with each session's sequence and metadata, in one step.
#: KEYS: order. ARGV: start, stop, "1" for newest first, key prefix.
#: Returns a flat array: sequence (an integer), id, message_count, created_us,
#: updated_us, version, sequence, id, ...
LIST_SCRIPT = (
    _HELPERS
    + _RECORDS
    + """
local found
if ARGV[3] == '1' then
  found = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'REV', 'WITHSCORES')
else
  found = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')
end
return records(ARGV[4], found)
"""
)

#: A page of scan(): the sessions whose write sequence is past a cursor, in order.
#: KEYS: order. ARGV: cursor (exclusive), limit, key prefix. Returns what LIST_SCRIPT does.
SCAN_SCRIPT = (
    _HELPERS
    + _RECORDS
    + """
local found = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf',
  'WITHSCORES', 'LIMIT', 0, ARGV[2])
return records(ARGV[3], found)
"""
)

#: Delete one session. KEYS: order, updated. ARGV: key prefix, id.
DELETE_SCRIPT = (
    _HELPERS
    + """
drop(ARGV[1], KEYS[1], KEYS[2], ARGV[2])
return 1
"""
)

#: Sessions deleted per prune script call, so retention never blocks the server long.
PRUNE_BATCH = 500

#: One bounded batch of retention. KEYS: order, updated.
#: ARGV: key prefix, updated_before score bound ("" = none, else "(<us>"),
#: keep_newest (-1 = none), batch size (PRUNE_BATCH), skip (entries of ``updated``
#: already kept).
#: Returns {deleted, kept, more (1|0)}.
PRUNE_SCRIPT = (
    _HELPERS
    + """
local prefix, order, updated = ARGV[1], KEYS[1], KEYS[2]
local keep = tonumber(ARGV[3])
local batch = tonumber(ARGV[4])
if ARGV[2] == '' then
  -- keep_newest only: the oldest sessions beyond the newest N, by sequence.
  local excess = redis.call('ZCARD', order) - keep
  if excess <= 0 then return {0, 0, 0} end
  local take = math.min(excess, batch)
  local ids = redis.call('ZRANGE', order, 0, take - 1)
  for _, id in ipairs(ids) do drop(prefix, order, updated, id) end
  local more = 0
  if excess > take then more = 1 end
  return {#ids, 0, more}
end
-- updated_before (maybe with keep_newest): candidates by last-write time; a
-- candidate survives when its sequence is among the newest N.
local newest_floor = nil
if keep > 0 then
  local nth = redis.call('ZRANGE', order, keep - 1, keep - 1, 'REV', 'WITHSCORES')
  if #nth == 0 then return {0, 0, 0} end
  newest_floor = tonumber(nth[2])
end
local ids = redis.call('ZRANGE', updated, '-inf', ARGV[2], 'BYSCORE', 'LIMIT', ARGV[5], batch)
local deleted, kept = 0, 0
for _, id in ipairs(ids) do
  local seq = tonumber(redis.call('ZSCORE', order, id))
  if newest_floor ~= nil and seq ~= nil and seq >= newest_floor then
    kept = kept + 1
  else
    drop(prefix, order, updated, id)
    deleted = deleted + 1
  end
end
local more = 0
if #ids == batch then more = 1 end
return {deleted, kept, more}
"""
)


def sequenced_records(flat: list[Any]) -> list[tuple[int, SessionRecord]]:
    """(sequence, record) pairs from a listing script's flat reply of six fields each."""
    pairs = []
    for start in range(0, len(flat), 6):
        session_id = SessionId(flat[start + 1].decode("utf-8"))
        pairs.append(
            (int(flat[start]), record_from_stored(session_id, flat[start + 2 : start + 6]))
        )
    return pairs
