package ratelimit_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/ratelimit/limitertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a manually advanced clock, safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newBucket(t testing.TB, cfg ratelimit.TokenBucketConfig) *ratelimit.TokenBucket {
	t.Helper()
	tb, err := ratelimit.NewTokenBucket(cfg)
	if err != nil {
		t.Fatalf("NewTokenBucket: %v", err)
	}
	return tb
}

func allow(t testing.TB, tb *ratelimit.TokenBucket, key string, l ratelimit.Limit) ratelimit.Decision {
	t.Helper()
	d, err := tb.Allow(context.Background(), key, l)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	if d.Allowed && d.RetryAfter != 0 {
		t.Fatalf("allowed decision with RetryAfter %v", d.RetryAfter)
	}
	if !d.Allowed && d.RetryAfter <= 0 {
		t.Fatalf("denied decision with RetryAfter %v", d.RetryAfter)
	}
	return d
}

func TestBurstThenDenyWithRetryAfter(t *testing.T) {
	clk := newFakeClock()
	tb := newBucket(t, ratelimit.TokenBucketConfig{Now: clk.Now})
	l := ratelimit.Per(1, 2*time.Second, 3) // one token every 2s, burst 3

	for i := range 3 {
		if d := allow(t, tb, "k", l); !d.Allowed {
			t.Fatalf("event %d of burst denied", i)
		}
	}
	d := allow(t, tb, "k", l)
	if d.Allowed {
		t.Fatal("event after burst allowed")
	}
	if d.RetryAfter != 2*time.Second {
		t.Fatalf("RetryAfter = %v, want 2s", d.RetryAfter)
	}

	// Half way there: still denied, and RetryAfter counts down.
	clk.Advance(500 * time.Millisecond)
	if d := allow(t, tb, "k", l); d.Allowed || d.RetryAfter != 1500*time.Millisecond {
		t.Fatalf("after 0.5s: %+v, want denied with 1.5s", d)
	}
	// One nanosecond early is still too early; exactly RetryAfter is enough.
	clk.Advance(1500*time.Millisecond - time.Nanosecond)
	if d := allow(t, tb, "k", l); d.Allowed || d.RetryAfter != time.Nanosecond {
		t.Fatalf("1ns early: %+v, want denied with 1ns", d)
	}
	clk.Advance(time.Nanosecond)
	if d := allow(t, tb, "k", l); !d.Allowed {
		t.Fatalf("at RetryAfter: %+v, want allowed", d)
	}
}

// Waiting exactly RetryAfter is always enough, and waiting visibly less is
// not, across awkward rates.
func TestRetryAfterIsAccurate(t *testing.T) {
	rates := []float64{0.001, 0.3, 1, 3, 7.77, 1000, 123456.789}
	for _, r := range rates {
		t.Run(strconv.FormatFloat(r, 'g', -1, 64), func(t *testing.T) {
			clk := newFakeClock()
			tb := newBucket(t, ratelimit.TokenBucketConfig{Now: clk.Now, IdleTTL: 1000 * time.Hour})
			l := ratelimit.Limit{Rate: r, Burst: 2}
			allowed := 0
			for range 200 {
				d := allow(t, tb, "k", l)
				if d.Allowed {
					allowed++
					clk.Advance(time.Duration(float64(time.Second) / r / 3))
					continue
				}
				if d.RetryAfter > 10*time.Nanosecond {
					before := clk.Now()
					clk.Advance(d.RetryAfter - d.RetryAfter/1000 - 1)
					if d2 := allow(t, tb, "k", l); d2.Allowed {
						t.Fatalf("allowed %v before RetryAfter %v ended", clk.Now().Sub(before), d.RetryAfter)
					} else if waited := clk.Now().Sub(before); d2.RetryAfter != d.RetryAfter-waited {
						t.Fatalf("RetryAfter %v, then %v after waiting %v: want %v", d.RetryAfter, d2.RetryAfter, waited, d.RetryAfter-waited)
					}
					clk.ns.Store(before.Add(d.RetryAfter).UnixNano())
				} else {
					clk.Advance(d.RetryAfter)
				}
				if d := allow(t, tb, "k", l); !d.Allowed {
					t.Fatalf("denied after waiting RetryAfter: %+v", d)
				}
				allowed++
			}
			if allowed < 100 {
				t.Fatalf("only %d events allowed", allowed)
			}
		})
	}
}

func TestRefillOverTime(t *testing.T) {
	clk := newFakeClock()
	tb := newBucket(t, ratelimit.TokenBucketConfig{Now: clk.Now})
	l := ratelimit.Per(10, time.Second, 5)

	count := func() int {
		n := 0
		for allow(t, tb, "k", l).Allowed {
			n++
		}
		return n
	}
	if n := count(); n != 5 {
		t.Fatalf("initial burst: %d events, want 5", n)
	}
	clk.Advance(300 * time.Millisecond)
	if n := count(); n != 3 {
		t.Fatalf("after 300ms at 10/s: %d events, want 3", n)
	}
	clk.Advance(time.Minute) // refill caps at burst
	if n := count(); n != 5 {
		t.Fatalf("after a long pause: %d events, want burst 5", n)
	}
}

