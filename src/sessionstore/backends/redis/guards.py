"""The Lua guard every write script runs first: no key it may write holds a foreign type.

A key under the store's prefix that another application wrote (a list where
the store keeps its ``seq`` counter, say) would make a command fail halfway
through a script, after earlier commands were applied. So each write script
lists the keys it may write with the type the store keeps there, and fails
with an error reply before writing anything when one holds another type.
"""

from __future__ import annotations

__all__ = ["GUARDS"]

#: Lua functions ``foreign``, ``listing_keys`` and ``write_keys`` (see each).
GUARDS = """
-- Before a script writes anything: every key it may write must hold the type
-- this store keeps there (or not exist), so a foreign key under the prefix fails
-- the call with nothing written. want: flat key, type, key, type...
local function foreign(want)
  for i = 1, #want, 2 do
    local found = redis.call('TYPE', want[i]).ok
    local bad = found ~= 'none' and found ~= want[i + 1]
    if not bad and found == 'string' and string.sub(want[i], -3) == 'seq' then
      bad = tonumber(redis.call('GET', want[i])) == nil
    end
    if bad then
      return redis.error_reply('sessionstore: key ' .. want[i] .. ' holds a ' .. found ..
        ', not the ' .. want[i + 1] .. ' this store keeps there (a key of another application' ..
        ' under this key_prefix?); nothing was written')
    end
  end
  return nil
end
-- The listing keys of namespace (prefix, ns, base), with their types.
local function listing_keys(prefix, ns, base, want)
  local own = {base .. 'seq', 'string', base .. 'order', 'zset', base .. 'updated', 'zset'}
  for _, v in ipairs(own) do
    want[#want + 1] = v
  end
  if ns ~= '' then
    want[#want + 1] = prefix .. 'namespaces'
    want[#want + 1] = 'set'
  end
  return want
end
-- Session keys k[from..from+3] and the listing keys of ARGV's COMMON, with their types.
local function write_keys(k, from)
  local want = {k[from], 'hash', k[from + 1], 'list',
    k[from + 2], 'string', k[from + 3], 'string'}
  return listing_keys(ARGV[1], ARGV[2], ARGV[3], want)
end
"""
