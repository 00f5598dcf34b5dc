package llmtest_test

import (
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
)

// The correct provider the broken ones derive from passes, so each broken
// one fails only because of its defect.
func TestCorrectProviderPasses(t *testing.T) {
	llmtest.Run(t, func(t *testing.T, s llmtest.Scenario) llm.Provider { return correct(s) })
}

func TestScenarioString(t *testing.T) {
	for s, want := range map[llmtest.Scenario]string{
		llmtest.Reply: "Reply", llmtest.Stall: "Stall", llmtest.FailBeforeStream: "FailBeforeStream",
		llmtest.FailMidStream: "FailMidStream", 0: "Scenario(0)",
	} {
		if got := s.String(); got != want {
			t.Errorf("Scenario(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}
