package registry_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatboxsdk/chatbox/internal/registry"
)

func TestRunSweepsUntilCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log evictLog
		r := newRegistry(t, registry.Config{IdleTTL: time.Minute, OnEvict: log.add}) // time.Now is the bubble's fake clock
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); r.Run(ctx, 10*time.Second) }()

		_, release := acquire(t, r, "idle")
		release()
		_, hold := acquire(t, r, "held")

		time.Sleep(59 * time.Second)
		synctest.Wait()
		if r.Len() != 2 {
			t.Fatalf("before TTL: Len = %d, want 2", r.Len())
		}
		time.Sleep(11 * time.Second) // a sweep at 60s or 70s sees "idle" past its TTL
		synctest.Wait()
		if got := log.get(); !slices.Equal(got, []string{"idle"}) || r.Len() != 1 {
			t.Fatalf("after TTL: evicted %q, Len %d; want [idle], 1", got, r.Len())
		}
		hold()

		cancel()
		<-done // Run returned
	})
}

func TestRunDefaultInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRegistry(t, registry.Config{IdleTTL: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); r.Run(ctx, 0) }() // IdleTTL/4 = 15s
		_, release := acquire(t, r, "k")
		release()
		time.Sleep(75 * time.Second)
		synctest.Wait()
		if r.Len() != 0 {
			t.Fatalf("Len = %d, want 0 after TTL plus one default interval", r.Len())
		}
		cancel()
		<-done
	})
}

func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestChurnReturnsToBaseline(t *testing.T) {
	const keys, maxEntries = 100_000, 20_000
	clk := newFakeClock()
	type state struct {
		id      string
		payload [256]byte
	}
	r, err := registry.NewRegistry[*state](registry.Config{MaxEntries: maxEntries, IdleTTL: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	base := heapAlloc()
	for i := range keys {
		k := "conv-" + strconv.Itoa(i)
		v, release, err := r.Acquire(k, func() *state { return &state{id: k} })
		if err != nil {
			t.Fatal(err)
		}
		v.payload[0] = 1
		release()
		if i%1000 == 0 {
			clk.Advance(time.Millisecond)
		}
		if n := r.Len(); n > maxEntries {
			t.Fatalf("after %d keys Len = %d > MaxEntries %d", i+1, n, maxEntries)
		}
	}
	full := heapAlloc()
	clk.Advance(time.Minute)
	if n := r.Sweep(); n != maxEntries {
		t.Fatalf("Sweep evicted %d, want %d", n, maxEntries)
	}
	if r.Len() != 0 {
		t.Fatalf("Len = %d after Sweep past TTL, want 0", r.Len())
	}
	after := heapAlloc()
	t.Logf("heap: %d KiB empty, %d KiB with %d entries, %d KiB after Sweep", base>>10, full>>10, maxEntries, after>>10)
	if full < base+maxEntries*256 {
		t.Fatalf("heap with %d entries (%d) is implausibly small: measurement broken", maxEntries, full)
	}
	if after > base+256<<10 {
		t.Fatalf("heap after Sweep is %d bytes, baseline %d: memory not returned", after, base)
	}
	runtime.KeepAlive(r)
}

func TestConcurrentAcquireCreatesOneValue(t *testing.T) {
	r := newRegistry(t, registry.Config{})
	var creates atomic.Int64
	var first atomic.Pointer[conv]
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 500 {
				v, release, err := r.Acquire("k", func() *conv { creates.Add(1); return &conv{id: "k"} })
				if err != nil {
					t.Error(err)
					return
				}
				first.CompareAndSwap(nil, v)
				if v != first.Load() {
					t.Error("two values for one key")
				}
				registry.Touch(r, "k")
				release()
				r.Sweep() // nothing is idle long enough: must never evict
			}
		})
	}
	wg.Wait()
	if n := creates.Load(); n != 1 {
		t.Fatalf("create called %d times, want 1", n)
	}
}

// With a tiny TTL and a moving clock, entries do get evicted and recreated
// under contention; every value created is accounted for exactly once.
func TestConcurrentChurnAccounting(t *testing.T) {
	clk := newFakeClock()
	var creates, evictions atomic.Int64
	r := newRegistry(t, registry.Config{MaxEntries: 8, IdleTTL: time.Millisecond, Now: clk.Now,
		OnEvict: func(string) { evictions.Add(1) }})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 1000 {
				k := strconv.Itoa((g + i) % 12)
				v, release, err := r.Acquire(k, func() *conv { creates.Add(1); return &conv{id: k} })
				if errors.Is(err, registry.ErrFull) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if v.id != k {
					t.Errorf("Acquire(%q) returned the value of %q", k, v.id)
				}
				clk.Advance(100 * time.Microsecond)
				release()
				if i%10 == 0 {
					r.Sweep()
				}
			}
		})
	}
	wg.Wait()
	if c, e, n := creates.Load(), evictions.Load(), int64(r.Len()); c != e+n {
		t.Fatalf("creates %d != evictions %d + remaining %d", c, e, n)
	}
	if evictions.Load() == 0 {
		t.Fatal("no evictions: test did not exercise eviction")
	}
}
