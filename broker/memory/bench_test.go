package memory_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/broker/brokertest"
	"github.com/chatboxsdk/chatbox/broker/memory"
)

// BenchmarkPublish measures one Publish fanned out to n subscribers that
// count what they receive, once the replay window is full (steady state).
func BenchmarkPublish(b *testing.B) {
	frame := make([]byte, 64)
	encode := func(int64) ([]byte, error) { return frame, nil }
	for _, n := range []int{1, 10, 100} {
		b.Run(strconv.Itoa(n)+"subscribers", func(b *testing.B) {
			br := newBroker(b, memory.Config{})
			ctx := context.Background()
			last := mustLastSeq(b, br, "c")
			var received int64
			for range n {
				sub, err := br.Subscribe(ctx, "c", last, func(broker.Event) { received++ })
				if err != nil {
					b.Fatal(err)
				}
				defer sub.Close()
			}
			for range memory.DefaultMaxReplayEvents {
				mustPublish(b, br, "c", encode)
			}
			received = 0
			b.ReportAllocs()
			for b.Loop() {
				if _, err := br.Publish(ctx, "c", encode); err != nil {
					b.Fatal(err)
				}
			}
			if received != int64(b.N*n) {
				b.Fatalf("delivered %d, want %d", received, b.N*n)
			}
		})
	}
}

// BenchmarkPublishParallel measures publishers on distinct conversations,
// one subscriber each: the cost of the shared lookup.
func BenchmarkPublishParallel(b *testing.B) {
	frame := make([]byte, 64)
	encode := func(int64) ([]byte, error) { return frame, nil }
	br := newBroker(b, memory.Config{})
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprint("conversation-", next.Add(1))
		last, err := br.LastSeq(context.Background(), id)
		if err != nil {
			b.Error(err)
			return
		}
		sub, err := br.Subscribe(context.Background(), id, last, func(broker.Event) {})
		if err != nil {
			b.Error(err)
			return
		}
		defer sub.Close()
		for pb.Next() {
			if _, err := br.Publish(context.Background(), id, encode); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSubscribeReplay measures Subscribe replaying a full window of
// 2048 events, then Close.
func BenchmarkSubscribeReplay(b *testing.B) {
	frame := make([]byte, 64)
	br := newBroker(b, memory.Config{})
	ctx := context.Background()
	base := mustLastSeq(b, br, "c")
	for range memory.DefaultMaxReplayEvents {
		mustPublish(b, br, "c", func(int64) ([]byte, error) { return frame, nil })
	}
	var received int
	deliver := func(broker.Event) { received++ }
	b.ReportAllocs()
	for b.Loop() {
		sub, err := br.Subscribe(ctx, "c", base, deliver)
		if err != nil {
			b.Fatal(err)
		}
		_ = sub.Close()
	}
	if received != b.N*memory.DefaultMaxReplayEvents {
		b.Fatalf("replayed %d, want %d", received, b.N*memory.DefaultMaxReplayEvents)
	}
}

// BenchmarkLeases measures AcquireLease, RenewLease and ReleaseLease.
func BenchmarkLeases(b *testing.B) {
	brokertest.BenchmarkLeases(b, newBroker(b, memory.Config{}))
}
