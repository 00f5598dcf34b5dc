// Package redis is a [ratelimit.Limiter] whose budgets live in Redis, so
// every Server instance using the same Redis shares them.
//
// # Algorithm
//
// Each decision is one script (EVALSHA) implementing GCRA, the generic cell
// rate algorithm, which behaves as a token bucket of Burst tokens refilled
// at Rate per second but stores a single number per key: the theoretical
// arrival time of the next event. An event is allowed when that time is at
// most Burst emission intervals ahead of now; RetryAfter is how long until
// it would be. A zero Rate allows Burst events per key lifetime (a counter
// that expires IdleTTL after its first event); a Rate of +Inf allows every
// event without calling Redis.
//
// # Memory
//
// Every key expires when its bucket would be full again (or, for a zero
// Rate, IdleTTL after its first event), so Redis holds only the keys of
// recent events: memory follows traffic within one refill time and is
// never kept by history. With Config.Now set, the bucket's time is the
// caller's and Redis expires keys by its own, so keys are kept IdleTTL
// longer.
//
// # Time
//
// By default the script reads Redis's clock, so instances whose clocks
// disagree still share one budget exactly. Config.Now replaces it with a
// clock of the caller's (tests use a fake one); all instances sharing keys
// must then agree on time.
//
// # When Redis is down
//
// A decision that cannot be made (Redis unreachable, DecisionTimeout
// exceeded) follows Config.WhenUnavailable: by default Allow returns an
// error wrapping ErrUnavailable, which the ratelimit contract reserves for
// exactly this case, and lets the caller decide (chatbox's Server logs it
// and allows the event); AllowWhenUnavailable allows instead, and
// RefuseWhenUnavailable denies with RetryAfter UnavailableRetryAfter. A
// cancelled ctx is always returned as an error.
package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/chatboxsdk/chatbox/ratelimit"
)

// ErrUnavailable: the decision could not be made because Redis did not
// answer in time or answered with an error.
var ErrUnavailable = errors.New("ratelimit/redis: unavailable")

// Unavailable says what Allow does when Redis cannot decide.
type Unavailable int

const (
	// ErrorWhenUnavailable returns an error wrapping ErrUnavailable (the
	// default).
	ErrorWhenUnavailable Unavailable = iota
	// AllowWhenUnavailable allows the event.
	AllowWhenUnavailable
	// RefuseWhenUnavailable denies the event with RetryAfter
	// UnavailableRetryAfter.
	RefuseWhenUnavailable
)

// Defaults applied to zero fields of Config.
const (
	DefaultKeyPrefix             = "chatbox:rl:"
	DefaultIdleTTL               = 10 * time.Minute
	DefaultDecisionTimeout       = 250 * time.Millisecond
	DefaultUnavailableRetryAfter = time.Second
)

// Config configures a Limiter. Exactly one of Client and Addr is set; a
// zero field means its default, a negative one is an error.
type Config struct {
	// Client is a client the host owns; Close does not close it.
	Client rueidis.Client
	// Addr is the address (host:port) of a Redis for which New creates a
	// client that Close closes.
	Addr string
	// KeyPrefix starts every key. Default DefaultKeyPrefix.
	KeyPrefix string
	// IdleTTL is the lifetime of a zero-Rate key, counted from its first
	// event, and caps RetryAfter. Default DefaultIdleTTL (10 minutes).
	IdleTTL time.Duration
	// DecisionTimeout bounds one decision, within the caller's ctx.
	// Default DefaultDecisionTimeout (250 ms).
	DecisionTimeout time.Duration
	// WhenUnavailable: see the package doc. Default ErrorWhenUnavailable.
	WhenUnavailable Unavailable
	// UnavailableRetryAfter is the RetryAfter of a RefuseWhenUnavailable
	// denial. Default DefaultUnavailableRetryAfter (1 second).
	UnavailableRetryAfter time.Duration
	// Now is the clock; nil means Redis's clock (see the package doc).
	// With a clock of the caller's, keys live IdleTTL longer.
	Now func() time.Time
}

// Limiter is the Redis ratelimit.Limiter. Create it with New.
type Limiter struct {
	cfg    Config
	client rueidis.Client
	owned  bool
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a Limiter configured by cfg, or the joined list of cfg's
// problems. With Addr it connects first and fails if Redis cannot be
// reached.
func New(cfg Config) (*Limiter, error) {
	var errs []error
	if (cfg.Client == nil) == (cfg.Addr == "") {
		errs = append(errs, errors.New("ratelimit/redis: exactly one of Client and Addr must be set"))
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"IdleTTL", cfg.IdleTTL}, {"DecisionTimeout", cfg.DecisionTimeout}, {"UnavailableRetryAfter", cfg.UnavailableRetryAfter}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("ratelimit/redis: %s %v is negative", f.name, f.v))
		}
	}
	if cfg.WhenUnavailable < ErrorWhenUnavailable || cfg.WhenUnavailable > RefuseWhenUnavailable {
		errs = append(errs, fmt.Errorf("ratelimit/redis: unknown WhenUnavailable %d", cfg.WhenUnavailable))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.IdleTTL == 0 {
		cfg.IdleTTL = DefaultIdleTTL
	}
	if cfg.DecisionTimeout == 0 {
		cfg.DecisionTimeout = DefaultDecisionTimeout
	}
	if cfg.UnavailableRetryAfter == 0 {
		cfg.UnavailableRetryAfter = DefaultUnavailableRetryAfter
	}
	l := &Limiter{cfg: cfg, client: cfg.Client}
	if l.client == nil {
		c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{cfg.Addr}, DisableCache: true})
		if err != nil {
			return nil, fmt.Errorf("ratelimit/redis: connect to %s: %w", cfg.Addr, err)
		}
		l.client, l.owned = c, true
	}
	return l, nil
}

