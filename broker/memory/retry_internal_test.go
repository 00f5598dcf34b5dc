package memory

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
)

// These tests forget or close a conversation between its lookup and the
// taking of its lock, and check that the call starts over instead of using
// the stale state.

func newStoppedClockBroker(t *testing.T) *Broker {
	t.Helper()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	b, err := New(Config{MaxConversations: 1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// forgetOnce makes the next lookup of b be followed by the forgetting of
// the conversation looked up: another conversation is used, and the cap
// of 1 forgets the first.
func forgetOnce(t *testing.T, b *Broker) {
	b.afterAcquire = func() {
		b.afterAcquire = nil
		if _, err := b.LastSeq(context.Background(), "intruder"); err != nil {
			t.Error(err)
		}
	}
}

func TestPublishToForgottenConversationStartsOver(t *testing.T) {
	b := newStoppedClockBroker(t)
	ctx := context.Background()
	old, _ := b.Publish(ctx, "a", func(int64) ([]byte, error) { return []byte("old"), nil })
	forgetOnce(t, b)
	seq, err := b.Publish(ctx, "a", func(int64) ([]byte, error) { return []byte("new"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if seq <= old+1 {
		t.Fatalf("Publish got %d, want a number of a new numbering, above %d", seq, old+1)
	}
	// The event belongs to the remembered conversation: it is replayable.
	var got []string
	sub, err := b.Subscribe(ctx, "a", seq-1, func(ev broker.Event) { got = append(got, string(ev.Data)) })
	if err != nil {
		t.Fatalf("Subscribe(after %d): %v", seq-1, err)
	}
	_ = sub.Close()
	if len(got) != 1 || got[0] != "new" {
		t.Fatalf("replayed %q, want [new]", got)
	}
}

func TestLastSeqOfForgottenConversationStartsOver(t *testing.T) {
	b := newStoppedClockBroker(t)
	ctx := context.Background()
	var old int64
	for range 5 {
		old, _ = b.Publish(ctx, "a", func(int64) ([]byte, error) { return nil, nil })
	}
	forgetOnce(t, b)
	last, err := b.LastSeq(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if seq, _ := b.Publish(ctx, "a", func(int64) ([]byte, error) { return nil, nil }); seq != last+1 || last <= old {
		t.Fatalf("LastSeq = %d then Publish = %d after %d was forgotten; want a new base above %d, then base+1", last, seq, old, old)
	}
}

func TestSubscribeRacingCloseReturnsErrClosed(t *testing.T) {
	b := newStoppedClockBroker(t)
	ctx := context.Background()
	last, _ := b.LastSeq(ctx, "a")
	b.afterAcquire = func() { _ = b.Close() }
	called := false
	_, err := b.Subscribe(ctx, "a", last, func(broker.Event) { called = true })
	if !errors.Is(err, broker.ErrClosed) {
		t.Fatalf("Subscribe racing Close = %v, want ErrClosed", err)
	}
	if called {
		t.Fatal("deliver called")
	}
}
