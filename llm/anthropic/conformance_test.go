package anthropic_test

import (
	"net/http"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/anthropic"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
)

func TestConformance(t *testing.T) {
	factory := func(t *testing.T, s llmtest.Scenario) llm.Provider {
		switch s {
		case llmtest.Stall:
			return newProvider(t, sse(t, "reply.sse", 4)) // message_start, block start, ping, one delta
		case llmtest.FailBeforeStream:
			return newProvider(t, jsonError(t, http.StatusTooManyRequests, "error_429.json", "Retry-After", "1"))
		case llmtest.FailMidStream:
			return newProvider(t, sse(t, "error_overloaded.sse", 0))
		case llmtest.ToolCallStreamed:
			return newProvider(t, sse(t, "tool_use.sse", 0))
		case llmtest.TwoToolCalls:
			return newProvider(t, sse(t, "tool_use_two.sse", 0))
		case llmtest.ToolCallInOneChunk:
			return newProvider(t, sse(t, "tool_use_whole.sse", 0))
		case llmtest.Reasoning:
			return newProvider(t, sse(t, "thinking.sse", 0), anthropic.WithThinking(2048))
		}
		return newProvider(t, sse(t, "reply.sse", 0))
	}
	llmtest.Run(t, factory)
	llmtest.RunToolCalls(t, factory)
	llmtest.RunReasoning(t, factory)
}
