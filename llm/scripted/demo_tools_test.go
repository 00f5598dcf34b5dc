package scripted_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// demoTools declares the demo's tools, named.
func demoTools(names ...string) []llm.ToolDef {
	var out []llm.ToolDef
	for _, n := range names {
		out = append(out, llm.ToolDef{Name: n, Description: n, InputSchema: json.RawMessage(`{"type":"object","properties":{"order_id":{"type":"string"}}}`)})
	}
	return out
}

// askWithTools is a question with the named tools declared.
func askWithTools(text string, tools ...string) llm.Request {
	req := ask(text)
	req.Tools = demoTools(tools...)
	return req
}

// answered appends a call of the previous step and its result.
func answered(req llm.Request, call llm.ToolCall, result string, isError bool) llm.Request {
	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartText, Text: "Let me look."}, {Kind: llm.PartToolCall, Call: call}}},
		llm.Message{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, Call: llm.ToolCall{ID: call.ID, Name: call.Name}, Text: result, IsError: isError}}},
	)
	return req
}

func TestDemoLooksUpAnOrderItIsAskedAbout(t *testing.T) {
	for _, q := range []string{"Where is my order #1234?", "what about order 1234", "Order #1234 status, please (I ordered 2 things)"} {
		r := scripted.Demo()(askWithTools(q, scripted.DemoLookupTool, scripted.DemoRefundTool))
		if len(r.ToolCalls) != 1 || r.ToolCalls[0] != (llm.ToolCall{Name: scripted.DemoLookupTool, Arguments: `{"order_id":"1234"}`}) {
			t.Fatalf("%q: calls %+v", q, r.ToolCalls)
		}
		if got := strings.Join(r.Deltas, ""); got != "Let me look up order #1234." {
			t.Errorf("%q: text %q", q, got)
		}
		if len(r.Reasoning) == 0 || r.Finish != "" || r.Delay != 30*time.Millisecond {
			t.Errorf("%q: reply %+v", q, r)
		}
	}
}

func TestDemoAsksForARefundWithTheRefundTool(t *testing.T) {
	r := scripted.Demo()(askWithTools("Please refund order #1234, it broke.", scripted.DemoLookupTool, scripted.DemoRefundTool))
	if len(r.ToolCalls) != 1 || r.ToolCalls[0] != (llm.ToolCall{Name: scripted.DemoRefundTool, Arguments: `{"order_id":"1234"}`}) {
		t.Fatalf("calls %+v", r.ToolCalls)
	}
	r = scripted.Demo()(askWithTools("I want a refund", scripted.DemoRefundTool))
	if len(r.ToolCalls) != 0 || !strings.Contains(strings.Join(r.Deltas, ""), "Which order should I refund?") {
		t.Fatalf("without a number: %+v", r)
	}
	// Without the refund tool, a refund of an order is looked up.
	r = scripted.Demo()(askWithTools("Refund order 1234", scripted.DemoLookupTool))
	if len(r.ToolCalls) != 1 || r.ToolCalls[0].Name != scripted.DemoLookupTool {
		t.Fatalf("calls %+v", r.ToolCalls)
	}
}

func TestDemoCallsNoToolItWasNotGivenOrNotAskedFor(t *testing.T) {
	for _, req := range []llm.Request{
		ask("Where is my order #1234?"),                             // no tools declared
		askWithTools("Where is my order?", scripted.DemoLookupTool), // no number
		askWithTools("Tell me a joke about 1234 cats", scripted.DemoLookupTool, scripted.DemoRefundTool),
	} {
		r := scripted.Demo()(req)
		if len(r.ToolCalls) != 0 || len(r.Reasoning) != 0 || !strings.HasPrefix(strings.Join(r.Deltas, ""), "You wrote:") {
			t.Errorf("%q: %+v, want the plain demo answer", llm.MessageText(req.Messages[0]), r)
		}
	}
}

