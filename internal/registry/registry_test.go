package registry_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/internal/registry"
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

// evictLog records OnEvict calls.
type evictLog struct {
	mu   sync.Mutex
	keys []string
}

func (l *evictLog) add(k string) { l.mu.Lock(); l.keys = append(l.keys, k); l.mu.Unlock() }
func (l *evictLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.keys)
}

type conv struct{ id string }

func newRegistry(t testing.TB, cfg registry.Config) *registry.Registry[*conv] {
	t.Helper()
	r, err := registry.NewRegistry[*conv](cfg)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return r
}

func acquire(t testing.TB, r *registry.Registry[*conv], key string) (*conv, func()) {
	t.Helper()
	v, release, err := r.Acquire(key, func() *conv { return &conv{id: key} })
	if err != nil {
		t.Fatalf("Acquire(%q): %v", key, err)
	}
	if v == nil || v.id != key {
		t.Fatalf("Acquire(%q) = %+v", key, v)
	}
	return v, release
}

func TestAcquireCreatesOnce(t *testing.T) {
	r := newRegistry(t, registry.Config{})
	creates := 0
	create := func() *conv { creates++; return &conv{id: "k"} }
	v1, rel1, err := r.Acquire("k", create)
	if err != nil {
		t.Fatal(err)
	}
	v2, rel2, err := r.Acquire("k", create)
	if err != nil {
		t.Fatal(err)
	}
	if creates != 1 || v1 != v2 {
		t.Fatalf("creates = %d, same value = %v; want 1, true", creates, v1 == v2)
	}
	if got, ok := registry.Get(r, "k"); !ok || got != v1 {
		t.Fatalf("Get = %v, %v", got, ok)
	}
	if _, ok := registry.Get(r, "absent"); ok {
		t.Fatal("Get of an absent key reported ok")
	}
	rel1()
	rel2()
	if v3, rel3 := acquire(t, r, "k"); v3 != v1 {
		t.Fatal("released entry was replaced")
	} else {
		rel3()
	}
	if r.Len() != 1 {
		t.Fatalf("Len = %d, want 1", r.Len())
	}
}

func TestReferencedEntrySurvivesTTL(t *testing.T) {
	clk := newFakeClock()
	var log evictLog
	r := newRegistry(t, registry.Config{IdleTTL: time.Minute, Now: clk.Now, OnEvict: log.add})
	_, release := acquire(t, r, "held")
	clk.Advance(time.Hour)
	if n := r.Sweep(); n != 0 || r.Len() != 1 {
		t.Fatalf("Sweep evicted %d referenced entries (Len %d)", n, r.Len())
	}
	release() // stamps last use: idle time starts now, not at creation
	clk.Advance(time.Minute - time.Nanosecond)
	if n := r.Sweep(); n != 0 {
		t.Fatalf("Sweep evicted an entry released %v ago", time.Minute-time.Nanosecond)
	}
	clk.Advance(time.Nanosecond)
	if n := r.Sweep(); n != 1 || r.Len() != 0 {
		t.Fatalf("Sweep after TTL evicted %d, Len %d; want 1, 0", n, r.Len())
	}
	if got := log.get(); !slices.Equal(got, []string{"held"}) {
		t.Fatalf("OnEvict calls = %q", got)
	}
}

func TestSweepEvictsOnlyIdle(t *testing.T) {
	clk := newFakeClock()
	var log evictLog
	r := newRegistry(t, registry.Config{IdleTTL: 10 * time.Minute, Now: clk.Now, OnEvict: log.add})
	for _, k := range []string{"a", "b", "c", "d"} {
		_, release := acquire(t, r, k)
		release()
		clk.Advance(time.Minute)
	}
	// Now a, b, c, d are idle for 4, 3, 2, 1 minutes.
	registry.Touch(r, "a")  // restarts a's idle time
	registry.Get(r, "b")    // Get refreshes nothing
	registry.Touch(r, "no") // absent: nothing happens
	clk.Advance(7 * time.Minute)
	// a: 7m, b: 10m, c: 9m, d: 8m.
	if n := r.Sweep(); n != 1 {
		t.Fatalf("Sweep evicted %d, want 1 (b)", n)
	}
	clk.Advance(2 * time.Minute) // a: 9m, c: 11m, d: 10m
	if n := r.Sweep(); n != 2 {
		t.Fatalf("Sweep evicted %d, want 2 (c, d)", n)
	}
	if got := log.get(); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Fatalf("evicted %q, want [b c d]", got)
	}
	if _, ok := registry.Get(r, "a"); !ok || r.Len() != 1 {
		t.Fatal("touched entry was evicted")
	}
}

func TestCapEvictsLeastRecentlyUsed(t *testing.T) {
	clk := newFakeClock()
	var log evictLog
	r := newRegistry(t, registry.Config{MaxEntries: 3, Now: clk.Now, OnEvict: log.add})
	for _, k := range []string{"a", "b", "c"} {
		_, release := acquire(t, r, k)
		release()
		clk.Advance(time.Second)
	}
	registry.Touch(r, "a") // order, least recent first: b, c, a
	_, relD := acquire(t, r, "d")
	_, relE := acquire(t, r, "e")
	if got := log.get(); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("evicted %q, want [b c]", got)
	}
	if r.Len() != 3 {
		t.Fatalf("Len = %d, want 3", r.Len())
	}
	relD()
	relE()
	_, relA := acquire(t, r, "a") // a is the least recent; acquiring takes it off the LRU
	_, relF := acquire(t, r, "f") // so d goes
	if got := log.get(); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Fatalf("evicted %q, want [b c d]", got)
	}
	relA()
	relF()
}

