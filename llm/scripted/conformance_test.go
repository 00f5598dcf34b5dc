package scripted_test

import (
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
