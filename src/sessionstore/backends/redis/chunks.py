"""The layouts other than the current plain one: the released layout's upgrade, and the sealed one.

A store whose codec seals payloads (encryption or compression) cannot let Lua
split, join or cut JSON, so it keeps a transcript in the *chunked* layout:

- ``s:`` list: ``CHUNKED``, then one element per chunk: a sealed JSON array of
  one or more consecutive messages (a save writes chunks of up to
  ``CHUNK_MESSAGES`` messages or ``CHUNK_BYTES`` bytes of JSON; an append writes
  its messages as chunks of its own, so an append stays one RPUSH whatever the
  transcript holds);
- ``e:`` string: each chunk's first message index, little-endian uint32, so a
  slice finds its chunks by binary search (``GETRANGE``) and reads only them;
- ``a`` field of the metadata hash: the sealed attributes (JSON object).

A chunk is sealed with its place (namespace, session id, "m", first message
index), attributes with (namespace, session id, "a"): a chunk moved within the
session or into another one fails to unseal. Nothing is folded: a transcript
appended one message at a time holds one chunk per message (as the plain
layout holds one list element per message); its next save writes it in large
chunks again. Pop and replace_tail reseal at most the one chunk they cut.
Every write is read-then-write: the client reads the version (and what it
needs), seals, and the script applies the change only if the version is still
the one read (``{'moved'}`` otherwise, and the client reads again).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, Sequence

import msgspec

from sessionstore._errors import CorruptSessionError
from sessionstore.backends.redis.lua import CHUNKED, HELPERS

__all__ = [
    "CHUNK_BYTES",
    "CHUNK_MESSAGES",
    "CHUNKED_SNAPSHOT",
    "CHUNKED_WRITE",
    "UPGRADE",
    "pack_starts",
    "split_chunks",
    "unpack_starts",
]

#: A save's chunk holds at most this many messages...
CHUNK_MESSAGES = 256
#: ... and at most about this many bytes of JSON (a single larger message is one chunk).
CHUNK_BYTES = 256 * 1024

_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])

_CHUNK_HELPERS = f"""
local CHUNKED = '{CHUNKED.decode()}'
local function start_of(starts, c)
  return (struct.unpack('<I4', redis.call('GETRANGE', starts, 4 * c, 4 * c + 3)))
end
-- The chunk holding message i: the last whose first index is <= i.
local function chunk_of(starts, i)
  local lo, hi = 0, redis.call('STRLEN', starts) / 4 - 1
  while lo < hi do
    local mid = math.floor((lo + hi + 1) / 2)
    if start_of(starts, mid) <= i then lo = mid else hi = mid - 1 end
  end
  return lo
end
"""

#: Rewrite a released-layout session in the current plain layout (its messages as
#: the bulk), if it is still at the version read. KEYS: the session's. ARGV:
#: version, MESSAGES. Returns 1 when the session is in the current layout now, 0
#: when it changed.
UPGRADE = (
    HELPERS
    + """
local bad = foreign({KEYS[1], 'hash', KEYS[2], 'list', KEYS[3], 'string', KEYS[4], 'string'})
if bad then return bad end
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
if current_layout(KEYS[2]) then return 1 end
set_bulk(KEYS, ARGV[2], ARGV[3])
redis.call('HDEL', KEYS[1], 'tail_run')
return 1
"""
)

#: The record and the chunks holding messages [start:stop]. KEYS: the session's.
#: ARGV: start, stop ('' = end). Returns nil | {record, 'other'} (not chunked) |
#: {record, 'chunked', first chunk's index, their starts, the chunks}.
CHUNKED_SNAPSHOT = (
    HELPERS
    + _CHUNK_HELPERS
    + """
local rec = record(KEYS[1])
if rec == nil then return nil end
if redis.call('LINDEX', KEYS[2], 0) ~= CHUNKED then return {rec, 'other'} end
local length = tonumber(rec[1])
local lo = resolve(tonumber(ARGV[1]), length)
local hi = length
if ARGV[2] ~= '' then hi = resolve(tonumber(ARGV[2]), length) end
if hi <= lo then return {rec, 'chunked', 0, '', {}} end
local first, last = chunk_of(KEYS[4], lo), chunk_of(KEYS[4], hi - 1)
return {rec, 'chunked', first, redis.call('GETRANGE', KEYS[4], 4 * first, 4 * last + 3),
  redis.call('LRANGE', KEYS[2], first + 1, last + 1)}
