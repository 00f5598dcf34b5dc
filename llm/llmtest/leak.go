package llmtest

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/llm"
)

// leakBatch is how many abandoned streams the leak check runs.
const leakBatch = 50

// testNoLeak abandons a batch of stalled streams in the three ways a
// server does (cancel then read the error and close; cancel only; close
// only) and checks that no goroutine started since is left.
//
// Streams are abandoned mid-reply, so an HTTP provider's connections are
// closed rather than kept idle for reuse, and a leak shows up as the
// client's connection goroutines and the fixture's handler goroutines.
//
// goleak.Find retries with a bounded backoff (about two seconds in all)
// while goroutines that were told to stop wind down: the one polling wait
// of the suite, needed because a goroutine's exit cannot be awaited from
// outside it.
func testNoLeak(t *testing.T, newProvider Factory) {
	p := newProvider(t, Stall)

	// One stream first, so that anything a provider starts once, lazily,
	// and keeps (a shared transport, a cache) is not counted.
	warm, stopWarm := context.WithCancel(t.Context())
	abandonByCancel(t, p, warm, stopWarm, true)

	snapshot := goleak.IgnoreCurrent()
	live, stopLive := context.WithCancel(t.Context()) // kept alive for close-only streams
	defer stopLive()
	var unclosed []llm.Stream
	defer func() {
		for _, s := range unclosed {
			s.Close()
		}
	}()
	for i := range leakBatch {
		switch i % 3 {
		case 0:
			ctx, cancel := context.WithCancel(t.Context())
			abandonByCancel(t, p, ctx, cancel, true)
		case 1:
			ctx, cancel := context.WithCancel(t.Context())
			unclosed = append(unclosed, abandonByCancel(t, p, ctx, cancel, false))
		case 2:
			s := startFirstDelta(t, p, live, stopLive)
			if err := closeWithin(t, s); err != nil {
				t.Logf("Close of an unfinished stream: %v", err)
			}
		}
	}
	if err := goleak.Find(snapshot); err != nil {
		t.Errorf("goroutines left after %d abandoned streams (cancelled and closed, cancelled only, closed only): %v", leakBatch, err)
	}
}

// startFirstDelta starts a stream and reads its first delta.
func startFirstDelta(t *testing.T, p llm.Provider, ctx context.Context, cancel context.CancelFunc) llm.Stream {
	t.Helper()
	r, err := startStream(p, ctx, cancel, patience)
	switch {
	case err != nil:
		t.Fatal(err)
	case r.err != nil:
		t.Fatalf("Stream: %v", r.err)
	case r.s == nil:
		t.Fatal("Stream returned a nil stream and a nil error")
	}
	firstDelta(t, r.s, cancel)
	return r.s
}

// abandonByCancel starts a stream, reads its first delta and cancels its
// context; with read set it then reads the cancellation error and closes
// the stream. It returns the stream.
func abandonByCancel(t *testing.T, p llm.Provider, ctx context.Context, cancel context.CancelFunc, read bool) llm.Stream {
	t.Helper()
	s := startFirstDelta(t, p, ctx, cancel)
	cancel()
	if !read {
		return s
	}
	r, err := recv(s, promptly, func() { s.Close() })
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Recv after cancel: (%s, %v), want an error wrapping context.Canceled", describe(r.ev), r.err)
	}
	if err := closeWithin(t, s); err != nil {
		t.Logf("Close after cancel: %v", err)
	}
	return s
}