func TestDemoAnswersFromTheToolResult(t *testing.T) {
	call := llm.ToolCall{ID: "call_7", Name: scripted.DemoLookupTool, Arguments: `{"order_id":"1234"}`}
	req := answered(askWithTools("Where is order #1234?", scripted.DemoLookupTool), call, "Shipped on May 2,\nby sea.", false)
	r := scripted.Demo()(req)
	text := strings.Join(r.Deltas, "")
	if len(r.ToolCalls) != 0 || !strings.Contains(text, "about order #1234:") || !strings.Contains(text, "> Shipped on May 2,\n> by sea.") {
		t.Fatalf("answer %q, calls %+v", text, r.ToolCalls)
	}
	// the input counts the result's words too
	if want := int64(4 + 3 + 6); r.Usage.InputTokens != want {
		t.Errorf("input %d, want %d", r.Usage.InputTokens, want)
	}
}

func TestDemoReportsAFailedOrRefusedCall(t *testing.T) {
	call := llm.ToolCall{ID: "call_8", Name: scripted.DemoRefundTool, Arguments: `{"order_id":"1234"}`}
	req := answered(askWithTools("Refund order #1234", scripted.DemoRefundTool), call, "the operator refused the refund", true)
	text := strings.Join(scripted.Demo()(req).Deltas, "")
	if !strings.Contains(text, "I could not refund order #1234:") || !strings.Contains(text, "> the operator refused the refund") {
		t.Fatalf("answer %q", text)
	}
	call.Name = scripted.DemoLookupTool
	req = answered(askWithTools("order #1234?", scripted.DemoLookupTool), call, `{"status":"lost"}`, false)
	if text := strings.Join(scripted.Demo()(req).Deltas, ""); !strings.Contains(text, "```json\n{\"status\":\"lost\"}\n```") {
		t.Fatalf("a JSON result: %q", text)
	}
}

// The demo through a Provider: step 1 calls, step 2 answers, and the
// recorded second request holds the tool result.
func TestDemoToolStepsThroughTheProvider(t *testing.T) {
	p := scripted.New(scripted.WithResponder(scripted.DemoWithDelay(0)))
	req := askWithTools("Where is my order #1234?", scripted.DemoLookupTool)
	s, err := p.Stream(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := readAll(t, s)
	if err != io.EOF {
		t.Fatal(err)
	}
	var call llm.ToolCall
	for _, ev := range evs {
		if ev.Kind == llm.EventToolCall {
			call = ev.Call
		}
	}
	if call.ID != "call_1" || call.Name != scripted.DemoLookupTool || evs[len(evs)-1].FinishReason != llm.FinishToolCalls {
		t.Fatalf("step 1: %+v", evs)
	}
	req = answered(req, call, "Delivered yesterday.", false)
	if got := replyText(t, p, req); !strings.Contains(got, "Delivered yesterday.") {
		t.Fatalf("step 2: %q", got)
	}
	seen := p.Requests()[1]
	if res := scripted.ToolResults(seen); len(res) != 1 || res[0].Call.ID != "call_1" || res[0].Text != "Delivered yesterday." {
		t.Fatalf("the provider saw %+v", seen.Messages)
	}
}

func ExampleDemo_tools() {
	p := scripted.New(scripted.WithResponder(scripted.DemoWithDelay(0)))
	req := llm.Request{
		Tools:    []llm.ToolDef{{Name: scripted.DemoLookupTool, InputSchema: json.RawMessage(`{"type":"object"}`)}},
		Messages: []llm.Message{{Role: llm.RoleUser, Text: "Where is my order #1234?"}},
	}
	s, _ := p.Stream(context.Background(), req)
	defer s.Close()
	for {
		ev, err := s.Recv()
		if err != nil {
			break
		}
		switch ev.Kind {
		case llm.EventToolCall:
			fmt.Println("call", ev.Call.ID, ev.Call.Name, ev.Call.Arguments)
		case llm.EventFinish:
			fmt.Println("finish", ev.FinishReason)
		}
	}
	// Output:
	// call call_1 lookup_order {"order_id":"1234"}
	// finish tool_calls
}
