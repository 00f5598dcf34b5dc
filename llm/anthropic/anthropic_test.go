package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/anthropic"
	"github.com/chatboxsdk/chatbox/llm/internal/fixture"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
)

func TestReplyArrivesInOrderWithUsage(t *testing.T) {
	p := newProvider(t, sse(t, "reply.sse", 0))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF {
		t.Fatalf("ended with %v, want io.EOF", err)
	}
	got, n := text(evs)
	if got != llmtest.ReplyText || n != 6 {
		t.Fatalf("deltas spell %q in %d pieces, want ReplyText in 6", got, n)
	}
	// usage from message_start, the deltas, usage from message_delta, finish
	if first := evs[0]; first.Kind != llm.EventUsage || first.Usage != (llm.Usage{InputTokens: 31, OutputTokens: 1}) {
		t.Fatalf("first event %+v, want the usage of message_start", first)
	}
	last := len(evs) - 1
	if evs[last].Kind != llm.EventFinish || evs[last].FinishReason != llm.FinishStop {
		t.Fatalf("last event %+v, want finish stop", evs[last])
	}
	if u := evs[last-1]; u.Kind != llm.EventUsage || u.Usage != (llm.Usage{InputTokens: 31, OutputTokens: 17}) {
		t.Fatalf("event before the finish %+v, want usage 31/17", u)
	}
}

func TestMaxTokensStopReasonIsLength(t *testing.T) {
	p := newProvider(t, sse(t, "reply_max_tokens.sse", 0))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF || evs[len(evs)-1].FinishReason != llm.FinishLength {
		t.Fatalf("ended with %v after %+v, want finish length", err, evs)
	}
}

func TestTruncatedStreamIsAnErrorNotACompleteReply(t *testing.T) {
	p := newProvider(t, sse(t, "truncated.sse", 0))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if got, _ := text(evs); got != "Conformance" {
		t.Fatalf("text %q", got)
	}
	kindOf(t, err, llm.KindUnavailable)
}

func TestOverloadedErrorEventAfter200IsTyped(t *testing.T) {
	p := newProvider(t, sse(t, "error_overloaded.sse", 0))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if _, n := text(evs); n != 2 {
		t.Fatalf("%d deltas before the error, want 2", n)
	}
	kindOf(t, err, llm.KindOverloaded)
}

