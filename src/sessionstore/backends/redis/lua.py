"""The Lua helpers every Redis script starts with, and the transcript list's header.

The layout they work on is described in ``scripts`` and the package docstring.
"""

from __future__ import annotations

from sessionstore._attributes import MAX_ATTRIBUTES_BYTES
from sessionstore.backends.redis.guards import GUARDS

__all__ = ["CHUNKED", "HEADER", "HELPERS", "MAX_STRING_BYTES"]

#: The longest string Redis stores or takes as one argument (``proto-max-bulk-len``'s
#: default): the most a write may carry, and a bulk that a fold would make longer
#: stays as it is (its list keeps the messages).
MAX_STRING_BYTES = 512 * 1024 * 1024

#: The first element of a transcript list in the current layout.
HEADER = b"#sessionstore:2"
#: The first element of a transcript list in the sealed layout (see ``chunks``).
CHUNKED = b"#sessionstore:3"

# Shared by every script. Attribute fields of the metadata hash are the
# attribute keys as JSON strings (so they start with a double quote, byte 34),
# their values JSON; the other fields are the record's own. Session scripts take
# KEYS meta, list, bulk, ends. A sealed store keeps the attributes as one sealed
# field ``a`` instead (see ``chunks``), which ``record`` returns as it is.
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
-- Move the list's messages to the end of the bulk (cost: those messages), so a
-- transcript built by appends loads as one string too.
local function fold(k, nbulk)
  local items = redis.call('LRANGE', k[2], 1, -1)
  if #items == 0 then return end
  local prev = bulk_end(k[4], nbulk - 1)
  local ends = {{}}
  for i, item in ipairs(items) do
    prev = prev + 1 + #item
    ends[i] = struct.pack('<I4', prev)
  end
  if prev + 1 > {MAX_STRING_BYTES} then return end  -- the bulk would pass Redis's limit
  local joined = table.concat(items, ',') .. ']'
  if nbulk == 0 then
    redis.call('SET', k[3], '[' .. joined)
    redis.call('SET', k[4], table.concat(ends))
  else
    redis.call('SETRANGE', k[3], bulk_end(k[4], nbulk - 1), ',' .. joined)
    redis.call('SETRANGE', k[4], 4 * nbulk, table.concat(ends))
  end
  redis.call('LTRIM', k[2], 0, 0)
  redis.call('HSET', k[1], 'bulk', nbulk + #items)
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
