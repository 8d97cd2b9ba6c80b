"""The scripts behind namespaces: writes that index their keys, clears and counts that use the index.

A namespace's index is a sorted set of the Redis names of its own entries, scored by the time each
expires (server time in ms; ``+inf`` for none), and of its children's indexes, scored likewise. A
write in a namespace is one script that sets the entries and adds them to the namespace's index;
an index that is new registers itself in its parent's index, so that ``clear()`` of any namespace
finds its entries, and its children's, without a scan of the database: it pops its index page by
page, unlinks the entries it pops and follows the child indexes it pops.

An index lives as long as its longest-lived member, with slack (twice what it needs, when it has
to be extended, so that few writes extend it), and so does its registration in its parent (the
parents' indexes are extended along). Members whose time has passed are dropped now and then
(every 64th member added). All keys of one call are in one cluster slot (the top-level namespace
is a hash tag: ``keyspace``). Every script runs atomically: a write racing a clear is either
removed by it or written after it.
"""

from __future__ import annotations

#: Lua shared by the scripts below (and by the lease scripts): server time in ms, and indexing
#: ``members`` in a namespace's index, keeping it and its enclosing indexes alive.
INDEX_LUA = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function score_of(now, px)
  if px == 0 then return '+inf' end
  return now + px
end

-- Keep KEYS[level]'s index (and its registration in its parent, KEYS[level + 1], up to KEYS[last])
-- alive for px ms (0: for good); ttl is the index's PTTL from before this write (-2: it is new).
local function keep(level, last, ttl, now, px)
  local idx = KEYS[level]
  local score
  if px == 0 then
    if ttl == -1 then return end
    redis.call('PERSIST', idx)
    score = '+inf'
  else
    if ttl == -1 or ttl >= px then return end
    redis.call('PEXPIRE', idx, 2 * px)
    score = now + 2 * px
  end
  if level < last then
    local parent = KEYS[level + 1]
    local parent_ttl = redis.call('PTTL', parent)
    redis.call('ZADD', parent, score, idx)
    keep(level + 1, last, parent_ttl, now, px)
  end
end

-- Index members in KEYS[first] (the namespace's index; KEYS[first + 1 .. last]: the enclosing ones).
local function index(first, last, members, now, px)
  local idx, score = KEYS[first], score_of(now, px)
  local ttl = redis.call('PTTL', idx)
  for start = 1, #members, 1000 do
    local args = {}
    for m = start, math.min(start + 999, #members) do
      args[#args + 1] = score
      args[#args + 1] = members[m]
    end
    redis.call('ZADD', idx, unpack(args))
  end
  keep(first, last, ttl, now, px)
  if redis.call('ZCARD', idx) % 64 == 0 then
    redis.call('ZREMRANGEBYSCORE', idx, '-inf', '(' .. now)
  end
end
"""

#: KEYS: the namespace's index and the enclosing ones (``ARGV[1]`` of them), then the entries'
#: names. ARGV: index count, TTL in ms ('0': none), then one payload per name. Sets every entry,
#: indexes them; returns how many.
SET_IN = (
    INDEX_LUA
    + """
local depth, px = tonumber(ARGV[1]), tonumber(ARGV[2])
local names = {}
for i = depth + 1, #KEYS do
  if px > 0 then
    redis.call('SET', KEYS[i], ARGV[i - depth + 2], 'PX', px)
  else
    redis.call('SET', KEYS[i], ARGV[i - depth + 2])
  end
  names[#names + 1] = KEYS[i]
end
index(1, depth, names, now_ms(), px)
return #names
"""
)

#: KEYS: the namespace's index, then names. Unlinks the names, drops them from the index; returns
#: how many existed.
DELETE_IN = """
local names = {}
for i = 2, #KEYS do names[#names + 1] = KEYS[i] end
local removed = redis.call('UNLINK', unpack(names))
redis.call('ZREM', KEYS[1], unpack(names))
return removed
"""

#: KEYS: an index. ARGV: page size, the index mark. Pops a page of the index, unlinks the entries
#: it pops; returns {popped, existed, child indexes popped...} (the caller clears those next).
CLEAR_PAGE = """
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
local names, children, mark = {}, {}, ARGV[2]
for i = 1, #popped, 2 do
  local name = popped[i]
  if string.sub(name, -1) == mark then
    children[#children + 1] = name
  else
    names[#names + 1] = name
  end
end
local removed = 0
if #names > 0 then removed = redis.call('UNLINK', unpack(names)) end
return {#popped / 2, removed, unpack(children)}
"""

#: KEYS: a namespace's index. ARGV: ZSCAN cursor, page size, the namespace's own prefix. Counts
#: the page's members that exist and are the namespace's own entries (not a child's index); drops
#: the entries that no longer exist. Returns {next cursor, own live entries, dropped}.
SIZE_PAGE = """
local reply = redis.call('ZSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local own, plen, live, gone = ARGV[3], string.len(ARGV[3]), 0, {}
local items = reply[2]
for i = 1, #items, 2 do
  local name = items[i]
  if string.sub(name, 1, plen) == own then
    if redis.call('EXISTS', name) == 1 then live = live + 1 else gone[#gone + 1] = name end
  end
end
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
return {reply[1], live, #gone}
"""

#: Entries written, unlinked or popped per script call: ``unpack`` takes at most ~8000 values, and
#: a call holds the server for ~2 µs per entry, so other clients' commands run between pages.
PAGE = 500
