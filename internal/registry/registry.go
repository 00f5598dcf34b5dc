// Package registry holds live, in-memory server state with bounded memory: a
// Registry of values keyed by string with an idle TTL and a size cap.
//
// Nothing here grows with traffic history: entries are evicted when idle or
// when the cap is reached.
package registry

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrFull is returned (wrapped) by Registry.Acquire when the registry holds
// MaxEntries entries and every one of them is referenced.
var ErrFull = errors.New("session: registry full")

// Defaults applied by NewRegistry to zero fields of Config.
const (
	DefaultIdleTTL    = 30 * time.Minute
	DefaultMaxEntries = 100_000
)

// Config configures a Registry. The zero value is valid and selects every
// default.
type Config struct {
	// IdleTTL is how long an entry may stay unreferenced and untouched
	// before Sweep evicts it. Default DefaultIdleTTL (30 minutes); negative
	// is an error.
	IdleTTL time.Duration
	// MaxEntries caps the number of entries. Default DefaultMaxEntries
	// (100,000); negative is an error.
	MaxEntries int
	// Now is the clock. Default time.Now; tests inject a fake one.
	Now func() time.Time
	// OnEvict, if set, is called with the key of every entry evicted by
	// Sweep or by cap pressure in Acquire, after the registry lock is
	// released (so it may call back into the registry). It is not called for
	// Remove. It runs on the goroutine that caused the eviction and should
	// return quickly. By the time it runs, another Acquire may already have
	// created a new entry under the same key.
	OnEvict func(key string)
}

// Registry maps keys to values of type V with bounded memory.
//
// An entry is referenced from Acquire until its release is called; a
// referenced entry is never evicted nor removed. An unreferenced entry is
// evicted by Sweep once it has been idle (neither released nor touched) for
// IdleTTL, and the least recently used unreferenced entry is evicted by
// Acquire when a new key would exceed MaxEntries. Both cost O(entries
// evicted), not O(entries held).
//
// V is stored and returned by value; use a pointer type for mutable state,
// and guard that state with its own lock.
//
// A Registry is safe for concurrent use. Its lock is held only for map and
// list work and for create (see Acquire); OnEvict runs outside it.
type Registry[V any] struct {
	idleTTL    time.Duration
	maxEntries int
	now        func() time.Time
	onEvict    func(key string)

	mu      sync.Mutex
	entries map[string]*entry[V]
	idle    list.List // unreferenced entries (*entry[V]); front: most recently used
	peak    int       // largest len(entries) since entries was last allocated
}

type entry[V any] struct {
	key      string
	val      V
	refs     int
	lastUsed time.Time
	elem     *list.Element // position in idle; nil while referenced
}

