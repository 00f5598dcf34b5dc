package brokertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
)

// Lease TTLs: a lease meant to lapse lives shortTTL; one that must stay held
// for the whole case lives longTTL, so a slow machine cannot lapse it.
const (
	shortTTL = 30 * time.Millisecond
	longTTL  = time.Minute
)

// runLeaseCases runs the cases of broker.Leases for brokers that implement
// it. Every case releases or takes the leases it made, so the cases of a
// shared backend do not see each other's lapsed leases.
func runLeaseCases(t *testing.T, run string, newBroker func(*testing.T) broker.Broker, opts Options) {
	cases := []struct {
		name string
		fn   func(t *testing.T, leases func() broker.Leases, key func() string)
	}{
		{"AcquireRenewRelease", testLeaseAcquireRenewRelease},
		{"SecondHolderRefusedUntilLapse", testLeaseSecondHolder},
		{"RenewAfterLapseFails", testLeaseRenewAfterLapse},
		{"TakeLapsedOnceAcrossCallers", testLeaseTakeOnce},
		{"TakeLapsedOldestFirstUpToMax", testLeaseTakeOrder},
		{"CancelledContext", testLeaseCancelled},
	}
	for _, tc := range cases {
		t.Run("Leases/"+tc.name, func(t *testing.T) {
			first, ok := newBroker(t).(broker.Leases)
			if !ok {
				t.Skip("the broker does not implement broker.Leases")
			}
			// leases returns the first broker, then with Options.Shared a
			// new instance on the same backend at each call.
			calls := 0
			leases := func() broker.Leases {
				calls++
				if calls == 1 || !opts.Shared {
					return first
				}
				return newBroker(t).(broker.Leases)
			}
			n := 0
			key := func() string {
				n++
				return fmt.Sprintf("brokertest-%s/leases/%s/%d", run, tc.name, n)
			}
			tc.fn(t, leases, key)
		})
	}
}

func acquire(t *testing.T, l broker.Leases, key, holder string, ttl time.Duration) bool {
	t.Helper()
	ok, err := l.AcquireLease(t.Context(), key, holder, ttl)
	if err != nil {
		t.Fatalf("AcquireLease(%q, %q): %v", key, holder, err)
	}
	return ok
}

func renew(t *testing.T, l broker.Leases, key, holder string, ttl time.Duration) bool {
	t.Helper()
	ok, err := l.RenewLease(t.Context(), key, holder, ttl)
	if err != nil {
		t.Fatalf("RenewLease(%q, %q): %v", key, holder, err)
	}
	return ok
}

func release(t *testing.T, l broker.Leases, key, holder string) {
	t.Helper()
	if err := l.ReleaseLease(t.Context(), key, holder); err != nil {
		t.Fatalf("ReleaseLease(%q, %q): %v", key, holder, err)
	}
}

func take(t *testing.T, l broker.Leases, max int) []broker.Lease {
	t.Helper()
	got, err := l.TakeLapsedLeases(t.Context(), max)
	if err != nil {
		t.Fatalf("TakeLapsedLeases(%d): %v", max, err)
	}
	if len(got) > max {
		t.Fatalf("TakeLapsedLeases(%d) returned %d leases", max, len(got))
	}
	return got
}

// lapse waits until a lease acquired (or renewed) with ttl by a call that
// returned before since has lapsed.
func lapse(t *testing.T, since time.Time, ttl time.Duration) {
	t.Helper()
	select {
	case <-time.After(time.Until(since.Add(ttl + time.Millisecond))):
	case <-t.Context().Done():
		t.Fatal(t.Context().Err())
	}
}

