package dify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/dify"
	"github.com/chatboxsdk/chatbox/llm/internal/fixture"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
)

const difyConversation = "45701982-8118-4bc5-8e9b-64562b4555f2"

type chatBody struct {
	Inputs         map[string]string `json:"inputs"`
	Query          string            `json:"query"`
	ResponseMode   string            `json:"response_mode"`
	User           string            `json:"user"`
	ConversationID string            `json:"conversation_id"`
}

func bodyOf(t *testing.T, r fixture.Request) chatBody {
	t.Helper()
	var b chatBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatalf("%v in %s", err, r.Body)
	}
	return b
}

func TestReplyArrivesInOrderWithUsage(t *testing.T) {
	for _, file := range []string{"reply.sse", "reply_agent.sse"} {
		t.Run(file, func(t *testing.T) {
			p := newProvider(t, sse(t, file, 0))
			evs, err := readAll(t, stream(t, p, t.Context(), request()))
			if err != io.EOF {
				t.Fatalf("ended with %v, want io.EOF", err)
			}
			if got, n := text(evs); got != llmtest.ReplyText || n != 6 {
				t.Fatalf("deltas spell %q in %d pieces", got, n)
			}
			last := len(evs) - 1
			if evs[last].Kind != llm.EventFinish || evs[last].FinishReason != llm.FinishStop {
				t.Fatalf("last event %+v", evs[last])
			}
			if u := evs[last-1]; u.Kind != llm.EventUsage || u.Usage != (llm.Usage{InputTokens: 1033, OutputTokens: 135}) {
				t.Fatalf("event before the finish %+v, want usage 1033/135", u)
			}
		})
	}
}

func TestModerationReplacementFinishesWithContentFilter(t *testing.T) {
	p := newProvider(t, sse(t, "reply_moderated.sse", 0))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF || evs[len(evs)-1].FinishReason != llm.FinishContentFilter {
		t.Fatalf("ended with %v after %+v", err, evs)
	}
}

func TestErrorEventAfter200IsTyped(t *testing.T) {
	p := newProvider(t, sse(t, "error_midstream.sse", 0))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if _, n := text(evs); n != 2 {
		t.Fatalf("%d deltas before the error", n)
	}
	kindOf(t, err, llm.KindUnavailable) // completion_request_error: the app's model failed
}

// The last user turn is the query, the user and Dify's conversation id
// are carried, and the system prompt and earlier turns go to the named
// inputs when a Dify conversation starts.
func TestQueryUserAndConversationReachDify(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	p := newProvider(t, srv, dify.WithSystemInput("system"), dify.WithHistoryInput("history"), dify.WithInputs(map[string]string{"lang": "en"}))
	req := llm.Request{
		System: "Be brief.",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Text: "first question"},
			{Role: llm.RoleAssistant, Text: "first answer"},
			{Role: llm.RoleUser, Text: "second question"},
		},
		User: "user-7", ConversationID: "conv-1",
	}
	for range 2 {
		if _, err := readAll(t, stream(t, p, t.Context(), req)); err != io.EOF {
			t.Fatal(err)
		}
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleAssistant, Text: "an answer"}, llm.Message{Role: llm.RoleUser, Text: "third question"})
	}
	reqs := srv.Requests()
	if reqs[0].Path != "/v1/chat-messages" || reqs[0].Header.Get("Authorization") != "Bearer "+testKey {
		t.Fatalf("%s %v", reqs[0].Path, reqs[0].Header)
	}
	first, second := bodyOf(t, reqs[0]), bodyOf(t, reqs[1])
	if first.Query != "second question" || first.User != "user-7" || first.ResponseMode != "streaming" || first.ConversationID != "" {
		t.Fatalf("first request %+v", first)
	}
	if first.Inputs["system"] != "Be brief." || first.Inputs["history"] != "User: first question\nAssistant: first answer\n" || first.Inputs["lang"] != "en" {
		t.Fatalf("first inputs %q", first.Inputs)
	}
	if second.Query != "third question" || second.ConversationID != difyConversation || second.Inputs["history"] != "" {
		t.Fatalf("second request %+v: Dify keeps the history under its conversation id", second)
	}
}

