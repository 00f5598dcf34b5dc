package llm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// A rate-limited first attempt is retried; the reply then streams.
func ExampleWithRetry() {
	p := scripted.New(scripted.WithReplies(
		scripted.Reply{StartErr: &llm.Error{Kind: llm.KindRateLimited, Provider: "scripted", RetryAfter: 10 * time.Millisecond}},
		scripted.Reply{Deltas: []string{"Hello", " again"}},
	))
	s, err := llm.WithRetry(p, llm.RetryPolicy{MaxAttempts: 3}).Stream(context.Background(), llm.Request{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	text, err := collect(s)
	fmt.Printf("%q after %d attempts (%v)\n", text, len(p.Requests()), err)
	// Output:
	// "Hello again" after 2 attempts (EOF)
}

// An overloaded primary model hands the reply to the next one before
// anything was streamed.
func ExampleFallback() {
	primary := scripted.New(scripted.WithReplies(scripted.Reply{StartErr: &llm.Error{Kind: llm.KindOverloaded, Provider: "scripted"}}))
	backup := scripted.New(scripted.WithResponder(func(req llm.Request) scripted.Reply {
		return scripted.Reply{Deltas: []string{"answered by ", req.Model}}
	}))
	p := llm.Fallback(llm.WithModel(primary, "large"), llm.WithModel(backup, "small"))
	s, err := p.Stream(context.Background(), llm.Request{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	text, _ := collect(s)
	fmt.Println(text)
	// Output:
	// answered by small
}

func ExampleKindForStatus() {
	fmt.Println(llm.KindForStatus(429), llm.KindForStatus(529), llm.KindForStatus(401))
	// Output:
	// rate_limited overloaded authentication
}
