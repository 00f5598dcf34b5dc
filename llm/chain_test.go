package llm_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

var (
	rateLimited = &llm.Error{Kind: llm.KindRateLimited, Provider: "scripted"}
	overloaded  = &llm.Error{Kind: llm.KindOverloaded, Provider: "scripted"}
	badKey      = &llm.Error{Kind: llm.KindAuthentication, Provider: "scripted"}
)

func ok(text string) scripted.Reply { return scripted.Reply{Deltas: scripted.Words(text)} }

// conformance scripts each scenario for a provider behind a wrapper.
func conformance(s llmtest.Scenario) llm.Provider {
	words := scripted.Words(llmtest.ReplyText)
	r := scripted.Reply{Deltas: words}
	switch s {
	case llmtest.Stall:
		r = scripted.Reply{Deltas: words, StallAfter: 1}
	case llmtest.FailBeforeStream:
		r = scripted.Reply{StartErr: rateLimited}
	case llmtest.FailMidStream:
		r = scripted.Reply{Deltas: words[:2], Err: overloaded}
	}
	return scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return r }))
}

func TestConformanceWithRetry(t *testing.T) {
	llmtest.Run(t, func(t *testing.T, s llmtest.Scenario) llm.Provider {
		return llm.WithRetry(conformance(s), llm.RetryPolicy{InitialBackoff: time.Millisecond})
	})
}

func TestConformanceFallback(t *testing.T) {
	llmtest.Run(t, func(t *testing.T, s llmtest.Scenario) llm.Provider {
		return llm.Fallback(conformance(s), llm.WithModel(conformance(s), "second"))
	})
}

// collect reads s to its end.
func collect(s llm.Stream) (string, error) {
	var b strings.Builder
	for {
		ev, err := s.Recv()
		if err != nil {
			return b.String(), err
		}
		b.WriteString(ev.Text)
	}
}

func streamAll(t *testing.T, p llm.Provider, ctx context.Context) (string, error) {
	t.Helper()
	s, err := p.Stream(ctx, llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Text: "hi"}}})
	if err != nil {
		return "", err
	}
	defer s.Close()
	return collect(s)
}

func TestRetryHonoursRetryAfterBeforeTheFirstDelta(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := scripted.New(scripted.WithReplies(
			scripted.Reply{StartErr: &llm.Error{Kind: llm.KindRateLimited, Provider: "scripted", RetryAfter: 2 * time.Second}},
			scripted.Reply{Usage: llm.Usage{InputTokens: 3}, Err: overloaded}, // fails in Recv, before any delta
			ok("Hello there"),
		))
		begin := time.Now()
		text, err := streamAll(t, llm.WithRetry(p, llm.RetryPolicy{InitialBackoff: 100 * time.Millisecond}), t.Context())
		if err != io.EOF || text != "Hello there" {
			t.Fatalf("got %q, %v", text, err)
		}
		if n := len(p.Requests()); n != 3 {
			t.Fatalf("%d attempts, want 3", n)
		}
		if waited := time.Since(begin); waited < 2*time.Second+50*time.Millisecond || waited > 3*time.Second {
			t.Fatalf("waited %v, want the 2s asked for plus one backoff", waited)
		}
	})
}

func TestNoRetryAfterTheFirstDelta(t *testing.T) {
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: []string{"partial"}, Err: overloaded}, ok("never")))
	text, err := streamAll(t, llm.WithRetry(p, llm.RetryPolicy{InitialBackoff: time.Millisecond}), t.Context())
	if text != "partial" || !errors.Is(err, overloaded) {
		t.Fatalf("got %q, %v; want the partial text and the overload", text, err)
	}
	if n := len(p.Requests()); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
}

