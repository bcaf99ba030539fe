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

from sessionstore.backends.redis.lua import CHUNKED, HEADER, HELPERS

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

# COMMON = ARGV[1..6]: prefix, namespace, base, id, now_us, expected version.
# MESSAGES = two arguments: the messages as one compact JSON array, and the end
# of each message in it as little-endian uint32s (so a write of 10,000 messages
# sends two arguments, not 10,000).

#: Save, append or restore. KEYS: the session's four, then two staging keys that
#: hold a save's MESSAGES (SET with an expiry in the same MULTI, so a save's
#: array never passes through Lua). ARGV: COMMON, mode ('save'|'append'|'restore'),
#: created_us ('' = keep or now), n attribute changes (-1 = none), how many list
#: messages an append folds into the bulk at, the 2n change fields, and for an
#: append its MESSAGES.
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
  local size = set_attributes(meta, 11, n, mode == 'restore')
  if size then return failed_with({'too_big', size}) end
end
local first = 11 + 2 * math.max(n, 0)
local count
if appending then
  count = tonumber(stored[2]) + push(list, ARGV[first], ARGV[first + 1])
  if redis.call('LLEN', list) - 1 > tonumber(ARGV[10]) then
    fold(KEYS, tonumber(redis.call('HGET', meta, 'bulk')) or 0)
  end
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
