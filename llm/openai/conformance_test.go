package openai_test

import (
	"net/http"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/internal/fixture"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
)

// scenario sets up the fixture server replaying s.
func scenario(t *testing.T, s llmtest.Scenario, reply string) *fixture.Server {
	switch s {
	case llmtest.Stall:
		return sse(t, reply, 2) // the role chunk and one delta
	case llmtest.FailBeforeStream:
		return jsonError(t, http.StatusTooManyRequests, "error_429.json", "Retry-After", "1")
	case llmtest.FailMidStream:
		return sse(t, "error_midstream.sse", 0)
	case llmtest.ToolCallStreamed:
		return sse(t, "tool_call.sse", 0)
	case llmtest.TwoToolCalls:
		return sse(t, "tool_calls_two.sse", 0)
	case llmtest.ToolCallInOneChunk:
		return sse(t, "tool_call_compat.sse", 0) // no index, no usage, finish "stop"
	case llmtest.Reasoning:
		return sse(t, "reasoning.sse", 0)
	}
	return sse(t, reply, 0)
}

func TestConformance(t *testing.T) {
	factory := func(t *testing.T, s llmtest.Scenario) llm.Provider {
		return newProvider(t, scenario(t, s, "reply.sse"))
	}
	llmtest.Run(t, factory)
	llmtest.RunToolCalls(t, factory)
	llmtest.RunReasoning(t, factory)
}

// An OpenAI-compatible server that sends no usage, fewer fields and no
// [DONE] passes too.
func TestConformanceCompatibleServer(t *testing.T) {
	llmtest.Run(t, func(t *testing.T, s llmtest.Scenario) llm.Provider {
		return newProvider(t, scenario(t, s, "reply_compat.sse"))
	})
}