func TestRetryStopsOnWhatRetryCannotFix(t *testing.T) {
	for _, c := range []struct {
		name    string
		replies []scripted.Reply
		policy  llm.RetryPolicy
		want    error
		tries   int
	}{
		{"not retryable", []scripted.Reply{{StartErr: badKey}, ok("x")}, llm.RetryPolicy{}, badKey, 1},
		{"attempts used up", []scripted.Reply{{StartErr: rateLimited}, {StartErr: rateLimited}, {StartErr: overloaded}, ok("x")},
			llm.RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond}, overloaded, 3},
		{"wait asked for is too long", []scripted.Reply{{StartErr: &llm.Error{Kind: llm.KindRateLimited, Provider: "s", RetryAfter: time.Hour}}, ok("x")},
			llm.RetryPolicy{}, rateLimited, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := scripted.New(scripted.WithReplies(c.replies...))
			_, err := streamAll(t, llm.WithRetry(p, c.policy), t.Context())
			if llm.KindOf(err) != llm.KindOf(c.want) {
				t.Fatalf("got %v, want kind %s", err, llm.KindOf(c.want))
			}
			if n := len(p.Requests()); n != c.tries {
				t.Fatalf("%d attempts, want %d", n, c.tries)
			}
		})
	}
}

func TestRetryDoesNotWaitPastTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := scripted.New(scripted.WithReplies(scripted.Reply{StartErr: &llm.Error{Kind: llm.KindRateLimited, Provider: "s", RetryAfter: 5 * time.Second}}, ok("x")))
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		begin := time.Now()
		_, err := streamAll(t, llm.WithRetry(p, llm.RetryPolicy{}), ctx)
		if llm.KindOf(err) != llm.KindRateLimited || time.Since(begin) != 0 {
			t.Fatalf("got %v after %v, want the rate limit at once", err, time.Since(begin))
		}
	})
}

func TestRetryWaitEndsOnCancelAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		limited := &llm.Error{Kind: llm.KindRateLimited, Provider: "s", RetryAfter: 10 * time.Second}
		p := scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return scripted.Reply{Err: limited} }))
		ctx, cancel := context.WithCancel(t.Context())
		s, err := llm.WithRetry(p, llm.RetryPolicy{}).Stream(ctx, llm.Request{})
		if err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(time.Second, cancel)
		begin := time.Now()
		_, err = s.Recv()
		if !errors.Is(err, context.Canceled) || time.Since(begin) != time.Second {
			t.Fatalf("got %v after %v, want cancellation after 1s", err, time.Since(begin))
		}
		s.Close()

		s, err = llm.WithRetry(p, llm.RetryPolicy{}).Stream(t.Context(), llm.Request{})
		if err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(time.Second, func() { s.Close() })
		_, err = s.Recv()
		if !errors.Is(err, llm.ErrStreamClosed) {
			t.Fatalf("Recv after Close during the wait: %v", err)
		}
	})
}

func TestFallbackMovesOnOnlyBeforeTheFirstDelta(t *testing.T) {
	primary := scripted.New(scripted.WithReplies(
		scripted.Reply{StartErr: overloaded},                      // fails to start
		scripted.Reply{Err: rateLimited},                          // fails before a delta
		scripted.Reply{Deltas: []string{"half"}, Err: overloaded}, // fails after one
		scripted.Reply{StartErr: badKey},                          // not retryable
	))
	secondary := scripted.New(scripted.WithResponder(func(req llm.Request) scripted.Reply { return ok("from " + req.Model) }))
	p := llm.Fallback(llm.WithModel(primary, "big"), llm.WithModel(secondary, "small"))
	for i, want := range []struct {
		text string
		err  error
	}{{"from small", io.EOF}, {"from small", io.EOF}, {"half", overloaded}, {"", badKey}} {
		text, err := streamAll(t, p, t.Context())
		if text != want.text || !errors.Is(err, want.err) {
			t.Fatalf("stream %d: got %q, %v; want %q, %v", i, text, err, want.text, want.err)
		}
	}
	if got := primary.Requests()[0].Model; got != "big" {
		t.Fatalf("primary asked for %q", got)
	}
	if n := len(secondary.Requests()); n != 2 {
		t.Fatalf("secondary used %d times, want 2", n)
	}
}

func TestFallbackReturnsTheLastFailure(t *testing.T) {
	a := scripted.New(scripted.WithReplies(scripted.Reply{StartErr: overloaded}))
	b := scripted.New(scripted.WithReplies(scripted.Reply{StartErr: rateLimited}))
	_, err := streamAll(t, llm.Fallback(a, b), t.Context())
	if !errors.Is(err, rateLimited) {
		t.Fatalf("got %v", err)
	}
}
