package dify_test

import (
	"net/http"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
)

func TestConformance(t *testing.T) {
	llmtest.Run(t, func(t *testing.T, s llmtest.Scenario) llm.Provider {
		switch s {
		case llmtest.Stall:
			return newProvider(t, sse(t, "reply.sse", 2)) // a ping and one delta
		case llmtest.FailBeforeStream:
			return newProvider(t, jsonError(t, http.StatusTooManyRequests, "error_429.json", "Retry-After", "1"))
		case llmtest.FailMidStream:
			return newProvider(t, sse(t, "error_overloaded.sse", 0))
		}
		return newProvider(t, sse(t, "reply.sse", 0))
	})
}

// Dify runs no tool call chatbox asks for (its agent apps call the tools
// configured in Dify) and streams no reasoning, so the tool call and
// reasoning checks (llmtest.RunToolCalls, llmtest.RunReasoning) do not
// apply; TestToolsAreIgnored checks that a Request's Tools do no harm.

func TestConformanceAgentApp(t *testing.T) {
	llmtest.Run(t, func(t *testing.T, s llmtest.Scenario) llm.Provider {
		switch s {
		case llmtest.Stall:
			return newProvider(t, sse(t, "reply_agent.sse", 2)) // a thought and one delta
		case llmtest.FailBeforeStream:
			return newProvider(t, jsonError(t, http.StatusTooManyRequests, "error_429.json"))
		case llmtest.FailMidStream:
			return newProvider(t, sse(t, "error_overloaded.sse", 0))
		}
		return newProvider(t, sse(t, "reply_agent.sse", 0))
	})
}

// A newer agent app closes its turn with a message event repeating the
// whole answer; the suite's ReplyText check catches a doubled answer.
func TestConformanceNewAgentApp(t *testing.T) {
	llmtest.Run(t, func(t *testing.T, s llmtest.Scenario) llm.Provider {
		switch s {
		case llmtest.Stall:
			return newProvider(t, sse(t, "reply_new_agent.sse", 2))
		case llmtest.FailBeforeStream:
			return newProvider(t, jsonError(t, http.StatusTooManyRequests, "error_429.json"))
		case llmtest.FailMidStream:
			return newProvider(t, sse(t, "error_overloaded.sse", 0))
		}
		return newProvider(t, sse(t, "reply_new_agent.sse", 0))
	})
}
