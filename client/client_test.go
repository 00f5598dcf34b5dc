package client_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRequestsKeepEventsQueuedInOrder(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := h.Dial(t, "alice")
	opened, err := c.OpenNew(ctx, client.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conv := opened.ConversationID
	if _, err := c.Send(ctx, conv, client.NewMessageID(), "one two"); err != nil {
		t.Fatal(err)
	}
	// A request made while events stream in leaves them for Next.
	if _, err := c.List(ctx, "", 5); err != nil {
		t.Fatal(err)
	}
	var last int64
	for {
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Seq != 0 {
			if f.Seq <= last {
				t.Fatalf("events out of order: %d after %d", f.Seq, last)
			}
			last = f.Seq
		}
		if f.Type == protocol.TypeReplyEnd {
			break
		}
	}
	if c.LastSeq(conv) != last {
		t.Fatalf("LastSeq = %d, want %d", c.LastSeq(conv), last)
	}
}

func TestNextHonoursContextWithoutClosing(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	c := h.Dial(t, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Next(ctx); err == nil {
		t.Fatal("Next returned a frame on an idle socket")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if _, err := c.List(ctx2, "", 1); err != nil {
		t.Fatalf("socket unusable after a Next timeout: %v", err)
	}
}

func TestCloseIsIdempotentAndNextFailsAfter(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	c := h.Dial(t, "alice")
	_ = c.Close()
	_ = c.Close()
	if _, err := c.Next(context.Background()); err == nil {
		t.Fatal("Next after Close returned a frame")
	}
}