func TestReferencedEntrySurvivesCapAndErrFull(t *testing.T) {
	clk := newFakeClock()
	var log evictLog
	r := newRegistry(t, registry.Config{MaxEntries: 2, Now: clk.Now, OnEvict: log.add})
	_, relA := acquire(t, r, "a") // held throughout
	_, relB := acquire(t, r, "b")
	relB()
	_, relC := acquire(t, r, "c") // evicts b, the only unreferenced entry
	if got := log.get(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("evicted %q, want [b]", got)
	}
	created := false
	_, release, err := r.Acquire("d", func() *conv { created = true; return &conv{} })
	if !errors.Is(err, registry.ErrFull) {
		t.Fatalf("Acquire with every entry referenced: err = %v, want ErrFull", err)
	}
	if created {
		t.Fatal("create was called although the registry was full")
	}
	release() // a no-op, must not panic
	// An existing key can still be acquired when full.
	_, relA2 := acquire(t, r, "a")
	relA2()
	relC()
	if _, rel, err := r.Acquire("d", func() *conv { return &conv{id: "d"} }); err != nil {
		t.Fatalf("after a release: %v", err)
	} else {
		rel()
	}
	if _, ok := registry.Get(r, "a"); !ok {
		t.Fatal("referenced entry was evicted")
	}
	relA()
}

func TestReleaseIsIdempotent(t *testing.T) {
	clk := newFakeClock()
	r := newRegistry(t, registry.Config{IdleTTL: time.Minute, Now: clk.Now})
	_, rel1 := acquire(t, r, "k")
	_, rel2 := acquire(t, r, "k")
	rel1()
	rel1()
	rel1() // must not drop the second reference
	clk.Advance(time.Hour)
	if registry.Remove(r, "k") || r.Sweep() != 0 {
		t.Fatal("entry still referenced by rel2 was removed or evicted")
	}
	rel2()
	rel2()
	if !registry.Remove(r, "k") {
		t.Fatal("entry with every reference released could not be removed")
	}
}

func TestRemove(t *testing.T) {
	var log evictLog
	r := newRegistry(t, registry.Config{OnEvict: log.add})
	_, release := acquire(t, r, "k")
	if registry.Remove(r, "k") {
		t.Fatal("removed a referenced entry")
	}
	release()
	if !registry.Remove(r, "k") || r.Len() != 0 {
		t.Fatal("could not remove an unreferenced entry")
	}
	if registry.Remove(r, "k") || registry.Remove(r, "never") {
		t.Fatal("Remove of an absent key reported true")
	}
	if len(log.get()) != 0 {
		t.Fatal("Remove called OnEvict")
	}
}

func TestOnEvictMayUseRegistry(t *testing.T) {
	clk := newFakeClock()
	var r *registry.Registry[*conv]
	var lens []int
	r = newRegistry(t, registry.Config{MaxEntries: 1, IdleTTL: time.Minute, Now: clk.Now,
		OnEvict: func(string) { lens = append(lens, r.Len()) }}) // deadlocks if called under the lock
	_, release := acquire(t, r, "a")
	release()
	_, release = acquire(t, r, "b") // cap eviction of a
	release()
	clk.Advance(time.Minute)
	r.Sweep() // TTL eviction of b
	if !slices.Equal(lens, []int{1, 0}) {
		t.Fatalf("Len seen from OnEvict = %v, want [1 0]", lens)
	}
}

func TestCreatePanicLeavesRegistryUsable(t *testing.T) {
	r := newRegistry(t, registry.Config{})
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic in create was swallowed")
			}
		}()
		r.Acquire("k", func() *conv { panic("boom") })
	}()
	if r.Len() != 0 {
		t.Fatalf("Len = %d after a panicking create", r.Len())
	}
	_, release := acquire(t, r, "k") // deadlocks if the lock leaked
	release()
}

func TestAcquireNilCreate(t *testing.T) {
	r := newRegistry(t, registry.Config{})
	if _, _, err := r.Acquire("k", nil); err == nil {
		t.Fatal("nil create accepted for an absent key")
	}
	_, release := acquire(t, r, "k")
	defer release()
	if _, rel, err := r.Acquire("k", nil); err != nil {
		t.Fatalf("nil create for a present key: %v", err)
	} else {
		rel()
	}
}

func TestInvalidConfig(t *testing.T) {
	_, err := registry.NewRegistry[int](registry.Config{IdleTTL: -1, MaxEntries: -1})
	if err == nil {
		t.Fatal("negative IdleTTL and MaxEntries accepted")
	}
	for _, want := range []string{"IdleTTL", "MaxEntries"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestInUseCountsReferencedEntries(t *testing.T) {
	r := newRegistry(t, registry.Config{})
	_, releaseA := acquire(t, r, "a")
	_, releaseA2 := acquire(t, r, "a")
	_, releaseB := acquire(t, r, "b")
	if n := r.InUse(); n != 2 {
		t.Fatalf("InUse = %d with a (twice) and b held, want 2", n)
	}
	releaseA()
	if n := r.InUse(); n != 2 {
		t.Fatalf("InUse = %d with a still held once, want 2", n)
	}
	releaseA2()
	releaseB()
	releaseB() // a second release is harmless
	if n, l := r.InUse(), r.Len(); n != 0 || l != 2 {
		t.Fatalf("InUse, Len = %d, %d after every release, want 0, 2", n, l)
	}
}
