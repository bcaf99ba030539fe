"""The Lua scripts that read or write one session, each beside the arguments it takes.

Redis runs a script without interleaving any other command, so each call is
atomic; the key layout is described in the package docstring. Every script
that writes takes the same leading arguments (``COMMON``): key prefix,
namespace, the namespace's key base, session id, the writer's clock in
microseconds and the expected version (-1: any). A script that returns a
record returns ``{count, created_us, updated_us, version, attributes JSON}``.

A transcript list starts with ``HEADER`` and holds one JSON message per
element after it. A list written by the released backend holds JSON-array
segments instead (its first element starts with ``[``); the scripts that need
message positions answer ``{'legacy'}`` for it, and the store upgrades it
(``UPGRADE``) and runs the script again.
"""

from __future__ import annotations

from sessionstore._attributes import MAX_ATTRIBUTES_BYTES

__all__ = [
    "FORK",
    "HEADER",
    "HELPERS",
    "POP",
    "REPLACE_TAIL",
    "SNAPSHOT",
    "UPDATE_ATTRIBUTES",
    "UPGRADE",
    "WRITE",
]

#: The first element of a transcript list in the current layout.
HEADER = b"#sessionstore:2"

# Shared by every script. Attribute fields of the metadata hash are the
# attribute keys as JSON strings (so they start with a double quote, byte 34),
# their values JSON; the other fields are the record's own.
HELPERS = f"""
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
  return {{fields.message_count, fields.created_us, fields.updated_us, fields.version,
    '{{' .. table.concat(parts, ',') .. '}}'}}
end
local function touch(prefix, ns, base, id, now)
  local seq = redis.call('INCR', base .. 'seq')
  redis.call('ZADD', base .. 'order', seq, id)
  redis.call('ZADD', base .. 'updated', now, id)
  if ns ~= '' then redis.call('SADD', prefix .. 'namespaces', ns) end
end
local function drop(base, id)
  local suffix = hex(id)
  redis.call('DEL', base .. 'm:' .. suffix, base .. 's:' .. suffix)
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
-- RPUSH each message of a JSON array: the sizes come as little-endian uint32s.
local function push(list, payload, sizes)
  local at, batch = 2, {{}}
  for i = 1, #sizes, 4 do
    local size = struct.unpack('<I4', sizes, i)
    batch[#batch + 1] = string.sub(payload, at, at + size - 1)
    at = at + size + 1
    if #batch == 1000 then
      redis.call('RPUSH', list, unpack(batch))
      batch = {{}}
    end
  end
  if #batch > 0 then redis.call('RPUSH', list, unpack(batch)) end
  return #sizes / 4
end
local function resolve(index, length)
  if index < 0 then return math.max(0, length + index) end
  return math.min(index, length)
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

# COMMON = ARGV[1..6]: prefix, namespace, base, id, now_us, expected version.
# MESSAGES = two arguments: the messages as one compact JSON array, and the size
# of each message's JSON in it as little-endian uint32s (so a write of 10,000
# messages sends two arguments, not 10,000, and Redis splits the array).

#: Save, append or restore. KEYS: meta, list. ARGV: COMMON, mode ('save'|'append'|
#: 'restore'), created_us ('' = keep or now), n attribute changes (-1 = none),
#: the 2n change fields, the messages' JSON array, their sizes (``MESSAGES``).
#: Returns {'ok', record} | {'conflict', version} | {'too_big', size} | {'legacy'}.
WRITE = (
    HELPERS
    + """
local meta, list = KEYS[1], KEYS[2]
local stored = redis.call('HMGET', meta, 'version', 'message_count', 'created_us')
local version = tonumber(stored[1]) or 0
local failed = check(version)
if failed then return failed end
local mode, n = ARGV[7], tonumber(ARGV[9])
local appending = mode == 'append' and version > 0
if appending and not current_layout(list) then return {'legacy'} end
if n >= 0 then
  local size = set_attributes(meta, 10, n, mode == 'restore')
  if size then return {'too_big', size} end
end
local first = 10 + 2 * math.max(n, 0)
local count = 0
if appending then
  count = tonumber(stored[2])
else
  redis.call('DEL', list)
  redis.call('RPUSH', list, HEADER)
end
count = count + push(list, ARGV[first], ARGV[first + 1])
local created = stored[3] or ARGV[5]
if ARGV[8] ~= '' then created = ARGV[8] end
redis.call('HSET', meta, 'version', version + 1, 'message_count', count,
  'created_us', created, 'updated_us', ARGV[5])
