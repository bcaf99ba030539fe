"""The Lua scripts that read or write one session, each beside the arguments it takes.

Redis runs a script without interleaving any other command, so each call is
atomic; the key layout is described in the package docstring. Every script
that writes takes the same leading arguments (``COMMON``): key prefix,
namespace, the namespace's key base, session id, the writer's clock in
microseconds and the expected version (-1: any). A script that returns a
record returns ``{count, created_us, updated_us, version, attributes JSON}``.

A transcript is two parts. The *bulk* is what the last save wrote: its JSON
array as one string (``b:``) beside the end offset of each message in it
(``e:``, little-endian uint32, 1-based, inclusive); the metadata field ``bulk``
counts the bulk's messages still in the transcript (a pop or replace_tail
shortens it without rewriting it). The *list* (``s:``) starts with ``HEADER``
and holds each message written since, one JSON message per element. So a save
and a whole load cost about one string each (a save's array never enters Lua:
it is staged with SET in the same MULTI as the script), and a slice, pop or
replace_tail only what it touches; dropping bulk messages closes the array
early and blanks the rest, so the bulk string stays one JSON array. A slice
comes back as ``{bulk piece, list items}``: the bulk's messages as
comma-joined JSON ('' for none), then the list's.

A session written by a store that seals its payloads (see ``chunks``) keeps its
attributes as one sealed field ``a`` of the metadata hash, which ``record``
returns as they are; a script that would merge attributes into it, or copy it
to another session, answers ``{'chunked'}`` and the store does it in Python.

A list written by the released backend holds JSON-array segments instead (its
first element starts with ``[``); the scripts answer ``{'legacy'}`` or hand
back the segments, and the store rewrites the session in this layout
(``chunks.UPGRADE``).
"""

from __future__ import annotations

from sessionstore._attributes import MAX_ATTRIBUTES_BYTES
from sessionstore.backends.redis.guards import GUARDS

__all__ = [
    "CHUNKED",
    "FORK",
    "HEADER",
    "HELPERS",
    "POP",
    "REPLACE_TAIL",
    "SNAPSHOT",
    "UPDATE_ATTRIBUTES",
    "WRITE",
]

#: The first element of a transcript list in the current layout.
HEADER = b"#sessionstore:2"
#: The first element of a transcript list in the sealed layout (see ``chunks``).
CHUNKED = b"#sessionstore:3"

