package llmtest

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
)

// deadlineAfter is how far in the future the deadline check sets its
// deadline: long enough for a local fixture to deliver the first delta.
const deadlineAfter = 300 * time.Millisecond

// testCancelDuringStall cancels the context while another goroutine waits
// in Recv on a stalled stream, as a server does when a user presses stop.
func testCancelDuringStall(t *testing.T, newProvider Factory) {
	p := newProvider(t, Stall)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := mustStream(t, p, ctx, cancel)
	firstDelta(t, s, cancel)

	done := make(chan received, 1)
	go func() {
		ev, err := s.Recv()
		done <- received{ev, err}
	}()
	cancel()
	cancelled := time.Now()
	r, ok := await(done, promptly)
	if !ok {
		s.Close() // last resort to free the reader
		if _, ok := await(done, grace); !ok {
			t.Errorf("Recv still blocked %v after Close; its goroutine is leaked", grace)
		}
		t.Fatalf("Recv did not return within %v of cancelling its context", promptly)
	}
	elapsed := time.Since(cancelled)
	if r.err == nil {
		t.Fatalf("Recv after cancel returned %s, want an error (a stalled stream produces nothing more)", describe(r.ev))
	}
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Recv after cancel: %v, want an error wrapping context.Canceled", r.err)
	}
	t.Logf("Recv returned %v after cancel", elapsed)
}

func testDeadline(t *testing.T, newProvider Factory) {
	p := newProvider(t, Stall)
	deadline := time.Now().Add(deadlineAfter)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	checkEnd := func(err error) {
		t.Helper()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want an error wrapping context.DeadlineExceeded", err)
		}
		if late := time.Since(deadline); late > promptly {
			t.Fatalf("the error came %v after the deadline, want at most %v", late, promptly)
		}
	}
	r, err := startStream(p, ctx, cancel, deadlineAfter+promptly)
	if err != nil {
		t.Fatal(err)
	}
	if r.err != nil { // a slow fixture may hit the deadline already
		checkEnd(r.err)
		return
	}
	defer r.s.Close()
	for range maxEvents {
		got, err := recv(r.s, time.Until(deadline)+promptly, func() { r.s.Close() })
		if err != nil {
			t.Fatal(err)
		}
		if got.err != nil {
			checkEnd(got.err)
			return
		}
		if got.ev.Kind == llm.EventFinish {
			t.Fatalf("a stalled stream sent %s", describe(got.ev))
		}
	}
	t.Fatalf("more than %d events from a stalled stream", maxEvents)
}

func testAlreadyCancelled(t *testing.T, newProvider Factory) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	failsPromptly(t, newProvider(t, Reply), ctx, context.Canceled)
}

func testExpiredDeadline(t *testing.T, newProvider Factory) {
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	failsPromptly(t, newProvider(t, Reply), ctx, context.DeadlineExceeded)
}

// failsPromptly checks that a stream asked for with a done ctx fails with
// target, from Stream or from the first Recv, within promptly and without
// any event.
func failsPromptly(t *testing.T, p llm.Provider, ctx context.Context, target error) {
	t.Helper()
	begin := time.Now()
	r, err := startStream(p, ctx, nil, promptly)
	if err != nil {
		t.Fatal(err)
	}
	end := r.err
	if end == nil {
		defer r.s.Close()
		got, err := recv(r.s, max(promptly-time.Since(begin), 0), func() { r.s.Close() })
		if err != nil {
			t.Fatal(err)
		}
		if got.err == nil {
			t.Fatalf("first Recv returned %s, want an error: the context was done before Stream", describe(got.ev))
		}
		end = got.err
	}
	if !errors.Is(end, target) {
		t.Fatalf("got %v, want an error wrapping %v", end, target)
	}
}

func testCloseStalled(t *testing.T, newProvider Factory) {
	p := newProvider(t, Stall)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	s := mustStream(t, p, ctx, cancel)
	firstDelta(t, s, cancel)
	if err := closeWithin(t, s); err != nil {
		t.Logf("Close of an unfinished stream: %v", err)
	}
	recvAfterClose(t, s, cancel)
	closeWithin(t, s) // twice is fine
}

func testCloseBeforeRecv(t *testing.T, newProvider Factory) {
	p := newProvider(t, Reply)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	s := mustStream(t, p, ctx, cancel)
	if err := closeWithin(t, s); err != nil {
		t.Logf("Close of an unread stream: %v", err)
	}
	recvAfterClose(t, s, cancel)
}

// recvAfterClose checks that Recv on a stream closed before its end
// returns an error promptly: not an event, and not io.EOF, which would
// pass an abandoned reply off as complete.
func recvAfterClose(t *testing.T, s llm.Stream, abort func()) {
	t.Helper()
	r, err := recv(s, promptly, abort)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case r.err == nil:
		t.Fatalf("Recv after Close returned %s, want an error", describe(r.ev))
	case r.err == io.EOF:
		t.Fatal("Recv after Close of an unfinished stream returned io.EOF, want an error that does not claim completion")
	}
}
