package scripted_test

import (
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// toolRequest is a request whose history holds parts of every kind.
func toolRequest() llm.Request {
	return llm.Request{
		Tools: []llm.ToolDef{{Name: "lookup_order", Description: "Finds an order.", InputSchema: json.RawMessage(`{"type":"object"}`)}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Text: "Where is order 1234?"},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartReasoning, Text: "Look it up.", Signature: "sig"},
				{Kind: llm.PartToolCall, Call: llm.ToolCall{ID: "call_9", Name: "lookup_order", Arguments: `{"order_id":"1234"}`}},
			}},
			{Role: llm.RoleTool, Parts: []llm.Part{
				{Kind: llm.PartToolResult, Call: llm.ToolCall{ID: "call_9", Name: "lookup_order"}, Text: "shipped"},
			}},
		},
	}
}

func TestReasoningStreamsBeforeTheTextWithItsSignature(t *testing.T) {
	_, s := start(t, t.Context(), scripted.Reply{Reasoning: []string{"Let me", " think."}, ReasoningSignature: "sig-1", Deltas: []string{"Done."}})
	evs, err := readAll(t, s)
	if err != io.EOF {
		t.Fatalf("ended with %v", err)
	}
	want := []llm.EventKind{llm.EventReasoning, llm.EventReasoning, llm.EventReasoning, llm.EventDelta, llm.EventFinish}
	if got := kinds(evs); !slices.Equal(got, want) {
		t.Fatalf("event kinds %v, want %v", got, want)
	}
	if evs[0].Text+evs[1].Text != "Let me think." || evs[2].Text != "" || evs[2].Signature != "sig-1" || text(evs) != "Done." {
		t.Fatalf("events %+v", evs)
	}
	if evs[4].FinishReason != llm.FinishStop {
		t.Fatalf("finish %q", evs[4].FinishReason)
	}
}

func TestToolCallsStreamAsStartPiecesAndCallThenFinishToolCalls(t *testing.T) {
	args := `{"order_id":"1234","note":"ünïcödé ✓ long enough to split"}`
	_, s := start(t, t.Context(), scripted.Reply{
		Deltas:    []string{"Looking."},
		ToolCalls: []llm.ToolCall{{ID: "call_a", Name: "lookup_order", Arguments: args}, {Name: "ping"}},
		Usage:     llm.Usage{InputTokens: 1, OutputTokens: 2},
	})
	evs, err := readAll(t, s)
	if err != io.EOF {
		t.Fatalf("ended with %v", err)
	}
	if evs[0].Kind != llm.EventDelta || evs[1].Kind != llm.EventToolCallStart || evs[1].Call != (llm.ToolCall{ID: "call_a", Name: "lookup_order"}) {
		t.Fatalf("first events %+v", evs[:2])
	}
	var pieces []string
	i := 2
	for ; evs[i].Kind == llm.EventToolCallDelta; i++ {
		if evs[i].Call.ID != "call_a" || evs[i].Text == "" || len(evs[i].Text) > scripted.ArgumentPieceBytes || !utf8.ValidString(evs[i].Text) {
			t.Fatalf("piece %+v", evs[i])
		}
		pieces = append(pieces, evs[i].Text)
	}
	if len(pieces) < 3 || strings.Join(pieces, "") != args {
		t.Fatalf("pieces %q, want the arguments in several pieces", pieces)
	}
	if c := evs[i].Call; evs[i].Kind != llm.EventToolCall || c.ID != "call_a" || c.Name != "lookup_order" || c.Arguments != args {
		t.Fatalf("event %d: %+v, want the whole first call", i, evs[i])
	}
	rest := evs[i+1:]
	want := []llm.EventKind{llm.EventToolCallStart, llm.EventToolCallDelta, llm.EventToolCall, llm.EventUsage, llm.EventFinish}
	if got := kinds(rest); !slices.Equal(got, want) {
		t.Fatalf("then %v, want %v", got, want)
	}
	if c := rest[2].Call; c.ID != "call_1" || c.Name != "ping" || c.Arguments != "{}" || rest[0].Call.ID != "call_1" || rest[1].Text != "{}" {
		t.Fatalf("second call %+v, want a filled-in id and {} arguments", rest[:3])
	}
	if rest[4].FinishReason != llm.FinishToolCalls {
		t.Fatalf("finish %q, want %q", rest[4].FinishReason, llm.FinishToolCalls)
	}
}

func TestWholeToolCallsComeAlone(t *testing.T) {
	call := llm.ToolCall{ID: "c", Name: "lookup_order", Arguments: `{"order_id":"1234567890123456789"}`}
	_, s := start(t, t.Context(), scripted.Reply{ToolCalls: []llm.ToolCall{call}, WholeToolCalls: true, Finish: llm.FinishStop})
	evs, err := readAll(t, s)
	if err != io.EOF || len(evs) != 2 || evs[0].Kind != llm.EventToolCall || evs[0].Call != call || evs[1].FinishReason != llm.FinishStop {
		t.Fatalf("got %+v, %v; want the call alone, then the scripted finish", evs, err)
	}
}