// own returns the leases of got whose key starts with prefix.
func own(got []broker.Lease, prefix string) []broker.Lease {
	var out []broker.Lease
	for _, l := range got {
		if strings.HasPrefix(l.Key, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func testLeaseAcquireRenewRelease(t *testing.T, leases func() broker.Leases, key func() string) {
	a, other := leases(), leases()
	k := key()
	if !acquire(t, a, k, "A", longTTL) {
		t.Fatal("AcquireLease of a free key reported false")
	}
	if acquire(t, other, k, "B", longTTL) {
		t.Fatal("AcquireLease by a second holder succeeded while the first holds the lease")
	}
	if !acquire(t, a, k, "A", longTTL) {
		t.Fatal("AcquireLease by the holder of the lease reported false, want a renewal")
	}
	if !renew(t, other, k, "A", longTTL) {
		t.Fatal("RenewLease by the holder reported false")
	}
	if renew(t, a, k, "B", longTTL) {
		t.Fatal("RenewLease by a non-holder reported true")
	}
	release(t, other, k, "B") // not the holder: nothing happens
	if acquire(t, a, k, "B", longTTL) {
		t.Fatal("ReleaseLease by a non-holder released the lease")
	}
	if got := own(take(t, a, 100), k); len(got) != 0 {
		t.Fatalf("TakeLapsedLeases took an unexpired lease: %v", got)
	}
	release(t, other, k, "A")
	if renew(t, a, k, "A", longTTL) {
		t.Fatal("RenewLease after ReleaseLease reported true")
	}
	if !acquire(t, other, k, "B", longTTL) {
		t.Fatal("AcquireLease after the holder released the lease reported false")
	}
	release(t, a, k, "B")
	if renew(t, a, key(), "A", longTTL) {
		t.Fatal("RenewLease of a key never acquired reported true")
	}
}

func testLeaseSecondHolder(t *testing.T, leases func() broker.Leases, key func() string) {
	a, other := leases(), leases()
	k := key()
	start := time.Now()
	if !acquire(t, a, k, "A", shortTTL) {
		t.Fatal("AcquireLease of a free key reported false")
	}
	// A refusal is required only while the lease certainly still runs.
	if acquire(t, other, k, "B", longTTL) && time.Since(start) < shortTTL {
		t.Fatalf("a second holder acquired the lease %v after the first, before its TTL %v", time.Since(start), shortTTL)
	}
	lapse(t, start, shortTTL)
	if acquire(t, other, k, "B", longTTL) {
		t.Fatal("a second holder acquired a lapsed lease before it was taken")
	}
	eventually(t, "TakeLapsedLeases hands over the lapsed lease", func() error {
		got, err := other.TakeLapsedLeases(t.Context(), 1000)
		if err != nil {
			return err
		}
		for _, l := range got {
			if l.Key == k && l.Holder == "A" {
				return nil
			}
		}
		return errors.New("not taken yet")
	})
	if !acquire(t, other, k, "B", longTTL) {
		t.Fatal("AcquireLease by a second holder after the lapsed lease was taken reported false")
	}
	if renew(t, a, k, "A", longTTL) {
		t.Fatal("RenewLease by the holder whose lease lapsed and was acquired by another reported true")
	}
	if !renew(t, a, k, "B", longTTL) {
		t.Fatal("RenewLease by the new holder reported false")
	}
	release(t, a, k, "A")
	if !renew(t, other, k, "B", longTTL) {
		t.Fatal("ReleaseLease by the former holder released the new holder's lease")
	}
	release(t, other, k, "B")
}

func testLeaseRenewAfterLapse(t *testing.T, leases func() broker.Leases, key func() string) {
	l := leases()
	k := key()
	if !acquire(t, l, k, "A", shortTTL) {
		t.Fatal("AcquireLease of a free key reported false")
	}
	lapse(t, time.Now(), shortTTL)
	if renew(t, leases(), k, "A", longTTL) {
		t.Fatal("RenewLease of a lapsed lease reported true")
	}
	if !acquire(t, l, k, "A", longTTL) {
		t.Fatal("AcquireLease by the holder of a lapsed lease reported false")
	}
	release(t, l, k, "A")
}

// testLeaseTakeOnce has 8 goroutines (on two instances of a shared backend)
// take lapsed leases at once: each lease goes to exactly one of them, and an
// unexpired lease to none.
func testLeaseTakeOnce(t *testing.T, leases func() broker.Leases, key func() string) {
	const n, takers, max = 40, 8, 3
	instances := []broker.Leases{leases(), leases()}
	held := key()
	if !acquire(t, instances[0], held, "held", longTTL) {
		t.Fatal("AcquireLease of a free key reported false")
	}
	defer release(t, instances[0], held, "held")
	prefix := key()
	want := map[string]string{}
	for i := range n {
		k, h := fmt.Sprintf("%s/%d", prefix, i), fmt.Sprintf("holder-%d", i)
		want[k] = h
		if !acquire(t, instances[i%2], k, h, shortTTL) {
			t.Fatalf("AcquireLease(%q) of a free key reported false", k)
		}
	}
	lapse(t, time.Now(), shortTTL)

	var (
		mu     sync.Mutex
		got    = map[string][]string{}
		wg     sync.WaitGroup
		starts = make(chan struct{})
	)
	for i := range takers {
		l := instances[i%2]
		wg.Go(func() {
			<-starts
			for {
				leases, err := l.TakeLapsedLeases(t.Context(), max)
				if err != nil {
					t.Errorf("TakeLapsedLeases: %v", err)
					return
				}
				if len(leases) > max {
					t.Errorf("TakeLapsedLeases(%d) returned %d leases", max, len(leases))
				}
				if len(leases) == 0 {
					return
				}
				mu.Lock()
				for _, l := range leases {
					got[l.Key] = append(got[l.Key], l.Holder)
				}
				mu.Unlock()
			}
		})
	}
	close(starts)
	wg.Wait()
	if _, ok := got[held]; ok {
		t.Errorf("an unexpired lease was taken")
	}
	for k, h := range want {
		if hs := got[k]; len(hs) != 1 || hs[0] != h {
			t.Errorf("lapsed lease %q was returned with holders %q, want exactly once with %q", k, hs, h)
		}
	}
	if !renew(t, instances[1], held, "held", longTTL) {
		t.Error("the unexpired lease is no longer held after the lapsed ones were taken")
	}
}

func testLeaseTakeOrder(t *testing.T, leases func() broker.Leases, key func() string) {
	const n, max = 5, 2
	l := leases()
	prefix := key()
	var keys []string
	for i := range n {
		k := fmt.Sprintf("%s/%d", prefix, i)
		keys = append(keys, k)
		// Later keys lapse later: acquired later, and with longer TTLs.
		if !acquire(t, l, k, "holder", shortTTL+time.Duration(i)*time.Millisecond) {
			t.Fatalf("AcquireLease(%q) of a free key reported false", k)
		}
	}
	lapse(t, time.Now(), shortTTL+n*time.Millisecond)
	if got := take(t, l, 0); len(got) != 0 {
		t.Fatalf("TakeLapsedLeases(0) returned %v", got)
	}
	var taken []string
	for range 100 {
		got := take(t, l, max)
		if len(got) == 0 {
			break
		}
		if len(got) < min(max, n-len(taken)) {
			t.Fatalf("TakeLapsedLeases(%d) returned %d leases while more lapsed ones remained", max, len(got))
		}
		for _, lease := range own(got, prefix) {
			taken = append(taken, lease.Key)
		}
	}
	if fmt.Sprint(taken) != fmt.Sprint(keys) {
		t.Fatalf("lapsed leases taken in the order %q, want oldest first %q", taken, keys)
	}
	if got := own(take(t, l, max), prefix); len(got) != 0 {
		t.Fatalf("leases returned again after they were taken: %v", got)
	}
}

func testLeaseCancelled(t *testing.T, leases func() broker.Leases, key func() string) {
	l := leases()
	k := key()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.AcquireLease(ctx, k, "A", longTTL); !errors.Is(err, context.Canceled) {
		t.Fatalf("AcquireLease with a cancelled context returned %v, want context.Canceled", err)
	}
	if !acquire(t, l, k, "A", longTTL) {
		t.Fatal("AcquireLease after a cancelled attempt reported false: the cancelled call took the lease")
	}
	if _, err := l.RenewLease(ctx, k, "A", longTTL); !errors.Is(err, context.Canceled) {
		t.Fatalf("RenewLease with a cancelled context returned %v, want context.Canceled", err)
	}
	if _, err := l.TakeLapsedLeases(ctx, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("TakeLapsedLeases with a cancelled context returned %v, want context.Canceled", err)
	}
	release(t, l, k, "A")
}
