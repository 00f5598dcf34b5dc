package brokertest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
)

// BenchmarkLeases measures the life of one lease as a reply uses it:
// AcquireLease, RenewLease and ReleaseLease, on a key of its own each time.
// A broker's benchmark calls it with a broker that implements broker.Leases.
func BenchmarkLeases(b *testing.B, l broker.Leases) {
	ctx := context.Background()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "brokertest-bench-lease/" + strconv.Itoa(i)
	}
	const holder = "reply-0123456789abcdef:42"
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		i++
		if ok, err := l.AcquireLease(ctx, k, holder, time.Minute); err != nil || !ok {
			b.Fatalf("AcquireLease(%q) = %v, %v", k, ok, err)
		}
		if ok, err := l.RenewLease(ctx, k, holder, time.Minute); err != nil || !ok {
			b.Fatalf("RenewLease(%q) = %v, %v", k, ok, err)
		}
		if err := l.ReleaseLease(ctx, k, holder); err != nil {
			b.Fatalf("ReleaseLease(%q): %v", k, err)
		}
	}
}
