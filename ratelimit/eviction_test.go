package ratelimit_test

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/ratelimit"
)

func TestIdleKeysEvictedAfterTTL(t *testing.T) {
	clk := newFakeClock()
	tb := newBucket(t, ratelimit.TokenBucketConfig{Now: clk.Now, IdleTTL: time.Minute})
	l := ratelimit.Limit{Rate: 0.001, Burst: 1}
	for i := range 100 {
		allow(t, tb, "old"+strconv.Itoa(i), l)
	}
	clk.Advance(30 * time.Second)
	allow(t, tb, "fresh", l)
	allow(t, tb, "old0", l) // used again: stays
	if tb.Len() != 101 {
		t.Fatalf("before TTL: Len = %d, want 101", tb.Len())
	}
	clk.Advance(30 * time.Second) // the other old keys are now idle for 1m
	allow(t, tb, "trigger", l)
	if got := tb.Len(); got != 3 {
		t.Fatalf("after TTL: Len = %d, want 3 (fresh, old0, trigger)", got)
	}
	// An evicted key starts over with a full bucket.
	if !allow(t, tb, "old1", l).Allowed {
		t.Fatal("evicted key did not start with a full bucket")
	}
	if allow(t, tb, "old0", l).Allowed {
		t.Fatal("key kept alive by use was reset")
	}
	clk.Advance(time.Minute)
	allow(t, tb, "last", l)
	if got := tb.Len(); got != 1 {
		t.Fatalf("after everything idled: Len = %d, want 1", got)
	}
}

func TestMaxKeysEvictsLeastRecentlyUsed(t *testing.T) {
	clk := newFakeClock()
	tb := newBucket(t, ratelimit.TokenBucketConfig{Now: clk.Now, MaxKeys: 3})
	l := ratelimit.Limit{Rate: 0.001, Burst: 1}
	for _, k := range []string{"a", "b", "c"} {
		allow(t, tb, k, l)
		clk.Advance(time.Second)
	}
	allow(t, tb, "a", l) // a is now the most recent; b the least
	allow(t, tb, "d", l)
	if tb.Len() != 3 {
		t.Fatalf("Len = %d, want 3", tb.Len())
	}
	if !allow(t, tb, "b", l).Allowed { // b was evicted and starts full; evicts c
		t.Fatal("b should have been evicted (least recently used)")
	}
	if allow(t, tb, "a", l).Allowed || allow(t, tb, "d", l).Allowed {
		t.Fatal("recently used keys were evicted")
	}
}

func TestMillionKeysStayBounded(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	const maxKeys = 10_000
	clk := newFakeClock()
	tb := newBucket(t, ratelimit.TokenBucketConfig{Now: clk.Now, MaxKeys: maxKeys})
	l := ratelimit.Limit{Rate: 1, Burst: 5}
	ctx := context.Background()

	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var atCap uint64
	for i := range n {
		if _, err := tb.Allow(ctx, "user:"+strconv.Itoa(i), l); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Microsecond) // all keys stay within IdleTTL: only the cap evicts
		if i == 2*maxKeys {
			atCap = heap()
		}
		if i%1000 == 0 && tb.Len() > maxKeys {
			t.Fatalf("after %d keys Len = %d > MaxKeys %d", i+1, tb.Len(), maxKeys)
		}
	}
	if got := tb.Len(); got != maxKeys {
		t.Fatalf("Len = %d, want MaxKeys %d", got, maxKeys)
	}
	end := heap()
	t.Logf("heap with %d keys tracked: %d KiB at 2x cap, %d KiB after %d keys", maxKeys, atCap>>10, end>>10, n)
	if end > atCap+4<<20 {
		t.Fatalf("heap grew from %d to %d bytes while Len stayed at the cap", atCap, end)
	}
	runtime.KeepAlive(tb)
}

func TestConcurrentAllow(t *testing.T) {
	clk := newFakeClock()
	const goroutines, perG, burst, ownKeys = 32, 500, 100, 20
	tb := newBucket(t, ratelimit.TokenBucketConfig{Now: clk.Now, MaxKeys: 1 + goroutines*ownKeys})
	l := ratelimit.Limit{Rate: 0, Burst: burst} // no refill: exactly burst allowed per key
	var shared atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				d, err := tb.Allow(context.Background(), "shared", l)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					shared.Add(1)
				}
				if _, err := tb.Allow(context.Background(), "g"+strconv.Itoa(g)+":"+strconv.Itoa(i%ownKeys), l); err != nil {
					t.Error(err)
					return
				}
				clk.Advance(time.Millisecond)
				_ = tb.Len()
			}
		})
	}
	wg.Wait()
	if got := shared.Load(); got != burst {
		t.Fatalf("shared key allowed %d events across goroutines, want exactly burst %d", got, burst)
	}
	if got, want := tb.Len(), 1+goroutines*ownKeys; got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
}

func TestConcurrentEvictionStaysUnderCap(t *testing.T) {
	clk := newFakeClock()
	const maxKeys = 50
	tb := newBucket(t, ratelimit.TokenBucketConfig{Now: clk.Now, MaxKeys: maxKeys, IdleTTL: time.Second})
	l := ratelimit.Limit{Rate: 10, Burst: 1}
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 2000 {
				if _, err := tb.Allow(context.Background(), strconv.Itoa(g)+":"+strconv.Itoa(i), l); err != nil {
					t.Error(err)
					return
				}
				if i%7 == 0 {
					clk.Advance(time.Millisecond)
				}
				if n := tb.Len(); n > maxKeys {
					t.Errorf("Len = %d > MaxKeys %d", n, maxKeys)
					return
				}
			}
		})
	}
	wg.Wait()
	clk.Advance(time.Second)
	if _, err := tb.Allow(context.Background(), "last", l); err != nil {
		t.Fatal(err)
	}
	if n := tb.Len(); n != 1 {
		t.Fatalf("after IdleTTL: Len = %d, want 1", n)
	}
}