// Close closes the client New created; a client passed in Config.Client is
// left open. Call it once, after the last Allow.
func (l *Limiter) Close() error {
	if l.owned {
		l.client.Close()
	}
	return nil
}

// gcra: KEYS[1] the key; ARGV: now in microseconds ("" for Redis's clock),
// emission interval in microseconds (0 for a zero Rate), burst, idle TTL in
// ms, extra lifetime of a key in ms. Returns {1, 0} when allowed, {0, retry after in microseconds} when
// not. Times are kept with fractions of a microsecond (%.3f) so they stay
// exact below 2^53.
var gcra = rueidis.NewLuaScript(`
local now = tonumber(ARGV[1])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local interval, burst, idle = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if interval == 0 then
  local n = redis.call('INCR', KEYS[1])
  if n == 1 then redis.call('PEXPIRE', KEYS[1], idle) end
  if n <= burst then return {1, 0} end
  redis.call('DECR', KEYS[1])
  return {0, math.max(redis.call('PTTL', KEYS[1]), 1) * 1000}
end
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local next = tat + interval
local ahead = next - now
if ahead > interval * burst then
  return {0, math.ceil(ahead - interval * burst)}
end
redis.call('SET', KEYS[1], string.format('%.3f', next), 'PX', math.ceil(ahead / 1000) + 1 + tonumber(ARGV[5]))
return {1, 0}
`)

// Allow implements ratelimit.Limiter. It returns an error wrapping
// ratelimit.ErrInvalidLimit for an invalid l, ctx's error if ctx ends, and
// otherwise follows Config.WhenUnavailable when Redis cannot decide.
func (l *Limiter) Allow(ctx context.Context, key string, lim ratelimit.Limit) (ratelimit.Decision, error) {
	switch {
	case lim.Burst < 1:
		return ratelimit.Decision{}, fmt.Errorf("%w: burst %d is below 1", ratelimit.ErrInvalidLimit, lim.Burst)
	case math.IsNaN(lim.Rate) || lim.Rate < 0:
		return ratelimit.Decision{}, fmt.Errorf("%w: rate %v is not a non-negative number", ratelimit.ErrInvalidLimit, lim.Rate)
	}
	if err := ctx.Err(); err != nil {
		return ratelimit.Decision{}, fmt.Errorf("ratelimit/redis: %w", err)
	}
	if math.IsInf(lim.Rate, 1) {
		return ratelimit.Decision{Allowed: true}, nil
	}
	now, slack := "", "0"
	if l.cfg.Now != nil {
		now = strconv.FormatFloat(float64(l.cfg.Now().UnixNano())/1e3, 'f', 3, 64)
		slack = strconv.FormatInt(l.cfg.IdleTTL.Milliseconds(), 10)
	}
	interval := "0"
	if lim.Rate > 0 {
		interval = strconv.FormatFloat(1e6/lim.Rate, 'f', 3, 64)
	}
	dctx, cancel := context.WithTimeout(ctx, l.cfg.DecisionTimeout)
	defer cancel()
	res, err := gcra.Exec(dctx, l.client, []string{l.cfg.KeyPrefix + key}, []string{
		now, interval, strconv.Itoa(lim.Burst), strconv.FormatInt(l.cfg.IdleTTL.Milliseconds(), 10), slack,
	}).AsIntSlice()
	if err == nil && len(res) != 2 {
		err = errors.New("unexpected reply")
	}
	if err != nil {
		if ctx.Err() != nil {
			return ratelimit.Decision{}, fmt.Errorf("ratelimit/redis: %w", ctx.Err())
		}
		switch l.cfg.WhenUnavailable {
		case AllowWhenUnavailable:
			return ratelimit.Decision{Allowed: true}, nil
		case RefuseWhenUnavailable:
			return ratelimit.Decision{RetryAfter: l.cfg.UnavailableRetryAfter}, nil
		}
		return ratelimit.Decision{}, fmt.Errorf("%w: key %q: %w", ErrUnavailable, key, err)
	}
	if res[0] == 1 {
		return ratelimit.Decision{Allowed: true}, nil
	}
	return ratelimit.Decision{RetryAfter: min(max(time.Duration(res[1])*time.Microsecond, time.Microsecond), l.cfg.IdleTTL)}, nil
}
