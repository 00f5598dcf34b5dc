package chatbox_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
)

func TestShutdownDeadlineWinsOverAStalledReplyAndLeavesNoGoroutine(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: []string{"started "}, StallAfter: 1}))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "hang please"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitStarted(ctx, 1); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := h.Server.Shutdown(sctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Shutdown took %v past a 200ms deadline", took)
	}
	if err := p.WaitCancelled(ctx, 1); err != nil {
		t.Fatal("the stalled provider call was not cancelled")
	}
	// The partial reply is stored as interrupted.
	page, err := h.Store.ListMessages(ctx, storageQuery(conv))
	if err != nil {
		t.Fatal(err)
	}
	if m := page.Messages[len(page.Messages)-1]; m.FinishReason != "interrupted" || m.Text != "started " || m.Status != "complete" {
		t.Fatalf("stored reply = %+v", m)
	}
	// The client saw the end of the reply or the going-away close.
	for {
		f, err := c.Next(ctx)
		if err != nil {
			if code := client.CloseCode(err); code != protocol.CloseGoingAway {
				t.Fatalf("socket closed with %d (%v), want 1001", code, err)
			}
			break
		}
		if f.Type == protocol.TypeReplyEnd && f.FinishReason != "interrupted" {
			t.Fatalf("reply ended with %q", f.FinishReason)
		}
	}
	_ = c.Close()
	if err := h.Server.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown = %v", err)
	}
	h.HTTP.Close()
	// The store's connection pool is the host's (with CHATBOX_TEST_STORE=postgres), not the Server's.
	goleak.VerifyNone(t, ignore, goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"))
}

func TestShutdownLetsARunningReplyFinishAndStoresIt(t *testing.T) {
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words("a calm and complete answer"), Delay: 20 * time.Millisecond}))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "take your time"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitStarted(ctx, 1); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Server.Shutdown(ctx) }()

	r, _, err := c.ReadReply(ctx, conv, nil)
	if err != nil || r.Text != "a calm and complete answer" || r.FinishReason != "stop" {
		t.Fatalf("reply during shutdown: %v, %v", r, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if _, err := c.Next(ctx); client.CloseCode(err) != protocol.CloseGoingAway {
		t.Fatalf("after shutdown the socket got %v, want close 1001", err)
	}
	page, _ := h.Store.ListMessages(ctx, storageQuery(conv))
	if m := page.Messages[len(page.Messages)-1]; m.Text != "a calm and complete answer" || m.FinishReason != "stop" {
		t.Fatalf("stored reply = %+v", m)
	}
	// New sockets are refused once shutting down.
	_, err = client.Dial(ctx, h.URL, client.Options{Token: chatboxtest.Token("alice")})
	var he *client.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable {
		t.Fatalf("dial after shutdown: %v", err)
	}
	resp, err := http.Get(h.HTTP.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("health after shutdown: %d", resp.StatusCode)
	}
}
