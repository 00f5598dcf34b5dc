package ratelimit

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ErrInvalidLimit is returned (wrapped) by TokenBucket.Allow for a Limit
// whose Burst is below 1 or whose Rate is negative or NaN.
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

// Defaults applied by NewTokenBucket to zero fields of TokenBucketConfig.
const (
	DefaultMaxKeys = 100_000
	DefaultIdleTTL = 10 * time.Minute
)

// TokenBucketConfig configures a TokenBucket. The zero value is valid and
// selects every default.
type TokenBucketConfig struct {
	// MaxKeys caps the number of keys tracked at once. When a new key would
	// exceed it, the least recently used key is forgotten. Default
	// DefaultMaxKeys (100,000); negative is an error.
	MaxKeys int
	// IdleTTL is how long a key may go unused before it is forgotten.
	// Default DefaultIdleTTL (10 minutes); negative is an error.
	IdleTTL time.Duration
	// Now is the clock. Default time.Now; tests inject a fake one.
	Now func() time.Time
}

// TokenBucket is an in-memory Limiter: one token bucket per key, backed by
// golang.org/x/time/rate.
//
// Memory is bounded by MaxKeys and cleaned up by the limiter itself, with no
// background goroutine: every Allow call first forgets keys idle for IdleTTL
// or longer (amortised O(1) per call), and inserting a key beyond MaxKeys
// forgets the least recently used one.
//
// Forgetting a key resets its bucket to full, so eviction is permissive:
//   - A key idle for IdleTTL loses nothing when its bucket would have
//     refilled by then, that is when IdleTTL >= Burst/Rate. Keep IdleTTL at
//     least the longest refill time of the limits in use, or slow limits
//     become as lenient as one burst per IdleTTL.
//   - Under MaxKeys pressure (more distinct active keys than the cap) the
//     least recently used key may be reset early. Size MaxKeys above the
//     number of keys active within IdleTTL.
//
// Each key should be used with one Limit; a key seen with a different Limit
// gets its rate and burst updated in place, keeping its current tokens.
//
// A TokenBucket is safe for concurrent use. Its lock is held only for
// in-memory work.
type TokenBucket struct {
	maxKeys int
	idleTTL time.Duration
	now     func() time.Time

	mu   sync.Mutex
	keys map[string]*list.Element // values hold *bucket
	lru  *list.List               // front: most recently used
}

// bucket is the state of one key.
type bucket struct {
	key      string
	limit    Limit
	lastUsed time.Time
	lim      *rate.Limiter
}

var _ Limiter = (*TokenBucket)(nil)

// NewTokenBucket returns a TokenBucket configured by cfg, or an error
// describing every invalid field.
func NewTokenBucket(cfg TokenBucketConfig) (*TokenBucket, error) {
	var errs []error
	if cfg.MaxKeys < 0 {
		errs = append(errs, fmt.Errorf("ratelimit: MaxKeys %d is negative", cfg.MaxKeys))
	}
	if cfg.IdleTTL < 0 {
		errs = append(errs, fmt.Errorf("ratelimit: IdleTTL %v is negative", cfg.IdleTTL))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.IdleTTL == 0 {
		cfg.IdleTTL = DefaultIdleTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &TokenBucket{
		maxKeys: cfg.MaxKeys,
		idleTTL: cfg.IdleTTL,
		now:     cfg.Now,
		keys:    make(map[string]*list.Element),
		lru:     list.New(),
	}, nil
}

// Allow takes one token from key's bucket under limit l.
//
// When the bucket is empty the Decision is not allowed and RetryAfter is the
// time until one token is available, always positive. With a zero Rate the
// bucket never refills, and RetryAfter is IdleTTL: the key is forgotten
// after that long without calls. A Rate of +Inf allows every event and
// tracks nothing.
//
// Allow never blocks. It returns an error wrapping ErrInvalidLimit for an
// invalid l, or ctx's error if ctx is already done; a denial is not an
// error.
func (b *TokenBucket) Allow(ctx context.Context, key string, l Limit) (Decision, error) {
	if err := l.validate(); err != nil {
		return Decision{}, err
	}
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("ratelimit: %w", err)
	}
	if math.IsInf(l.Rate, 1) {
		return Decision{Allowed: true}, nil
	}
	now := b.now()

	b.mu.Lock()
	defer b.mu.Unlock()
	b.evictIdle(now)
	bk := b.bucketFor(key, l, now)
	if bk.lim.AllowN(now, 1) {
		return Decision{Allowed: true}, nil
	}
	return Decision{RetryAfter: b.retryAfter(bk, now)}, nil
}

// Len reports how many keys are tracked.
func (b *TokenBucket) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.keys)
}

