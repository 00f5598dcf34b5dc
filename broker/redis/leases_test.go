package redis_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/chatboxsdk/chatbox/broker"
	redisbroker "github.com/chatboxsdk/chatbox/broker/redis"
	"github.com/chatboxsdk/chatbox/broker/redis/redistest"
)

// TestLeasesLeaveNothingInRedis: released and taken leases are removed, and
// lease keys, whatever they contain, never become Redis keys of their own.
func TestLeasesLeaveNothingInRedis(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv.Addr, redisbroker.Config{})
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	dbSize := func() int64 {
		t.Helper()
		n, err := client.Do(t.Context(), client.B().Dbsize().Build()).AsInt64()
		if err != nil {
			t.Fatalf("DBSIZE: %v", err)
		}
		return n
	}

	const n = 100
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("{conversation}*?[%d] \n\x00é", i)
		ttl := time.Minute
		if i%2 == 1 {
			ttl = time.Millisecond
		}
		if ok, err := b.AcquireLease(t.Context(), keys[i], "holder", ttl); err != nil || !ok {
			t.Fatalf("AcquireLease(%q) = %v, %v", keys[i], ok, err)
		}
	}
	if got := dbSize(); got != 2 {
		t.Fatalf("%d leases are held in %d Redis keys, want 2 (expiries and holders)", n, got)
	}
	for i := 0; i < n; i += 2 {
		if err := b.ReleaseLease(t.Context(), keys[i], "holder"); err != nil {
			t.Fatal(err)
		}
	}
	taken := 0
	deadline := time.Now().Add(10 * time.Second)
	for taken < n/2 {
		got, err := b.TakeLapsedLeases(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range got {
			if l.Key != keys[taken*2+1] || l.Holder != "holder" {
				t.Fatalf("lease %d taken is %+v, want key %q", taken, l, keys[taken*2+1])
			}
			taken++
		}
		if time.Now().After(deadline) {
			t.Fatalf("took %d of %d lapsed leases in 10s", taken, n/2)
		}
	}
	if got := dbSize(); got != 0 {
		t.Fatalf("%d Redis keys remain after every lease was released or taken", got)
	}
}

// TestLeasesAfterClose: every lease call returns broker.ErrClosed.
func TestLeasesAfterClose(t *testing.T) {
	b := newBroker(t, redistest.Addr(t), redisbroker.Config{})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AcquireLease(t.Context(), "k", "h", time.Minute); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("AcquireLease = %v", err)
	}
	if _, err := b.RenewLease(t.Context(), "k", "h", time.Minute); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("RenewLease = %v", err)
	}
	if err := b.ReleaseLease(t.Context(), "k", "h"); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("ReleaseLease = %v", err)
	}
	if _, err := b.TakeLapsedLeases(t.Context(), 1); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("TakeLapsedLeases = %v", err)
	}
}