# Shared by every script. Attribute fields of the metadata hash are the
# attribute keys as JSON strings (so they start with a double quote, byte 34),
# their values JSON; the other fields are the record's own. Session scripts take
# KEYS meta, list, bulk, ends.
HELPERS = (
    f"""
local HEADER = '{HEADER.decode()}'
local function hex(id)
  return (string.gsub(id, '.', function(c) return string.format('%02x', string.byte(c)) end))
end
local function record(meta)
  local flat = redis.call('HGETALL', meta)
  local fields, parts = {{}}, {{}}
  for i = 1, #flat, 2 do
    if string.byte(flat[i], 1) == 34 then
      parts[#parts + 1] = flat[i] .. ':' .. flat[i + 1]
    else
      fields[flat[i]] = flat[i + 1]
    end
  end
  if fields.version == nil then return nil end
  local attributes = fields.a
  if attributes == nil then attributes = '{{' .. table.concat(parts, ',') .. '}}' end
  return {{fields.message_count, fields.created_us, fields.updated_us, fields.version,
    attributes}}
end
local function touch(prefix, ns, base, id, now)
  local seq = redis.call('INCR', base .. 'seq')
  redis.call('ZADD', base .. 'order', seq, id)
  redis.call('ZADD', base .. 'updated', now, id)
  if ns ~= '' then redis.call('SADD', prefix .. 'namespaces', ns) end
end
local function drop(base, id)
  local suffix = hex(id)
  redis.call('DEL', base .. 'm:' .. suffix, base .. 's:' .. suffix, base .. 'b:' .. suffix,
    base .. 'e:' .. suffix)
  redis.call('ZREM', base .. 'order', id)
  redis.call('ZREM', base .. 'updated', id)
end
local function forget_if_empty(prefix, ns, base)
  if ns ~= '' and redis.call('EXISTS', base .. 'order') == 0 then
    redis.call('SREM', prefix .. 'namespaces', ns)
  end
end
local function current_layout(list)
  return redis.call('LINDEX', list, 0) == HEADER
end
local function resolve(index, length)
  if index < 0 then return math.max(0, length + index) end
  return math.min(index, length)
end
-- The end of bulk message i (0-based), or 0 before the first.
local function bulk_end(ends, i)
  if i < 0 then return 0 end
  return struct.unpack('<I4', redis.call('GETRANGE', ends, 4 * i, 4 * i + 3))
end
-- Bulk messages [lo, hi) as comma-joined JSON, '' for none.
local function bulk_slice(bulk, ends, lo, hi)
  if hi <= lo then return '' end
  return redis.call('GETRANGE', bulk, bulk_end(ends, lo - 1) + 1, bulk_end(ends, hi - 1) - 1)
end
-- List messages [lo, hi) (positions among the list's messages).
local function list_slice(list, lo, hi)
  if hi <= lo then return {{}} end
  return redis.call('LRANGE', list, lo + 1, hi)
end
-- Messages [lo, hi) of a transcript whose first nbulk messages are the bulk's.
local function slice(k, nbulk, lo, hi)
  return {{bulk_slice(k[3], k[4], lo, math.min(hi, nbulk)),
    list_slice(k[2], math.max(lo, nbulk) - nbulk, hi - nbulk)}}
end
-- Keep the bulk's first keep messages (keep < nbulk): its array is closed after
-- them and the dropped bytes blanked, so the string stays one JSON array that a
-- whole load reads with GET (cost: the bytes dropped).
local function shrink_bulk(k, nbulk, keep)
  local close = 2
  if keep > 0 then close = bulk_end(k[4], keep - 1) + 1 end
  local old = bulk_end(k[4], nbulk - 1) + 1
  redis.call('SETRANGE', k[3], close - 1, ']' .. string.rep(' ', old - close))
  redis.call('HSET', k[1], 'bulk', keep)
end
-- Keep the first keep messages of a transcript whose bulk holds nbulk.
local function truncate(k, nbulk, keep)
  if keep >= nbulk then
    redis.call('LTRIM', k[2], 0, keep - nbulk)
  else
    redis.call('LTRIM', k[2], 0, 0)
    shrink_bulk(k, nbulk, keep)
  end
end
-- RPUSH each message of a JSON array given with its ends; returns how many.
local function push(list, payload, ends)
  local at, batch = 2, {{}}
  for i = 1, #ends, 4 do
    local stop = struct.unpack('<I4', ends, i)
    batch[#batch + 1] = string.sub(payload, at, stop)
    at = stop + 2
    if #batch == 1000 then
      redis.call('RPUSH', list, unpack(batch))
      batch = {{}}
    end
  end
  if #batch > 0 then redis.call('RPUSH', list, unpack(batch)) end
  return #ends / 4
end
-- Make the JSON array and ends staged in KEYS[5], KEYS[6] the whole transcript.
local function set_staged_bulk(k)
  redis.call('DEL', k[2])
  redis.call('RPUSH', k[2], HEADER)
  local count = redis.call('STRLEN', k[6]) / 4
  if count == 0 then
    redis.call('DEL', k[3], k[4], k[5], k[6])
  else
    redis.call('RENAME', k[5], k[3])
    redis.call('RENAME', k[6], k[4])
    redis.call('PERSIST', k[3])
    redis.call('PERSIST', k[4])
  end
  redis.call('HSET', k[1], 'bulk', count)
  return count
end
-- Make a JSON array with its ends the whole transcript (as its bulk).
local function set_bulk(k, payload, ends)
  redis.call('DEL', k[2])
  redis.call('RPUSH', k[2], HEADER)
  if #ends == 0 then
    redis.call('DEL', k[3], k[4])
  else
    redis.call('SET', k[3], payload)
    redis.call('SET', k[4], ends)
  end
  redis.call('HSET', k[1], 'bulk', #ends / 4)
  return #ends / 4
end
-- Merge (or, with replace, set) the attribute changes ARGV[at..at+2n-1]
-- (field, JSON value; '' removes). Nothing is written when the result is too big.
local function set_attributes(meta, at, n, replace)
  local merged = {{}}
  local flat = redis.call('HGETALL', meta)
  local old = {{}}
  for i = 1, #flat, 2 do
    if string.byte(flat[i], 1) == 34 then
      old[#old + 1] = flat[i]
      if not replace then merged[flat[i]] = flat[i + 1] end
    end
  end
  for i = at, at + 2 * n - 1, 2 do
    if ARGV[i + 1] == '' then merged[ARGV[i]] = nil else merged[ARGV[i]] = ARGV[i + 1] end
  end
  local size, k = 2, 0
  for f, v in pairs(merged) do size = size + #f + 1 + #v; k = k + 1 end
  if k > 1 then size = size + k - 1 end
  if size > {MAX_ATTRIBUTES_BYTES} then return size end
  for _, f in ipairs(old) do
    if merged[f] == nil then redis.call('HDEL', meta, f) end
  end
  for f, v in pairs(merged) do redis.call('HSET', meta, f, v) end
  return nil
end
local function check(version)
  local expected = tonumber(ARGV[6])
  if expected >= 0 and expected ~= version then return {{'conflict', version}} end
  return nil
end
"""
    + GUARDS
)

