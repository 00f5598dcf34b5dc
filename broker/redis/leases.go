package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/chatboxsdk/chatbox/broker"
)

var _ broker.Leases = (*Broker)(nil)

// leasePrelude is shared by the lease scripts. KEYS[1] is the sorted set of
// lease keys scored by expiry, KEYS[2] the hash of their holders. Expiries
// are Redis's clock in microseconds (below 2^53, so Lua numbers hold them
// exactly), written with %.0f. A lease is held while its expiry is after
// now, and lapsed from its expiry on.
const leasePrelude = `
local exp, holders = KEYS[1], KEYS[2]
local function num(x) return string.format('%.0f', x) end
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- live returns the holder of an unexpired lease on key, or nil.
local function live(key, at)
  local e = redis.call('ZSCORE', exp, key)
  if not e or tonumber(e) <= at then return nil end
  local h = redis.call('HGET', holders, key)
  if not h then return nil end
  return h
end
local function set(key, holder, expiry)
  redis.call('ZADD', exp, num(expiry), key)
  redis.call('HSET', holders, key, holder)
end
`

// acquireLeaseScript gives lease ARGV[1] to holder ARGV[2] for ARGV[3]
// microseconds unless another holder has it, unexpired or lapsed and not
// yet taken. Returns 1 or 0.
var acquireLeaseScript = rueidis.NewLuaScript(leasePrelude + `
local t = now()
local h = redis.call('HGET', holders, ARGV[1])
if h and h ~= ARGV[2] then return 0 end
set(ARGV[1], ARGV[2], t + tonumber(ARGV[3]))
return 1
`)

// renewLeaseScript extends lease ARGV[1] by ARGV[3] microseconds from now
// if holder ARGV[2] has it unexpired. Returns 1 or 0.
var renewLeaseScript = rueidis.NewLuaScript(leasePrelude + `
local t = now()
if live(ARGV[1], t) ~= ARGV[2] then return 0 end
set(ARGV[1], ARGV[2], t + tonumber(ARGV[3]))
return 1
`)

// releaseLeaseScript removes lease ARGV[1] if holder ARGV[2] has it,
// expired or not.
var releaseLeaseScript = rueidis.NewLuaScript(leasePrelude + `
if redis.call('HGET', holders, ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', exp, ARGV[1])
redis.call('HDEL', holders, ARGV[1])
return 1
`)

// takeLapsedScript removes up to ARGV[1] lapsed leases, oldest first, and
// returns {key1, holder1, key2, holder2, ...}. A key whose holder is missing
// (only possible if Redis evicted one of the two structures) is removed and
// not returned.
var takeLapsedScript = rueidis.NewLuaScript(leasePrelude + `
local keys = redis.call('ZRANGEBYSCORE', exp, '-inf', num(now()), 'LIMIT', 0, ARGV[1])
local out = {}
for i = 1, #keys do
  local h = redis.call('HGET', holders, keys[i])
  redis.call('ZREM', exp, keys[i])
  if h then
    redis.call('HDEL', holders, keys[i])
    out[#out + 1] = keys[i]
    out[#out + 1] = h
  end
end
return out
`)

// leaseKeys returns the sorted set of expiries and the hash of holders. They
// share a hash tag, so every lease lives in one cluster slot.
func (b *Broker) leaseKeys() []string {
	tag := b.cfg.KeyPrefix + "{leases}"
	return []string{tag + ":e", tag + ":h"}
}

// leaseTTL converts ttl to whole microseconds; a ttl below one microsecond
// gives a lease that has already lapsed, as in the memory broker.
func leaseTTL(ttl time.Duration) string {
	return strconv.FormatInt(max(ttl.Microseconds(), 0), 10)
}

// AcquireLease implements broker.Leases with one script. Expiries follow
// Redis's clock, so instances whose clocks disagree still agree on when a
// lease lapses. It returns ctx's error, broker.ErrClosed once the broker is
// closed, or Redis's error wrapped; a call that failed on a Redis error may
// nevertheless have taken the lease, which then lapses unless renewed.
//
// The lease key and holder are stored as a member of a sorted set and a
// field of a hash under Config.KeyPrefix, never as Redis key names, so any
// string is safe to pass; a caller that builds them from client input must
// still have validated that input (its length in particular), since Redis
// holds them until the lease is released or taken.
func (b *Broker) AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	return b.leaseCall(ctx, "acquire", acquireLeaseScript, key, holder, leaseTTL(ttl))
}

// RenewLease implements broker.Leases with one script; see AcquireLease for
// its errors.
func (b *Broker) RenewLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	return b.leaseCall(ctx, "renew", renewLeaseScript, key, holder, leaseTTL(ttl))
}

// ReleaseLease implements broker.Leases with one script; see AcquireLease
// for its errors. A lease the holder does not have is left as it is.
func (b *Broker) ReleaseLease(ctx context.Context, key, holder string) error {
	_, err := b.leaseCall(ctx, "release", releaseLeaseScript, key, holder)
	return err
}

func (b *Broker) leaseCall(ctx context.Context, op string, script *rueidis.Lua, args ...string) (bool, error) {
	if err := b.checkOpen(ctx); err != nil {
		return false, err
	}
	n, err := script.Exec(ctx, b.client, b.leaseKeys(), args).AsInt64()
	if err != nil {
		return false, fmt.Errorf("broker/redis: %s lease %q: %w", op, args[0], err)
	}
	return n == 1, nil
}

// TakeLapsedLeases implements broker.Leases: one script removes and returns
// up to max lapsed leases, oldest first, so each lapsed lease goes to exactly
// one caller across every instance. A max below one takes nothing. It
// returns ctx's error, broker.ErrClosed once the broker is closed, or
// Redis's error wrapped; a call that failed on a Redis error may
// nevertheless have taken leases, which are then lost to every caller.
func (b *Broker) TakeLapsedLeases(ctx context.Context, max int) ([]broker.Lease, error) {
	if err := b.checkOpen(ctx); err != nil {
		return nil, err
	}
	if max < 1 {
		return nil, nil
	}
	res, err := takeLapsedScript.Exec(ctx, b.client, b.leaseKeys(), []string{strconv.Itoa(max)}).AsStrSlice()
	if err == nil && len(res)%2 != 0 {
		err = errors.New("unexpected reply")
	}
	if err != nil {
		return nil, fmt.Errorf("broker/redis: take lapsed leases: %w", err)
	}
	out := make([]broker.Lease, 0, len(res)/2)
	for i := 0; i < len(res); i += 2 {
		out = append(out, broker.Lease{Key: res[i], Holder: res[i+1]})
	}
	return out, nil
}