// NewRegistry returns an empty Registry configured by cfg, or an error
// describing every invalid field. It starts no goroutine; see Run.
func NewRegistry[V any](cfg Config) (*Registry[V], error) {
	var errs []error
	if cfg.IdleTTL < 0 {
		errs = append(errs, fmt.Errorf("session: IdleTTL %v is negative", cfg.IdleTTL))
	}
	if cfg.MaxEntries < 0 {
		errs = append(errs, fmt.Errorf("session: MaxEntries %d is negative", cfg.MaxEntries))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.IdleTTL == 0 {
		cfg.IdleTTL = DefaultIdleTTL
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Registry[V]{
		idleTTL:    cfg.IdleTTL,
		maxEntries: cfg.MaxEntries,
		now:        cfg.Now,
		onEvict:    cfg.OnEvict,
		entries:    make(map[string]*entry[V]),
	}, nil
}

// Acquire returns the value for key, creating it with create if key is
// absent, and takes a reference to the entry. The caller must call release
// when done with it; release drops the reference and marks the entry as used
// now. Calling release more than once is harmless.
//
// create is called with the registry lock held, so that concurrent Acquire
// calls for one key create exactly one value: it must be cheap, must not
// block and must not call the registry. Do slow set-up (loading from a
// store) outside, then Acquire with a create that returns the result.
//
// If key is absent and the registry is at MaxEntries, the least recently
// used unreferenced entry is evicted to make room; if every entry is
// referenced, Acquire returns an error wrapping ErrFull without calling
// create. A nil create is an error when key is absent. On error, release is
// a no-op function.
func (r *Registry[V]) Acquire(key string, create func() V) (v V, release func(), err error) {
	e, victim, err := r.acquire(key, create)
	if victim != nil && r.onEvict != nil {
		r.onEvict(victim.key)
	}
	if err != nil {
		return v, func() {}, err
	}
	var done atomic.Bool
	return e.val, func() {
		if done.CompareAndSwap(false, true) {
			r.release(e)
		}
	}, nil
}

// acquire does Acquire's work under the lock and returns the entry it
// evicted to make room, if any.
func (r *Registry[V]) acquire(key string, create func() V) (e, victim *entry[V], err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.entries[key]; ok {
		if e.refs == 0 {
			r.idle.Remove(e.elem)
			e.elem = nil
		}
		e.refs++
		return e, nil, nil
	}
	if create == nil {
		return nil, nil, errors.New("session: Acquire of an absent key with a nil create func")
	}
	full := len(r.entries) >= r.maxEntries
	if full && r.idle.Len() == 0 {
		return nil, nil, fmt.Errorf("%w: all %d entries are in use", ErrFull, len(r.entries))
	}
	e = &entry[V]{key: key, val: create(), refs: 1}
	if full {
		victim = r.idle.Back().Value.(*entry[V])
		r.drop(victim)
	}
	r.entries[key] = e
	r.peak = max(r.peak, len(r.entries))
	return e, victim, nil
}

func (r *Registry[V]) release(e *entry[V]) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	e.refs--
	e.lastUsed = now
	if e.refs == 0 {
		e.elem = r.idle.PushFront(e)
	}
}

// drop deletes an unreferenced entry. r.mu is held.
func (r *Registry[V]) drop(e *entry[V]) {
	r.idle.Remove(e.elem)
	e.elem = nil
	delete(r.entries, e.key)
}

// Len reports the number of entries, referenced or not.
func (r *Registry[V]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}

// InUse reports the number of entries with at least one reference.
func (r *Registry[V]) InUse() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries) - r.idle.Len()
}

// Sweep evicts every unreferenced entry idle for IdleTTL or longer, calls
// OnEvict for each after releasing the lock, and returns how many it
// evicted. When the registry has shrunk to a quarter of its peak size, Sweep
// also reallocates its index so the memory is returned.
func (r *Registry[V]) Sweep() int {
	now := r.now()
	var evicted []string
	r.mu.Lock()
	for el := r.idle.Back(); el != nil; el = r.idle.Back() {
		e := el.Value.(*entry[V])
		if now.Sub(e.lastUsed) < r.idleTTL {
			break
		}
		r.drop(e)
		evicted = append(evicted, e.key)
	}
	r.shrink()
	r.mu.Unlock()
	if r.onEvict != nil {
		for _, k := range evicted {
			r.onEvict(k)
		}
	}
	return len(evicted)
}

// shrink reallocates the map once it holds at most a quarter of its peak:
// Go maps never give back memory on delete. The copy is paid for by the
// three quarters of the peak evicted since the last one. r.mu is held.
func (r *Registry[V]) shrink() {
	const minPeak = 1024
	if r.peak < minPeak || len(r.entries) > r.peak/4 {
		return
	}
	m := make(map[string]*entry[V], len(r.entries))
	for k, e := range r.entries {
		m[k] = e
	}
	r.entries = m
	r.peak = len(m)
}

// Run calls Sweep every interval until ctx is done, then returns. The
// caller owns the goroutine it runs on:
//
//	var wg sync.WaitGroup
//	wg.Go(func() { reg.Run(ctx, time.Minute) })
//	...
//	cancel(); wg.Wait()
//
// A non-positive interval selects IdleTTL/4 (at least a millisecond). An
// idle entry outlives its TTL by at most one interval.
func (r *Registry[V]) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = max(r.idleTTL/4, time.Millisecond)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Sweep()
		}
	}
}
