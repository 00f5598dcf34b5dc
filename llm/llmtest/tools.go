package llmtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
)

// ToolRequest returns the request the tool call and reasoning checks send:
// a system prompt, two tool definitions (ToolName and OtherToolName) and a
// history that ends with a tool step. Its assistant turn holds reasoning
// with a signature, text and two tool calls; the tool turn after it holds
// their results, the second one an error. A provider's own tests check
// that its upstream request carries the tools and the results in the
// provider's wire format; each call is new, so they may change it.
func ToolRequest() llm.Request {
	return llm.Request{
		System: "You are the llmtest conformance fixture.",
		Tools: []llm.ToolDef{
			{
				Name:        ToolName,
				Description: "Looks an order up by its id.",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"order_id":{"type":"string"},"note":{"type":"string"}},"required":["order_id"]}`),
			},
			{
				Name:        OtherToolName,
				Description: "Refunds an order.",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"order_id":{"type":"string"},"reason":{"type":"string"}},"required":["order_id","reason"]}`),
			},
		},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Text: "Where is order 1234, and refund it."},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartReasoning, Text: "The user asks about order 1234.", Signature: "c2lnbmF0dXJlLTE="},
				{Kind: llm.PartText, Text: "Let me look that up."},
				{Kind: llm.PartToolCall, Call: llm.ToolCall{ID: "call_prev_1", Name: ToolName, Arguments: `{"order_id":"1234"}`}},
				{Kind: llm.PartToolCall, Call: llm.ToolCall{ID: "call_prev_2", Name: OtherToolName, Arguments: `{"order_id":"1234","reason":"late"}`}},
			}},
			{Role: llm.RoleTool, Parts: []llm.Part{
				{Kind: llm.PartToolResult, Call: llm.ToolCall{ID: "call_prev_1", Name: ToolName}, Text: "Order 1234 shipped on May 2."},
				{Kind: llm.PartToolResult, Call: llm.ToolCall{ID: "call_prev_2", Name: OtherToolName}, Text: "refund refused: not delivered yet", IsError: true},
			}},
		},
		User:           "llmtest-user",
		ConversationID: "llmtest-conversation",
	}
}

// RunToolCalls runs the tool call checks against the providers newProvider
// makes for the scenarios ToolCallStreamed, TwoToolCalls and
// ToolCallInOneChunk. Every check sends ToolRequest. Each is a subtest of
// "ToolCalls" named after what it proves. Beyond the scenarios' own
// terms, every transcript must hold to these rules: a call's start,
// argument deltas and complete call share its non-empty id; a start comes
// once per call and before its deltas; deltas are never empty; every
// call, streamed or not, is reported by exactly one llm.EventToolCall,
// with the name of its start and, when it was streamed in deltas,
// arguments byte-equal to their concatenation; nothing of a call follows
// its llm.EventToolCall; and a stream with calls finishes with
// llm.FinishToolCalls.
func RunToolCalls(t *testing.T, newProvider Factory) {
	t.Run("ToolCalls", func(t *testing.T) {
		t.Run("StreamedCallIsCompleteAndFinishesToolCalls", func(t *testing.T) { testToolCallStreamed(t, newProvider) })
		t.Run("TwoCallsInOneStep", func(t *testing.T) { testTwoToolCalls(t, newProvider) })
		t.Run("CallInOneChunk", func(t *testing.T) { testToolCallInOneChunk(t, newProvider) })
	})
}

// RunReasoning runs the reasoning check against the providers newProvider
// makes for the Reasoning scenario, as a subtest of "Reasoning". It sends
// ToolRequest.
func RunReasoning(t *testing.T, newProvider Factory) {
	t.Run("Reasoning", func(t *testing.T) {
		t.Run("StreamedApartFromText", func(t *testing.T) { testReasoning(t, newProvider) })
	})
}