func TestUnknownDifyConversationStartsANewOne(t *testing.T) {
	events := fixture.Events(t, "testdata/reply.sse")
	missing := fixture.File(t, "testdata/error_404.json")
	var (
		srv   *fixture.Server
		calls atomic.Int32
	)
	srv = fixture.New(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 2 { // the second request names the Dify conversation
			fixture.JSON(w, http.StatusNotFound, missing)
			return
		}
		srv.SSE(w, r, events, 0)
	})
	p := newProvider(t, srv)
	for range 2 {
		if _, err := readAll(t, stream(t, p, t.Context(), request())); err != io.EOF {
			t.Fatal(err)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 3 || bodyOf(t, reqs[1]).ConversationID != difyConversation || bodyOf(t, reqs[2]).ConversationID != "" {
		t.Fatalf("%d requests", len(reqs))
	}
}

func TestConversationIDsAreBounded(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	p := newProvider(t, srv, dify.WithMaxConversations(3))
	for i := range 10 {
		req := request()
		req.ConversationID = fmt.Sprint("c", i)
		if _, err := readAll(t, stream(t, p, t.Context(), req)); err != io.EOF {
			t.Fatal(err)
		}
	}
	if n := p.Conversations(); n != 3 {
		t.Fatalf("%d conversation ids kept, want 3", n)
	}
	// c0 was evicted: it starts a new Dify conversation; c9 is known.
	for _, c := range []struct {
		id   string
		want string
	}{{"c0", ""}, {"c9", difyConversation}} {
		req := request()
		req.ConversationID = c.id
		if _, err := readAll(t, stream(t, p, t.Context(), req)); err != io.EOF {
			t.Fatal(err)
		}
		reqs := srv.Requests()
		if got := bodyOf(t, reqs[len(reqs)-1]).ConversationID; got != c.want {
			t.Fatalf("%s sent conversation_id %q, want %q", c.id, got, c.want)
		}
	}
}

func TestRequestMustEndWithAUserTurn(t *testing.T) {
	p := newProvider(t, sse(t, "reply.sse", 0))
	_, err := p.Stream(t.Context(), llm.Request{Messages: []llm.Message{{Role: llm.RoleAssistant, Text: "hi"}}})
	kindOf(t, err, llm.KindInvalidRequest)
}

func TestStallAfterThreeDeltasEndsWithinIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	srv := sse(t, "reply.sse", 4) // a ping and three deltas
	p := newProvider(t, srv, dify.WithIdleTimeout(idle))
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
}

func TestHeaderTimeout(t *testing.T) {
	var srv *fixture.Server
	srv = fixture.New(t, func(_ http.ResponseWriter, r *http.Request) { srv.Stall(r) })
	p := newProvider(t, srv, dify.WithHeaderTimeout(150*time.Millisecond))
	_, err := p.Stream(t.Context(), request())
	kindOf(t, err, llm.KindTimeout)
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
		t.Fatalf("retried after %v, before the 1s Dify asked for", d)
	}
}

func TestErrorsAreClassifiedAndNeverHoldTheKey(t *testing.T) {
	echo := func(w http.ResponseWriter, _ *http.Request) {
		fixture.JSON(w, http.StatusBadRequest, []byte(`{"code":"invalid_param","message":"key `+testKey+` rejected","status":400}`))
	}
	for _, c := range []struct {
		name string
		srv  *fixture.Server
		want llm.ErrorKind
	}{
		{"429", jsonError(t, 429, "error_429.json"), llm.KindRateLimited},
		{"401", jsonError(t, 401, "error_401.json"), llm.KindAuthentication},
		{"400 quota", jsonError(t, 400, "error_400_quota.json"), llm.KindAuthentication},
		{"echoed key", fixture.New(t, echo), llm.KindInvalidRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := newProvider(t, c.srv).Stream(t.Context(), request())
			kindOf(t, err, c.want)
			if msg := err.Error(); strings.Contains(msg, testKey) || len(msg) > 2048 {
				t.Errorf("error text holds the key or is too long: %.300s", msg)
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

func TestNoLeakAfter1000CancelledStreams(t *testing.T) {
	srv := sse(t, "reply.sse", 2)
	fixture.CheckAbandonedStreams(t, srv, newProvider(t, srv), request(), 1000)
}

func TestNewReportsEveryConfigurationError(t *testing.T) {
	_, err := dify.New(dify.WithBaseURL("dify.local"), dify.WithMaxConversations(0), nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"base URL", "max conversations", "nil option", "WithAPIKey"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestToolsAreIgnored(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	p := newProvider(t, srv, dify.WithHistoryInput("history"))
	req := llmtest.ToolRequest()
	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartText, Text: "It shipped."}}},
		llm.Message{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Thanks, "}, {Kind: llm.PartText, Text: "and the refund?"}}},
	)
	evs, err := readAll(t, stream(t, p, t.Context(), req))
	if err != io.EOF {
		t.Fatalf("ended with %v", err)
	}
	for _, ev := range evs {
		if ev.Kind != llm.EventDelta && ev.Kind != llm.EventUsage && ev.Kind != llm.EventFinish {
			t.Fatalf("event %+v", ev)
		}
	}
	r := srv.Requests()[0]
	if strings.Contains(string(r.Body), "tools") || strings.Contains(string(r.Body), "lookup_order") {
		t.Fatalf("tools reached Dify: %s", r.Body)
	}
	b := bodyOf(t, r)
	want := "User: Where is order 1234, and refund it.\nAssistant: Let me look that up.\nAssistant: It shipped.\n"
	if b.Query != "Thanks, and the refund?" || b.Inputs["history"] != want {
		t.Fatalf("query %q, history %q; want the text of each turn, tool turns left out", b.Query, b.Inputs["history"])
	}
}
