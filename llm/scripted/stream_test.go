package scripted_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// start streams the single reply r.
func start(t *testing.T, ctx context.Context, r scripted.Reply) (*scripted.Provider, llm.Stream) {
	t.Helper()
	p := scripted.New(scripted.WithReplies(r))
	s, err := p.Stream(ctx, ask("hi"))
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return p, s
}

// recvAsync calls s.Recv in a goroutine; the result arrives on the channel.
func recvAsync(s llm.Stream) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := s.Recv()
		done <- err
	}()
	return done
}

func kinds(evs []llm.Event) []llm.EventKind {
	var out []llm.EventKind
	for _, ev := range evs {
		out = append(out, ev.Kind)
	}
	return out
}

func TestStreamSendsDeltasUsageFinishThenEOF(t *testing.T) {
	usage := llm.Usage{InputTokens: 3, OutputTokens: 2}
	_, s := start(t, t.Context(), scripted.Reply{Deltas: []string{"a", "b"}, Usage: usage, Finish: llm.FinishLength})
	evs, err := readAll(t, s)
	if err != io.EOF {
		t.Fatalf("ended with %v, want io.EOF", err)
	}
	want := []llm.EventKind{llm.EventDelta, llm.EventDelta, llm.EventUsage, llm.EventFinish}
	if got := kinds(evs); !slices.Equal(got, want) {
		t.Fatalf("event kinds %v, want %v", got, want)
	}
	if text(evs) != "ab" || evs[2].Usage != usage || evs[3].FinishReason != llm.FinishLength {
		t.Fatalf("events %+v", evs)
	}
	for i, ev := range evs {
		if ev.At.IsZero() {
			t.Errorf("event %d has no At", i)
		}
	}
	for range 2 {
		if _, err := s.Recv(); err != io.EOF {
			t.Fatalf("Recv after the end: %v, want io.EOF", err)
		}
	}
}

func TestZeroReplyFinishesWithStop(t *testing.T) {
	_, s := start(t, t.Context(), scripted.Reply{})
	evs, err := readAll(t, s)
	if err != io.EOF || len(evs) != 1 || evs[0].Kind != llm.EventFinish || evs[0].FinishReason != llm.FinishStop {
		t.Fatalf("got %+v, %v; want one finish with %q, then io.EOF", evs, err, llm.FinishStop)
	}
}

func TestErrEndsTheStreamAfterTheDeltas(t *testing.T) {
	fail := &llm.Error{Kind: llm.KindOverloaded, Provider: "scripted"}
	_, s := start(t, t.Context(), scripted.Reply{Deltas: []string{"a"}, Usage: llm.Usage{OutputTokens: 1}, Err: fail})
	evs, err := readAll(t, s)
	if err != fail {
		t.Fatalf("ended with %v, want the scripted error itself", err)
	}
	if got := kinds(evs); !slices.Equal(got, []llm.EventKind{llm.EventDelta}) {
		t.Fatalf("event kinds %v, want only the delta", got)
	}
	if _, err := s.Recv(); err != fail {
		t.Fatalf("Recv after the error: %v, want the same error", err)
	}
}

func TestStallEndsWithCancelAndCountsIt(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p, s := start(t, ctx, scripted.Reply{Deltas: []string{"a", "b", "c"}, StallAfter: 2})
	for range 2 {
		if ev, err := s.Recv(); err != nil || ev.Kind != llm.EventDelta {
			t.Fatalf("Recv = %+v, %v; want a delta", ev, err)
		}
	}
	done := recvAsync(s)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("stalled Recv after cancel: %v, want context.Canceled", err)
	}
	// The count lands before Recv reports the cancellation.
	if got := p.Cancelled(); got != 1 {
		t.Fatalf("Cancelled() = %d, want 1", got)
	}
	if err := p.WaitCancelled(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
}

func TestStallPastTheLastDeltaStallsAfterAll(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, s := start(t, ctx, scripted.Reply{Deltas: []string{"a"}, StallAfter: 5})
	if ev, err := s.Recv(); err != nil || ev.Text != "a" {
		t.Fatalf("Recv = %+v, %v; want the delta", ev, err)
	}
	done := recvAsync(s)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv: %v, want context.Canceled rather than a finish", err)
	}
}