// toolStream starts a stream of ToolRequest for s and reads it to its end.
func toolStream(t *testing.T, newProvider Factory, s Scenario) transcript {
	t.Helper()
	p := newProvider(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	t.Cleanup(cancel)
	r, err := timed(patience, cancel, func() started {
		st, err := p.Stream(ctx, ToolRequest())
		return started{st, err}
	})
	switch {
	case err != nil:
		if r.s != nil {
			r.s.Close()
		}
		t.Fatalf("Stream: %v", err)
	case r.err != nil:
		t.Fatalf("Stream: %v", r.err)
	case r.s == nil:
		t.Fatal("Stream returned a nil stream and a nil error")
	}
	t.Cleanup(func() { r.s.Close() })
	tr, err := readAll(r.s, cancel)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// call is what a transcript said of one tool call.
type call struct {
	llm.ToolCall
	started bool // an EventToolCallStart came
	deltas  int  // how many EventToolCallDelta events came
}

// parts is what a transcript streamed besides its calls.
type parts struct {
	text      string
	reasoning string
	reasoned  int // EventReasoning events with text
	finish    llm.FinishReason
}

// checkTranscript checks the rules every transcript holds to (see
// RunToolCalls and checkReply) and returns its complete calls in order and
// what else it streamed.
func checkTranscript(tr transcript) ([]call, parts, error) {
	var out parts
	if tr.end != io.EOF {
		return nil, out, fmt.Errorf("stream ended with %v after %d events, want io.EOF itself (not wrapped) after the finish event", tr.end, len(tr.events))
	}
	var (
		calls  []call
		open   = map[string]int{} // id -> index in calls of a started, unfinished call
		done   = map[string]bool{}
		args   = map[string]*strings.Builder{}
		text   strings.Builder
		reason strings.Builder
		lastAt time.Time
	)
	for i, ev := range tr.events {
		if !ev.At.IsZero() {
			if ev.At.Before(lastAt) {
				return nil, out, fmt.Errorf("event %d (%s) has At %v, before the previous event's %v", i, describe(ev), ev.At, lastAt)
			}
			lastAt = ev.At
		}
		id := ev.Call.ID
		switch ev.Kind {
		case llm.EventDelta:
			if ev.Text == "" {
				return nil, out, fmt.Errorf("event %d is an empty delta; providers must not emit them", i)
			}
			text.WriteString(ev.Text)
		case llm.EventReasoning:
			if ev.Text == "" && ev.Signature == "" {
				return nil, out, fmt.Errorf("event %d is a reasoning event with neither text nor signature", i)
			}
			if ev.Text != "" {
				out.reasoned++
				reason.WriteString(ev.Text)
			}
		case llm.EventToolCallStart:
			switch {
			case id == "" || ev.Call.Name == "":
				return nil, out, fmt.Errorf("event %d: %s lacks an id or a name", i, describe(ev))
			case done[id]:
				return nil, out, fmt.Errorf("event %d: %s after that call was complete", i, describe(ev))
			}
			if _, ok := open[id]; ok {
				return nil, out, fmt.Errorf("event %d: a second %s; a call starts once", i, describe(ev))
			}
			open[id] = len(calls)
			calls = append(calls, call{ToolCall: llm.ToolCall{ID: id, Name: ev.Call.Name}, started: true})
			args[id] = &strings.Builder{}
		case llm.EventToolCallDelta:
			n, ok := open[id]
			switch {
			case done[id]:
				return nil, out, fmt.Errorf("event %d: %s after that call was complete", i, describe(ev))
			case !ok:
				return nil, out, fmt.Errorf("event %d: %s before its start (an EventToolCallStart with its id)", i, describe(ev))
			case ev.Text == "":
				return nil, out, fmt.Errorf("event %d is an empty argument delta; providers must not emit them", i)
			}
			calls[n].deltas++
			args[id].WriteString(ev.Text)
		case llm.EventToolCall:
			if id == "" || ev.Call.Name == "" {
				return nil, out, fmt.Errorf("event %d: %s lacks an id or a name", i, describe(ev))
			}
			if done[id] {
				return nil, out, fmt.Errorf("event %d: a second %s; every call is reported once", i, describe(ev))
			}
			done[id] = true
			n, ok := open[id]
			if !ok {
				calls = append(calls, call{ToolCall: ev.Call})
				continue
			}
			delete(open, id)
			c := &calls[n]
			if ev.Call.Name != c.Name {
				return nil, out, fmt.Errorf("event %d: %s, but the call started as %q", i, describe(ev), c.Name)
			}
			if got := args[id].String(); c.deltas > 0 && ev.Call.Arguments != got {
				return nil, out, fmt.Errorf("event %d: the complete call's arguments %q differ from its deltas' %q", i, ev.Call.Arguments, got)
			}
			c.Arguments = ev.Call.Arguments
		case llm.EventUsage:
			if u := ev.Usage; u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.ReasoningTokens < 0 {
				return nil, out, fmt.Errorf("event %d: negative %s", i, describe(ev))
			}
		case llm.EventFinish:
			if i != len(tr.events)-1 {
				return nil, out, fmt.Errorf("event %d is %s but %s follows it; finish must be last", i, describe(ev), describe(tr.events[i+1]))
			}
			out.finish = ev.FinishReason
		default:
			return nil, out, fmt.Errorf("event %d: %s", i, describe(ev))
		}
	}
	if out.finish == "" {
		return nil, out, errors.New("io.EOF came without a finish event before it")
	}
	for id := range open {
		return nil, out, fmt.Errorf("the call %q started but no EventToolCall completed it", id)
	}
	if len(calls) > 0 && out.finish != llm.FinishToolCalls {
		return nil, out, fmt.Errorf("%d tool calls, then finish reason %q, want %q", len(calls), out.finish, llm.FinishToolCalls)
	}
	out.text, out.reasoning = text.String(), reason.String()
	return calls, out, nil
}

// checkCall checks that c calls name with args, valid JSON.
func checkCall(n int, c call, name, args string) error {
	if c.Name != name {
		return fmt.Errorf("call %d is of %q, want %q", n, c.Name, name)
	}
	if c.Arguments != args {
		return fmt.Errorf("call %d has arguments %q, want %q", n, c.Arguments, args)
	}
	if !json.Valid([]byte(c.Arguments)) {
		return fmt.Errorf("call %d has arguments that are not valid JSON: %q", n, c.Arguments)
	}
	return nil
}

// toolCalls reads a stream of s and checks it holds want calls, finishing
// with llm.FinishToolCalls.
func toolCalls(t *testing.T, newProvider Factory, s Scenario, want int) []call {
	t.Helper()
	calls, _, err := checkTranscript(toolStream(t, newProvider, s))
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != want {
		t.Fatalf("%d tool calls, want %d (no EventToolCall came for the others)", len(calls), want)
	}
	return calls
}

func testToolCallStreamed(t *testing.T, newProvider Factory) {
	c := toolCalls(t, newProvider, ToolCallStreamed, 1)[0]
	if err := checkCall(1, c, ToolName, ToolArguments); err != nil {
		t.Fatal(err)
	}
	if !c.started || c.deltas < 2 {
		t.Fatalf("the call was streamed with start %v and %d argument deltas, want a start and at least 2 (the fixture must split them)", c.started, c.deltas)
	}
}

func testTwoToolCalls(t *testing.T, newProvider Factory) {
	calls := toolCalls(t, newProvider, TwoToolCalls, 2)
	if err := checkCall(1, calls[0], ToolName, ToolArguments); err != nil {
		t.Fatal(err)
	}
	if err := checkCall(2, calls[1], OtherToolName, OtherToolArguments); err != nil {
		t.Fatal(err)
	}
	if calls[0].ID == calls[1].ID {
		t.Fatalf("both calls have the id %q", calls[0].ID)
	}
}

func testToolCallInOneChunk(t *testing.T, newProvider Factory) {
	c := toolCalls(t, newProvider, ToolCallInOneChunk, 1)[0]
	if err := checkCall(1, c, ToolName, ToolArguments); err != nil {
		t.Fatal(err)
	}
}

func testReasoning(t *testing.T, newProvider Factory) {
	calls, got, err := checkTranscript(toolStream(t, newProvider, Reasoning))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case len(calls) > 0:
		t.Fatalf("%d tool calls in the Reasoning scenario", len(calls))
	case got.finish != llm.FinishStop:
		t.Fatalf("finish reason %q, want %q", got.finish, llm.FinishStop)
	case got.text != ReasonedAnswer:
		t.Fatalf("deltas spell %q, want ReasonedAnswer %q (reasoning must never come as text)", got.text, ReasonedAnswer)
	case got.reasoning != ReasoningText:
		t.Fatalf("reasoning spells %q, want ReasoningText %q", got.reasoning, ReasoningText)
	case got.reasoned < 2:
		t.Fatalf("ReasoningText came in %d events, want at least 2 (the fixture must split it)", got.reasoned)
	}
}
