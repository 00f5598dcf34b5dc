// Package limitertest is the conformance suite every [ratelimit.Limiter]
// runs: limitertest.Run(t, newLimiter).
package limitertest

import (
	"context"
	"crypto/rand"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/ratelimit"
)

// Tolerance is how far a RetryAfter may be from the exact refill time:
// remote limiters round time to a microsecond.
const Tolerance = time.Millisecond

// Clock is the fake clock the suite hands to the limiters it creates. It
// starts in 2030 and moves only when the suite advances it.
type Clock struct{ ns atomic.Int64 }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

func (c *Clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// Run runs the suite. newLimiter returns a limiter reading time from now,
// released by the test's cleanup; limiters from one call of Run may share a
// backend (keys are unique to the run).
func Run(t *testing.T, newLimiter func(t *testing.T, now func() time.Time) ratelimit.Limiter) {
	run := rand.Text()[:10]
	tests := []struct {
		name string
		fn   func(t *testing.T, l ratelimit.Limiter, clk *Clock, key func(string) string)
	}{
		{"BurstHonouredThenDenied", testBurst},
		{"RefillAfterRetryAfter", testRefill},
		{"RetryAfterAccurate", testRetryAfterAccurate},
		{"KeysIndependent", testKeysIndependent},
		{"ConcurrentAllowNeverExceedsBudget", testConcurrent},
		{"CancelledContextIsAnErrorAndTakesNothing", testCancelled},
		{"InvalidLimitIsAnError", testInvalid},
		{"ZeroRateAllowsBurstOnce", testZeroRate},
		{"InfiniteRateAllowsAll", testInfinite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &Clock{}
			clk.ns.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
			l := newLimiter(t, clk.Now)
			tc.fn(t, l, clk, func(s string) string { return "limitertest:" + run + ":" + tc.name + ":" + s })
		})
	}
}

func allow(t *testing.T, l ratelimit.Limiter, key string, lim ratelimit.Limit) ratelimit.Decision {
	t.Helper()
	d, err := l.Allow(t.Context(), key, lim)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	if d.Allowed && d.RetryAfter != 0 {
		t.Fatalf("allowed with RetryAfter %v", d.RetryAfter)
	}
	if !d.Allowed && d.RetryAfter <= 0 {
		t.Fatalf("denied with RetryAfter %v", d.RetryAfter)
	}
	return d
}

func near(got, want time.Duration) bool {
	return got >= want-Tolerance && got <= want+Tolerance
}

func takeBurst(t *testing.T, l ratelimit.Limiter, key string, lim ratelimit.Limit) {
	t.Helper()
	for i := range lim.Burst {
		if d := allow(t, l, key, lim); !d.Allowed {
			t.Fatalf("event %d of a burst of %d denied", i+1, lim.Burst)
		}
	}
}

func testBurst(t *testing.T, l ratelimit.Limiter, _ *Clock, key func(string) string) {
	lim := ratelimit.Per(1, 2*time.Second, 3)
	takeBurst(t, l, key("k"), lim)
	d := allow(t, l, key("k"), lim)
	if d.Allowed || !near(d.RetryAfter, 2*time.Second) {
		t.Fatalf("event after the burst: %+v, want denied with RetryAfter 2s", d)
	}
}

func testRefill(t *testing.T, l ratelimit.Limiter, clk *Clock, key func(string) string) {
	lim := ratelimit.Per(1, 2*time.Second, 3)
	takeBurst(t, l, key("k"), lim)
	d := allow(t, l, key("k"), lim)
	clk.advance(d.RetryAfter)
	if d := allow(t, l, key("k"), lim); !d.Allowed {
		t.Fatalf("denied after waiting RetryAfter: %+v", d)
	}
	if d := allow(t, l, key("k"), lim); d.Allowed {
		t.Fatal("second event allowed after one refill")
	}
	// A long pause refills the whole burst, and no more.
	clk.advance(time.Minute)
	takeBurst(t, l, key("k"), lim)
	if d := allow(t, l, key("k"), lim); d.Allowed {
		t.Fatal("a pause refilled more than the burst")
	}
}

