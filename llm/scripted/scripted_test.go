package scripted_test

import (
	"context"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

func ask(text string) llm.Request {
	return llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Text: text}}}
}

// readAll reads s to its end and returns the events and the final error.
func readAll(t *testing.T, s llm.Stream) ([]llm.Event, error) {
	t.Helper()
	var evs []llm.Event
	for range 1000 {
		ev, err := s.Recv()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	t.Fatal("stream did not end")
	return nil, nil
}

// text joins the deltas of evs.
func text(evs []llm.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		if ev.Kind == llm.EventDelta {
			b.WriteString(ev.Text)
		}
	}
	return b.String()
}

// replyText streams req from p and returns the reply's text, failing the
// test unless the stream ends with io.EOF.
func replyText(t *testing.T, p *scripted.Provider, req llm.Request) string {
	t.Helper()
	s, err := p.Stream(t.Context(), req)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer s.Close()
	evs, err := readAll(t, s)
	if err != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	return text(evs)
}

func TestRepliesAreUsedInOrderThenExhausted(t *testing.T) {
	p := scripted.New(scripted.WithReplies(
		scripted.Reply{Deltas: []string{"first"}},
		scripted.Reply{Deltas: []string{"sec", "ond"}},
	))
	for _, want := range []string{"first", "second"} {
		if got := replyText(t, p, ask("hi")); got != want {
			t.Fatalf("reply %q, want %q", got, want)
		}
	}
	if _, err := p.Stream(t.Context(), ask("again")); !errors.Is(err, scripted.ErrExhausted) {
		t.Fatalf("third Stream: %v, want ErrExhausted", err)
	}
	if got := p.Started(); got != 2 {
		t.Errorf("Started() = %d, want 2", got)
	}
	if got := len(p.Requests()); got != 3 {
		t.Errorf("%d requests recorded, want 3 (the exhausted one too)", got)
	}
}

func TestResponderAnswersOnceTheScriptIsUsed(t *testing.T) {
	p := scripted.New(
		scripted.WithReplies(scripted.Reply{Deltas: []string{"scripted"}}),
		scripted.WithResponder(func(r llm.Request) scripted.Reply {
			return scripted.Reply{Deltas: scripted.Words("echo: " + r.Messages[len(r.Messages)-1].Text)}
		}),
	)
	for _, want := range []string{"scripted", "echo: b", "echo: c"} {
		if got := replyText(t, p, ask(want[len(want)-1:])); got != want {
			t.Fatalf("reply %q, want %q", got, want)
		}
	}
}

func TestScriptedRepliesAreCopied(t *testing.T) {
	deltas := []string{"original"}
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: deltas}))
	deltas[0] = "changed"
	if got := replyText(t, p, ask("hi")); got != "original" {
		t.Fatalf("reply %q, want the deltas as they were given", got)
	}
}

func TestRequestsAreRecordedAsCopies(t *testing.T) {
	temp := 0.5
	req := llm.Request{
		Model: "m", System: "sys", MaxTokens: 9, Temperature: &temp, User: "u", ConversationID: "c",
		Messages: []llm.Message{{Role: llm.RoleUser, Text: "one"}, {Role: llm.RoleAssistant, Text: "two"}, {Role: llm.RoleUser, Text: "three"}},
	}
	want, wantTemp := req, temp
	want.Messages, want.Temperature = slices.Clone(req.Messages), &wantTemp
	p := scripted.New(scripted.WithResponder(func(r llm.Request) scripted.Reply {
		r.Messages[0].Text = "responder wrote here" // must not reach the record
		*r.Temperature = 2
		return scripted.Reply{}
	}))
	replyText(t, p, req)
	req.Messages[2].Text = "caller wrote here"
	temp = 1

	got := p.Requests()
	if len(got) != 1 {
		t.Fatalf("%d requests recorded, want 1", len(got))
	}
	checkRequest(t, got[0], want)
	got[0].Messages[1].Text = "reader wrote here"
	*got[0].Temperature = 3
	checkRequest(t, p.Requests()[0], want)
}

func checkRequest(t *testing.T, got, want llm.Request) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %+v, want %+v", got, want)
	}
}

func TestMaxRecordedRequestsKeepsTheMostRecent(t *testing.T) {
	p := scripted.New(scripted.WithMaxRecordedRequests(2), scripted.WithResponder(func(llm.Request) scripted.Reply { return scripted.Reply{} }))
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		replyText(t, p, llm.Request{ConversationID: id})
	}
	var ids []string
	for _, r := range p.Requests() {
		ids = append(ids, r.ConversationID)
	}
	if !slices.Equal(ids, []string{"d", "e"}) {
		t.Fatalf("recorded %v, want [d e]", ids)
	}

	none := scripted.New(scripted.WithMaxRecordedRequests(0), scripted.WithReplies(scripted.Reply{}))
	replyText(t, none, ask("hi"))
	if got := none.Requests(); len(got) != 0 {
		t.Fatalf("recorded %d requests with recording off", len(got))
	}
}

func TestStartErrIsReturnedByStream(t *testing.T) {
	startErr := &llm.Error{Kind: llm.KindAuthentication, Provider: "scripted"}
	p := scripted.New(scripted.WithReplies(scripted.Reply{StartErr: startErr}, scripted.Reply{Deltas: []string{"ok"}}))
	s, err := p.Stream(t.Context(), ask("hi"))
	if err != startErr || s != nil {
		t.Fatalf("Stream = (%v, %v), want (nil, StartErr)", s, err)
	}
	if got := p.Started(); got != 0 {
		t.Errorf("Started() = %d after a failed start, want 0", got)
	}
	if got := replyText(t, p, ask("again")); got != "ok" {
		t.Errorf("next reply %q, want the next scripted one", got)
	}
}

func TestAlreadyCancelledContextUsesNoReply(t *testing.T) {
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: []string{"kept"}}))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Stream(ctx, ask("hi")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stream with a cancelled context: %v, want context.Canceled", err)
	}
	if got := len(p.Requests()); got != 0 {
		t.Errorf("%d requests recorded, want 0", got)
	}
	if got := replyText(t, p, ask("hi")); got != "kept" {
		t.Errorf("reply %q, want the reply the cancelled call did not use", got)
	}
}

func TestProviderIsSafeForConcurrentUse(t *testing.T) {
	const n = 32
	var script []scripted.Reply
	var want []string
	for i := range n {
		w := strings.Repeat("x", i+1)
		script = append(script, scripted.Reply{Deltas: []string{w}})
		want = append(want, w)
	}
	p := scripted.New(scripted.WithReplies(script...))
	got := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			s, err := p.Stream(t.Context(), ask("hi"))
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			evs, err := readAll(t, s)
			if err != io.EOF {
				t.Error(err)
			}
			got <- text(evs)
		})
	}
	if err := p.WaitStarted(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(got)
	var texts []string
	for s := range got {
		texts = append(texts, s)
	}
	slices.Sort(texts)
	slices.Sort(want)
	if !slices.Equal(texts, want) {
		t.Fatalf("replies %v, want each scripted reply once: %v", texts, want)
	}
	if got := len(p.Requests()); got != n {
		t.Errorf("%d requests recorded, want %d", got, n)
	}
}
