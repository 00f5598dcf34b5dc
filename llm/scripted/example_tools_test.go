package scripted_test

import (
	"context"
	"fmt"
	"io"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// A two-step script: the model calls a tool, then answers from the
// result the next request's history carries.
func ExampleWithSteps() {
	p := scripted.New(scripted.WithSteps(
		func(llm.Request) scripted.Reply { // step 1: call the tool
			return scripted.Reply{
				Reasoning: []string{"The user asks about an order."},
				ToolCalls: []llm.ToolCall{{Name: "lookup_order", Arguments: `{"order_id":"1234"}`}},
			}
		},
		func(req llm.Request) scripted.Reply { // step 2: answer from the result
			res := scripted.ToolResults(req)[0]
			return scripted.Reply{Deltas: scripted.Words("Order 1234 is " + res.Text + ".")}
		},
	))
	req := llm.Request{
		Tools:    []llm.ToolDef{{Name: "lookup_order", InputSchema: []byte(`{"type":"object"}`)}},
		Messages: []llm.Message{{Role: llm.RoleUser, Text: "Where is order 1234?"}},
	}

	// Step 1: collect the call as a server would.
	var call llm.ToolCall
	s, _ := p.Stream(context.Background(), req)
	for {
		ev, err := s.Recv()
		if err == io.EOF {
			break
		}
		switch ev.Kind {
		case llm.EventReasoning:
			fmt.Printf("reasoning %q\n", ev.Text)
		case llm.EventToolCallStart:
			fmt.Println("call starts:", ev.Call.ID, ev.Call.Name)
		case llm.EventToolCall:
			call = ev.Call
			fmt.Println("call:", call.ID, call.Name, call.Arguments)
		case llm.EventFinish:
			fmt.Println("finish", ev.FinishReason)
		}
	}
	s.Close()

	// Step 2: run the tool, append the call and its result, ask again.
	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartToolCall, Call: call}}},
		llm.Message{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, Call: call, Text: "shipped"}}},
	)
	show(p, req)
	// Output:
	// reasoning "The user asks about an order."
	// call starts: call_1 lookup_order
	// call: call_1 lookup_order {"order_id":"1234"}
	// finish tool_calls
	// delta "Order"
	// delta " 1234"
	// delta " is"
	// delta " shipped."
	// finish stop
}