func TestSystemPromptAndWholeHistoryReachTheAPI(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	p := newProvider(t, srv, anthropic.WithMaxTokens(512))
	temp := 0.5
	req := llm.Request{
		System: "Be brief.",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Text: "first question"},
			{Role: llm.RoleAssistant, Text: "first answer"},
			{Role: llm.RoleOperator, Text: "an operator note"},
			{Role: llm.RoleUser, Text: "second question"},
		},
		Temperature: &temp, User: "user-7", ConversationID: "conv-1",
	}
	if _, err := readAll(t, stream(t, p, t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if r.Method != http.MethodPost || r.Path != "/v1/messages" {
		t.Fatalf("%s %s", r.Method, r.Path)
	}
	// The SDK sends the key in x-api-key or as a bearer token, depending on its version.
	if (r.Header.Get("X-Api-Key") != testKey && r.Header.Get("Authorization") != "Bearer "+testKey) || r.Header.Get("Anthropic-Version") == "" {
		t.Fatalf("headers %v", r.Header)
	}
	var body struct {
		Model     string `json:"model"`
		MaxTokens int    `json:"max_tokens"`
		Stream    bool   `json:"stream"`
		System    []struct {
			Type, Text string
		} `json:"system"`
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Type, Text string
			} `json:"content"`
		} `json:"messages"`
		Temperature *float64 `json:"temperature"`
		Metadata    struct {
			UserID string `json:"user_id"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("%v in %s", err, r.Body)
	}
	if len(body.System) != 1 || body.System[0].Text != "Be brief." || body.System[0].Type != "text" {
		t.Fatalf("system %+v", body.System)
	}
	want := []struct {
		role  string
		texts []string
	}{{"user", []string{"first question"}}, {"assistant", []string{"first answer", "an operator note"}}, {"user", []string{"second question"}}}
	if len(body.Messages) != len(want) {
		t.Fatalf("messages %s", r.Body)
	}
	for i, m := range body.Messages {
		if m.Role != want[i].role || len(m.Content) != len(want[i].texts) {
			t.Fatalf("message %d: %+v, want %+v", i, m, want[i])
		}
		for j, c := range m.Content {
			if c.Type != "text" || c.Text != want[i].texts[j] {
				t.Fatalf("message %d block %d: %+v", i, j, c)
			}
		}
	}
	if body.Model != "claude-sonnet-4-5" || body.MaxTokens != 512 || !body.Stream || body.Metadata.UserID != "user-7" ||
		body.Temperature == nil || *body.Temperature != 0.5 {
		t.Fatalf("body %s", r.Body)
	}
}

func TestMaxTokensDefaultAndRequestOverride(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	p := newProvider(t, srv)
	for _, n := range []int{0, 77} {
		req := request()
		req.MaxTokens, req.Model = n, "claude-haiku-4-5"
		if _, err := readAll(t, stream(t, p, t.Context(), req)); err != io.EOF {
			t.Fatal(err)
		}
	}
	for i, want := range []float64{anthropic.DefaultMaxTokens, 77} {
		var body map[string]any
		if err := json.Unmarshal(srv.Requests()[i].Body, &body); err != nil {
			t.Fatal(err)
		}
		if body["max_tokens"] != want || body["model"] != "claude-haiku-4-5" || body["system"] != nil || body["temperature"] != nil {
			t.Fatalf("request %d: %v", i, body)
		}
	}
}

func TestStallAfterThreeDeltasEndsWithinIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	srv := sse(t, "reply.sse", 6) // start, block start, ping, three deltas
	p := newProvider(t, srv, anthropic.WithIdleTimeout(idle))
	s := stream(t, p, t.Context(), request())
	var deltas []string
	for len(deltas) < 3 {
		ev, err := s.Recv()
		if err != nil {
			t.Fatalf("after %d deltas: %v", len(deltas), err)
		}
		if ev.Kind == llm.EventDelta {
			deltas = append(deltas, ev.Text)
		}
	}
	begin := time.Now()
	_, err := s.Recv()
	waited := time.Since(begin)
	kindOf(t, err, llm.KindTimeout)
	if waited < idle/2 || waited > idle+time.Second {
		t.Fatalf("the idle timeout ended the stream after %v, want about %v", waited, idle)
	}
	if got := strings.Join(deltas, ""); got != "Conformance reply: ünïcödé, “quotes”, a \\" {
		t.Fatalf("deltas %q", got)
	}
	select {
	case <-srv.Gone():
	case <-time.After(time.Second):
		t.Fatal("the server did not see the connection close")
	}
}

func TestHeaderTimeout(t *testing.T) {
	var srv *fixture.Server
	srv = fixture.New(t, func(_ http.ResponseWriter, r *http.Request) { srv.Stall(r) })
	p := newProvider(t, srv, anthropic.WithHeaderTimeout(150*time.Millisecond))
	begin := time.Now()
	_, err := p.Stream(t.Context(), request())
	kindOf(t, err, llm.KindTimeout)
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestRateLimitBeforeFirstDeltaIsRetriedThenSucceeds(t *testing.T) {
	limited := fixture.File(t, "testdata/error_429.json")
	events := fixture.Events(t, "testdata/reply.sse")
	var srv *fixture.Server
	var calls atomic.Int32
	srv = fixture.New(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			fixture.JSON(w, http.StatusTooManyRequests, limited, "Retry-After", "1")
			return
		}
		srv.SSE(w, r, events, 0)
	})
	p := llm.WithRetry(newProvider(t, srv), llm.RetryPolicy{InitialBackoff: time.Millisecond})
	begin := time.Now()
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF {
		t.Fatalf("ended with %v", err)
	}
	if got, _ := text(evs); got != llmtest.ReplyText {
		t.Fatalf("text %q", got)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	if d := time.Since(begin); d < time.Second {
		t.Fatalf("retried after %v, before the 1s the API asked for", d)
	}
}

func TestErrorsAreClassifiedAndNeverHoldTheKey(t *testing.T) {
	echo := func(w http.ResponseWriter, _ *http.Request) {
		fixture.JSON(w, http.StatusBadRequest, []byte(`{"type":"error","error":{"type":"invalid_request_error","message":"bad key `+testKey+`"}}`))
	}
	for _, c := range []struct {
		name  string
		srv   *fixture.Server
		want  llm.ErrorKind
		retry time.Duration
	}{
		{"429", jsonError(t, 429, "error_429.json", "Retry-After", "7"), llm.KindRateLimited, 7 * time.Second},
		{"529", jsonError(t, 529, "error_529.json"), llm.KindOverloaded, 0},
		{"401", jsonError(t, 401, "error_401.json"), llm.KindAuthentication, 0},
		{"400", jsonError(t, 400, "error_400.json"), llm.KindInvalidRequest, 0},
		{"echoed key", fixture.New(t, echo), llm.KindInvalidRequest, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := newProvider(t, c.srv).Stream(t.Context(), request())
			e := kindOf(t, err, c.want)
			if e.RetryAfter != c.retry {
				t.Errorf("RetryAfter %v, want %v", e.RetryAfter, c.retry)
			}
			if msg := err.Error(); strings.Contains(msg, testKey) || len(msg) > 2048 {
				t.Errorf("error text holds the key or is too long: %.300s", msg)
			}
		})
	}
}

func TestStopClosesUpstreamWithin100ms(t *testing.T) {
	srv := sse(t, "reply.sse", 4)
	p := newProvider(t, srv)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := stream(t, p, ctx, request())
	for {
		ev, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == llm.EventDelta {
			break
		}
	}
	stopped := time.Now()
	cancel()
	select {
	case gone := <-srv.Gone():
		if d := gone.Sub(stopped); d > 100*time.Millisecond {
			t.Fatalf("the server saw the request end %v after the stop", d)
		}
	case <-time.After(time.Second):
		t.Fatal("the server never saw the request end")
	}
	if _, err := s.Recv(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv after stop: %v", err)
	}
}

func TestNoLeakAfter1000CancelledStreams(t *testing.T) {
	srv := sse(t, "reply.sse", 4)
	fixture.CheckAbandonedStreams(t, srv, newProvider(t, srv), request(), 1000)
}

func TestNewReportsEveryConfigurationError(t *testing.T) {
	_, err := anthropic.New(anthropic.WithBaseURL("api.anthropic.com"), anthropic.WithMaxTokens(0), anthropic.WithTemperature(2), nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"base URL", "max tokens", "temperature", "nil option", "WithModel", "WithAPIKey"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