func TestKeysAreIndependent(t *testing.T) {
	clk := newFakeClock()
	tb := newBucket(t, ratelimit.TokenBucketConfig{Now: clk.Now})
	l := ratelimit.Limit{Rate: 1, Burst: 1}
	if !allow(t, tb, "a", l).Allowed || allow(t, tb, "a", l).Allowed {
		t.Fatal(`key "a": want one allowed then denied`)
	}
	if !allow(t, tb, "b", l).Allowed {
		t.Fatal(`key "b" denied because "a" is exhausted`)
	}
	if tb.Len() != 2 {
		t.Fatalf("Len = %d, want 2", tb.Len())
	}
}

func TestZeroRateAllowsBurstOnce(t *testing.T) {
	clk := newFakeClock()
	tb := newBucket(t, ratelimit.TokenBucketConfig{Now: clk.Now, IdleTTL: time.Hour})
	l := ratelimit.Limit{Rate: 0, Burst: 2}
	allow(t, tb, "k", l)
	allow(t, tb, "k", l)
	clk.Advance(59 * time.Minute)
	d := allow(t, tb, "k", l)
	if d.Allowed || d.RetryAfter != time.Hour {
		t.Fatalf("zero rate after burst: %+v, want denied with RetryAfter = IdleTTL", d)
	}
	clk.Advance(d.RetryAfter) // idle for IdleTTL: forgotten, starts full
	if !allow(t, tb, "k", l).Allowed {
		t.Fatal("denied after idling for RetryAfter")
	}
}

func TestInfiniteRateAlwaysAllowsAndTracksNothing(t *testing.T) {
	tb := newBucket(t, ratelimit.TokenBucketConfig{})
	for range 100 {
		if !allow(t, tb, "k", ratelimit.Limit{Rate: math.Inf(1), Burst: 1}).Allowed {
			t.Fatal("infinite rate denied")
		}
	}
	if tb.Len() != 0 {
		t.Fatalf("Len = %d, want 0", tb.Len())
	}
}

func TestLimitChangeUpdatesBucket(t *testing.T) {
	clk := newFakeClock()
	tb := newBucket(t, ratelimit.TokenBucketConfig{Now: clk.Now})
	slow := ratelimit.Limit{Rate: 1, Burst: 1}
	if !allow(t, tb, "k", slow).Allowed || allow(t, tb, "k", slow).Allowed {
		t.Fatal("slow limit: want one allowed then denied")
	}
	fast := ratelimit.Limit{Rate: 100, Burst: 1}
	d := allow(t, tb, "k", fast)
	if d.Allowed || d.RetryAfter != 10*time.Millisecond {
		t.Fatalf("after raising the rate: %+v, want denied with 10ms", d)
	}
	clk.Advance(10 * time.Millisecond)
	if !allow(t, tb, "k", fast).Allowed {
		t.Fatal("new rate not applied")
	}
	// A larger burst fills at the rate, from the tokens the key already had.
	bigger := ratelimit.Limit{Rate: 100, Burst: 10}
	clk.Advance(10 * time.Millisecond)
	if !allow(t, tb, "k", bigger).Allowed || allow(t, tb, "k", bigger).Allowed {
		t.Fatal("raising the burst granted tokens out of thin air")
	}
	clk.Advance(time.Second)
	n := 0
	for allow(t, tb, "k", bigger).Allowed {
		n++
	}
	if n != 10 {
		t.Fatalf("after raising the burst: %d events, want 10", n)
	}
}

func TestInvalidLimits(t *testing.T) {
	tb := newBucket(t, ratelimit.TokenBucketConfig{})
	for _, l := range []ratelimit.Limit{
		{Rate: 1, Burst: 0},
		{Rate: 1, Burst: -1},
		{Rate: -1, Burst: 1},
		{Rate: math.NaN(), Burst: 1},
		{Rate: math.Inf(-1), Burst: 1},
	} {
		d, err := tb.Allow(context.Background(), "k", l)
		if !errors.Is(err, ratelimit.ErrInvalidLimit) {
			t.Errorf("Allow(%+v) error = %v, want ErrInvalidLimit", l, err)
		}
		if d.Allowed {
			t.Errorf("Allow(%+v) allowed", l)
		}
	}
	if tb.Len() != 0 {
		t.Fatalf("invalid limits created %d keys", tb.Len())
	}
}

func TestCancelledContext(t *testing.T) {
	tb := newBucket(t, ratelimit.TokenBucketConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tb.Allow(ctx, "k", ratelimit.Limit{Rate: 1, Burst: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestInvalidConfig(t *testing.T) {
	_, err := ratelimit.NewTokenBucket(ratelimit.TokenBucketConfig{MaxKeys: -1, IdleTTL: -time.Second})
	if err == nil {
		t.Fatal("negative MaxKeys and IdleTTL accepted")
	}
	for _, want := range []string{"MaxKeys", "IdleTTL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestConformance(t *testing.T) {
	limitertest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Limiter {
		return newBucket(t, ratelimit.TokenBucketConfig{Now: now})
	})
}
