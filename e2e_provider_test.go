package chatbox_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/llm/openai"
	"github.com/chatboxsdk/chatbox/protocol"
)

// slowOpenAI streams Chat Completions chunks every 20 ms, for a long time,
// and reports when the client goes away.
func slowOpenAI(t *testing.T) (*httptest.Server, <-chan time.Time) {
	gone := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 1000; i++ {
			select {
			case <-r.Context().Done():
				gone <- time.Now()
				return
			case <-tick.C:
			}
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \"},\"finish_reason\":null}]}\n\n", i)
			fl.Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv, gone
}

// TestStopClosesTheUpstreamRequestQuickly sends a stop frame through the
// Server while a real provider streams from an HTTP server: the upstream
// request is closed within 100 ms of the stop frame.
func TestStopClosesTheUpstreamRequestQuickly(t *testing.T) {
	upstream, gone := slowOpenAI(t)
	p, err := openai.New(openai.WithBaseURL(upstream.URL+"/v1"), openai.WithAPIKey("sk-test-key-not-real"), openai.WithModel("m"))
	if err != nil {
		t.Fatal(err)
	}
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "talk"); err != nil {
		t.Fatal(err)
	}
	for deltas := 0; deltas < 3; {
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Type == protocol.TypeReplyDelta {
			deltas++
		}
	}
	stopAt := time.Now()
	if err := c.SendFrame(ctx, protocol.ClientFrame{Type: protocol.TypeStop, ConversationID: conv}); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-gone:
		d := at.Sub(stopAt)
		if d > 100*time.Millisecond {
			t.Fatalf("upstream request closed %v after the stop frame, want under 100ms", d)
		}
		t.Logf("upstream request closed %v after the stop frame", d)
	case <-ctx.Done():
		t.Fatal("the upstream request was never closed")
	}
	r, _, err := c.ReadReply(ctx, conv, nil)
	if err != nil || r.FinishReason != "abort" {
		t.Fatalf("reply %v, %v", r, err)
	}
}
