package anthropic_test

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
			return newProvider(t, sse(t, "reply.sse", 4)) // message_start, block start, ping, one delta
		case llmtest.FailBeforeStream:
			return newProvider(t, jsonError(t, http.StatusTooManyRequests, "error_429.json", "Retry-After", "1"))
		case llmtest.FailMidStream:
			return newProvider(t, sse(t, "error_overloaded.sse", 0))
		}
		return newProvider(t, sse(t, "reply.sse", 0))
	})
}