# COMMON = ARGV[1..6]: prefix, namespace, base, id, now_us, expected version.
# MESSAGES = two arguments: the messages as one compact JSON array, and the end
# of each message in it as little-endian uint32s (so a write of 10,000 messages
# sends two arguments, not 10,000).

#: Save, append or restore. KEYS: the session's four, then two staging keys that
#: hold a save's MESSAGES (SET with an expiry in the same MULTI, so a save's
#: array never passes through Lua). ARGV: COMMON, mode ('save'|'append'|'restore'),
#: created_us ('' = keep or now), n attribute changes (-1 = none), the 2n change
#: fields, and for an append its MESSAGES.
#: Returns {'ok', record} | {'conflict', version} | {'too_big', size} | {'legacy'}.
WRITE = (
    HELPERS
    + """
local meta, list = KEYS[1], KEYS[2]
local function failed_with(reply)
  redis.call('DEL', KEYS[5], KEYS[6])
  return reply
end
local bad = foreign(write_keys(KEYS, 1))
if bad then return failed_with(bad) end
local stored = redis.call('HMGET', meta, 'version', 'message_count', 'created_us')
local version = tonumber(stored[1]) or 0
local failed = check(version)
if failed then return failed_with(failed) end
local mode, n = ARGV[7], tonumber(ARGV[9])
local appending = mode == 'append' and version > 0
if appending and not current_layout(list) then return failed_with({'legacy'}) end
if n >= 0 and redis.call('HEXISTS', meta, 'a') == 1 then return failed_with({'chunked'}) end
if n >= 0 then
  local size = set_attributes(meta, 10, n, mode == 'restore')
  if size then return failed_with({'too_big', size}) end
end
local first = 10 + 2 * math.max(n, 0)
local count
if appending then
  count = tonumber(stored[2]) + push(list, ARGV[first], ARGV[first + 1])
elseif mode == 'append' then
  count = set_bulk(KEYS, ARGV[first], ARGV[first + 1])
else
  count = set_staged_bulk(KEYS)
end
local created = stored[3] or ARGV[5]
if ARGV[8] ~= '' then created = ARGV[8] end
redis.call('HSET', meta, 'version', version + 1, 'message_count', count,
  'created_us', created, 'updated_us', ARGV[5])
redis.call('HDEL', meta, 'tail_run')
touch(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return {'ok', record(meta)}
"""
)

#: The record and a slice, at once. KEYS: the session's. ARGV: start, stop ('' = end).
#: Returns nil | {record, 'v2', bulk piece, list items} | {record, 'legacy', all segments}.
SNAPSHOT = (
    HELPERS
    + """
local rec = record(KEYS[1])
if rec == nil then return nil end
if not current_layout(KEYS[2]) then
  return {rec, 'legacy', redis.call('LRANGE', KEYS[2], 0, -1)}
end
local length = tonumber(rec[1])
local lo = resolve(tonumber(ARGV[1]), length)
local hi = length
if ARGV[2] ~= '' then hi = resolve(tonumber(ARGV[2]), length) end
local nbulk = tonumber(redis.call('HGET', KEYS[1], 'bulk')) or 0
local parts = slice(KEYS, nbulk, lo, hi)
return {rec, 'v2', parts[1], parts[2]}
"""
)