redis.call('HDEL', meta, 'tail_run')
touch(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return {'ok', record(meta)}
"""
)

#: The record and a slice, at once. KEYS: meta, list. ARGV: start, stop ('' = end).
#: Returns nil | {record, 'v2', messages} | {record, 'legacy', all segments}.
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
if hi <= lo then return {rec, 'v2', {}} end
return {rec, 'v2', redis.call('LRANGE', KEYS[2], lo + 1, hi)}
"""
)

#: Remove the last messages. KEYS: meta, list. ARGV: COMMON, count.
#: Returns {'ok', popped (transcript order)} | {'conflict', version} | {'legacy'}.
POP = (
    HELPERS
    + """
local meta, list = KEYS[1], KEYS[2]
local stored = redis.call('HMGET', meta, 'version', 'message_count')
local version = tonumber(stored[1]) or 0
local failed = check(version)
if failed then return failed end
local length = tonumber(stored[2]) or 0
if length == 0 then return {'ok', {}} end
if not current_layout(list) then return {'legacy'} end
local take = math.min(tonumber(ARGV[7]), length)
local popped = redis.call('RPOP', list, take)
local ordered = {}
for i = #popped, 1, -1 do ordered[#ordered + 1] = popped[i] end
redis.call('HSET', meta, 'version', version + 1, 'message_count', length - take,
  'updated_us', ARGV[5])
touch(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return {'ok', ordered}
"""
)

#: Replace [start:] with the messages. KEYS: meta, list. ARGV: COMMON, start, MESSAGES.
#: Returns {'ok', record} | {'conflict', version} | {'missing'} | {'legacy'}.
REPLACE_TAIL = (
    HELPERS
    + """
local meta, list = KEYS[1], KEYS[2]
local stored = redis.call('HMGET', meta, 'version', 'message_count')
local version = tonumber(stored[1]) or 0
local failed = check(version)
if failed then return failed end
if version == 0 then return {'missing'} end
if not current_layout(list) then return {'legacy'} end
local keep = resolve(tonumber(ARGV[7]), tonumber(stored[2]))
redis.call('LTRIM', list, 0, keep)
local added = push(list, ARGV[8], ARGV[9])
redis.call('HSET', meta, 'version', version + 1, 'message_count', keep + added,
  'updated_us', ARGV[5])
touch(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return {'ok', record(meta)}
"""
)

#: Copy source[:stop] and its attributes over the target, inside Redis.
#: KEYS: source meta, source list, target meta, target list. ARGV: COMMON (id =
#: the target), stop ('' = all). Returns {'ok', record} | {'conflict', version} |
#: {'missing'} | {'legacy'}.
FORK = (
    HELPERS
    + """
local smeta, slist, tmeta, tlist = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local source = redis.call('HMGET', smeta, 'version', 'message_count')
if source[1] == false then return {'missing'} end
local target = redis.call('HMGET', tmeta, 'version', 'created_us')
local version = tonumber(target[1]) or 0
local failed = check(version)
if failed then return failed end
if not current_layout(slist) then return {'legacy'} end
local length = tonumber(source[2])
local keep = length
if ARGV[7] ~= '' then keep = resolve(tonumber(ARGV[7]), length) end
if smeta ~= tmeta then
  redis.call('COPY', slist, tlist, 'REPLACE')
  redis.call('COPY', smeta, tmeta, 'REPLACE')
end
if keep < length then redis.call('LTRIM', tlist, 0, keep) end
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
local version = tonumber(redis.call('HGET', meta, 'version')) or 0
local failed = check(version)
if failed then return failed end
if version == 0 then return {'missing'} end
local size = set_attributes(meta, 8, tonumber(ARGV[7]), false)
if size then return {'too_big', size} end
redis.call('HSET', meta, 'version', version + 1)
return {'ok', record(meta)}
"""
)

#: Rewrite a released-layout list as HEADER + one element per message, if the
#: session is still at the version read. KEYS: meta, list. ARGV: version, MESSAGES.
#: Returns 1 when the list is in the current layout now, 0 when the session changed.
UPGRADE = (
    HELPERS
    + """
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
if current_layout(KEYS[2]) then return 1 end
redis.call('DEL', KEYS[2])
redis.call('RPUSH', KEYS[2], HEADER)
push(KEYS[2], ARGV[2], ARGV[3])
redis.call('HDEL', KEYS[1], 'tail_run')
return 1
"""
)
