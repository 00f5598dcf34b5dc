package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
)

var _ broker.Leases = (*Broker)(nil)

// leaseTable holds the leases of one process. Its size is bounded by the
// work that holds leases (running replies); a lapsed lease stays until
// TakeLapsedLeases takes it.
type leaseTable struct {
	mu     sync.Mutex
	leases map[string]leaseEntry
}

type leaseEntry struct {
	holder  string
	expires time.Time
}

func (b *Broker) now() time.Time { return b.cfg.Now() }

// AcquireLease implements broker.Leases.
func (b *Broker) AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	t := &b.leaseTable
	t.mu.Lock()
	defer t.mu.Unlock()
	now := b.now()
	if l, ok := t.leases[key]; ok && l.holder != holder {
		return false, nil // held, or lapsed and not yet taken
	}
	if t.leases == nil {
		t.leases = make(map[string]leaseEntry)
	}
	t.leases[key] = leaseEntry{holder: holder, expires: now.Add(ttl)}
	return true, nil
}

// RenewLease implements broker.Leases.
func (b *Broker) RenewLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	t := &b.leaseTable
	t.mu.Lock()
	defer t.mu.Unlock()
	now := b.now()
	l, ok := t.leases[key]
	if !ok || l.holder != holder || !now.Before(l.expires) {
		return false, nil
	}
	t.leases[key] = leaseEntry{holder: holder, expires: now.Add(ttl)}
	return true, nil
}

// ReleaseLease implements broker.Leases.
func (b *Broker) ReleaseLease(ctx context.Context, key, holder string) error {
	t := &b.leaseTable
	t.mu.Lock()
	defer t.mu.Unlock()
	if l, ok := t.leases[key]; ok && l.holder == holder {
		delete(t.leases, key)
	}
	return nil
}

// TakeLapsedLeases implements broker.Leases.
func (b *Broker) TakeLapsedLeases(ctx context.Context, max int) ([]broker.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := &b.leaseTable
	t.mu.Lock()
	defer t.mu.Unlock()
	now := b.now()
	type lapsed struct {
		broker.Lease
		expires time.Time
	}
	var all []lapsed
	for k, l := range t.leases {
		if !now.Before(l.expires) {
			all = append(all, lapsed{broker.Lease{Key: k, Holder: l.holder}, l.expires})
		}
	}
	slices.SortFunc(all, func(a, b lapsed) int { return cmp.Compare(a.expires.UnixNano(), b.expires.UnixNano()) })
	out := make([]broker.Lease, 0, min(max, len(all)))
	for _, l := range all[:min(max, len(all))] {
		delete(t.leases, l.Key)
		out = append(out, l.Lease)
	}
	return out, nil
}