#: Remove the last messages. KEYS: the session's. ARGV: COMMON, count.
#: Returns {'ok', bulk piece, list items} | {'conflict', version} | {'legacy'}.
POP = (
    HELPERS
    + """
local meta, list = KEYS[1], KEYS[2]
local bad = foreign(write_keys(KEYS, 1))
if bad then return bad end
local stored = redis.call('HMGET', meta, 'version', 'message_count', 'bulk')
local version = tonumber(stored[1]) or 0
local failed = check(version)
if failed then return failed end
local length = tonumber(stored[2]) or 0
if length == 0 then return {'ok', '', {}} end
if not current_layout(list) then return {'legacy'} end
local keep = length - math.min(tonumber(ARGV[7]), length)
local nbulk = tonumber(stored[3]) or 0
local parts = slice(KEYS, nbulk, keep, length)
truncate(KEYS, nbulk, keep)
redis.call('HSET', meta, 'version', version + 1, 'message_count', keep, 'updated_us', ARGV[5])
touch(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return {'ok', parts[1], parts[2]}
"""
)

#: Replace [start:] with the messages. KEYS: the session's. ARGV: COMMON, start, MESSAGES.
#: Returns {'ok', record} | {'conflict', version} | {'missing'} | {'legacy'}.
REPLACE_TAIL = (
    HELPERS
    + """
local meta, list = KEYS[1], KEYS[2]
local bad = foreign(write_keys(KEYS, 1))
if bad then return bad end
local stored = redis.call('HMGET', meta, 'version', 'message_count', 'bulk')
local version = tonumber(stored[1]) or 0
local failed = check(version)
if failed then return failed end
if version == 0 then return {'missing'} end
if not current_layout(list) then return {'legacy'} end
local keep = resolve(tonumber(ARGV[7]), tonumber(stored[2]))
truncate(KEYS, tonumber(stored[3]) or 0, keep)
local added = push(list, ARGV[8], ARGV[9])
redis.call('HSET', meta, 'version', version + 1, 'message_count', keep + added,
  'updated_us', ARGV[5])
touch(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return {'ok', record(meta)}
"""
)

#: Copy source[:stop] and its attributes over the target, inside Redis.
#: KEYS: the source's four, then the target's. ARGV: COMMON (id = the target),
#: stop ('' = all). Returns {'ok', record} | {'conflict', version} | {'missing'} |
#: {'legacy'}.
FORK = (
    HELPERS
    + """
local bad = foreign(write_keys(KEYS, 5))
if bad then return bad end
local source = redis.call('HMGET', KEYS[1], 'version', 'message_count')
if source[1] == false then return {'missing'} end
if redis.call('HEXISTS', KEYS[1], 'a') == 1 then return {'chunked'} end
local target = redis.call('HMGET', KEYS[5], 'version', 'created_us')
local version = tonumber(target[1]) or 0
local failed = check(version)
if failed then return failed end
if not current_layout(KEYS[2]) then return {'legacy'} end
local length = tonumber(source[2])
local keep = length
if ARGV[7] ~= '' then keep = resolve(tonumber(ARGV[7]), length) end
if KEYS[1] ~= KEYS[5] then
  redis.call('DEL', KEYS[7], KEYS[8])
  for i = 1, 4 do redis.call('COPY', KEYS[i], KEYS[i + 4], 'REPLACE') end
end
local tmeta = KEYS[5]
local target_keys = {KEYS[5], KEYS[6], KEYS[7], KEYS[8]}
truncate(target_keys, tonumber(redis.call('HGET', tmeta, 'bulk')) or 0, keep)
redis.call('HSET', tmeta, 'version', version + 1, 'message_count', keep,
  'created_us', target[2] or ARGV[5], 'updated_us', ARGV[5])
touch(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return {'ok', record(tmeta)}
"""
)

#: Merge attribute changes; version + 1, nothing else moves. KEYS: meta.
#: ARGV: COMMON, n, the 2n change fields.
#: Returns {'ok', record} | {'conflict', version} | {'missing'} | {'too_big', size}.
UPDATE_ATTRIBUTES = (
    HELPERS
    + """
local meta = KEYS[1]
local bad = foreign({meta, 'hash'})
if bad then return bad end
local version = tonumber(redis.call('HGET', meta, 'version')) or 0
local failed = check(version)
if failed then return failed end
if version == 0 then return {'missing'} end
if redis.call('HEXISTS', meta, 'a') == 1 then return {'chunked'} end
local size = set_attributes(meta, 8, tonumber(ARGV[7]), false)
if size then return {'too_big', size} end
redis.call('HSET', meta, 'version', version + 1)
return {'ok', record(meta)}
"""
)
