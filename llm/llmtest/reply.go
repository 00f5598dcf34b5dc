package llmtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
)

// concurrentStreams is how many Reply streams the concurrency check runs
// at once on one provider.
const concurrentStreams = 8

// replyStream starts a Reply stream and reads it to its end.
func replyStream(t *testing.T, newProvider Factory) (llm.Stream, transcript) {
	t.Helper()
	p := newProvider(t, Reply)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	t.Cleanup(cancel)
	s := mustStream(t, p, ctx, cancel)
	tr, err := readAll(s, cancel)
	if err != nil {
		t.Fatal(err)
	}
	return s, tr
}

func testReplyComplete(t *testing.T, newProvider Factory) {
	_, tr := replyStream(t, newProvider)
	if err := checkReply(tr); err != nil {
		t.Fatal(err)
	}
}

// checkReply checks a Reply transcript: at least three non-empty deltas
// spelling ReplyText, usage events only with sane counts, one finish with
// FinishStop as the last event, then io.EOF itself; timestamps, when set,
// never go back.
func checkReply(tr transcript) error {
	if tr.end != io.EOF {
		return fmt.Errorf("stream ended with %v after %d events, want io.EOF itself (not wrapped) after the finish event", tr.end, len(tr.events))
	}
	var (
		text   strings.Builder
		deltas int
		lastAt time.Time
	)
	for i, ev := range tr.events {
		if !ev.At.IsZero() {
			if ev.At.Before(lastAt) {
				return fmt.Errorf("event %d (%s) has At %v, before the previous event's %v", i, describe(ev), ev.At, lastAt)
			}
			lastAt = ev.At
		}
		switch ev.Kind {
		case llm.EventDelta:
			if ev.Text == "" {
				return fmt.Errorf("event %d is an empty delta; providers must not emit them", i)
			}
			deltas++
			text.WriteString(ev.Text)
		case llm.EventUsage:
			if ev.Usage.InputTokens < 0 || ev.Usage.OutputTokens < 0 {
				return fmt.Errorf("event %d: negative %s", i, describe(ev))
			}
		case llm.EventFinish:
			if i != len(tr.events)-1 {
				return fmt.Errorf("event %d is %s but %s follows it; finish must be last", i, describe(ev), describe(tr.events[i+1]))
			}
			if ev.FinishReason != llm.FinishStop {
				return fmt.Errorf("finish reason %q, want %q", ev.FinishReason, llm.FinishStop)
			}
		default:
			return fmt.Errorf("event %d: %s", i, describe(ev))
		}
	}
	if n := len(tr.events); n == 0 || tr.events[n-1].Kind != llm.EventFinish {
		return errors.New("io.EOF came without a finish event before it")
	}
	if got := text.String(); got != ReplyText {
		return fmt.Errorf("deltas spell %q, want ReplyText %q", got, ReplyText)
	}
	if deltas < 3 {
		return fmt.Errorf("ReplyText came in %d deltas, want at least 3 (the fixture must split it)", deltas)
	}
	return nil
}

func testEOFRepeats(t *testing.T, newProvider Factory) {
	s, tr := replyStream(t, newProvider)
	if tr.end != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", tr.end)
	}
	for i := range 3 {
		r, err := recv(s, promptly, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.err != io.EOF {
			t.Fatalf("Recv %d after io.EOF: got (%s, %v), want io.EOF again", i+1, describe(r.ev), r.err)
		}
	}
}

func testCloseAfterEOF(t *testing.T, newProvider Factory) {
	s, tr := replyStream(t, newProvider)
	if tr.end != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", tr.end)
	}
	for i := range 2 {
		if err := closeWithin(t, s); err != nil {
			t.Errorf("Close %d after io.EOF: %v, want nil", i+1, err)
		}
	}
	r, err := recv(s, promptly, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.err == nil {
		t.Fatalf("Recv after io.EOF and Close returned %s, want an error", describe(r.ev))
	}
}

func testConcurrent(t *testing.T, newProvider Factory) {
	p := newProvider(t, Reply)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	errs := make(chan error, concurrentStreams)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range concurrentStreams {
		wg.Go(func() {
			<-gate
			if err := replyOnce(ctx, cancel, p); err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
			}
		})
	}
	close(gate) // start them together
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// replyOnce streams one Reply, checks it, and closes the stream.
func replyOnce(ctx context.Context, cancel context.CancelFunc, p llm.Provider) error {
	r, err := startStream(p, ctx, cancel, patience)
	if err != nil {
		return err
	}
	if r.err != nil {
		return fmt.Errorf("Stream: %w", r.err)
	}
	defer r.s.Close()
	tr, err := readAll(r.s, cancel)
	if err != nil {
		return err
	}
	return checkReply(tr)
}
