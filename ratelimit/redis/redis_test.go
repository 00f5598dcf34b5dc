package redis_test

import (
	"crypto/rand"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/broker/redis/redistest"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/ratelimit/limitertest"
	redislimiter "github.com/chatboxsdk/chatbox/ratelimit/redis"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newLimiter(t testing.TB, cfg redislimiter.Config) *redislimiter.Limiter {
	t.Helper()
	if cfg.Addr == "" && cfg.Client == nil {
		cfg.Addr = redistest.Addr(t)
	}
	if cfg.DecisionTimeout == 0 {
		cfg.DecisionTimeout = 10 * time.Second // the machine running the tests may be loaded
	}
	l, err := redislimiter.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestConformance(t *testing.T) {
	limitertest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Limiter {
		return newLimiter(t, redislimiter.Config{Now: now})
	})
}

func TestTwoInstancesShareOneBudget(t *testing.T) {
	prefix := "chatbox-test:" + rand.Text()[:8] + ":"
	a := newLimiter(t, redislimiter.Config{KeyPrefix: prefix})
	b := newLimiter(t, redislimiter.Config{KeyPrefix: prefix})
	const burst = 40
	lim := ratelimit.Per(1, time.Hour, burst)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		on := a
		if i%2 == 1 {
			on = b
		}
		wg.Go(func() {
			for range 20 {
				d, err := on.Allow(t.Context(), "user:1", lim)
				if err != nil {
					t.Errorf("Allow: %v", err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				} else if d.RetryAfter <= 0 || d.RetryAfter > time.Hour+time.Millisecond {
					t.Errorf("denied with RetryAfter %v, want within (0, 1h]", d.RetryAfter)
				}
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != burst {
		t.Fatalf("two instances allowed %d events together, want the one budget of %d", n, burst)
	}
}

func TestKeysExpireWhenTheirBucketIsFull(t *testing.T) {
	srv := redistest.Start(t)
	l := newLimiter(t, redislimiter.Config{Addr: srv.Addr, KeyPrefix: "rl:"})
	// One event per second with a burst of 1: a bucket is full again a
	// second after its event, and its key must be gone soon after.
	lim := ratelimit.Limit{Rate: 1, Burst: 1}
	for i := range 200 {
		if _, err := l.Allow(t.Context(), "k"+strconv.Itoa(i), lim); err != nil {
			t.Fatal(err)
		}
	}
	if n := redistest.DBSize(t, srv.Addr); n == 0 {
		t.Fatal("no key held right after 200 keys were used")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := redistest.DBSize(t, srv.Addr)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d keys still held 5s after their buckets refilled in 1s", n)
		}
		time.Sleep(20 * time.Millisecond) // expiry has no event to wait for
	}
}

func TestWhenUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	lim := ratelimit.Per(1, time.Second, 1)
	errorMode := newLimiter(t, redislimiter.Config{Addr: srv.Addr})
	allowMode := newLimiter(t, redislimiter.Config{Addr: srv.Addr, WhenUnavailable: redislimiter.AllowWhenUnavailable})
	refuseMode := newLimiter(t, redislimiter.Config{Addr: srv.Addr, WhenUnavailable: redislimiter.RefuseWhenUnavailable, UnavailableRetryAfter: 3 * time.Second})
	srv.Stop()

	if d, err := errorMode.Allow(t.Context(), "k", lim); !errors.Is(err, redislimiter.ErrUnavailable) {
		t.Errorf("default mode with Redis down = %+v, %v; want ErrUnavailable", d, err)
	}
	if d, err := allowMode.Allow(t.Context(), "k", lim); err != nil || !d.Allowed {
		t.Errorf("allow mode with Redis down = %+v, %v; want allowed", d, err)
	}
	if d, err := refuseMode.Allow(t.Context(), "k", lim); err != nil || d.Allowed || d.RetryAfter != 3*time.Second {
		t.Errorf("refuse mode with Redis down = %+v, %v; want denied with RetryAfter 3s", d, err)
	}

	srv.Restart(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := errorMode.Allow(t.Context(), "k", lim)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing 10s after Redis came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // reconnection has no event to wait for
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := redislimiter.New(redislimiter.Config{IdleTTL: -1, DecisionTimeout: -1, WhenUnavailable: 7})
	if err == nil {
		t.Fatal("New accepted an invalid config")
	}
	for _, want := range []string{"exactly one of Client and Addr", "IdleTTL", "DecisionTimeout", "WhenUnavailable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
