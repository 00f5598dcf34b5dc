package memory_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/broker/memory"
)

// BenchmarkHeapAfterShortConversations reports the heap the broker retains
// after 100,000 short conversations with the default Config: each one is
// subscribed to, gets a reply of 20 events of 64 bytes, and is left; one
// conversation starts every 10 ms (100 per second) on a fake clock. The
// figure is the heap in use after the last one, minus the heap before the
// first, after a GC.
func BenchmarkHeapAfterShortConversations(b *testing.B) {
	const conversations, events = 100_000, 20
	frame := make([]byte, 64)
	encode := func(int64) ([]byte, error) { return append([]byte(nil), frame...), nil }
	ids := make([]string, conversations)
	for i := range ids {
		ids[i] = "conversation-" + strconv.Itoa(i)
	}
	for b.Loop() {
		clock := newFakeClock()
		before := heapInUse()
		br, err := memory.New(memory.Config{Now: clock.Now})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		for _, id := range ids {
			last, err := br.LastSeq(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			sub, err := br.Subscribe(ctx, id, last, func(broker.Event) {})
			if err != nil {
				b.Fatal(err)
			}
			for range events {
				if _, err := br.Publish(ctx, id, encode); err != nil {
					b.Fatal(err)
				}
			}
			_ = sub.Close()
			clock.Advance(10 * time.Millisecond)
		}
		after := heapInUse()
		b.ReportMetric(float64(after-before)/(1<<20), "MiB-retained")
		b.ReportMetric(float64(br.Len()), "conversations-remembered")
		runtime.KeepAlive(br)
		_ = br.Close()
	}
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
