package engine

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/broker/memory"
	"github.com/chatboxsdk/chatbox/internal/conf"
	"github.com/chatboxsdk/chatbox/protocol"
)

// BenchmarkFanOutDelta measures one reply delta from the generation to N
// sockets' outbound queues: encoding once, publishing through the broker
// and queueing the shared bytes on every socket.
func BenchmarkFanOutDelta(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) {
			br, err := memory.New(memory.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			ctx := context.Background()
			last, _ := br.LastSeq(ctx, "c_bench")
			boxes := make([]*outbox, n)
			for i := range boxes {
				o := newOutbox(1<<30, 1<<30, nil)
				boxes[i] = o
				sub, err := br.Subscribe(ctx, "c_bench", last, func(ev broker.Event) { o.push(ev.Data) })
				if err != nil {
					b.Fatal(err)
				}
				defer sub.Close()
			}
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				_, err := br.Publish(ctx, "c_bench", func(seq int64) ([]byte, error) {
					return slices.Clone(protocol.AppendDelta(buf[:0], "c_bench", seq, "r_0123456789", "a token ")), nil
				})
				if err != nil {
					b.Fatal(err)
				}
				for _, o := range boxes { // the writers drain their queues
					o.take()
				}
			}
		})
	}
}

// BenchmarkCoalescedDeltas measures a reply's deltas going through the
// per-reply pump to one subscribed socket: text added faster than it is
// published goes out as fewer, larger deltas.
func BenchmarkCoalescedDeltas(b *testing.B) {
	br, err := memory.New(memory.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	ctx := context.Background()
	last, _ := br.LastSeq(ctx, "c_bench")
	o := newOutbox(1<<30, 1<<30, nil)
	var delivered atomic.Int64
	sub, err := br.Subscribe(ctx, "c_bench", last, func(ev broker.Event) { delivered.Add(1); o.push(ev.Data) })
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	e := &Engine{cfg: &conf.Config{Broker: br}, log: slog.New(slog.DiscardHandler)}
	st := newConversation(e, "c_bench")
	g := newGeneration(ctx, "c_bench", time.Hour)
	g.pubCtx = ctx
	defer g.cancel(nil)
	p := e.startPump(g, st)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.add("a token ")
		if i%64 == 0 {
			o.take() // the socket's writer drains now and then
		}
	}
	p.stop()
	b.ReportMetric(float64(b.N)/float64(max(1, delivered.Load())), "tokens/delta")
}