func (l Limit) validate() error {
	switch {
	case l.Burst < 1:
		return fmt.Errorf("%w: burst %d is below 1", ErrInvalidLimit, l.Burst)
	case math.IsNaN(l.Rate) || l.Rate < 0:
		return fmt.Errorf("%w: rate %v is not a non-negative number", ErrInvalidLimit, l.Rate)
	}
	return nil
}

// evictIdle forgets keys unused for idleTTL or longer. The list is ordered
// by last use, so it stops at the first key still fresh. b.mu is held.
func (b *TokenBucket) evictIdle(now time.Time) {
	for e := b.lru.Back(); e != nil; e = b.lru.Back() {
		if now.Sub(e.Value.(*bucket).lastUsed) < b.idleTTL {
			return
		}
		b.remove(e)
	}
}

// bucketFor returns key's bucket, marked as used at now, creating it (and
// evicting the least recently used key beyond maxKeys) if needed. b.mu is
// held.
func (b *TokenBucket) bucketFor(key string, l Limit, now time.Time) *bucket {
	if e, ok := b.keys[key]; ok {
		bk := e.Value.(*bucket)
		b.lru.MoveToFront(e)
		bk.lastUsed = now
		if bk.limit != l {
			bk.lim.SetLimitAt(now, rate.Limit(l.Rate))
			bk.lim.SetBurstAt(now, l.Burst)
			bk.limit = l
		}
		return bk
	}
	lim := rate.NewLimiter(rate.Limit(l.Rate), l.Burst)
	if len(b.keys) < b.maxKeys {
		bk := &bucket{key: key, limit: l, lastUsed: now, lim: lim}
		b.keys[key] = b.lru.PushFront(bk)
		return bk
	}
	// At the cap: the least recently used key makes room, and its list
	// element and bucket are reused for the new key.
	e := b.lru.Back()
	bk := e.Value.(*bucket)
	delete(b.keys, bk.key)
	*bk = bucket{key: key, limit: l, lastUsed: now, lim: lim}
	b.lru.MoveToFront(e)
	b.keys[key] = e
	return bk
}

func (b *TokenBucket) remove(e *list.Element) {
	delete(b.keys, e.Value.(*bucket).key)
	b.lru.Remove(e)
}

// retryAfter is how long until bk holds one token, assuming no calls in
// between: the refill time, capped at idleTTL (after which the key is
// forgotten and its bucket starts full). b.mu is held.
func (b *TokenBucket) retryAfter(bk *bucket, now time.Time) time.Duration {
	if bk.limit.Rate == 0 {
		return b.idleTTL
	}
	need := 1 - bk.lim.TokensAt(now)
	secs := need / bk.limit.Rate
	if secs >= b.idleTTL.Seconds() {
		return b.idleTTL
	}
	wait := time.Duration(math.Ceil(secs * float64(time.Second)))
	if wait < 1 {
		wait = 1
	}
	// The float math above can be off by a nanosecond or two either way.
	// Settle on the first nanosecond at which the limiter itself will grant
	// a token, so that waiting exactly RetryAfter always succeeds.
	for wait < b.idleTTL && bk.lim.TokensAt(now.Add(wait)) < 1 {
		wait++
	}
	for wait > 1 && bk.lim.TokensAt(now.Add(wait-1)) >= 1 {
		wait--
	}
	return wait
}