func TestToolCallIDsAreUniqueAcrossStreams(t *testing.T) {
	call := scripted.Reply{ToolCalls: []llm.ToolCall{{Name: "x"}}, WholeToolCalls: true}
	p := scripted.New(scripted.WithReplies(call, call))
	var ids []string
	for range 2 {
		s, err := p.Stream(t.Context(), ask("hi"))
		if err != nil {
			t.Fatal(err)
		}
		evs, _ := readAll(t, s)
		ids = append(ids, evs[0].Call.ID)
	}
	if !slices.Equal(ids, []string{"call_1", "call_2"}) {
		t.Fatalf("ids %q", ids)
	}
}

func TestErrComesAfterTheToolCalls(t *testing.T) {
	fail := &llm.Error{Kind: llm.KindOverloaded, Provider: "scripted"}
	_, s := start(t, t.Context(), scripted.Reply{ToolCalls: []llm.ToolCall{{Name: "x"}}, WholeToolCalls: true, Err: fail})
	evs, err := readAll(t, s)
	if len(evs) != 1 || evs[0].Kind != llm.EventToolCall || err != fail {
		t.Fatalf("got %+v, %v", evs, err)
	}
}

func TestStepsSeeTheHistoryAndRunInOrder(t *testing.T) {
	p := scripted.New(scripted.WithSteps(
		func(req llm.Request) scripted.Reply {
			if !scripted.HasTool(req, "lookup_order") || scripted.ToolResults(req) != nil {
				t.Errorf("step 1 saw %+v", req)
			}
			return scripted.Reply{ToolCalls: []llm.ToolCall{{Name: "lookup_order", Arguments: `{"order_id":"1234"}`}}}
		},
		func(req llm.Request) scripted.Reply {
			res := scripted.ToolResults(req)
			if len(res) != 1 {
				t.Fatalf("step 2 saw results %+v", res)
			}
			call, ok := scripted.CallOf(req, res[0].Call.ID)
			if !ok {
				t.Fatalf("no call %q in the history", res[0].Call.ID)
			}
			return scripted.Reply{Deltas: []string{call.Name + ": " + res[0].Text}}
		},
		nil,
	))
	first := ask("Where is order 1234?")
	first.Tools = toolRequest().Tools
	s, err := p.Stream(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := readAll(t, s)
	if len(evs) != 5 || evs[3].Kind != llm.EventToolCall || evs[4].FinishReason != llm.FinishToolCalls {
		t.Fatalf("step 1: %+v", evs)
	}
	if got := replyText(t, p, toolRequest()); got != "lookup_order: shipped" {
		t.Fatalf("step 2 answered %q", got)
	}
	if got := replyText(t, p, ask("and now?")); got != "" {
		t.Fatalf("a nil step answered %q", got)
	}
}

func TestHistoryHelpers(t *testing.T) {
	req := toolRequest()
	if res := scripted.ToolResults(req); len(res) != 1 || res[0].Text != "shipped" {
		t.Fatalf("ToolResults %+v", res)
	}
	if scripted.ToolResults(ask("hi")) != nil || scripted.ToolResults(llm.Request{}) != nil {
		t.Fatal("ToolResults of a history not ending with a tool turn")
	}
	if !scripted.HasTool(req, "lookup_order") || scripted.HasTool(req, "refund_order") {
		t.Fatal("HasTool")
	}
	if _, ok := scripted.CallOf(req, "call_none"); ok {
		t.Fatal("CallOf found a call that is not there")
	}
}

func TestRequestPartsAndToolsAreRecordedAsCopies(t *testing.T) {
	req := toolRequest()
	want := toolRequest()
	p := scripted.New(scripted.WithResponder(func(r llm.Request) scripted.Reply {
		r.Messages[1].Parts[0].Text = "responder wrote here"
		r.Tools[0].InputSchema[0] = '['
		return scripted.Reply{}
	}))
	replyText(t, p, req)
	req.Messages[2].Parts[0].Text = "caller wrote here"
	req.Tools[0].Name = "changed"
	got := p.Requests()[0]
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("recorded %+v, want %+v", got, want)
	}
	got.Messages[1].Parts[1].Call.Name = "reader wrote here"
	if again := p.Requests()[0]; !reflect.DeepEqual(again, want) {
		t.Fatalf("recorded %+v after a reader wrote to its copy", again)
	}
}

func TestDelayPacesReasoningAndArgumentPiecesToo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 100 * time.Millisecond
		_, s := start(t, t.Context(), scripted.Reply{
			Reasoning: []string{"r"}, Deltas: []string{"d"}, Delay: delay,
			ToolCalls: []llm.ToolCall{{ID: "c", Name: "x", Arguments: `{"a":1}`}},
		})
		begin := time.Now()
		evs, err := readAll(t, s)
		if err != io.EOF {
			t.Fatal(err)
		}
		// reasoning, delta, start, one piece, call, finish
		want := []time.Duration{delay, 2 * delay, 2 * delay, 3 * delay, 3 * delay, 3 * delay}
		if len(evs) != len(want) {
			t.Fatalf("%d events, want %d", len(evs), len(want))
		}
		for i, ev := range evs {
			if got := ev.At.Sub(begin); got != want[i] {
				t.Errorf("event %d (kind %d) at %v, want %v", i, ev.Kind, got, want[i])
			}
		}
	})
}