func TestCancelWithoutRecvIsObserved(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p, _ := start(t, ctx, scripted.Reply{Deltas: []string{"a"}, StallAfter: 1})
	if err := p.WaitStarted(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.WaitCancelled(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
}

func TestCloseUnblocksAStalledRecv(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p, s := start(t, ctx, scripted.Reply{Deltas: []string{"a"}, StallAfter: 1})
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	done := recvAsync(s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; !errors.Is(err, scripted.ErrClosed) {
		t.Fatalf("Recv after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Recv(); !errors.Is(err, scripted.ErrClosed) {
		t.Fatalf("Recv after Close: %v, want ErrClosed", err)
	}
	cancel()
	if got := p.Cancelled(); got != 0 {
		t.Fatalf("Cancelled() = %d for a stream closed before its context, want 0", got)
	}
}

func TestCancelAfterFinishIsNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		p, s := start(t, ctx, scripted.Reply{Deltas: []string{"a"}})
		for {
			ev, err := s.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == llm.EventFinish {
				break // no need to read io.EOF: the reply is complete
			}
		}
		cancel()
		synctest.Wait() // any cancellation watch has run by now
		if got := p.Cancelled(); got != 0 {
			t.Fatalf("Cancelled() = %d for a finished stream, want 0", got)
		}
	})
}

func TestCancelErrorCarriesTheCause(t *testing.T) {
	stop := errors.New("user pressed stop")
	ctx, cancel := context.WithCancelCause(t.Context())
	_, s := start(t, ctx, scripted.Reply{Deltas: []string{"a"}, StallAfter: 1})
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel(stop)
	_, err := s.Recv()
	if !errors.Is(err, context.Canceled) || !errors.Is(err, stop) {
		t.Fatalf("Recv: %v, want both context.Canceled and the cause", err)
	}
}

func TestDeltasArriveAfterTheirDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 100 * time.Millisecond
		_, s := start(t, t.Context(), scripted.Reply{Deltas: []string{"a", "b", "c"}, Delay: delay})
		begin := time.Now()
		evs, err := readAll(t, s)
		if err != io.EOF {
			t.Fatal(err)
		}
		for i, ev := range evs[:3] {
			if want := begin.Add(time.Duration(i+1) * delay); !ev.At.Equal(want) {
				t.Errorf("delta %d at %v, want %v", i, ev.At.Sub(begin), want.Sub(begin))
			}
		}
	})
}

func TestCancelDuringADelayReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		_, s := start(t, ctx, scripted.Reply{Deltas: []string{"a"}, Delay: time.Hour})
		begin := time.Now()
		done := recvAsync(s)
		synctest.Wait() // Recv is waiting out the delay
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Recv: %v, want context.Canceled", err)
		}
		if waited := time.Since(begin); waited != 0 {
			t.Fatalf("Recv returned after %v, want at once", waited)
		}
	})
}

func TestDeadlineIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, s := start(t, ctx, scripted.Reply{Deltas: []string{"a", "b"}, Delay: 800 * time.Millisecond})
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Recv: %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestWaitStartedBlocksUntilStreamsStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return scripted.Reply{} }))
		waited := make(chan error, 1)
		go func() { waited <- p.WaitStarted(t.Context(), 2) }()
		for i := range 2 {
			synctest.Wait()
			select {
			case err := <-waited:
				t.Fatalf("WaitStarted returned %v after %d streams", err, i)
			default:
			}
			s, err := p.Stream(t.Context(), ask("hi"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
		}
		if err := <-waited; err != nil {
			t.Fatalf("WaitStarted: %v", err)
		}
	})
}

func TestWaitsHonourTheirContext(t *testing.T) {
	p := scripted.New()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := p.WaitStarted(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitStarted: %v, want context.Canceled", err)
	}
	if err := p.WaitCancelled(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitCancelled: %v, want context.Canceled", err)
	}
	if err := p.WaitStarted(ctx, 0); err != nil {
		t.Errorf("WaitStarted for 0 streams: %v, want nil", err)
	}
}
