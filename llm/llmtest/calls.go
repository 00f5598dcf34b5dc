package llmtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
)

const (
	// promptly bounds cancellation, deadlines and Close.
	promptly = time.Second
	// patience bounds everything else, so that a hung provider fails the
	// suite instead of hanging it.
	patience = 10 * time.Second
	// grace is how long a call that overran its limit gets to return after
	// it was aborted before its goroutine is reported as leaked.
	grace = 2 * time.Second
	// maxEvents bounds how many events a check reads from one stream.
	maxEvents = 10_000
)

// request is the request every check sends.
func request() llm.Request {
	return llm.Request{
		System:         "You are the llmtest conformance fixture.",
		Messages:       []llm.Message{{Role: llm.RoleUser, Text: "Please reply with the conformance text."}},
		User:           "llmtest-user",
		ConversationID: "llmtest-conversation",
	}
}

// timed runs f in a goroutine and waits up to limit for it. If f overruns,
// timed calls abort (when non-nil), which should make f return, waits up
// to grace more, and returns an error saying so (and whether f's goroutine
// is leaked). A nil error means f returned within limit.
func timed[T any](limit time.Duration, abort func(), f func() T) (T, error) {
	done := make(chan T, 1)
	go func() { done <- f() }()
	if v, ok := await(done, limit); ok {
		return v, nil
	}
	if abort != nil {
		abort()
	}
	v, ok := await(done, grace)
	if !ok {
		return v, fmt.Errorf("no return within %v, nor %v after being aborted (its goroutine is leaked)", limit, grace)
	}
	return v, fmt.Errorf("no return within %v", limit)
}

// await waits up to limit for a value from ch.
func await[T any](ch <-chan T, limit time.Duration) (T, bool) {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case v := <-ch:
		return v, true
	case <-t.C:
		var zero T
		return zero, false
	}
}

// started is what Stream returned.
type started struct {
	s   llm.Stream
	err error
}

// startStream calls p.Stream within limit, aborting with cancel. Its error
// reports only an overrun; Stream's own result is in started.
func startStream(p llm.Provider, ctx context.Context, cancel context.CancelFunc, limit time.Duration) (started, error) {
	r, err := timed(limit, cancel, func() started {
		s, err := p.Stream(ctx, request())
		return started{s, err}
	})
	if err != nil {
		if r.s != nil {
			r.s.Close()
		}
		return started{}, fmt.Errorf("Stream: %w", err)
	}
	return r, nil
}

// mustStream starts a stream, failing the test if Stream fails, and closes
// it when the test ends.
func mustStream(t *testing.T, p llm.Provider, ctx context.Context, cancel context.CancelFunc) llm.Stream {
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
	t.Cleanup(func() { r.s.Close() })
	return r.s
}

// received is what Recv returned.
type received struct {
	ev  llm.Event
	err error
}

// recv calls s.Recv within limit, aborting with abort. Its error reports
// only an overrun; Recv's own result is in received.
func recv(s llm.Stream, limit time.Duration, abort func()) (received, error) {
	r, err := timed(limit, abort, func() received {
		ev, err := s.Recv()
		return received{ev, err}
	})
	if err != nil {
		return received{}, fmt.Errorf("Recv: %w", err)
	}
	return r, nil
}

// transcript is a whole stream: its events and the error that ended it.
type transcript struct {
	events []llm.Event
	end    error
}

// readAll reads s until Recv returns an error. Its error reports only an
// overrun or an endless stream.
func readAll(s llm.Stream, abort func()) (transcript, error) {
	var tr transcript
	for range maxEvents {
		r, err := recv(s, patience, abort)
		if err != nil {
			return tr, err
		}
		if r.err != nil {
			tr.end = r.err
			return tr, nil
		}
		tr.events = append(tr.events, r.ev)
	}
	return tr, fmt.Errorf("more than %d events without an end", maxEvents)
}

// firstDelta reads s up to its first delta, accepting usage events before
// it, and fails the test on anything else.
func firstDelta(t *testing.T, s llm.Stream, abort func()) {
	t.Helper()
	for range maxEvents {
		r, err := recv(s, patience, abort)
		switch {
		case err != nil:
			t.Fatal(err)
		case r.err != nil:
			t.Fatalf("Recv before the first delta: %v", r.err)
		case r.ev.Kind == llm.EventDelta:
			return
		case r.ev.Kind != llm.EventUsage:
			t.Fatalf("got %s before the first delta", describe(r.ev))
		}
	}
	t.Fatalf("no delta in %d events", maxEvents)
}

// closeWithin calls s.Close within promptly and returns its result.
func closeWithin(t *testing.T, s llm.Stream) error {
	t.Helper()
	err, slow := timed(promptly, nil, s.Close)
	if slow != nil {
		t.Fatalf("Close: %v", slow)
	}
	return err
}

// describe names an event for failure messages.
func describe(ev llm.Event) string {
	switch ev.Kind {
	case llm.EventDelta:
		return fmt.Sprintf("delta %q", ev.Text)
	case llm.EventUsage:
		return fmt.Sprintf("usage %+v", ev.Usage)
	case llm.EventFinish:
		return fmt.Sprintf("finish %q", ev.FinishReason)
	case llm.EventReasoning:
		return fmt.Sprintf("reasoning %q (signature %q)", ev.Text, ev.Signature)
	case llm.EventToolCallStart:
		return fmt.Sprintf("tool call start %q %q", ev.Call.ID, ev.Call.Name)
	case llm.EventToolCallDelta:
		return fmt.Sprintf("tool call delta %q of %q", ev.Text, ev.Call.ID)
	case llm.EventToolCall:
		return fmt.Sprintf("tool call %q %q %q", ev.Call.ID, ev.Call.Name, ev.Call.Arguments)
	}
	return fmt.Sprintf("event of unknown kind %d", ev.Kind)
}
