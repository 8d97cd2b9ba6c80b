"""The scripts behind namespaces: writes that index their keys, clears and counts that use the index.

A namespace's index is a sorted set of the Redis names of its entries *and of its children's*,
scored by the time each expires (server time in ms; ``+inf`` for none). Every write in a namespace
is one script that sets the entries and indexes them in the namespace and in each enclosing one, so
``clear()`` of any namespace finds its entries without a scan of the database: it pops its index
page by page and unlinks what it pops. The same script drops index members whose time has passed,
and keeps the index alive as long as its longest-lived member (it expires with them).

All keys of one call are in one cluster slot (the top-level namespace is a hash tag: ``keyspace``).
Every script runs atomically: a write racing a clear is either removed by it or written after it.
"""

from __future__ import annotations

#: Lua shared by the scripts below (and by the lease scripts): server time in ms, and indexing
#: ``members`` in ``KEYS[first..last]`` with ``score``; ``px`` is the members' TTL (0: none).
INDEX_LUA = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function index(first, last, members, score, now, px)
  for i = first, last do
    local idx = KEYS[i]
    local ttl = redis.call('PTTL', idx)
    for start = 1, #members, 1000 do
      local args = {}
      for m = start, math.min(start + 999, #members) do
        args[#args + 1] = score
        args[#args + 1] = members[m]
      end
      redis.call('ZADD', idx, unpack(args))
    end
    redis.call('ZREMRANGEBYSCORE', idx, '-inf', '(' .. now)
    if px == 0 then
      redis.call('PERSIST', idx)
    elseif ttl == -2 or (ttl >= 0 and ttl < px) then
      redis.call('PEXPIRE', idx, px)
    end
  end
end

local function score_of(now, px)
  if px == 0 then return '+inf' end
  return now + px
end
"""

#: KEYS: the indexes (``ARGV[1]`` of them), then the entries' names. ARGV: index count, TTL in ms
#: ('0': none), then one payload per name. Sets every entry, indexes them; returns how many.
SET_IN = (
    INDEX_LUA
    + """
local d, px = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, names = now_ms(), {}
for i = d + 1, #KEYS do
  if px > 0 then
    redis.call('SET', KEYS[i], ARGV[i - d + 2], 'PX', px)
  else
    redis.call('SET', KEYS[i], ARGV[i - d + 2])
  end
  names[#names + 1] = KEYS[i]
end
index(1, d, names, score_of(now, px), now, px)
return #names
"""
)

#: KEYS: the indexes (``ARGV[1]`` of them), then names. Unlinks the names, drops them from the
#: indexes; returns how many existed.
DELETE_IN = """
local d, names = tonumber(ARGV[1]), {}
for i = d + 1, #KEYS do names[#names + 1] = KEYS[i] end
local removed = redis.call('UNLINK', unpack(names))
for i = 1, d do redis.call('ZREM', KEYS[i], unpack(names)) end
return removed
"""

#: KEYS: the namespace's index, then the enclosing ones'. ARGV: page size. Pops a page of the
#: index, unlinks it and drops it from the enclosing indexes; returns {popped, existed}.
CLEAR_PAGE = """
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
if #popped == 0 then return {0, 0} end
local names = {}
for i = 1, #popped, 2 do names[#names + 1] = popped[i] end
local removed = redis.call('UNLINK', unpack(names))
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], unpack(names)) end
return {#names, removed}
"""

#: KEYS: a namespace's index. ARGV: ZSCAN cursor, page size, the namespace's own prefix. Counts
#: the page's members that exist and are the namespace's own (not a child's); drops the members
#: that no longer exist. Returns {next cursor, own live entries, dropped}.
SIZE_PAGE = """
local reply = redis.call('ZSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local own, plen, live, gone = ARGV[3], string.len(ARGV[3]), 0, {}
local items = reply[2]
for i = 1, #items, 2 do
  local name = items[i]
  if redis.call('EXISTS', name) == 1 then
    if string.sub(name, 1, plen) == own then live = live + 1 end
  else
    gone[#gone + 1] = name
  end
end
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
return {reply[1], live, #gone}
"""

#: Entries written, unlinked or popped per script call: ``unpack`` takes at most ~8000 values, and
#: a call holds the server for ~2 µs per entry, so other clients' commands run between pages.
PAGE = 500
