package openai_test

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
	"github.com/chatboxsdk/chatbox/llm/internal/fixture"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
	"github.com/chatboxsdk/chatbox/llm/openai"
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
	last := len(evs) - 1
	if evs[last].Kind != llm.EventFinish || evs[last].FinishReason != llm.FinishStop {
		t.Fatalf("last event %+v, want finish stop", evs[last])
	}
	if u := evs[last-1]; u.Kind != llm.EventUsage || u.Usage != (llm.Usage{InputTokens: 31, OutputTokens: 17}) {
		t.Fatalf("event before the finish %+v, want usage 31/17", u)
	}
}

func TestCompatibleServerWithoutUsage(t *testing.T) {
	p := newProvider(t, sse(t, "reply_compat.sse", 0))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF {
		t.Fatalf("ended with %v, want io.EOF", err)
	}
	for _, ev := range evs {
		if ev.Kind == llm.EventUsage {
			t.Fatalf("usage %+v from a server that sent none", ev.Usage)
		}
	}
	if got, _ := text(evs); got != llmtest.ReplyText {
		t.Fatalf("text %q", got)
	}
}

func TestLengthFinishReason(t *testing.T) {
	p := newProvider(t, sse(t, "reply_length.sse", 0))
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

func TestErrorEventAfter200IsTyped(t *testing.T) {
	p := newProvider(t, sse(t, "error_midstream.sse", 0))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if _, n := text(evs); n != 2 {
		t.Fatalf("%d deltas before the error, want 2", n)
	}
	kindOf(t, err, llm.KindOverloaded)
}

func TestSystemPromptAndWholeHistoryReachTheServer(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	p := newProvider(t, srv, openai.WithOrganization("org-test"), openai.WithMaxTokens(256), openai.WithLegacyMaxTokens(false))
	temp := 0.25
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
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v1/chat/completions" {
		t.Fatalf("%s %s", r.Method, r.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
		t.Fatalf("Authorization %q", got)
	}
	if got := r.Header.Get("OpenAI-Organization"); got != "org-test" {
		t.Fatalf("OpenAI-Organization %q", got)
	}
	var body struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
		MaxCompletionTokens int      `json:"max_completion_tokens"`
		MaxTokens           *int     `json:"max_tokens"`
		Temperature         *float64 `json:"temperature"`
		User                string   `json:"user"`
		StreamOptions       struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("%v in %s", err, r.Body)
	}
	want := [][2]string{{"system", "Be brief."}, {"user", "first question"}, {"assistant", "first answer"}, {"assistant", "an operator note"}, {"user", "second question"}}
	if len(body.Messages) != len(want) {
		t.Fatalf("messages %+v", body.Messages)
	}
	for i, m := range body.Messages {
		if m.Role != want[i][0] || m.Content != want[i][1] {
			t.Fatalf("message %d is %s %q, want %s %q", i, m.Role, m.Content, want[i][0], want[i][1])
		}
	}
	if body.Model != "gpt-4o-mini" || !body.Stream || !body.StreamOptions.IncludeUsage || body.User != "user-7" {
		t.Fatalf("body %s", r.Body)
	}
	if body.MaxCompletionTokens != 256 || body.MaxTokens != nil || body.Temperature == nil || *body.Temperature != 0.25 {
		t.Fatalf("limits in %s", r.Body)
	}
}

func TestRequestOverridesAndLegacyMaxTokens(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	p := newProvider(t, srv, openai.WithMaxTokens(100), openai.WithTemperature(1), openai.WithoutStreamUsage())
	req := request()
	req.Model, req.MaxTokens = "llama3.2", 64
	if _, err := readAll(t, stream(t, p, t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(srv.Requests()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	// A custom base URL sends the older max_tokens, which compatible servers know.
	if body["model"] != "llama3.2" || body["max_tokens"] != 64.0 || body["max_completion_tokens"] != nil || body["temperature"] != 1.0 || body["stream_options"] != nil {
		t.Fatalf("body %v", body)
	}
}

func TestStallAfterThreeDeltasEndsWithinIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	srv := sse(t, "reply.sse", 4) // the role chunk and three deltas
	p := newProvider(t, srv, openai.WithIdleTimeout(idle))
	s := stream(t, p, t.Context(), request())
	var deltas []string
	for len(deltas) < 3 {
		ev, err := s.Recv()
		if err != nil {
			t.Fatalf("after %d deltas: %v", len(deltas), err)
		}
		deltas = append(deltas, ev.Text)
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
	if _, err := s.Recv(); err == nil || err == io.EOF {
		t.Fatalf("Recv after the timeout: %v", err)
	}
}

func TestHeaderTimeout(t *testing.T) {
	var srv *fixture.Server
	srv = fixture.New(t, func(_ http.ResponseWriter, r *http.Request) { srv.Stall(r) })
	p := newProvider(t, srv, openai.WithHeaderTimeout(150*time.Millisecond))
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
		t.Fatalf("retried after %v, before the 1s the server asked for", d)
	}
}

func TestErrorsAreClassifiedAndNeverHoldTheKey(t *testing.T) {
	echo := func(w http.ResponseWriter, _ *http.Request) {
		fixture.JSON(w, http.StatusBadRequest, []byte(`{"error":{"message":"bad key `+testKey+` here","type":"invalid_request_error","code":null}}`))
	}
	unavailable := func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
	}
	huge := func(w http.ResponseWriter, _ *http.Request) {
		fixture.JSON(w, http.StatusInternalServerError, []byte(`{"error":{"message":"`+strings.Repeat("x", 1<<20)+`"}}`))
	}
	for _, c := range []struct {
		name  string
		srv   *fixture.Server
		want  llm.ErrorKind
		retry time.Duration
	}{
		{"429", jsonError(t, 429, "error_429.json", "Retry-After", "7"), llm.KindRateLimited, 7 * time.Second},
		{"401", jsonError(t, 401, "error_401.json"), llm.KindAuthentication, 0},
		{"400 context", jsonError(t, 400, "error_400_context.json"), llm.KindContextLength, 0},
		{"503 without a JSON body", fixture.New(t, unavailable), llm.KindOverloaded, 0},
		{"echoed key", fixture.New(t, echo), llm.KindInvalidRequest, 0},
		{"huge body", fixture.New(t, huge), llm.KindUnavailable, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := newProvider(t, c.srv).Stream(t.Context(), request())
			e := kindOf(t, err, c.want)
			if e.RetryAfter != c.retry {
				t.Errorf("RetryAfter %v, want %v", e.RetryAfter, c.retry)
			}
			if msg := err.Error(); strings.Contains(msg, testKey) || strings.Contains(msg, "1234") || len(msg) > 2048 {
				t.Errorf("error text holds the key or is too long (%d bytes): %.300s", len(msg), msg)
			}
		})
	}
}

func TestStopClosesUpstreamWithin100ms(t *testing.T) {
	srv := sse(t, "reply.sse", 2)
	p := newProvider(t, srv)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := stream(t, p, ctx, request())
	if ev, err := s.Recv(); err != nil || ev.Kind != llm.EventDelta {
		t.Fatalf("first Recv: %+v %v", ev, err)
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

func TestNewReportsEveryConfigurationError(t *testing.T) {
	_, err := openai.New(openai.WithBaseURL("localhost:11434"), openai.WithMaxTokens(-1), openai.WithTemperature(3), nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"base URL", "max tokens", "temperature", "nil option", "WithModel"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestNoLeakAfter1000CancelledStreams(t *testing.T) {
	srv := sse(t, "reply.sse", 2)
	fixture.CheckAbandonedStreams(t, srv, newProvider(t, srv), request(), 1000)
}
