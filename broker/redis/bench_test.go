package redis_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/broker/brokertest"
	redisbroker "github.com/chatboxsdk/chatbox/broker/redis"
	"github.com/chatboxsdk/chatbox/broker/redis/redistest"
)

// BenchmarkPublish measures one Publish (one script round trip) with n
// subscribers on the same instance, once the window is full. Delivery is
// asynchronous; the benchmark waits for the last event at the end.
func BenchmarkPublish(b *testing.B) {
	addr := redistest.Addr(b)
	frame := make([]byte, 64)
	encode := func(int64) ([]byte, error) { return frame, nil }
	for _, n := range []int{1, 10, 100} {
		b.Run(strconv.Itoa(n)+"subscribers", func(b *testing.B) {
			br := newBroker(b, addr, redisbroker.Config{})
			ctx := context.Background()
			last := mustLastSeq(b, br, "c")
			var received atomic.Int64
			wake := make(chan struct{}, 1)
			for range n {
				sub, err := br.Subscribe(ctx, "c", last, func(broker.Event) {
					received.Add(1)
					select {
					case wake <- struct{}{}:
					default:
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				defer sub.Close()
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := br.Publish(ctx, "c", encode); err != nil {
					b.Fatal(err)
				}
			}
			for received.Load() < int64(b.N*n) {
				<-wake
			}
		})
	}
}

// BenchmarkPublishParallel measures publishers on distinct conversations.
func BenchmarkPublishParallel(b *testing.B) {
	br := newBroker(b, redistest.Addr(b), redisbroker.Config{})
	frame := make([]byte, 64)
	encode := func(int64) ([]byte, error) { return frame, nil }
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprint("conversation-", next.Add(1))
		for pb.Next() {
			if _, err := br.Publish(context.Background(), id, encode); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkFanOutOtherInstance measures one event from Publish on one
// instance to its delivery to n subscribers on another, one event at a
// time: the latency of the shared path.
func BenchmarkFanOutOtherInstance(b *testing.B) {
	addr := redistest.Addr(b)
	frame := make([]byte, 64)
	encode := func(int64) ([]byte, error) { return frame, nil }
	for _, n := range []int{1, 100} {
		b.Run(strconv.Itoa(n)+"subscribers", func(b *testing.B) {
			prefix := "bench-" + rand.Text()[:8] + ":"
			pub := newBroker(b, addr, redisbroker.Config{KeyPrefix: prefix})
			recv := newBroker(b, addr, redisbroker.Config{KeyPrefix: prefix})
			ctx := context.Background()
			last := mustLastSeq(b, pub, "c")
			arrived := make(chan struct{}, 1)
			var count atomic.Int64
			for range n {
				sub, err := recv.Subscribe(ctx, "c", last, func(broker.Event) {
					if count.Add(1)%int64(n) == 0 {
						arrived <- struct{}{}
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				defer sub.Close()
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pub.Publish(ctx, "c", encode); err != nil {
					b.Fatal(err)
				}
				<-arrived
			}
		})
	}
}

// BenchmarkLeases measures AcquireLease, RenewLease and ReleaseLease: three
// script round trips.
func BenchmarkLeases(b *testing.B) {
	brokertest.BenchmarkLeases(b, newBroker(b, redistest.Addr(b), redisbroker.Config{}))
}
