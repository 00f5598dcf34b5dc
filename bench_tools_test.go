package chatbox_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/llm/tools"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
)

// What one tool step adds to a reply: the same short answer, given at once
// (BenchmarkReplyWithoutTools) or after one call of a trivial tool
// (BenchmarkReplyWithOneToolStep), through a live socket.

func benchToolReply(b *testing.B, withTool bool) {
	echo, err := tools.New("echo", "Echoes.", func(ctx context.Context, in struct {
		Text string `json:"text"`
	}) (string, error) {
		return in.Text, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	model := &stepModel{respond: func(step int, req llm.Request) []llm.Event {
		if withTool && len(lastToolResults(req)) == 0 {
			return callTool("c"+strconv.Itoa(step), "echo", `{"text":"hi"}`)
		}
		return answer("ok")
	}}
	unlimited := ratelimit.Limit{Rate: 1e9, Burst: 1e9}
	h := chatboxtest.New(b, chatboxtest.Config{Provider: model, Options: []chatbox.Option{
		chatbox.WithTools(echo), chatbox.WithMessageRate(unlimited), chatbox.WithConversationRate(unlimited),
		chatbox.WithMaxHistoryMessages(10),
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
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

func BenchmarkReplyWithoutTools(b *testing.B)    { benchToolReply(b, false) }
func BenchmarkReplyWithOneToolStep(b *testing.B) { benchToolReply(b, true) }

// BenchmarkReplyOf100DeltasNoToolsConfigured: the plain path, a Server
// without tools streaming a reply of 100 deltas (what every reply paid
// before tools existed, and must still pay).
func BenchmarkReplyOf100DeltasNoToolsConfigured(b *testing.B) {
	words := make([]string, 100)
	for i := range words {
		words[i] = "word "
	}
	h, ctx := benchHarness(b, scripted.Reply{Deltas: words})
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