"""
)

#: Every write of the chunked layout. KEYS: the session's. ARGV: COMMON, guard
#: (the version read; -1 = none), keep (chunks kept: -1 = none, a fresh
#: transcript; -2 = all), message count, created_us ('' = keep or now),
#: attributes ('-' = keep, else the sealed object), mode ('write': version + 1 and
#: listed; 'attributes': version + 1; 'convert': neither), the new chunks'
#: starts, then the new chunks. Returns {'ok', record} | {'conflict', version} |
#: {'moved', version} | {'missing'}.
CHUNKED_WRITE = (
    HELPERS
    + _CHUNK_HELPERS
    + """
local meta, list, starts = KEYS[1], KEYS[2], KEYS[4]
local bad = foreign(write_keys(KEYS, 1))
if bad then return bad end
local stored = redis.call('HMGET', meta, 'version', 'created_us')
local version = tonumber(stored[1]) or 0
local failed = check(version)
if failed then return failed end
local guard, mode, keep = tonumber(ARGV[7]), ARGV[12], tonumber(ARGV[8])
if guard >= 0 and guard ~= version then return {'moved', version} end
if ARGV[11] == '-' and mode ~= 'convert' then
  -- Attributes kept as they are must not be plaintext fields: the client seals them.
  for _, f in ipairs(redis.call('HKEYS', meta)) do
    if string.byte(f, 1) == 34 then return {'moved', version} end
  end
end
if mode == 'attributes' and version == 0 then return {'missing'} end
if keep == -1 then
  redis.call('DEL', list, KEYS[3], starts)
  redis.call('RPUSH', list, CHUNKED)
  redis.call('HDEL', meta, 'bulk', 'tail_run')
elseif mode ~= 'attributes' and redis.call('LINDEX', list, 0) ~= CHUNKED then
  return {'moved', version}
elseif keep >= 0 then
  redis.call('LTRIM', list, 0, keep)
  if keep == 0 then
    redis.call('DEL', starts)
  else
    redis.call('SET', starts, redis.call('GETRANGE', starts, 0, 4 * keep - 1))
  end
end
for i = 14, #ARGV, 1000 do
  redis.call('RPUSH', list, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ARGV[13] ~= '' then redis.call('APPEND', starts, ARGV[13]) end
if ARGV[11] ~= '-' then
  for _, f in ipairs(redis.call('HKEYS', meta)) do
    if string.byte(f, 1) == 34 then redis.call('HDEL', meta, f) end
  end
  redis.call('HSET', meta, 'a', ARGV[11])
end
if mode == 'convert' then return {'ok', record(meta)} end
redis.call('HSET', meta, 'version', version + 1)
if mode == 'write' then
  local created = stored[2] or ARGV[5]
  if ARGV[10] ~= '' then created = ARGV[10] end
  redis.call('HSET', meta, 'message_count', ARGV[9], 'created_us', created,
    'updated_us', ARGV[5])
  touch(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
end
return {'ok', record(meta)}
"""
)


def split_chunks(session_id: str, payload: bytes) -> Iterator[list[bytes]]:
    """A JSON array's messages (each its JSON text) in chunks of a bounded size."""
    try:
        items = _RAW_LIST.decode(payload)
    except msgspec.DecodeError as exc:  # pragma: no cover - the core encoded it
        raise CorruptSessionError(session_id, str(exc)) from exc
    chunk: list[bytes] = []
    size = 0
    for raw in items:
        item = bytes(raw)
        if chunk and (len(chunk) >= CHUNK_MESSAGES or size + len(item) > CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += len(item) + 1
    if chunk:
        yield chunk


def pack_starts(starts: Sequence[int]) -> bytes:
    """First message indexes as the ``e:`` string holds them."""
    packed = array("I", starts)
    if sys.byteorder != "little":  # pragma: no cover
        packed.byteswap()
    return packed.tobytes()


def unpack_starts(raw: bytes) -> list[int]:
    """The first message indexes of an ``e:`` string (or a piece of it)."""
    packed = array("I")
    packed.frombytes(raw)
    if sys.byteorder != "little":  # pragma: no cover
        packed.byteswap()
    return packed.tolist()
