package redis

import "github.com/redis/rueidis"

// prelude is shared by the scripts. KEYS[1] is the numbering hash (fields e:
// base of the epoch, n: last number, b: bytes held in the window), KEYS[2]
// the window list. Numbers are microsecond-based and stay below 2^53, so Lua
// numbers hold them exactly; they are written with %.0f, never tostring,
// which would round them.
const prelude = `
local meta, list = KEYS[1], KEYS[2]
local function num(x) return string.format('%.0f', x) end
-- state returns the epoch's base and the last number, starting a new epoch
-- above floor when the numbering is missing or behind floor.
local function state(floor, ttl)
  local v = redis.call('HMGET', meta, 'e', 'n')
  local e, n = tonumber(v[1]), tonumber(v[2])
  if e == nil or n == nil or n < floor then
    local t = redis.call('TIME')
    local base = tonumber(t[1]) * 1000000 + tonumber(t[2])
    if base < floor then base = floor end
    redis.call('DEL', list)
    redis.call('HSET', meta, 'e', num(base), 'n', num(base), 'b', '0')
    e, n = base, base
  end
  redis.call('PEXPIRE', meta, ttl)
  return e, n
end
`

// publishScript commits event ARGV[1] if the last number is still
// ARGV[1]-1: append ARGV[2] to the window, trim it to ARGV[3] events and
// ARGV[4] bytes, expire it after ARGV[5] ms (the numbering after ARGV[6]
// ms) and PUBLISH "<seq>:<data>" on ARGV[7]. Returns {1, seq}, or {0, last}
// when the caller must encode again with last+1.
var publishScript = rueidis.NewLuaScript(prelude + `
local seq = tonumber(ARGV[1])
local _, n = state(seq - 1, ARGV[6])
if n ~= seq - 1 then return {0, n} end
local data = ARGV[2]
local llen = redis.call('RPUSH', list, data)
local bytes = #data
if llen > 1 then bytes = bytes + (tonumber(redis.call('HGET', meta, 'b')) or 0) end
local maxEvents, maxBytes = tonumber(ARGV[3]), tonumber(ARGV[4])
while llen > 0 and (llen > maxEvents or bytes > maxBytes) do
  bytes = bytes - #redis.call('LPOP', list)
  llen = llen - 1
end
redis.call('HSET', meta, 'n', num(seq), 'b', num(bytes))
if llen > 0 then redis.call('PEXPIRE', list, ARGV[5]) end
redis.call('PUBLISH', ARGV[7], num(seq) .. ':' .. data)
return {1, seq}
`)

// lastSeqScript returns {base, last}, starting an epoch if needed; ARGV[1]
// is the numbering's TTL in ms.
var lastSeqScript = rueidis.NewLuaScript(prelude + `
local e, n = state(0, ARGV[1])
return {e, n}
`)

// replayScript returns {1, last, events...} with the events numbered above
// ARGV[1], or {0, base, last, first} if some of them are no longer held.
// ARGV[2] is the numbering's TTL in ms.
var replayScript = rueidis.NewLuaScript(prelude + `
local after = tonumber(ARGV[1])
local e, n = state(0, ARGV[2])
local llen = redis.call('LLEN', list)
local first = n - llen + 1
if after > n or after < first - 1 then return {0, e, n, first} end
local out = {1, n}
if after < n then
  local items = redis.call('LRANGE', list, after - first + 1, -1)
  for i = 1, #items do out[i + 2] = items[i] end
end
return out
`)
