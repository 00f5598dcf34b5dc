package scripted_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// scenarioReply scripts each conformance scenario.
func scenarioReply(t *testing.T, s llmtest.Scenario) scripted.Reply {
	words := scripted.Words(llmtest.ReplyText)
	switch s {
	case llmtest.Reply:
		return scripted.Reply{Deltas: words, Delay: time.Millisecond, Usage: llm.Usage{InputTokens: 7, OutputTokens: int64(len(words))}}
	case llmtest.Stall:
		return scripted.Reply{Deltas: words, StallAfter: 1}
	case llmtest.FailBeforeStream:
		return scripted.Reply{StartErr: &llm.Error{Kind: llm.KindRateLimited, Provider: "scripted", RetryAfter: time.Second}}
	case llmtest.FailMidStream:
		return scripted.Reply{Deltas: words[:2], Err: &llm.Error{Kind: llm.KindOverloaded, Provider: "scripted"}}
	case llmtest.ToolCallStreamed:
		return scripted.Reply{Deltas: []string{"Let me check."}, ToolCalls: []llm.ToolCall{{Name: llmtest.ToolName, Arguments: llmtest.ToolArguments}}, Delay: time.Millisecond}
	case llmtest.TwoToolCalls:
		return scripted.Reply{ToolCalls: []llm.ToolCall{
			{Name: llmtest.ToolName, Arguments: llmtest.ToolArguments},
			{Name: llmtest.OtherToolName, Arguments: llmtest.OtherToolArguments},
		}, Usage: llm.Usage{InputTokens: 40, OutputTokens: 30}}
	case llmtest.ToolCallInOneChunk:
		return scripted.Reply{ToolCalls: []llm.ToolCall{{Name: llmtest.ToolName, Arguments: llmtest.ToolArguments}}, WholeToolCalls: true}
	case llmtest.Reasoning:
		return scripted.Reply{
			Reasoning: scripted.Words(llmtest.ReasoningText), ReasoningSignature: "c2lnbmF0dXJl",
			Deltas: scripted.Words(llmtest.ReasonedAnswer), Usage: llm.Usage{InputTokens: 9, OutputTokens: 20, ReasoningTokens: 12},
		}
	}
	t.Fatalf("unknown scenario %v", s)
	return scripted.Reply{}
}

func TestConformance(t *testing.T) {
	llmtest.Run(t, func(t *testing.T, s llmtest.Scenario) llm.Provider {
		r := scenarioReply(t, s)
		return scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return r }))
	})
}

// The tool call and reasoning scenarios pass, and the provider records
// ToolRequest as it was sent: its tools, and its history with the tool
// results.
func TestConformanceToolCallsAndReasoning(t *testing.T) {
	factory := func(t *testing.T, s llmtest.Scenario) llm.Provider {
		r := scenarioReply(t, s)
		p := scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return r }))
		t.Cleanup(func() {
			for i, got := range p.Requests() {
				if want := llmtest.ToolRequest(); !reflect.DeepEqual(got, want) {
					t.Errorf("request %d recorded as %+v, want ToolRequest %+v", i, got, want)
				}
			}
		})
		return p
	}
	llmtest.RunToolCalls(t, factory)
	llmtest.RunReasoning(t, factory)
}

// The failure scenarios also pass when the error comes from the first Recv
// rather than from Stream.
func TestConformanceFailingInRecv(t *testing.T) {
	llmtest.Run(t, func(t *testing.T, s llmtest.Scenario) llm.Provider {
		r := scenarioReply(t, s)
		if r.StartErr != nil {
			r = scripted.Reply{Err: r.StartErr}
		}
		return scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return r }))
	})
}

// The provider passes the file checks by default (every type accepted,
// so the refusal check has nothing to refuse) and narrowed to what a
// model without PDFs takes; its upstream is its record.
func TestConformanceFiles(t *testing.T) {
	for name, opts := range map[string][]scripted.Option{
		"EveryType":     nil,
		"ImagesAndText": {scripted.WithFileTypes("image/*", "text/*")},
	} {
		t.Run(name, func(t *testing.T) {
			llmtest.RunFiles(t, func(t *testing.T) (llm.Provider, func() []llmtest.Received) {
				r := scenarioReply(t, llmtest.Reply)
				p := scripted.New(append(opts, scripted.WithResponder(func(llm.Request) scripted.Reply { return r }))...)
				return p, func() []llmtest.Received {
					var out []llmtest.Received
					for _, req := range p.Requests() {
						out = append(out, llmtest.ReceivedOf(req))
					}
					return out
				}
			})
		})
	}
}