func testRetryAfterAccurate(t *testing.T, l ratelimit.Limiter, clk *Clock, key func(string) string) {
	for i, lim := range []ratelimit.Limit{
		ratelimit.Per(10, time.Second, 1),
		ratelimit.Per(3, time.Second, 5),
		ratelimit.Per(1, time.Minute, 2),
	} {
		k := key(string(rune('a' + i)))
		takeBurst(t, l, k, lim)
		interval := time.Duration(float64(time.Second) / lim.Rate)
		d := allow(t, l, k, lim)
		if d.Allowed || !near(d.RetryAfter, interval) {
			t.Fatalf("limit %+v: %+v, want denied with RetryAfter %v", lim, d, interval)
		}
		clk.advance(interval / 4)
		d = allow(t, l, k, lim)
		if want := interval - interval/4; d.Allowed || !near(d.RetryAfter, want) {
			t.Fatalf("limit %+v after %v: %+v, want denied with RetryAfter %v", lim, interval/4, d, want)
		}
		clk.advance(d.RetryAfter - 2*Tolerance)
		if d := allow(t, l, k, lim); d.Allowed {
			t.Fatalf("limit %+v: allowed %v before RetryAfter", lim, 2*Tolerance)
		}
		clk.advance(2 * Tolerance)
		if d := allow(t, l, k, lim); !d.Allowed {
			t.Fatalf("limit %+v: denied at RetryAfter: %+v", lim, d)
		}
	}
}

func testKeysIndependent(t *testing.T, l ratelimit.Limiter, _ *Clock, key func(string) string) {
	lim := ratelimit.Per(1, time.Hour, 2)
	takeBurst(t, l, key("a"), lim)
	if d := allow(t, l, key("a"), lim); d.Allowed {
		t.Fatal("a: allowed beyond its burst")
	}
	takeBurst(t, l, key("b"), lim)
}

func testConcurrent(t *testing.T, l ratelimit.Limiter, _ *Clock, key func(string) string) {
	const goroutines, each, burst = 16, 25, 37
	lim := ratelimit.Per(1, time.Hour, burst)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				d, err := l.Allow(context.Background(), key("k"), lim)
				if err != nil {
					t.Errorf("Allow: %v", err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != burst {
		t.Fatalf("%d concurrent calls allowed %d events, want exactly the burst %d", goroutines*each, n, burst)
	}
}

func testCancelled(t *testing.T, l ratelimit.Limiter, _ *Clock, key func(string) string) {
	lim := ratelimit.Per(1, time.Hour, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	d, err := l.Allow(ctx, key("k"), lim)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Allow with a cancelled context = %+v, %v; want an error wrapping context.Canceled", d, err)
	}
	if d := allow(t, l, key("k"), lim); !d.Allowed {
		t.Fatal("a cancelled call took the only token")
	}
}

func testInvalid(t *testing.T, l ratelimit.Limiter, _ *Clock, key func(string) string) {
	for _, lim := range []ratelimit.Limit{{Rate: 1, Burst: 0}, {Rate: -1, Burst: 1}} {
		if _, err := l.Allow(t.Context(), key("k"), lim); !errors.Is(err, ratelimit.ErrInvalidLimit) {
			t.Errorf("Allow(%+v) = %v, want ErrInvalidLimit", lim, err)
		}
	}
}

func testZeroRate(t *testing.T, l ratelimit.Limiter, clk *Clock, key func(string) string) {
	lim := ratelimit.Limit{Rate: 0, Burst: 2}
	takeBurst(t, l, key("k"), lim)
	clk.advance(time.Second)
	if d := allow(t, l, key("k"), lim); d.Allowed {
		t.Fatal("a zero rate refilled")
	}
}

func testInfinite(t *testing.T, l ratelimit.Limiter, _ *Clock, key func(string) string) {
	lim := ratelimit.Limit{Rate: math.Inf(1), Burst: 1}
	for range 100 {
		if d := allow(t, l, key("k"), lim); !d.Allowed {
			t.Fatal("an infinite rate denied an event")
		}
	}
}
