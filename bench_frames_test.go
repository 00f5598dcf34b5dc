package chatbox_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
)

// The benchmarks below count the allocations (and time) one inbound frame
// costs through a live socket, client included: the frame is written by
// the real client, read, decoded and dispatched by the server, and its
// answer and events read back. They use the public API only.

func benchHarness(b *testing.B, reply scripted.Reply) (*chatboxtest.Harness, context.Context) {
	unlimited := ratelimit.Limit{Rate: 1e9, Burst: 1e9}
	h := chatboxtest.New(b, chatboxtest.Config{
		Provider: scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return reply })),
		Options: []chatbox.Option{
			chatbox.WithMessageRate(unlimited), chatbox.WithConversationRate(unlimited),
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	b.Cleanup(cancel)
	return h, ctx
}

func benchOpen(b *testing.B, ctx context.Context, c *client.Client) string {
	opened, err := c.OpenNew(ctx, client.OpenOptions{Title: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return opened.ConversationID
}

// nextOf reads c's frames until one of type typ.
func nextOf(b *testing.B, ctx context.Context, c *client.Client, typ string) {
	for {
		f, err := c.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if f.Type == typ {
			return
		}
	}
}

// BenchmarkInboundSendFrame: one user send in a conversation an operator
// holds (so no reply runs): stored, acknowledged, its message event read.
func BenchmarkInboundSendFrame(b *testing.B) {
	h, ctx := benchHarness(b, scripted.Reply{})
	alice := h.Dial(b, "alice")
	conv := benchOpen(b, ctx, alice)
	op := h.Dial(b, "olivia")
	if _, err := op.Watch(ctx, conv); err != nil {
		b.Fatal(err)
	}
	if err := op.Takeover(ctx, conv); err != nil {
		b.Fatal(err)
	}
	if err := op.Leave(ctx, conv); err != nil {
		b.Fatal(err)
	}
	nextOf(b, ctx, alice, protocol.TypeModeChanged)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := alice.Send(ctx, conv, "m"+strconv.Itoa(i), "hello there"); err != nil {
			b.Fatal(err)
		}
		nextOf(b, ctx, alice, protocol.TypeMessage)
	}
}

// BenchmarkInboundSendFrameWithReply: one user send answered by an empty
// reply: message, reply.start and reply.end.
func BenchmarkInboundSendFrameWithReply(b *testing.B) {
	h, ctx := benchHarness(b, scripted.Reply{})
	alice := h.Dial(b, "alice")
	conv := benchOpen(b, ctx, alice)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := alice.Send(ctx, conv, "m"+strconv.Itoa(i), "hello there"); err != nil {
			b.Fatal(err)
		}
		nextOf(b, ctx, alice, protocol.TypeReplyEnd)
	}
}

// BenchmarkInboundTypingFrame: one typing frame (the state alternates, so
// none is dropped as a repeat), answered ok and passed to the
// conversation's feed.
func BenchmarkInboundTypingFrame(b *testing.B) {
	h, ctx := benchHarness(b, scripted.Reply{})
	alice := h.Dial(b, "alice")
	conv := benchOpen(b, ctx, alice)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := alice.Typing(ctx, conv, i%2 == 0); err != nil {
			b.Fatal(err)
		}
	}
}
