"""The Lua scripts over one namespace's listing: list, scan, delete, prune, clear.

Each namespace has its own ``order`` sorted set (score: the namespace's write
sequence) and ``updated`` sorted set (score: ``updated_us``), so these scripts
cost what the page costs, whatever other namespaces hold. A script holds the
server while it runs, so none reads more than ``LIST_CHUNK`` sessions or
deletes more than ``DELETE_BATCH``; larger work goes in batches.

Every script takes ARGV prefix, namespace, key base first (``COMMON``).
"""

from __future__ import annotations

from typing import Any

from sessionstore._attributes import decode_attributes
from sessionstore._records import SessionId, SessionRecord, record_from_stored
from sessionstore._rest import PayloadCodec
from sessionstore.backends.redis.codec import open_attributes
from sessionstore.backends.redis.lua import HELPERS

__all__ = [
    "CLEAR",
    "DELETE",
    "DELETE_BATCH",
    "LIST",
    "LIST_CHUNK",
    "PRUNE",
    "SCAN",
    "sequenced_records",
]

#: The most sessions one listing script reads.
LIST_CHUNK = 5000
#: The most sessions one delete script removes, so retention never blocks the server long.
DELETE_BATCH = 500

# A WITHSCORES range (id, score, ...) as a flat reply: sequence, id, then the
# record's five fields, per session; a session whose hash is gone is skipped.
_RECORDS = """
local function records(base, found)
  local out = {}
  for i = 1, #found, 2 do
    local rec = record(base .. 'm:' .. hex(found[i]))
    if rec ~= nil then
      out[#out + 1] = found[i + 1]
      out[#out + 1] = found[i]
      for _, value in ipairs(rec) do out[#out + 1] = value end
    end
  end
  return out
end
"""

#: ARGV: COMMON, start rank, stop rank, '1' for newest first. Returns the flat records.
LIST = (
    HELPERS
    + _RECORDS
    + """
local order = ARGV[3] .. 'order'
local found
if ARGV[6] == '1' then
  found = redis.call('ZRANGE', order, ARGV[4], ARGV[5], 'REV', 'WITHSCORES')
else
  found = redis.call('ZRANGE', order, ARGV[4], ARGV[5], 'WITHSCORES')
end
return records(ARGV[3], found)
"""
)

#: ARGV: COMMON, cursor (exclusive sequence), limit. Returns the flat records.
SCAN = (
    HELPERS
    + _RECORDS
    + """
local found = redis.call('ZRANGE', ARGV[3] .. 'order', '(' .. ARGV[4], '+inf',
  'BYSCORE', 'LIMIT', 0, ARGV[5], 'WITHSCORES')
return records(ARGV[3], found)
"""
)

#: ARGV: COMMON, id. Returns 1.
DELETE = (
    HELPERS
    + """
local bad = foreign(listing_keys(ARGV[1], ARGV[2], ARGV[3], {}))
if bad then return bad end
drop(ARGV[3], ARGV[4])
forget_if_empty(ARGV[1], ARGV[2], ARGV[3])
return 1
"""
)

#: ARGV: COMMON, batch. Deletes up to a batch of the oldest; returns how many.
CLEAR = (
    HELPERS
    + """
local bad = foreign(listing_keys(ARGV[1], ARGV[2], ARGV[3], {}))
if bad then return bad end
local ids = redis.call('ZRANGE', ARGV[3] .. 'order', 0, tonumber(ARGV[4]) - 1)
for _, id in ipairs(ids) do drop(ARGV[3], id) end
forget_if_empty(ARGV[1], ARGV[2], ARGV[3])
return #ids
"""
)

#: One bounded batch of retention. ARGV: COMMON, updated_before score bound
#: ('' = none, else '(<us>'), keep_newest (-1 = none), batch, skip (entries of
#: ``updated`` already kept). Returns {deleted, kept, more (1|0)}.
PRUNE = (
    HELPERS
    + """
local bad = foreign(listing_keys(ARGV[1], ARGV[2], ARGV[3], {}))
if bad then return bad end
local prefix, ns, base = ARGV[1], ARGV[2], ARGV[3]
local order, updated = base .. 'order', base .. 'updated'
local keep, batch = tonumber(ARGV[5]), tonumber(ARGV[6])
if ARGV[4] == '' then
  -- keep_newest only: the oldest sessions beyond the newest N, by sequence.
  local excess = redis.call('ZCARD', order) - keep
  if excess <= 0 then return {0, 0, 0} end
  local take = math.min(excess, batch)
  local ids = redis.call('ZRANGE', order, 0, take - 1)
  for _, id in ipairs(ids) do drop(base, id) end
  forget_if_empty(prefix, ns, base)
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
local ids = redis.call('ZRANGE', updated, '-inf', ARGV[4], 'BYSCORE', 'LIMIT', ARGV[7], batch)
local deleted, kept = 0, 0
for _, id in ipairs(ids) do
  local seq = tonumber(redis.call('ZSCORE', order, id))
  if newest_floor ~= nil and seq ~= nil and seq >= newest_floor then
    kept = kept + 1
  else
    drop(base, id)
    deleted = deleted + 1
  end
end
forget_if_empty(prefix, ns, base)
local more = 0
if #ids == batch then more = 1 end
return {deleted, kept, more}
"""
)


def sequenced_records(
    flat: list[Any], codec: PayloadCodec | None = None, namespace: str = ""
) -> list[tuple[int, SessionRecord]]:
    """(sequence, record) pairs from a listing script's flat reply of seven fields each."""
    pairs = []
    for start in range(0, len(flat), 7):
        session_id = SessionId(flat[start + 1].decode("utf-8"))
        raw = open_attributes(codec, namespace, session_id, flat[start + 6])
        attributes = decode_attributes(session_id, raw)
        record = record_from_stored(session_id, flat[start + 2 : start + 6], attributes)
        pairs.append((int(flat[start]), record))
    return pairs
